"""Achieved FLOP/s of DM and DC iterations against the machine's measured matmul peak, and the speed switches compared.

Prints, for one device:
  * the matmul probe: the best fp32 and bf16 (and, on CUDA, TF32) matrix-product GFLOP/s of this process (square
    matrices, `--probe-n`), measured before and after the timed iterations (a drop means the machine got busier);
  * for the DM iteration (`--dm-ipc`, default MNIST ipc 10, ConvNet-128 instance norm, batch_real 256, siamese DSA) and
    the DC outer iteration (`--dc-ipc`, default ipc 1: one matching step, no DSA): the FLOPs of one iteration counted
    with `torch.utils.flop_counter.FlopCounterMode` on the float32 reference path (the variants do the same arithmetic),
    the median wall time per iteration of each variant, the achieved GFLOP/s and its fraction of the fp32 and bf16
    peaks, and each variant's speed relative to the first one; on a CPU the same per CPU second of the process
    (threads summed), which a busy machine distorts less than wall time.
Variants run **interleaved** in one process (round r runs every variant once, in reversed order every other round, on
the same random draws), so a change in the machine's load hits all of them alike; compare the ratios, not absolute
times, on a shared machine. Variant names are `+`-joined switches:
  DM: `fp32` (reference), `bf16` (`real_autocast='bf16'`), `cl` (channels_last), `onepass` (`chunk=None`),
      `compile` (`compile=True`), `chunkN` (`chunk=N`);
  DC: `loop` (reference, per-class loop), `vmap` (one pass), `cl` (channels_last), `compile` (compiled one pass).
On a CPU the process first calls `condense_nb.core.keep_freed_memory()`, as the command line does (`--no-mallopt`
skips it). Data: the NPZ files in `--root` (MNIST), or random images of the dataset's shape when they are missing
(`--random-data` forces that; the speed does not depend on the pixels).

    python benchmarks/flops.py                                         # CPU, default variants
    python benchmarks/flops.py --only dm --dm-variants fp32 bf16 cl --reps 4 --threads 2
    python benchmarks/flops.py --device cuda --root .data --json $OUT/flops_cuda.json
    python benchmarks/flops.py --check --only dm --dm-variants fp32 bf16 compile bf16+compile --reps 0   # numerics only
"""
from __future__ import annotations
import argparse, json, os, resource, statistics, sys, time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DM_DEFAULT = {'cpu': ['fp32', 'bf16', 'cl', 'bf16+cl'],
              'cuda': ['fp32', 'onepass', 'bf16', 'onepass+bf16', 'cl', 'onepass+bf16+cl', 'compile',
                       'onepass+bf16+compile']}
DC_DEFAULT = {'cpu': ['loop', 'compile', 'bf16', 'bf16+compile'],
              'cuda': ['loop', 'vmap', 'vmap+cl', 'vmap+compile', 'vmap+bf16+compile']}


def sync(device):
    if torch.device(device).type == 'cuda': torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------------------- matmul probe
def matmul_gflops(device, dtype, n: int, reps: int, tf32: bool = False) -> tuple[float, float]:
    "Best GFLOP/s of an n x n x n matrix product in `dtype` on `device` (2 n^3 FLOPs per product): per wall second, " \
    "and per CPU second of this process (threads summed; the robust figure on a shared CPU)."
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        g = torch.Generator(device=device).manual_seed(0)
        a = torch.randn(n, n, device=device, generator=g).to(dtype)
        b = torch.randn(n, n, device=device, generator=g).to(dtype)
        a @ b; sync(device)  # warm-up (kernel choice, AMX tile set-up)
        best, best_cpu = float('inf'), float('inf')
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time(); a @ b; sync(device)
            best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
        return 2 * n ** 3 / best / 1e9, 2 * n ** 3 / max(best_cpu, 1e-9) / 1e9
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


