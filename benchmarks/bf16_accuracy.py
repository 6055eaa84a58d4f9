"""Does the bf16 real side change the accuracy? DM, DC or DSA at equal seeds with `real_autocast=None` (fp32) and `'bf16'`.

Each arm is one `condense_nb experiment` (`runner.run_experiment`) in its own folder, `--out/fp32` and `--out/bf16`,
with the same seeds: for every seed both arms start from the same initial images and see the same networks,
augmentations and real batches; they differ only in the precision of the real side (DM: the frozen network's forward
on real images; DC/DSA: the real gradient's forward and backward). Each saved set is evaluated with the method's
protocol by the same `--eval-nets` networks (the evaluation seed derives from the run's seed), so the comparison is
paired: net i of both arms has the same initialisation and augmentation draws. With `--train-bf16` (DC/DSA) the bf16
arm also trains the network between matching steps under bf16 autocast (`train_autocast`; ipc > 1 only). Prints the per-seed accuracies and the
paired difference bf16 - fp32 with its standard error. `--compile` runs both arms compiled (the same numbers as eager
within float32 rounding; faster). Resumable like any experiment: rerun the same command.

    python benchmarks/bf16_accuracy.py --method dc --ipc 1 --iterations 100 --compile --root ../shared/data \\
        --seeds 0 1 --eval-nets 3 --out runs/dc_bf16_acc
    python benchmarks/bf16_accuracy.py --smoke --method dc --out /tmp/bf16_smoke      # seconds: digits, tiny settings

`--arms bf16` (or `fp32`) runs one arm, so two processes can run the arms side by side; the report appears once both
records are there.

Not a timing benchmark (see flops.py for the speed ratio).
"""
from __future__ import annotations
import argparse, json, math, statistics, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ARMS = {'fp32': None, 'bf16': 'bf16'}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--method', default='dm', choices=['dm', 'dc', 'dsa'])
    p.add_argument('--dataset', default='mnist')
    p.add_argument('--root', default=str(REPO.parent / 'shared' / 'data'))
    p.add_argument('--ipc', type=int, default=10)
    p.add_argument('--iterations', type=int, default=1000, help='iterations per set (papers: DM 20,000, DC/DSA 1,000)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--eval-nets', type=int, default=5)
    p.add_argument('--eval-epochs', type=int, default=None, help="default: the method's protocol")
    p.add_argument('--out', required=True, help='folder for the two arms (fp32/, bf16/); resumable')
    p.add_argument('--ckpt-every', type=int, default=50)
    p.add_argument('--device', default=None)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--compile', action='store_true', help='both arms with compile=True (a speed switch)')
    p.add_argument('--train-bf16', action='store_true',
                   help="DC/DSA: the bf16 arm also trains the network on the synthetic set under bf16 autocast "
                        "(train_autocast; matters at ipc > 1)")
    p.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS),
                   help='arms to run in this process (both by default; one each lets two processes share the work); '
                        'the report reads the other arm from its record.json when it is there')
    p.add_argument('--smoke', action='store_true', help="digits, ipc 1, 3 iterations, the method's smoke settings")
    a = p.parse_args(argv)
    if a.train_bf16 and a.method == 'dm': p.error('--train-bf16 is for dc/dsa (DM trains no network)')

    import torch
    from condense_nb.runner import run_experiment
    if a.threads: torch.set_num_threads(a.threads)
    dataset, ipc, iterations = ('digits', 1, 3) if a.smoke else (a.dataset, a.ipc, a.iterations)
    recs = {}
    for arm, precision in ARMS.items():
        if arm not in a.arms:
            rec = Path(a.out) / arm / 'record.json'
            if rec.exists(): recs[arm] = json.loads(rec.read_text())
            continue
        okw = {**({'real_autocast': precision} if precision else {}), **({'compile': True} if a.compile else {}),
               **({'train_autocast': precision} if precision and a.train_bf16 else {})}
        recs[arm] = run_experiment(dataset, a.method, ipc, Path(a.out) / arm, seeds=a.seeds, iterations=iterations,
                                   objective_kw=okw or None, root=a.root, eval_nets=a.eval_nets,
                                   eval_epochs=a.eval_epochs, smoke=a.smoke, ckpt_every=a.ckpt_every,
                                   device=a.device, progress=False)
        for s, run in recs[arm]['runs'].items():
            print(f"{arm}/seed{s}: {statistics.mean(run['accs']):.2f} % ({len(run['accs'])} nets, condensation "
                  f"{run['condense_seconds']:.0f} s)")
    if len(recs) == 2: report(recs['fp32']['runs'], recs['bf16']['runs'])
    else: print(f"(no report: {', '.join(sorted(set(ARMS) - set(recs)))} arm not run yet)")
    return recs


def report(fp32: dict, bf16: dict) -> None:
    "Per-seed accuracies and the paired difference bf16 - fp32 over all (seed, net) pairs."
    diffs = []
    print(f"\n{'seed':>4} {'fp32 mean':>10} {'bf16 mean':>10} {'bf16 - fp32':>12}")
    for seed in sorted(set(fp32) & set(bf16), key=int):
        f, b = fp32[seed]['accs'], bf16[seed]['accs']
        d = [y - x for x, y in zip(f, b)]
        diffs += d
        print(f"{seed:>4} {statistics.mean(f):10.2f} {statistics.mean(b):10.2f} {statistics.mean(d):+12.2f}")
    if len(diffs) >= 2:
        m, se = statistics.mean(diffs), statistics.stdev(diffs) / math.sqrt(len(diffs))
        verdict = ('no difference detectable at this budget (|mean| <= 2 SE)' if abs(m) <= 2 * se else
                   'a difference is detectable (|mean| > 2 SE)')
        print(f'paired difference bf16 - fp32 over {len(diffs)} (seed, net) pairs: {m:+.2f} ± {se:.2f} points '
              f'(mean ± standard error); {verdict}')
        print('  (nets of one seed share the condensed set, so the pairs are not independent: '
              'treat the SE as a lower bound)')


if __name__ == '__main__':
    main()
