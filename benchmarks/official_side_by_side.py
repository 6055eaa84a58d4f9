"""The official DC/DSA/DM code and condense_nb on identical configurations, interleaved in one run: s/it, peak RSS, GFLOP/s.

The official implementation (github.com/VICO-UoE/DatasetCondensation, `main.py` for DC/DSA, `main_DM.py` for DM) is
never copied into this repository: fetch it yourself (commit `OFFICIAL_COMMIT`) and pass its folder with `--official`.
Its `main()` runs unchanged; this script only
  * feeds it the shared NPZ data through a replacement of `utils.get_dataset` (a dataset that converts one image at a
    time, like torchvision's `ToTensor` + `Normalize`),
  * applies the patches of `OFFICIAL_PATCHES` to `utils.py` in memory (the file on disk is untouched): torch >= 2
    refuses `X[:] = X[0]` (the source overlaps the destination), so it reads from a clone; and torch >= 2 returns
    channels-last strides from the indexing in `rand_crop`; for 1-channel images `.contiguous()` keeps them (such a
    tensor counts as contiguous in both layouts), the convolution then answers in channels-last and `ConvNet.forward`'s
    `.view` fails, so `rand_crop`'s result is cloned into the standard layout (a 1 MB copy per call).
  * times iterations between consecutive calls of `get_network` (one fresh network per outer iteration; evaluation is
    switched off with `--num_eval 0`).
Each repeat runs in a fresh subprocess (its own peak RSS and kernel time / page faults, `getrusage(RUSAGE_SELF)`),
alternating the order of the sides, so slow drifts of the shared machine's load hit every side alike. Sides are
`official`, `ours`, either with `+VARIANT`s (candidate fixes, monkeypatched in the worker; `--list-variants`) or
`@/path/to/python` (another interpreter, e.g. a CPU-only torch build; the official side then needs no torchvision).
FLOPs of one iteration are counted with `torch.utils.flop_counter.FlopCounterMode` (one extra iteration in the first
repeat) and compared with a fp32 matmul peak probe at the same thread count. Wall time depends on the machine's load;
the process CPU time per iteration is reported too, and at `--threads 1` it is the steadier measure on a shared machine
(with 2+ threads OpenMP threads spin while a partner is descheduled, inflating CPU time as well).

    python benchmarks/official_side_by_side.py --official /work/scratch/official_dc --data ../shared/data --threads 1
    python benchmarks/official_side_by_side.py --configs dm_mnist_ipc10 --sides official official@/work/scratch/venv-cpu/bin/python
    python benchmarks/official_side_by_side.py --configs dm_mnist_ipc10 --sides official ours ours+inplace+chunk256+mallopt
    python benchmarks/official_side_by_side.py --report-from run1.json run2.json --flops-from flops.json   # re-print
"""
from __future__ import annotations
import argparse, json, os, re, resource, statistics, subprocess, sys, tempfile, time, types
from pathlib import Path

OFFICIAL_REPO = 'VICO-UoE/DatasetCondensation'
OFFICIAL_COMMIT = '53f63a672eab9ade02aabe6432706ef56f317d64'
STRATEGY = 'color_crop_cutout_flip_scale_rotate'  # main_DM.py's default and the DSA readme's; used on both sides

CONFIGS = {  # name: (method, dataset, ipc)
    'dm_mnist_ipc1': ('dm', 'mnist', 1),
    'dm_mnist_ipc10': ('dm', 'mnist', 10),
    'dm_cifar10_ipc10': ('dm', 'cifar10', 10),
    'dc_mnist_ipc1': ('dc', 'mnist', 1),
    'dc_mnist_ipc10': ('dc', 'mnist', 10),   # not in the default set: about 4.5 CPU-min per outer iteration and side
    'dsa_mnist_ipc1': ('dsa', 'mnist', 1),
}
_OFFICIAL_NAMES = {'mnist': 'MNIST', 'cifar10': 'CIFAR10'}
_STEMS = {'mnist': ('mnist-train.npz',), 'cifar10': ('cifar10-train-part1.npz',)}  # the official side's data; ours takes the same images

