"""The prepared GPU call (issue 14): scaled-down CIFAR-10 cells through the one runner, records to $OUT.

Run on the lent GPU machine as one call (see tools/gpu_experiments.sh, which installs kornia from the carried wheels):
    OUT=$OUT CONDENSE_NB_COMMIT=<sha> python tools/gpu_experiments.py --data .data --out $OUT --budget 480
Rehearsed on a CPU in CI with --smoke (the same cells with each method's smoke settings on 10 images per class).

Each cell is one `run_experiment` call with a stated reduced budget (iterations, experts, seeds); cells run in order of
value and a cell starts only if the time left covers its estimate, so the whole call stays inside --budget seconds.
Every record carries device, torch, commit, seeds and wall time; copy `$OUT/<name>/record.json` (and the set files)
into nbs/experiments/results/<name>/ and re-render the experiment notebooks.
"""
import argparse, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (record name, dataset, method, ipc, runner overrides, estimated seconds on an H200) — most valuable first
CELLS = [
    ('dm_c10_ipc10_gpu2k', 'cifar10', 'dm', 10, dict(iterations=2000, seeds=(0,), eval_nets=5), 150),
    ('dsa_c10_ipc1_gpu300', 'cifar10', 'dsa', 1, dict(iterations=300, seeds=(0,), eval_nets=5), 150),
    ('dc_c10_ipc1_gpu300', 'cifar10', 'dc', 1, dict(iterations=300, seeds=(0,), eval_nets=5), 120),
    ('kfs_c10_b10_gpu1k', 'cifar10', 'kfs', 10, dict(iterations=1000, seeds=(0,), eval_nets=3,
                                                      objective_kw={'pool': 200}, param_kw={'pretrain_steps': 500}), 150),
    ('mtt_c10_ipc1_gpu500', 'cifar10', 'mtt', 1, dict(iterations=500, seeds=(0,), eval_nets=3,
                                                      objective_kw={'n_experts': 3, 'expert_epochs_total': 10}), 150),
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default='.data', help='folder with the NPZ files (cifar10-jpeg.npz, ...)')
    p.add_argument('--out', required=True, help='records go to OUT/<cell name>/')
    p.add_argument('--budget', type=float, default=480, help='seconds for all cells together')
    p.add_argument('--smoke', action='store_true', help='each method\'s smoke settings (CPU rehearsal)')
    p.add_argument('--only', nargs='*', default=None, help='run only these cell names')
    a = p.parse_args(argv)
    from condense_nb.runner import run_experiment, load_methods
    from condense_nb.engine import METHODS
    load_methods()
    t0, done = time.time(), {}
    for name, dataset, method, ipc, kw, estimate in CELLS:
        if a.only and name not in a.only: continue
        left = a.budget - (time.time() - t0)
        if not a.smoke and left < estimate:
            print(f'skip {name}: {left:.0f} s left, estimate {estimate} s', flush=True); continue
        kw = dict(kw)
        if a.smoke:   # the cell's own keys still go through, but the method's smoke values win where both set one
            kw.update(iterations=None, seeds=(0,))
            for k in ('objective_kw', 'param_kw'):
                if kw.get(k): kw[k] = {**kw[k], **METHODS[method].smoke.get(k, {})}
        t = time.time()
        rec = run_experiment(dataset, method, ipc, out=Path(a.out) / name, root=a.data, smoke=a.smoke, progress=False, **kw)
        done[name] = dict(mean=rec['mean'], std=rec['std'], seconds=round(time.time() - t, 1), device=rec['device'])
        print(f'{name}: {rec["mean"]:.2f} ± {rec["std"]:.2f} in {time.time() - t:.0f} s on {rec["device"]}', flush=True)
    (Path(a.out) / 'summary.json').write_text(json.dumps(dict(cells=done, wall_seconds=round(time.time() - t0, 1)), indent=1))
    return 0


if __name__ == '__main__': sys.exit(main())