def probe(device, n: int, reps: int) -> dict:
    "{'fp32': wall GFLOP/s, 'fp32_cpu': per CPU second, 'bf16': ..., 'bf16_cpu': ...} (+ 'tf32' on CUDA)."
    from condense_nb.nets import cpu_has_native
    out = {}
    for name, dtype in (('fp32', torch.float32), ('bf16', torch.bfloat16)):
        if name == 'bf16' and torch.device(device).type == 'cpu' and not cpu_has_native('bf16'):
            out[name] = out[name + '_cpu'] = 0.   # emulated: minutes per product, and no peak to compare with
            continue
        out[name], out[name + '_cpu'] = matmul_gflops(device, dtype, n, reps)
    if torch.device(device).type == 'cuda':
        out['tf32'] = matmul_gflops(device, torch.float32, n, reps, tf32=True)[0]
        for k in ('fp32_cpu', 'bf16_cpu'): del out[k]   # CPU time means nothing for GPU kernels
    return out


# ------------------------------------------------------------------------------------------------- data
def real_data(a):
    "(ClassSampler on the device, source description)."
    from condense_nb.data import DATASET_INFO, RealData, ClassSampler, load_dataset
    if not a.random_data:
        try:
            train, _ = load_dataset(a.dataset, root=a.root)
            return ClassSampler(train, a.device), f'{a.dataset} from {a.root}'
        except (FileNotFoundError, OSError, ValueError) as e:
            print(f'note: {a.dataset} not loadable from {a.root} ({type(e).__name__}); '
                  'using random images of its shape')
    info = DATASET_INFO[a.dataset]
    g = torch.Generator().manual_seed(0)
    n = a.per_class * info.n_classes
    train = RealData(torch.randn(n, info.channels, *info.im_size, generator=g),
                     torch.arange(info.n_classes).repeat_interleave(a.per_class), info)
    return ClassSampler(train, a.device), f'random {a.dataset}-shaped images, {a.per_class} per class'


# ------------------------------------------------------------------------------------------------- workloads
def loss_grad_fn(objective, param, real):
    "`f(seed) -> (loss, flat gradient w.r.t. the images)` of `objective` at `param`'s current images (for --check)."
    from condense_nb.core import make_generator, derive_seed
    def loss_grad(seed):
        x, y = param()
        x = x.detach().clone().requires_grad_()
        loss = objective.loss(x, y, real, make_generator(derive_seed(seed, 'check')))
        return float(loss.detach()), torch.autograd.grad(loss, x)[0].flatten()
    return loss_grad


def dm_runner(a, real, variant: str):
    "A function `step(it)` running one DM iteration of `variant` (own images and optimiser, shared draws)."
    from condense_nb.core import make_generator, derive_seed
    from condense_nb.augment import DSA_STRATEGY
    from condense_nb.engine import PixelParam
    from condense_nb.dm import DM
    kw, net_kw = dict(batch_real=256, dsa_strategy=DSA_STRATEGY), {}
    for s in variant.split('+'):
        if s == 'fp32': pass
        elif s == 'bf16': kw['real_autocast'] = 'bf16'
        elif s == 'cl': net_kw['channels_last'] = True
        elif s == 'onepass': kw['chunk'] = None
        elif s == 'compile': kw['compile'] = True
        elif s == 'stem': kw['fuse_stem'] = True   # with compile
        elif s.startswith('chunk'): kw['chunk'] = int(s[5:])
        else: raise SystemExit(f'unknown DM switch {s!r} in {variant!r}')
    dm = DM(net_kw=net_kw, **kw)
    param = PixelParam.init(real, a.dm_ipc, generator=make_generator(0)).to(a.device)
    opt = torch.optim.SGD(param.parameters(), lr=1.0, momentum=0.5)

    def step(it):
        loss = dm.loss(*param(), real, make_generator(derive_seed(0, 'it', it)))
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return float(loss.detach())

    step.loss_grad = loss_grad_fn(dm, param, real)   # at the initial images, for --check
    return step