# (regex, replacement, expected number of matches) applied to the official utils.py source in memory
OFFICIAL_PATCHES = [
    (r'(\w+)\[:\] = \1\[0\]', r'\1[:] = \1[0].clone()', 10),  # torch >= 2: no in-place copy from an overlapping view
    (r'(x = x_pad\.permute\(0, 2, 3, 1\)\.contiguous\(\)\[grid_batch, grid_x, grid_y\]\.permute\(0, 3, 1, 2\))',
     r'\1.clone(memory_format=torch.contiguous_format)', 1),  # rand_crop: channels-last strides on 1-channel images
]


# ----------------------------------------------------------------------------------------------- shared helpers
def _usage() -> dict:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return dict(utime=r.ru_utime, stime=r.ru_stime, minflt=r.ru_minflt, majflt=r.ru_majflt, maxrss_mb=r.ru_maxrss / 1024)


def _usage_delta(a: dict, b: dict) -> dict: return {k: b[k] - a[k] for k in ('utime', 'stime', 'minflt', 'majflt')}


class _FlopWindow:
    "Count FLOPs between `start()` and `stop()` (entered and left from different call sites)."
    def __init__(self): self.mode, self.total, self.by_op = None, None, {}
    def start(self):
        from torch.utils.flop_counter import FlopCounterMode
        self.mode = FlopCounterMode(display=False); self.mode.__enter__()
    def stop(self):
        if self.mode is None: return
        self.mode.__exit__(None, None, None)
        self.total = int(self.mode.get_total_flops())
        self.by_op = {str(k): int(v) for k, v in self.mode.get_flop_counts().get('Global', {}).items()}
        self.mode = None


class _Done(Exception):
    "Raised at the last iteration boundary to leave the measured loop early."


def _iteration_marks(warmup: int, iters: int, flops: _FlopWindow | None, rec: dict):
    "Callback for the k-th iteration boundary: records wall and CPU times and usage, runs the FLOP window, stops the run."
    marks = rec.setdefault('marks', [])
    last = warmup + iters + (flops is not None)
    def mark():
        k = len(marks)
        marks.append((time.perf_counter(), time.process_time()))
        if k == warmup: rec['u0'] = _usage()
        if k == warmup + iters: rec['u1'] = _usage()
        if flops is not None and k == warmup + iters + 1: flops.stop()
        if k == last: raise _Done
        if flops is not None and k == warmup + iters: flops.start()
    return mark


# ----------------------------------------------------------------------------------------------- official side
def _stub_missing_modules():
    "Stand-ins for modules the official code imports but the timed loop never uses (a CPU-only venv lacks them)."
    try: import torchvision  # noqa: F401
    except Exception:
        tv = types.ModuleType('torchvision'); tv.__path__ = []
        for sub in ('datasets', 'transforms', 'utils'):
            m = types.ModuleType(f'torchvision.{sub}'); setattr(tv, sub, m); sys.modules[m.__name__] = m
        tv.utils.save_image = lambda *a, **k: None
        sys.modules['torchvision'] = tv
    try: from scipy.ndimage.interpolation import rotate  # noqa: F401  (used only by DC's evaluation augmentation)
    except Exception:
        for name in ('scipy', 'scipy.ndimage', 'scipy.ndimage.interpolation'):
            m = sys.modules.setdefault(name, types.ModuleType(name)); m.__path__ = []
        sys.modules['scipy.ndimage.interpolation'].rotate = None


