"""Where the time of DM's real-side embedding goes: CPU time, FLOPs and GFLOP/s of each ConvNet block.

DM spends ~90 % of an iteration embedding real images through a frozen ConvNet-128 (three blocks of conv 3x3,
instance norm, ReLU, average pool). This script times each block on its own (inputs precomputed, `chunk` images at a
time, the speed switches `compile` and channels-last as in the DM objective), counts its FLOPs with
`torch.utils.flop_counter.FlopCounterMode`, and prints the achieved GFLOP per CPU second of each block against this
process's fp32 matmul probe (`benchmarks/flops.py`). It shows which block is compute-bound (near the probe) and which
is bound by memory traffic (far below it): the first block writes a full-resolution map of `width` channels from 1 or 3
input channels, so it does little arithmetic per byte.

Blocks run interleaved (round r times every block once), on random images of the dataset's shape (the speed does not
depend on the pixels); CPU seconds of this process are the measure (robust on a shared machine, not immune to other
processes' memory traffic).

    python benchmarks/block_time.py                          # MNIST and CIFAR-10 shapes, chunk 256, 1 thread
    python benchmarks/block_time.py --datasets cifar10 --chunk 64 --no-compile --reps 8
    python benchmarks/block_time.py --fuse-stem      # adds block 1 fused (`stem_fold` + `stem_pool`, DM's fuse_stem)
    python benchmarks/block_time.py --autocast bf16 --fuse-stem   # blocks under bf16 autocast; the fused block in fp32
"""
from __future__ import annotations
import argparse, contextlib, statistics, sys, time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'benchmarks'))

SHAPES = {'mnist': (1, 28), 'fashion_mnist': (1, 28), 'cifar10': (3, 32), 'svhn': (3, 32)}


