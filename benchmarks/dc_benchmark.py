"""Speed and peak memory of gradient matching (DC): the paper's per-class loop vs all classes in one pass (torch.func).

Measures, in one run and on the same random draws,
  * `match`: one matching step (the class-summed loss of eq. 9/10 and its backward to the synthetic pixels), the part the
    two implementations differ in, and
  * `iteration`: one full DC outer iteration of the engine (fresh ConvNet, `get_loops(ipc)` matching steps and network
    updates), which also contains the network training that both share,
and prints iterations/s, peak memory and the loop/vmap time ratio, after checking that both give the same loss and
gradient. Each measurement runs in a fresh process so that peak memory is its own (CPU: peak RSS growth; GPU:
`torch.cuda.max_memory_allocated`). Data are random images of the chosen shape (speed does not depend on the pixels);
`digits` uses scikit-learn's bundled digits.

    python benchmarks/dc_benchmark.py                        # CPU: digits, ipc 1 and 10
    python benchmarks/dc_benchmark.py --shape mnist cifar10 --device cuda --iter-ipcs 1 10
"""
from __future__ import annotations
import argparse, json, multiprocessing as mp, os, statistics, time

import torch

SHAPES = ('digits', 'mnist', 'cifar10')


def _rss_mb(key: str) -> float:
    "VmRSS (current) or VmHWM (peak) of this process in MiB, from /proc (Linux); nan elsewhere."
    try:
        for line in open('/proc/self/status'):
            if line.startswith(key + ':'): return int(line.split()[1]) / 1024
    except OSError: pass
    return float('nan')


def _reset_peak_rss() -> bool:
    "Reset VmHWM to the current RSS (Linux >= 4.0)."
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError: return False


def _setup(shape: str, device: str, per_class: int):
    from condense_nb.core import make_generator
    from condense_nb.data import DATASET_INFO, RealData, ClassSampler, load_dataset
    if shape == 'digits': train = load_dataset('digits')[0]
    else:
        info = DATASET_INFO[shape]
        g = make_generator(0)
        n = per_class * info.n_classes
        train = RealData(torch.randn(n, info.channels, *info.im_size, generator=g),
                         torch.arange(info.n_classes).repeat_interleave(per_class), info)
    return ClassSampler(train, device)


def _sync(device):
    if torch.device(device).type == 'cuda': torch.cuda.synchronize()


def _worker(cfg: dict, q):
    "Run one measurement in this (fresh) process and put a result dict on `q`."
    try:
        if cfg['threads']: torch.set_num_threads(cfg['threads'])
        import condense_nb.gm  # registers the objective
        from condense_nb.core import make_generator, derive_seed
        from condense_nb.engine import PixelParam
        from condense_nb.gm import GradientMatching
        device, cuda = cfg['device'], torch.device(cfg['device']).type == 'cuda'
        real = _setup(cfg['shape'], device, cfg['per_class'])
        param = PixelParam.init(real, cfg['ipc'], init='real', generator=make_generator(0)).to(device)
        obj = GradientMatching(net=cfg['net'], impl=cfg['impl'], batch_real=cfg['batch_real'])
        opt = torch.optim.SGD(param.parameters(), lr=0.1, momentum=0.5)

        def syn_step(loss):
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
            return float(loss.detach())

        def run(r):
            g = make_generator(derive_seed(0, 'bench', r))
            if cfg['what'] == 'iteration': return obj.iteration(param, real, syn_step, g)
            x, y = param(g)
            return syn_step(obj.loss(x, y, real, g))

        run(-1); _sync(device)  # warm-up (kernel selection, allocator)
        if cuda: torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        else: _reset_peak_rss(); base = _rss_mb('VmRSS')
        times = []
        for r in range(cfg['reps']):
            t = time.perf_counter(); run(r); _sync(device); times.append(time.perf_counter() - t)
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if cuda else _rss_mb('VmHWM') - base
        q.put(dict(cfg, times=times, median=statistics.median(times), peak_mb=peak))
    except Exception as e:  # report instead of hanging the parent
        q.put(dict(cfg, error=f'{type(e).__name__}: {e}'))