def _load_official(path: Path, main_name: str):
    "The official `main_name` module, with its `utils` patched in memory (see OFFICIAL_PATCHES)."
    import warnings
    warnings.filterwarnings('ignore')
    sys.path.insert(0, str(path))
    _stub_missing_modules()
    src = (path / 'utils.py').read_text()
    for pat, rep, n in OFFICIAL_PATCHES:
        src, k = re.subn(pat, rep, src)
        if k != n: raise RuntimeError(f'official utils.py: patch {pat!r} matched {k} times, expected {n} (other commit?)')
    utils = types.ModuleType('utils'); utils.__file__ = str(path / 'utils.py')
    sys.modules['utils'] = utils
    exec(compile(src, utils.__file__, 'exec'), utils.__dict__)
    import importlib
    return importlib.import_module(main_name)


def _npz_arrays(data: Path, dataset: str):
    import numpy as np
    xs, ys = [], []
    for f in _STEMS[dataset]:
        with np.load(data / f) as d: xs.append(d['x']); ys.append(d['y'])
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


def _official_dataset_shim(data: Path, dataset: str):
    "Replacement of the official `utils.get_dataset` for the shared NPZ files (train split only; no test loader)."
    import torch
    x, y = _npz_arrays(data, dataset)
    x = torch.from_numpy(x)
    x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)  # uint8 (N, C, H, W), like torchvision's PIL images
    C = x.shape[1]
    mean, std = ([0.1307], [0.3081]) if dataset == 'mnist' else ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])
    m, s = torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)

    class NPZImages(torch.utils.data.Dataset):  # ToTensor + Normalize, one image at a time (as torchvision does)
        def __len__(self): return len(x)
        def __getitem__(self, i): return (x[i].float().div(255) - m) / s, int(y[i])

    def get_dataset(name, data_path):
        return C, tuple(x.shape[2:]), 10, [str(c) for c in range(10)], mean, std, NPZImages(), None, None
    return get_dataset


def run_official(a, cfg) -> dict:
    import torch
    torch.set_num_threads(a.threads)
    _apply_variants(a.side, official=True)
    method, dataset, ipc = CONFIGS[cfg]
    main_name = 'main_DM' if method == 'dm' else 'main'
    mod = _load_official(Path(a.official), main_name)
    mod.get_dataset = _official_dataset_shim(Path(a.data), dataset)
    rec, flops = {}, (_FlopWindow() if a.count_flops else None)
    mark = _iteration_marks(a.warmup, a.iters, flops, rec)
    orig = mod.get_network
    def get_network(*args, **kw):  # called once at the start of every outer iteration (evaluation is off)
        mark(); return orig(*args, **kw)
    mod.get_network = get_network
    with tempfile.TemporaryDirectory() as tmp:
        argv = [main_name, '--dataset', _OFFICIAL_NAMES[dataset], '--model', 'ConvNet', '--ipc', str(ipc),
                '--num_exp', '1', '--num_eval', '0', '--Iteration', '100000', '--batch_real', '256',
                '--data_path', tmp, '--save_path', tmp]
        if method == 'dm': argv += ['--dsa_strategy', STRATEGY, '--init', 'real']
        elif method == 'dc': argv += ['--method', 'DC', '--init', 'noise']
        else: argv += ['--method', 'DSA', '--dsa_strategy', STRATEGY, '--init', 'real']
        sys.argv = argv
        out = open(os.devnull, 'w'); old = sys.stdout; sys.stdout = out
        try: mod.main()
        except _Done: pass
        finally: sys.stdout = old; out.close()
    return _result(a, rec, flops, torch)


# ----------------------------------------------------------------------------------------------- variants
VARIANTS = {}  # name -> (applies to the official side too?, function applying it in the worker before the run)


def _variant(both=False):
    def deco(f): VARIANTS[f.__name__.removeprefix('v_')] = (both, f); return f
    return deco


def mallopt_keep_memory() -> bool:
    "condense_nb.core.keep_freed_memory (glibc mallopt: no mmap, no trim), for either side of a comparison."
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from condense_nb.core import keep_freed_memory
    return keep_freed_memory()


@_variant(both=True)
def v_mallopt():
    "mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, 2 GiB) at start-up (ctypes; glibc)."
    if not mallopt_keep_memory(): raise SystemExit('mallopt failed (not glibc?)')