def blocks_of(net) -> list:
    "The ConvNet's blocks [conv, norm, act, pool] as separate `nn.Sequential`s."
    layers = list(net.features)
    if len(layers) % 4:
        raise ValueError(f'expected blocks of 4 layers (conv, norm, act, pool), got {len(layers)} layers')
    return [torch.nn.Sequential(*layers[i:i + 4]) for i in range(0, len(layers), 4)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--datasets', nargs='+', default=['mnist', 'cifar10'], choices=sorted(SHAPES))
    p.add_argument('--chunk', type=int, default=256, help='images per forward pass (DM default 256)')
    p.add_argument('--width', type=int, default=128)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--reps', type=int, default=6, help='timed rounds (median reported)')
    p.add_argument('--no-compile', action='store_true', help='eager blocks instead of torch.compile')
    p.add_argument('--no-cl', action='store_true', help='NCHW instead of channels-last')
    p.add_argument('--probe-n', type=int, default=2048)
    p.add_argument('--fuse-stem', action='store_true', help="also time block 1 fused (DM's fuse_stem), same input")
    p.add_argument('--autocast', choices=['bf16'], default=None,
                   help="the blocks under this autocast (DM's real_autocast); the fused block 1 stays float32")
    a = p.parse_args(argv)
    if a.chunk < 1 or a.reps < 1: p.error(f'--chunk and --reps must be >= 1, got {a.chunk} and {a.reps}')
    torch.set_num_threads(a.threads)
    from condense_nb.core import keep_freed_memory
    from condense_nb.nets import get_net, stem_fold, stem_pool
    from flops import matmul_gflops, count_flops, device_name, git_commit
    keep_freed_memory()
    out = {}
    peak = matmul_gflops('cpu', torch.float32, a.probe_n, 3)[1]
    print(f'{device_name("cpu")}, torch {torch.__version__}, commit {git_commit()}, {a.threads} thread(s); '
          f'fp32 matmul probe {peak:.0f} GFLOP per CPU-s; chunk {a.chunk}, '
          f"{'eager' if a.no_compile else 'compiled'}, {'NCHW' if a.no_cl else 'channels-last'}"
          f"{', autocast ' + a.autocast if a.autocast else ''}")
    cast = (lambda: torch.autocast('cpu', torch.bfloat16)) if a.autocast else contextlib.nullcontext
    fp32 = lambda: torch.autocast('cpu', enabled=False)
    for ds in a.datasets:
        c, hw = SHAPES[ds]
        net = get_net('ConvNet', c, 10, hw, seed=0, width=a.width, channels_last=not a.no_cl).requires_grad_(False)
        fmt = torch.contiguous_format if a.no_cl else torch.channels_last
        g = torch.Generator().manual_seed(0)
        xs, x = [], torch.randn(a.chunk, c, hw, hw, generator=g).contiguous(memory_format=fmt)
        blocks = blocks_of(net)
        with torch.no_grad(), cast():
            for b in blocks: xs.append(x); x = b(x)
            fns = [b if a.no_compile else torch.compile(b, dynamic=False) for b in blocks]
            fl = [count_flops(lambda _, b=b, xi=xi: b(xi), 0)[0] for b, xi in zip(blocks, xs)]
            if a.fuse_stem:   # block 1 again, fused; its FLOPs counted as the plain block's (the same products)
                conv, norm = blocks[0][0], blocks[0][1]
                fold, pool = (f if a.no_compile else torch.compile(f, dynamic=False) for f in (stem_fold, stem_pool))
                def fused(x):
                    with fp32(): return pool(*fold(x, conv.weight, norm.weight, norm.bias, norm.eps, conv.padding[0]))
                fns.append(fused)
                xs.append(xs[0].contiguous()); fl.append(fl[0])
                with fp32(): err = (fns[-1](xs[-1]) - blocks[0](xs[0])).abs().max().item()
                print(f'{ds}: block 1 fused against plain, max abs difference {err:.1e}')
            for f, xi in zip(fns, xs): f(xi); f(xi)   # compile, warm up
            times = [[] for _ in fns]
            for r in range(a.reps):
                order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
                for i in order:
                    t0 = time.process_time(); fns[i](xs[i]); times[i].append(time.process_time() - t0)
        med = [statistics.median(t) for t in times]
        fused = None
        if a.fuse_stem: fused, med, fl, xs = (med[-1], fl[-1]), med[:-1], fl[:-1], xs[:-1]
        total = sum(med)
        rate = sum(fl) / total / 1e9
        print(f'\n{ds} ({c}x{hw}x{hw}), {a.chunk} images, {len(blocks)} blocks: {total * 1e3:.0f} CPU-ms, '
              f'{sum(fl) / 1e9:.1f} GFLOP, {rate:.0f} GFLOP/CPU-s ({100 * rate / peak:.0f} % of the probe)')
        print(f"{'block':>5} {'in':>14} {'CPU-ms':>8} {'% time':>7} {'GFLOP':>7} {'% FLOP':>7} {'GF/CPU-s':>9} "
              f"{'% probe':>8}")
        for i, (m, f, xi) in enumerate(zip(med, fl, xs)):
            print(f"{i + 1:>5} {'x'.join(map(str, xi.shape[1:])):>14} {m * 1e3:8.1f} {100 * m / total:6.1f}% "
                  f"{f / 1e9:7.2f} {100 * f / sum(fl):6.1f}% {f / m / 1e9:9.1f} {100 * f / m / 1e9 / peak:7.1f}%")
        out[ds] = [dict(block=i + 1, in_shape=tuple(xi.shape[1:]), cpu_s=m, flops=f)
                   for i, (m, f, xi) in enumerate(zip(med, fl, xs))]
        if fused:
            m, f = fused
            print(f"{'1 fused':>7} {'x'.join(map(str, xs[0].shape[1:])):>12} {m * 1e3:8.1f} {'':>7} {f / 1e9:7.2f} "
                  f"{'':>7} {f / m / 1e9:9.1f} {100 * f / m / 1e9 / peak:7.1f}%   (block 1: {med[0] / m:.2f}x; all "
                  f"blocks with it fused: {total / (total - med[0] + m):.2f}x)")
            out[ds].append(dict(block='1 fused', in_shape=tuple(xs[0].shape[1:]), cpu_s=m, flops=f))
    return out


if __name__ == '__main__':
    main()
