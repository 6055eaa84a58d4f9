"""DM iterations/s and peak memory: official (subsampled real), full batch recomputed, and full batch with precomputed means.

Each mode runs in its own subprocess so that its peak memory is its own (CPU: peak resident set size of the process;
CUDA: `torch.cuda.max_memory_allocated`). The precomputed mode's one-off cost (embedding the whole training set once per
pool seed) is reported separately from its iteration speed. Figures are printed, never asserted (no timing in tests).

    python benchmarks/dm_benchmark.py                                  # digits on CPU (and on CUDA when present)
    python benchmarks/dm_benchmark.py --dataset cifar10 --root ../shared/data --iterations 10 --ipc 10
"""
from __future__ import annotations
import argparse, json, os, resource, subprocess, sys, time

MODES = {'official': dict(batch_real=256), 'full': dict(batch_real=None), 'precomputed': dict(batch_real=None)}


def _rss_mb() -> float:
    "Current resident set size of this process in MiB (Linux /proc; 0 elsewhere)."
    try:
        with open('/proc/self/status') as f:
            return next(int(l.split()[1]) for l in f if l.startswith('VmRSS:')) / 1024
    except (OSError, StopIteration): return 0.


def run_mode(a) -> dict:
    "Measure one mode in this process; returns the figures as a dict."
    import torch
    from condense_nb.core import make_generator, derive_seed
    from condense_nb.data import load_dataset, ClassSampler
    from condense_nb.augment import dsa_strategy_for
    from condense_nb.engine import PixelParam
    from condense_nb.dm import DM
    torch.set_num_threads(a.threads) if a.threads else None
    dev = torch.device(a.device)
    train, _ = load_dataset(a.dataset, root=a.root)
    real = ClassSampler(train, dev)
    rss_base = _rss_mb()
    net_kw = json.loads(a.net_kw) if a.net_kw else ({'width': 32, 'depth': 2} if a.dataset == 'digits' else {})
    kw = dict(MODES[a.mode], dsa_strategy=dsa_strategy_for(a.dataset), net_kw=net_kw)
    if a.mode == 'precomputed': kw['pool'] = a.pool
    dm = DM(**kw)
    param = PixelParam.init(real, a.ipc, generator=make_generator(0)).to(dev)
    opt = torch.optim.SGD(param.parameters(), lr=1.0, momentum=0.5)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    t_pre = 0.
    if a.mode == 'precomputed':
        sync(); t0 = time.perf_counter(); dm.precompute(real); sync(); t_pre = time.perf_counter() - t0

    def step(it):
        loss = dm.loss(*param(), real, make_generator(derive_seed(0, 'it', it)))
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    for it in range(a.warmup): step(it)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    sync(); t0 = time.perf_counter()
    for it in range(a.warmup, a.warmup + a.iterations): step(it)
    sync(); secs = time.perf_counter() - t0
    peak = (torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == 'cuda'
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return dict(mode=a.mode, device=str(dev), dataset=a.dataset, n_train=len(train), ipc=a.ipc, net_kw=net_kw,
                iterations=a.iterations, it_per_s=a.iterations / secs, precompute_s=t_pre,
                pool=a.pool if a.mode == 'precomputed' else None,
                peak_mb=peak, peak_kind='cuda max_memory_allocated' if dev.type == 'cuda' else 'process peak RSS',
                base_mb=rss_base if dev.type == 'cpu' else 0., torch=torch.__version__, threads=torch.get_num_threads())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='digits')
    p.add_argument('--root', default='data', help='folder with the NPZ files (not needed for digits)')
    p.add_argument('--ipc', type=int, default=10)
    p.add_argument('--iterations', type=int, default=30, help='timed iterations per mode')
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--pool', type=int, default=32, help='pool size of the precomputed mode')
    p.add_argument('--net-kw', default=None, help="JSON get_net options; default {'width': 32, 'depth': 2} for digits")
    p.add_argument('--device', default=None, help='cpu, cuda, or both available when omitted')
    p.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: torch default)')
    p.add_argument('--json', default=None, help='also write all figures to this JSON file')
    p.add_argument('--mode', default=None, help=argparse.SUPPRESS)   # internal: run one mode in this process
    a = p.parse_args(argv)
    if a.mode is not None:
        print(json.dumps(run_mode(a))); return 0
    import torch
    devices = [a.device] if a.device else ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        for mode in MODES:
            cmd = [sys.executable, __file__, '--mode', mode, '--device', dev] + [
                x for k in ('dataset', 'root', 'ipc', 'iterations', 'warmup', 'pool', 'threads')
                for x in (f'--{k}', str(getattr(a, k)))] + (['--net-kw', a.net_kw] if a.net_kw else [])
            out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED='0'))
            if out.returncode: print(out.stderr, file=sys.stderr); return out.returncode
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    r0 = rows[0]
    print(f"DM benchmark: {r0['dataset']} ({r0['n_train']} training images), ipc {r0['ipc']}, embedding net_kw {r0['net_kw']}, "
          f"{r0['iterations']} timed iterations, torch {r0['torch']}, {r0['threads']} CPU threads")
    print(f"{'device':<7} {'mode':<12} {'it/s':>8} {'precompute s':>13} {'peak MiB':>9} {'over base':>10}"
          "  (CPU: process peak RSS, base = RSS after loading the data; CUDA: max allocated)")
    for r in rows:
        print(f"{r['device']:<7} {r['mode']:<12} {r['it_per_s']:>8.2f} {r['precompute_s']:>13.2f} {r['peak_mb']:>9.0f} "
              f"{r['peak_mb'] - r['base_mb']:>10.0f}")
    for dev in devices:
        by = {r['mode']: r for r in rows if r['device'] == dev}
        f, pc, o = by['full'], by['precomputed'], by['official']
        ratio = pc['it_per_s'] / f['it_per_s']
        breakeven = pc['precompute_s'] / max(1 / f['it_per_s'] - 1 / pc['it_per_s'], 1e-12)
        print(f"{dev}: precomputed / recomputed full batch = {ratio:.1f}x iterations/s; official / full = "
              f"{o['it_per_s'] / f['it_per_s']:.1f}x; the precomputation (pool {pc['pool']}) pays for itself after "
              f"{breakeven:.0f} iterations; peak memory over base precomputed / full = "
              f"{(pc['peak_mb'] - pc['base_mb']) / max(f['peak_mb'] - f['base_mb'], 1e-9):.2f}")
    if a.json:
        with open(a.json, 'w') as fh: json.dump(rows, fh, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