@_variant()
def v_chunk256():
    "DM(chunk=256): the default since it replaced 1024, so now a no-op; kept so the recorded commands still run."
    from condense_nb import dm
    init = dm.DM.__init__
    def __init__(self, *a, **kw): kw.setdefault('chunk', 256); init(self, *a, **kw)
    dm.DM.__init__ = __init__


@_variant()
def v_inplace():
    "ReLU(inplace=True) in every net (as the official networks.py); values unchanged."
    import torch.nn as nn
    from condense_nb import nets
    nets.act_layer = (lambda f: lambda act: nn.ReLU(inplace=True) if act == 'relu' else f(act))(nets.act_layer)


@_variant()
def v_cl():
    "channels_last nets and inputs (a layout change; values equal up to summation order)."
    import torch
    from condense_nb import nets, dm, gm
    embed = nets.SizedNet.embed
    nets.SizedNet.embed = lambda self, x: embed(self, x.contiguous(memory_format=torch.channels_last))
    for mod in (dm, gm):
        mod.get_net = (lambda f: lambda *a, **k: f(*a, **k).to(memory_format=torch.channels_last))(mod.get_net)


@_variant()
def v_cropfix():
    "DSA crop returns the standard (contiguous) layout, as the patched official rand_crop (1-channel images otherwise run channels-last)."
    import torch
    from condense_nb import augment
    f = augment._APPLY['crop']
    augment._APPLY['crop'] = lambda x, p: f(x, p).clone(memory_format=torch.contiguous_format)


_DM_OPTS = {}


def _patch_dm_loss():
    "Install a DM.loss equal to condense_nb's (same draws, same math) with the options of `_DM_OPTS`."
    import torch
    from condense_nb import dm
    from condense_nb.engine import class_means
    if getattr(dm.DM.loss, '_bench', False): return
    orig = dm.DM.loss
    def loss(self, x_syn, y_syn, real, generator):
        if self.batch_real is None: return orig(self, x_syn, y_syn, real, generator)
        s, C = self.draw(generator), real.n_classes
        net = self.embedder(real, s)
        ns = [min(self.batch_real, n) for n in real.counts]
        with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=_DM_OPTS.get('bf16', False)):
            if _DM_OPTS.get('perclass'):  # one class per forward, as the official ConvNet branch
                m_real = torch.stack([net.embed(self.augment(real.sample(c, ns[c], generator), s, c)).float().mean(0)
                                      for c in range(C)])
            else:
                x_real = torch.cat([self.augment(real.sample(c, ns[c], generator), s, c) for c in range(C)])
                y_real = torch.repeat_interleave(torch.arange(C), torch.tensor(ns))
                e_real = torch.cat([net.embed(x_real[i:i + self.chunk]).float() for i in range(0, len(x_real), self.chunk)])
                m_real = class_means(e_real, y_real, C)
        order = torch.argsort(y_syn, stable=True)
        x_s, y_s = x_syn[order], y_syn[order]
        x_aug = torch.cat([self.augment(x_s[y_s == c], s, c) for c in range(C)])
        return dm.embedding_mmd(m_real, net.embed(x_aug), y_s)
    loss._bench = True
    dm.DM.loss = loss


@_variant()
def v_perclass():
    "DM: augment and embed the real images one class (256) at a time, as the official code."
    _DM_OPTS['perclass'] = True; _patch_dm_loss()


@_variant()
def v_bf16real():
    "DM: the frozen real-side forward under bfloat16 autocast (the synthetic side stays float32)."
    _DM_OPTS['bf16'] = True; _patch_dm_loss()


def _defaults(name, **defaults):
    "Make every objective `name` ('dm.DM', 'gm.GradientMatching') of this process default to `defaults` (its own switches)."
    import importlib
    mod, cls_name = name.split('.')
    cls = getattr(importlib.import_module(f'condense_nb.{mod}'), cls_name)
    init = cls.__init__
    def __init__(self, *a, **kw):
        for k, v in defaults.items(): kw.setdefault(k, v)
        init(self, *a, **kw)
    cls.__init__ = __init__