def dc_runner(a, real, variant: str):
    "A function `step(it)` running one DC outer iteration of `variant`."
    from condense_nb.core import make_generator, derive_seed
    from condense_nb.engine import PixelParam
    from condense_nb.gm import GradientMatching
    kw, net_kw = dict(batch_real=256, impl='loop'), {}
    for s in variant.split('+'):
        if s in ('loop', 'vmap'): kw['impl'] = s
        elif s == 'cl': net_kw['channels_last'] = True
        elif s == 'compile': kw['compile'] = True   # loop: the real gradients; vmap: the one-pass matching
        elif s == 'bf16': kw['real_autocast'] = 'bf16'
        elif s == 'tbf16': kw['train_autocast'] = 'bf16'   # the network's training on the synthetic set (ipc > 1)
        elif s == 'stem': kw['fuse_stem'] = True   # the real gradient's first block fused (needs compile, loop)
        else: raise SystemExit(f'unknown DC switch {s!r} in {variant!r}')
    obj = GradientMatching(net_kw=net_kw, **kw)
    param = PixelParam.init(real, a.dc_ipc, init='noise', generator=make_generator(0)).to(a.device)
    opt = torch.optim.SGD(param.parameters(), lr=0.1, momentum=0.5)

    def syn_step(loss):
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); return float(loss.detach())

    def step(it): return obj.iteration(param, real, syn_step, make_generator(derive_seed(0, 'it', it)))

    step.loss_grad = loss_grad_fn(obj, param, real)   # one matching step on a fresh network, for --check
    return step


def check(a, real, make, variants, name):
    "Loss and gradient of every variant against the first, on the same draws at the initial images (2 draws)."
    print(f'\n{name}: loss and gradient w.r.t. the synthetic images against {variants[0]}, same draws')
    print(f"  {'variant':<22} {'draw':>4} {'loss':>11} {'rel loss diff':>13} {'rel grad diff':>13} {'grad cosine':>11}")
    steps = {v: make(a, real, v) for v in variants}
    out = []
    for seed in (0, 1):
        l0, g0 = steps[variants[0]].loss_grad(seed)
        for v in variants:
            try: l, g = steps[v].loss_grad(seed)
            except Exception as e:  # noqa: BLE001
                print(f'  {v:<22} {seed:>4} FAILED: {type(e).__name__}: {str(e)[:200]}'); continue
            r = dict(variant=v, draw=seed, loss=l, rel_loss=abs(l - l0) / abs(l0),
                     rel_grad=float((g - g0).norm() / g0.norm()), cosine=float(torch.nn.functional.cosine_similarity(
                         g.double(), g0.double(), dim=0)))
            out.append(r)
            print(f"  {v:<22} {seed:>4} {l:11.5g} {r['rel_loss']:13.2e} {r['rel_grad']:13.2e} {r['cosine']:11.6f}")
    return out


def count_flops(step, it: int) -> tuple[int, dict]:
    "FLOPs of `step(it)` (forward and backward), total and by operator."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc: step(it)
    return int(fc.get_total_flops()), {str(k): int(v) for k, v in fc.get_flop_counts().get('Global', {}).items()}


def interleaved(a, real, make, variants) -> dict:
    "Median seconds per iteration of every variant, run interleaved; plus the FLOPs of the first (reference) variant."
    steps, times, cpu, errors = {}, {v: [] for v in variants}, {v: [] for v in variants}, {}
    for v in variants:
        try: steps[v] = make(a, real, v)
        except Exception as e: errors[v] = f'{type(e).__name__}: {e}'  # noqa: BLE001 (report, keep the others)
    ref = variants[0]
    flops, by_op = count_flops(steps[ref], -1) if ref in steps else (None, {})
    for r in range(a.warmup + a.reps):
        for v in (variants if r % 2 == 0 else variants[::-1]):
            if v not in steps: continue
            try:
                sync(a.device); t0, c0 = time.perf_counter(), time.process_time()
                steps[v](r); sync(a.device)
                if r >= a.warmup: times[v].append(time.perf_counter() - t0); cpu[v].append(time.process_time() - c0)
            except Exception as e:  # noqa: BLE001
                errors[v] = f'{type(e).__name__}: {str(e)[:300]}'; del steps[v]
    rows = {v: dict(median_s=statistics.median(times[v]), times=times[v], cpu_s=statistics.median(cpu[v]))
            for v in variants if times[v] and v not in errors}
    return dict(flops=flops, flops_by_op=by_op, rows=rows, errors=errors)


