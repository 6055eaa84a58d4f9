"""Where DM's CPU time goes: the frozen real-side forward of one iteration (C x batch_real images), in variants.

One DM iteration on CPU is dominated by embedding C * 256 real images with a fresh ConvNet-128 under `no_grad`
(about 97 MFLOP per 32x32 image). This probe times that forward alone, interleaving the variants in one process, and
reports wall time, process CPU time (all threads), kernel (system) time and minor page faults per pass:
  * `chunk`: images per forward (condense_nb's DM uses 1024, the official code one class = 256 at a time),
  * `inplace`: ReLU(inplace=True) (official networks.py) instead of a fresh output tensor per activation,
  * `cl`: channels_last input and weights, `bf16`: bfloat16 autocast.
Allocator settings act per process, so run the probe again under them, e.g.
    THP_MEM_ALLOC_ENABLE=1 python benchmarks/dm_real_embed_probe.py     # PyTorch's 2 MB-page CPU allocations
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=17179869184 python benchmarks/dm_real_embed_probe.py   # glibc keeps freed memory
    python benchmarks/dm_real_embed_probe.py --mallopt          # the same glibc settings, made at run time via ctypes
    python benchmarks/dm_real_embed_probe.py --grad-check --ipc 10   # DM loss and gradient: bf16 / channels_last vs fp32
"""
from __future__ import annotations
import argparse, ctypes, os, resource, statistics, sys, time
from pathlib import Path

import numpy as np
import torch


def mallopt_keep_memory() -> bool:
    "condense_nb.core.keep_freed_memory (glibc mallopt: no mmap, no trim), for either side of a comparison."
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from condense_nb.core import keep_freed_memory
    return keep_freed_memory()