@_variant()
def v_dmbf16():
    "DM(real_autocast='bf16'): the library's switch (real-side forward under bf16 autocast, synthetic side fp32)."
    _defaults('dm.DM', real_autocast='bf16')


@_variant()
def v_dmcompile():
    "DM(compile=True): the library's switch (one torch.compile'd functional embedding per architecture)."
    _defaults('dm.DM', compile=True)


@_variant()
def v_dmchunk16():
    "DM(chunk=16): real images embedded 16 at a time (activations stay in the core's cache; the library's switch)."
    _defaults('dm.DM', chunk=16)


@_variant()
def v_dmstem():
    "DM(fuse_stem=True): the real side's first block fused (no full-resolution map; the library's switch, needs dmcompile)."
    _defaults('dm.DM', fuse_stem=True)


@_variant()
def v_dcbf16():
    "GradientMatching(real_autocast='bf16') for DC/DSA: the real gradient under bf16 autocast (synthetic side fp32)."
    _defaults('gm.GradientMatching', real_autocast='bf16')


@_variant()
def v_dccompile():
    "GradientMatching(compile=True) for DC/DSA: the loop's real gradient and the network's training steps compiled."
    _defaults('gm.GradientMatching', compile=True)


@_variant()
def v_dcstem():
    "GradientMatching(fuse_stem=True): the first ConvNet block fused in the real gradients and the training steps (float32; needs dccompile)."
    _defaults('gm.GradientMatching', fuse_stem=True)


@_variant()
def v_dctbf16():
    "GradientMatching(train_autocast='bf16'): the network's training on the synthetic set under bf16 autocast (ipc > 1)."
    _defaults('gm.GradientMatching', train_autocast='bf16')


@_variant()
def v_netcl():
    "get_net(channels_last=True) in the DM and DC/DSA objectives: the library's switch."
    from condense_nb import dm, gm
    for mod in (dm, gm):
        mod.get_net = (lambda f: lambda *a, **k: f(*a, **{'channels_last': True, **k}))(mod.get_net)


def _apply_variants(side: str, official: bool = False):
    for v in side.split('+')[1:]:
        if v.startswith('env:'): continue  # set by the parent (see _side_env)
        if v not in VARIANTS: raise SystemExit(f'unknown variant {v!r}; known: {", ".join(VARIANTS)} and env:NAME=VALUE')
        both, f = VARIANTS[v]
        if official and not both: raise SystemExit(f'variant {v!r} patches condense_nb; the official side takes mallopt and env: only')
        f()


# ----------------------------------------------------------------------------------------------- our side
def run_ours(a, cfg) -> dict:
    import torch
    torch.set_num_threads(a.threads)
    _apply_variants(a.side)
    from condense_nb.data import load_npz, ClassSampler
    from condense_nb.engine import PixelParam, METHODS, condense
    import condense_nb.dm, condense_nb.gm  # noqa: F401  (register the methods)
    method, dataset, ipc = CONFIGS[cfg]
    train = load_npz([Path(a.data) / f for f in _STEMS[dataset]], dataset)   # the official side's files and images
    real = ClassSampler(train, 'cpu')
    del train
    m = METHODS[method]
    kw = dict(m.objective_kw)
    if method in ('dm', 'dsa'): kw['dsa_strategy'] = STRATEGY
    objective = m.objective(**kw)
    param = PixelParam.init(real, ipc, init=m.init, generator=0)
    rec, flops = {}, (_FlopWindow() if a.count_flops else None)
    mark = _iteration_marks(a.warmup, a.iters, flops, rec)
    mark()  # boundary 0; the callback marks the end of every iteration
    try: condense(param, objective, real, 100000, lr_img=m.lr_img, momentum=m.momentum, seed=0, progress=False,
                  callback=lambda it, loss, p: mark())
    except _Done: pass
    return _result(a, rec, flops, torch)