# ------------------------------------------------------------------------------------------------- report
def device_name(device) -> str:
    from condense_nb.runner import device_name as name
    return name(torch.device(device))


def git_commit() -> str:
    from condense_nb.runner import git_commit as commit
    return commit()[:7]


def report(name: str, res: dict, peaks: dict):
    print(f"\n{name}: {res['flops'] / 1e9:.1f} GFLOP per iteration (FlopCounterMode, float32 reference path)"
          if res['flops'] else f'\n{name}: FLOPs not counted')
    if res['flops_by_op']:
        print('  by operator: ' + ', '.join(f'{k} {v / 1e9:.1f}' for k, v in sorted(res['flops_by_op'].items(),
                                                                                  key=lambda kv: -kv[1])))
    ref = next(iter(res['rows'].values()), None)
    cpu = 'fp32_cpu' in peaks
    print(f"  {'variant':<22} {'s/it':>7} {'GFLOP/s':>8} {'% fp32':>7} {'% bf16':>7} {'speed':>6}"
          + (f" {'CPU s/it':>8} {'GFLOP/CPU-s':>11} {'% fp32':>7} {'% bf16':>7} {'speed':>6}" if cpu else '')
          + '   (% of the matmul peak; speed relative to the first variant)')
    # a bf16 matmul slower than fp32 means emulated bf16 (e.g. an AVX2 CPU): a % of that peak means nothing
    native = {k: peaks[k] >= peaks[k.replace('bf16', 'fp32')] for k in ('bf16', 'bf16_cpu') if k in peaks}
    def pct(frac, key): return f"{100 * frac:6.1f}%" if native.get(key, True) else f"{'n/a':>7}"
    for v, r in res['rows'].items():
        f = res['flops'] or float('nan')
        gf = f / r['median_s'] / 1e9
        r.update(gflops=gf, frac_fp32=gf / peaks['fp32'], frac_bf16=gf / peaks['bf16'] if native['bf16'] else None,
                 speedup=ref['median_s'] / r['median_s'])
        line = (f"  {v:<22} {r['median_s']:7.3f} {gf:8.1f} {100 * r['frac_fp32']:6.1f}% {pct(r['frac_bf16'], 'bf16')} "
                f"{r['speedup']:5.2f}x")
        if cpu:
            gc = f / r['cpu_s'] / 1e9
            r.update(gflops_cpu=gc, frac_fp32_cpu=gc / peaks['fp32_cpu'],
                     frac_bf16_cpu=gc / peaks['bf16_cpu'] if native['bf16_cpu'] else None,
                     speedup_cpu=ref['cpu_s'] / r['cpu_s'])
            line += (f" {r['cpu_s']:8.2f} {gc:11.1f} {100 * r['frac_fp32_cpu']:6.1f}% "
                     f"{pct(r['frac_bf16_cpu'], 'bf16_cpu')} {r['speedup_cpu']:5.2f}x")
        print(line)
    if not all(native.values()): print('  % bf16: n/a, this CPU emulates bf16 (no peak measured)')
    for v, e in res['errors'].items(): print(f'  {v:<24} FAILED: {e}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu')
    p.add_argument('--root', default=str(REPO.parent / 'shared' / 'data'), help='folder with the NPZ files')
    p.add_argument('--dataset', default='mnist')
    p.add_argument('--random-data', action='store_true', help='random images of the dataset shape instead of the files')
    p.add_argument('--per-class', type=int, default=300, help='random images per class (with random data)')
    p.add_argument('--only', nargs='+', default=['dm', 'dc'], choices=['dm', 'dc', 'probe'])
    p.add_argument('--dm-ipc', type=int, default=10)
    p.add_argument('--dc-ipc', type=int, default=1)
    p.add_argument('--dm-variants', nargs='+', default=None)
    p.add_argument('--dc-variants', nargs='+', default=None)
    p.add_argument('--warmup', type=int, default=1, help='untimed rounds (compilation happens here)')
    p.add_argument('--reps', type=int, default=3, help='timed rounds (0: no timing, e.g. with --check)')
    p.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: torch default)')
    p.add_argument('--probe-n', type=int, default=0, help='matmul size (0: 2048 on CPU, 8192 on CUDA)')
    p.add_argument('--no-mallopt', action='store_true')
    p.add_argument('--check', action='store_true', help='first compare every variant\'s loss and gradient with the first')
    p.add_argument('--json', default=None, help='also write the figures to this file')
    a = p.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)   # figures reach a log even if the run is cut short
    kind = torch.device(a.device).type
    if a.threads: torch.set_num_threads(a.threads)
    mallopt = False
    if kind == 'cpu' and not a.no_mallopt:
        from condense_nb.core import keep_freed_memory
        mallopt = keep_freed_memory()
    n = a.probe_n or (8192 if kind == 'cuda' else 2048)
    reps_probe = 20 if kind == 'cuda' else 5
    load0 = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f'device {a.device} ({device_name(a.device)}), torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'CPU capability {torch.backends.cpu.get_cpu_capability()}, commit {git_commit()}, '
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {load0:.2f}, mallopt {mallopt}")
    peaks0 = probe(a.device, n, reps_probe)
    print('matmul peak (GFLOP/s, n=%d): ' % n + ', '.join(f'{k} {v:.0f}' for k, v in peaks0.items()))
    out = dict(device=a.device, device_name=device_name(a.device), torch=torch.__version__,
               threads=torch.get_num_threads(), commit=git_commit(), date=time.strftime('%Y-%m-%d %H:%M'),
               load_start=load0, mallopt=mallopt, probe_n=n, peak_start=peaks0, results={})
    real = None
    if 'dm' in a.only or 'dc' in a.only:
        real, src = real_data(a)
        print(f'data: {src}')
        out['data'] = src
    if 'dm' in a.only:
        vs = a.dm_variants or DM_DEFAULT[kind]
        if a.check: out['check_dm'] = check(a, real, dm_runner, vs, f'DM {a.dataset} ipc {a.dm_ipc}')
        res = interleaved(a, real, dm_runner, vs) if a.reps else None
        out['results']['dm'] = res
        if res: report(f'DM {a.dataset} ipc {a.dm_ipc} (ConvNet-128 instance norm, batch_real 256, DSA), {a.reps} rounds', res,
               peaks0)
    if 'dc' in a.only:
        vs = a.dc_variants or DC_DEFAULT[kind]
        if a.check: out['check_dc'] = check(a, real, dc_runner, vs, f'DC {a.dataset} ipc {a.dc_ipc} matching step')
        res = interleaved(a, real, dc_runner, vs) if a.reps else None
        out['results']['dc'] = res
        if res: report(f'DC {a.dataset} ipc {a.dc_ipc} outer iteration (ConvNet-128 instance norm, batch_real 256), '
               f'{a.reps} rounds', res, peaks0)
    if ('dm' in a.only or 'dc' in a.only) and a.reps:
        out['peak_end'] = probe(a.device, n, reps_probe)
        print('\nmatmul peak at the end (GFLOP/s): ' + ', '.join(f'{k} {v:.0f}' for k, v in out['peak_end'].items()))
    out['load_end'] = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if kind == 'cuda': out['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
    print(f"load average at the end {out['load_end']:.2f}; process peak RSS {out['peak_rss_mb']:.0f} MB")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        with open(a.json, 'w') as f: json.dump(out, f, indent=1)
    return out


if __name__ == '__main__':
    main()