def grad_check(a):
    "DM loss and its gradient w.r.t. the synthetic images, fp32 vs bf16 autocast (real side only) vs channels_last."
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from condense_nb.core import make_generator
    from condense_nb.data import load_dataset, ClassSampler
    from condense_nb.engine import PixelParam, class_means
    from condense_nb.augment import DSA_STRATEGY
    from condense_nb.dm import DM, embedding_mmd
    train, _ = load_dataset(a.dataset, root=a.data)
    real = ClassSampler(train, 'cpu'); del train
    dm = DM(batch_real=256, dsa_strategy=DSA_STRATEGY, chunk=256)
    x0, y = PixelParam.init(real, a.ipc, generator=0)()
    x0 = x0.detach()

    def loss_grad(bf16=False, cl=False, seed=0):
        g = make_generator(seed)
        s, C = dm.draw(g), real.n_classes
        net = dm.embedder(real, s)
        if cl: net = net.to(memory_format=torch.channels_last)
        fmt = torch.channels_last if cl else torch.contiguous_format
        ns = [min(dm.batch_real, n) for n in real.counts]
        with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=bf16):
            m_real = torch.stack([net.embed(dm.augment(real.sample(c, ns[c], g), s, c).contiguous(memory_format=fmt)).float().mean(0)
                                  for c in range(C)])
        x = x0.clone().requires_grad_(True)
        x_aug = torch.cat([dm.augment(x[y == c], s, c) for c in range(C)]).contiguous(memory_format=fmt)
        loss = embedding_mmd(m_real, net.embed(x_aug), y)
        loss.backward()
        return float(loss.detach()), x.grad.flatten()

    print(f'{a.dataset} ipc {a.ipc}: DM loss and d loss / d x_syn against fp32, same draws (one fresh net per seed)')
    print(f"{'seed':>4} {'variant':<8} {'loss fp32':>10} {'rel loss diff':>13} {'rel grad diff':>13} {'grad cosine':>11}")
    for seed in range(a.reps):
        l0, g0 = loss_grad(seed=seed)
        for name, kw in (('bf16', dict(bf16=True)), ('cl', dict(cl=True))):
            l1, g1 = loss_grad(seed=seed, **kw)
            print(f'{seed:>4} {name:<8} {l0:10.4g} {abs(l1 - l0) / abs(l0):13.2e} {float((g1 - g0).norm() / g0.norm()):13.2e} '
                  f'{float(torch.nn.functional.cosine_similarity(g1, g0, dim=0)):11.6f}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2] / 'shared' / 'data'))
    p.add_argument('--dataset', default='mnist', choices=['mnist', 'cifar10'])
    p.add_argument('--n', type=int, default=2560, help='real images per pass (C * batch_real)')
    p.add_argument('--variants', nargs='+', default=['chunk1024', 'chunk256', 'chunk256+inplace', 'chunk1024+inplace'])
    p.add_argument('--reps', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--mallopt', action='store_true', help='call mallopt_keep_memory() first')
    p.add_argument('--grad-check', action='store_true', help='compare DM loss/gradient of bf16 and channels_last with fp32')
    p.add_argument('--ipc', type=int, default=10, help='(--grad-check) synthetic images per class')
    a = p.parse_args(argv)
    if a.grad_check:
        torch.set_num_threads(a.threads); return grad_check(a)
    if a.mallopt: print('mallopt:', mallopt_keep_memory())
    torch.set_num_threads(a.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from condense_nb.nets import get_net
    from condense_nb.data import DATASET_INFO
    info = DATASET_INFO[a.dataset]
    f = {'mnist': 'mnist-train.npz', 'cifar10': 'cifar10-train-part1.npz'}[a.dataset]
    with np.load(Path(a.data) / f) as d: x = torch.from_numpy(d['x'][:a.n])
    x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
    x = info.normalize(x.float().div(255)).contiguous()
    net = get_net('ConvNet', info.channels, info.n_classes, info.im_size, seed=0, device='cpu').requires_grad_(False)
    ref = None

    def run(v):
        opts = v.split('+')
        chunk = int(opts[0].removeprefix('chunk'))
        for m in net.modules():
            if isinstance(m, torch.nn.ReLU): m.inplace = 'inplace' in opts
        xx, nn_ = x, net
        if 'cl' in opts: xx, nn_ = x.contiguous(memory_format=torch.channels_last), net.to(memory_format=torch.channels_last)
        with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled='bf16' in opts):
            out = sum(nn_.embed(xx[i:i + chunk]).float().sum(0) for i in range(0, len(xx), chunk))
        net.to(memory_format=torch.contiguous_format)
        return out / len(xx)

    res = {v: [] for v in a.variants}
    for r in range(a.reps + 1):  # the first round is a warm-up
        for v in (a.variants if r % 2 == 0 else a.variants[::-1]):
            u0, c0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), time.perf_counter()
            out = run(v)
            t1, c1, u1 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
            if ref is None: ref = out
            if r: res[v].append((t1 - t0, c1 - c0, u1.ru_stime - u0.ru_stime, u1.ru_minflt - u0.ru_minflt,
                                 float((out - ref).abs().max() / ref.abs().max())))
    env = {k: os.environ[k] for k in ('THP_MEM_ALLOC_ENABLE', 'MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_') if k in os.environ}
    print(f'{a.dataset}: {a.n} images per pass, ConvNet-128, {a.threads} threads, torch {torch.__version__}, env {env}, '
          f'mallopt {a.mallopt}, load {os.getloadavg()[0]:.2f}, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB')
    print(f"{'variant':<24} {'wall s':>7} {'cpu s':>7} {'sys s':>6} {'minflt':>8} {'max rel diff':>12}")
    for v, rows in res.items():
        med = [statistics.median(c) for c in zip(*rows)]
        print(f'{v:<24} {med[0]:7.2f} {med[1]:7.2f} {med[2]:6.2f} {med[3]:8.0f} {max(r[4] for r in rows):12.2e}')


if __name__ == '__main__':
    main()