def _result(a, rec, flops, torch) -> dict:
    t, w, n = rec['marks'], a.warmup, a.iters
    return dict(secs=[t[k + 1][0] - t[k][0] for k in range(w, w + n)], cpu=[t[k + 1][1] - t[k][1] for k in range(w, w + n)],
                flops=flops.total if flops else None, flops_by_op=flops.by_op if flops else None,
                loop=_usage_delta(rec['u0'], rec['u1']), total=_usage(), torch=torch.__version__,
                threads=torch.get_num_threads(), python=sys.executable)


# ----------------------------------------------------------------------------------------------- parent
def matmul_peak(threads: int, n: int = 2048, reps: int = 5) -> tuple[float, float]:
    "Best fp32 matmul (n x n x n) GFLOP/s of this machine at `threads` threads: per wall second and per CPU second."
    import torch
    torch.set_num_threads(threads)
    x, y = torch.randn(n, n), torch.randn(n, n)
    x @ y
    runs = []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time(); x @ y
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return 2 * n ** 3 / min(r[0] for r in runs) / 1e9, 2 * n ** 3 / min(r[1] for r in runs) / 1e9


def _side_python(side: str) -> str:
    base = side.split('+')[0]
    return base.split('@', 1)[1] if '@' in base else sys.executable


def _side_env(side: str, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONHASHSEED='0')
    for v in side.split('+')[1:]:
        if v.startswith('env:'): k, _, val = v[4:].partition('='); env[k] = val
    return env


def _run_child(a, side: str, cfg: str, count_flops: bool) -> dict:
    kind = side.split('+')[0].split('@')[0]
    with tempfile.NamedTemporaryFile('r', suffix='.json') as res:
        cmd = [_side_python(side), os.path.abspath(__file__), '--worker', kind, '--side', side, '--config', cfg,
               '--result', res.name, '--official', a.official, '--data', a.data, '--threads', str(a.threads),
               '--warmup', str(a.warmup), '--iters', str(_iters(a, cfg))] + (['--count-flops'] if count_flops else [])
        p = subprocess.run(cmd, capture_output=True, text=True, env=_side_env(side, a.threads),
                           cwd=str(Path(__file__).resolve().parents[1]))
        if p.returncode: raise RuntimeError(f'{side} {cfg} failed (rc {p.returncode}):\n{p.stderr[-3000:]}')
        return json.loads(Path(res.name).read_text())


def _iters(a, cfg) -> int: return a.iters if a.iters else (2 if CONFIGS[cfg][0] in ('dc', 'dsa') else 3)