def measure(cfg: dict) -> dict:
    "Run `_worker(cfg)` in a spawned process and return its result."
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    p = ctx.Process(target=_worker, args=(cfg, q))
    p.start()
    res = q.get()
    p.join()
    return res


def check_same(shape, device, ipc, net, batch_real, per_class) -> tuple[float, float, float]:
    "Loss and synthetic-pixel gradient of both implementations on the same draws: (loss, |Δloss|, max |Δgrad| / max |grad|)."
    import condense_nb.gm
    from condense_nb.core import make_generator
    from condense_nb.engine import PixelParam
    from condense_nb.gm import GradientMatching
    real = _setup(shape, device, per_class)
    x0 = PixelParam.init(real, ipc, init='real', generator=make_generator(0))
    out = {}
    for impl in ('loop', 'vmap'):
        x = x0.x.detach().clone().requires_grad_()
        loss = GradientMatching(net=net, impl=impl, batch_real=batch_real).loss(x, x0.y, real, make_generator(1))
        out[impl] = (loss.item(), torch.autograd.grad(loss, x)[0])
    (la, ga), (lb, gb) = out['loop'], out['vmap']
    return la, abs(la - lb), ((ga - gb).abs().max() / ga.abs().max()).item()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--shape', nargs='+', default=['digits'], choices=SHAPES)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--ipcs', nargs='+', type=int, default=[1, 10], help='ipc values for the matching step')
    ap.add_argument('--iter-ipcs', nargs='*', type=int, default=[1], help='ipc values for the full outer iteration')
    ap.add_argument('--net', default='ConvNet')
    ap.add_argument('--batch-real', type=int, default=256)
    ap.add_argument('--per-class', type=int, default=300, help='random real images per class (mnist/cifar10 shapes)')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: torch default)')
    ap.add_argument('--json', default=None, help='also write the results to this file')
    a = ap.parse_args(argv)
    from condense_nb.runner import device_name
    dev_name = device_name(torch.device(a.device))
    print(f'torch {torch.__version__}, device {a.device} ({dev_name}), threads {a.threads or torch.get_num_threads()}, '
          f'net {a.net}, batch_real {a.batch_real}, 10 classes, {a.reps} timed repetitions (median)')
    rows = []
    for shape in a.shape:
        for what, ipcs in (('match', a.ipcs), ('iteration', a.iter_ipcs)):
            for ipc in ipcs:
                if what == 'match':
                    loss, dl, dg = check_same(shape, a.device, ipc, a.net, a.batch_real, a.per_class)
                    print(f'{shape} ipc {ipc}: loop and vmap agree: loss {loss:.4f} (|Δ| {dl:.1e}), '
                          f'max |Δgrad|/max|grad| {dg:.1e}')
                res = {impl: measure(dict(shape=shape, what=what, ipc=ipc, impl=impl, device=a.device, net=a.net,
                                          batch_real=a.batch_real, per_class=a.per_class, reps=a.reps, threads=a.threads))
                       for impl in ('loop', 'vmap')}
                for r in res.values():
                    if 'error' in r: raise SystemExit(f"{shape} {what} ipc {ipc} {r['impl']}: {r['error']}")
                ratio = res['loop']['median'] / res['vmap']['median']
                for impl, r in res.items():
                    rows.append(dict(shape=shape, what=what, ipc=ipc, impl=impl, median_s=r['median'],
                                     it_per_s=1 / r['median'], peak_mb=r['peak_mb'], loop_over_vmap=ratio))
    print(f"\n{'shape':8} {'measure':10} {'ipc':>3} {'impl':5} {'s/it':>8} {'it/s':>8} {'peak MiB':>9} {'loop/vmap':>9}")
    for r in rows:
        print(f"{r['shape']:8} {r['what']:10} {r['ipc']:>3} {r['impl']:5} {r['median_s']:8.3f} {r['it_per_s']:8.2f} "
              f"{r['peak_mb']:9.1f} {r['loop_over_vmap']:9.2f}")
    if a.json:
        with open(a.json, 'w') as f: json.dump(dict(device=a.device, device_name=dev_name, torch=torch.__version__, rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