def _fmt_side(side: str) -> str:
    base, *rest = side.split('+')
    if '@' in base: kind, py = base.split('@', 1); base = f'{kind}@{Path(py).parent.parent.name}'
    return '+'.join([base, *rest])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--official', default='/work/scratch/official_dc', help=f'checkout of {OFFICIAL_REPO} at {OFFICIAL_COMMIT[:8]}')
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2] / 'shared' / 'data'), help='folder with the NPZ files')
    p.add_argument('--configs', nargs='+', default=[c for c in CONFIGS if c != 'dc_mnist_ipc10'], choices=list(CONFIGS))
    p.add_argument('--sides', nargs='+', default=['official', 'ours'],
                   help="'official', 'ours', 'ours+VARIANT[+VARIANT...]' (a name in VARIANTS, or env:NAME=VALUE), "
                        "'official@/path/to/python' (another interpreter, e.g. another torch build); the first is the reference")
    p.add_argument('--repeats', type=int, default=2, help='fresh processes per side and configuration (interleaved)')
    p.add_argument('--warmup', type=int, default=1, help='untimed iterations at the start of each process')
    p.add_argument('--iters', type=int, default=0, help='timed iterations per process (0: 3 for DM, 2 for DC/DSA)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--no-flops', action='store_true', help='skip the FLOP count (one extra iteration in the first repeat)')
    p.add_argument('--json', default=None, help='also write every measurement to this JSON file')
    p.add_argument('--list-variants', action='store_true')
    p.add_argument('--report-from', nargs='+', default=None, metavar='JSON',
                   help='print the table from JSON files of earlier runs (rows merged; --sides/--configs select and order)')
    p.add_argument('--flops-from', nargs='+', default=None, metavar='JSON',
                   help='(with --report-from) take each configuration\'s FLOPs per iteration from these runs\' rows')
    for k in ('worker', 'side', 'config', 'result'): p.add_argument(f'--{k}', default=None, help=argparse.SUPPRESS)
    p.add_argument('--count-flops', action='store_true', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.list_variants:
        for k, (both, f) in VARIANTS.items(): print(f"{k:<10} {'both sides' if both else 'ours only':<10} {f.__doc__}")
        return 0
    if a.report_from:
        d = [json.loads(Path(f).read_text()) for f in a.report_from]
        rows = [r for x in d for r in x['rows']]
        if a.sides == ['official', 'ours']: a.sides = list(dict.fromkeys(r['side'] for r in rows))
        a.configs = [c for c in a.configs if any(r['config'] == c for r in rows)]
        for f in a.flops_from or []:
            fl = {}
            for r in json.loads(Path(f).read_text())['rows']:
                if r.get('flops'): fl.setdefault(r['config'], r['flops'])
            for r in rows:
                if not r.get('flops') and r['config'] in fl: r['flops'] = fl[r['config']]
        _report(a, rows, [tuple(p) for x in d for p in x['peaks']], [l for x in d for l in x['loads']])
        return 0
    if a.worker:
        a.iters = a.iters or _iters(a, a.config)
        res = (run_official if a.worker == 'official' else run_ours)(a, a.config)
        Path(a.result).write_text(json.dumps(res)); return 0

    if any(s.startswith('official') for s in a.sides):
        missing = [f for f in ('main.py', 'main_DM.py', 'utils.py', 'networks.py') if not (Path(a.official) / f).exists()]
        if missing:
            print(f'SKIP: no official checkout at {a.official} (missing {", ".join(missing)}). Fetch {OFFICIAL_REPO} '
                  f'at commit {OFFICIAL_COMMIT} outside this repository and pass --official PATH.')
            return 0
    for cfg in a.configs:
        for f in _STEMS[CONFIGS[cfg][1]]:
            if not (Path(a.data) / f).exists(): print(f'SKIP: {Path(a.data) / f} not found (--data)'); return 0

    peaks, loads = [matmul_peak(a.threads)], [os.getloadavg()[0]]
    print(f'matmul peak probe ({a.threads} threads, fp32 2048^3): {peaks[0][0]:.1f} GFLOP/s per wall second, '
          f'{peaks[0][1]:.1f} per CPU second; load average {loads[0]:.2f} on {os.cpu_count()} CPUs', flush=True)
    rows = []
    def save():  # after every process, so that an interrupted run keeps what it measured
        if a.json: Path(a.json).write_text(json.dumps(dict(rows=rows, peaks=peaks, loads=loads, sides=a.sides), indent=1))
    for cfg in a.configs:
        for r in range(a.repeats):
            order = a.sides if r % 2 == 0 else a.sides[::-1]  # alternate who goes first
            for side in order:
                l0, t0 = os.getloadavg()[0], time.time()
                res = _run_child(a, side, cfg, count_flops=(r == 0 and not a.no_flops))
                loads.append(os.getloadavg()[0])
                res.update(config=cfg, side=side, repeat=r, load=[l0, loads[-1]], wall=time.time() - t0)
                rows.append(res)
                print(f'  {cfg:<17} {_fmt_side(side):<30} rep {r}: {statistics.median(res["secs"]):6.2f} s/it wall '
                      f'({", ".join(f"{s:.2f}" for s in res["secs"])}), {statistics.median(res["cpu"]):6.2f} CPU-s/it, '
                      f'peak RSS {res["total"]["maxrss_mb"]:5.0f} MB, load {l0:.1f}->{loads[-1]:.1f}'
                      + (f', {res["flops"] / 1e9:.1f} GFLOP/it' if res['flops'] else ''), flush=True)
                save()
    peaks.append(matmul_peak(a.threads))
    save()
    _report(a, rows, peaks, loads)
    return 0


def _report(a, rows, peaks, loads):
    pw, pc = max(p[0] for p in peaks), max(p[1] for p in peaks)
    print(f'\nmatmul peak probe (fp32, {a.threads} threads): ' + ', '.join(f'{w:.0f} GFLOP/s wall / {c:.0f} per CPU-s'
          for w, c in peaks) + f' (before, after). Load average (1 min) seen {min(loads):.1f} .. {max(loads):.1f}, '
          f'median {statistics.median(loads):.1f}, on {os.cpu_count()} CPUs')
    ref = a.sides[0]
    hdr = (f"{'config':<17} {'side':<30} {'s/it':>6} {'range':>11} {'ratio':>6} {'CPU-s/it':>8} {'ratio':>6} "
           f"{'RSS MB':>6} {'GFLOP/it':>8} {'GFLOP/s':>7} {'%peak':>5} {'/CPU-s':>6} {'%peak':>5} {'sys/it':>6} {'minflt/it':>9}")
    print(hdr + '\n' + '-' * len(hdr))
    summary = []
    for cfg in a.configs:
        med = {}
        for side in a.sides:
            rs = [r for r in rows if r['config'] == cfg and r['side'] == side]
            if not rs: continue
            secs = [s for r in rs for s in r['secs']]
            n = len(rs[0]['secs'])
            w = statistics.median(statistics.median(r['secs']) for r in rs)
            c = statistics.median(statistics.median(r['cpu']) for r in rs)
            med[side] = (w, c)
            fl = next((r['flops'] for r in rs if r['flops']), None) or float('nan')
            sys_it = statistics.median(r['loop']['stime'] / n for r in rs)
            flt_it = statistics.median(r['loop']['minflt'] / n for r in rs)
            rss = statistics.median(r['total']['maxrss_mb'] for r in rs)
            gw, gc = fl / 1e9 / w, fl / 1e9 / c
            rw, rc = (med[ref][0] / w, med[ref][1] / c) if ref in med else (float('nan'), float('nan'))
            summary.append(dict(config=cfg, side=side, s_it=w, cpu_s_it=c, ratio_wall=rw, ratio_cpu=rc, rss_mb=rss,
                                gflop_it=fl / 1e9, sys_it=sys_it, minflt_it=flt_it))
            print(f"{cfg:<17} {_fmt_side(side):<30} {w:6.2f} {min(secs):5.2f}-{max(secs):5.2f} {rw:6.2f} {c:8.2f} {rc:6.2f} "
                  f"{rss:6.0f} {fl / 1e9:8.1f} {gw:7.1f} {100 * gw / pw:5.1f} {gc:6.1f} {100 * gc / pc:5.1f} "
                  f"{sys_it:6.2f} {flt_it:9.0f}")
    print(f"\ns/it: wall seconds per iteration, median over processes of each process's median; range: all timed "
          f"iterations. ratio: {_fmt_side(ref)} / side (> 1: the side is faster). CPU-s/it: process CPU time (all threads, "
          f"user + system) per iteration, less sensitive to other processes on the machine than wall time. RSS: peak RSS of "
          f"the whole process (data, setup, loop). GFLOP/it: FlopCounterMode on one extra iteration (convolution and "
          f"matmul FLOPs, forward and backward); GFLOP/s per wall second and, '/CPU-s', GFLOP per CPU second, each "
          f"against the matching matmul peak. sys/it, minflt/it: kernel seconds and minor page faults per timed iteration.")
    return summary


if __name__ == '__main__':
    sys.exit(main())
