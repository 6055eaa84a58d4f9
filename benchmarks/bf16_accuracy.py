"""Does the bf16 real side change the accuracy? DM, DC or DSA at equal seeds with `real_autocast=None` (fp32) and `'bf16'`.

For every seed, both arms start from the same initial images and see the same networks, augmentations and real batches
(all drawn from the seed); they differ only in the precision of the real side (DM: the frozen network's forward on
real images; DC/DSA: the real gradient's forward and backward). Each condensed set is saved and evaluated exactly as
`condense_nb experiment` does (`evaluate_condensed` with the method's protocol: DM/DSA with DSA, DC with DC-aug on
MNIST, 1,000 epochs unless `--eval-epochs`), by the same `--eval-nets` networks (same evaluation seed, so the comparison
is paired: net i of both arms has the same initialisation and augmentation draws). Prints the per-seed accuracies and
the paired difference bf16 - fp32 with its standard error. `--compile` runs both arms compiled (the same numbers as
eager within float32 rounding; faster).

The run is resumable: every (arm, seed) keeps a checkpoint and, when done, its set and accuracies in `--out`
(`results.json`); rerunning the same command continues where it stopped. Intended for the background queue, e.g.

    python benchmarks/bf16_accuracy.py --root ../shared/data --iterations 1000 --seeds 0 1 2 --eval-nets 5 \\
        --out runs/dm_bf16_acc --threads 1
    python benchmarks/bf16_accuracy.py --method dc --ipc 1 --iterations 100 --compile --out runs/dc_bf16_acc
    python benchmarks/bf16_accuracy.py --smoke --out /tmp/bf16_smoke      # seconds: digits, tiny settings

Not a timing benchmark (see flops.py for the speed ratio).
"""
from __future__ import annotations
import argparse, json, math, statistics, sys, time
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
    p.add_argument('--eval-epochs', type=int, default=None, help="default: the method's protocol (1000 with DSA)")
    p.add_argument('--arms', nargs='+', default=list(ARMS), choices=list(ARMS))
    p.add_argument('--out', required=True, help='folder for checkpoints, sets and results.json (resumable)')
    p.add_argument('--ckpt-every', type=int, default=50)
    p.add_argument('--device', default=None)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--compile', action='store_true', help='both arms with compile=True (a speed switch)')
    p.add_argument('--smoke', action='store_true', help='digits, ipc 1, 3 iterations, 1 net of 5 epochs, width 16')
    a = p.parse_args(argv)

    import torch
    from condense_nb.core import default_device, derive_seed, keep_freed_memory
    from condense_nb.data import ClassSampler
    from condense_nb.runner import (load_methods, prepare_data, condense_method, eval_protocol, condensed_synset,
                                    save_condensed, evaluate_condensed)
    from condense_nb.engine import METHODS
    if a.threads: torch.set_num_threads(a.threads)
    device = default_device(a.device)
    if device.type == 'cpu': keep_freed_memory()
    load_methods()
    method, dataset, ipc, iterations, n_nets, epochs = a.method, a.dataset, a.ipc, a.iterations, a.eval_nets, a.eval_epochs
    net_kw = {}
    if a.smoke: dataset, ipc, iterations, n_nets, epochs, net_kw = 'digits', 1, 3, 1, 5, {'width': 16, 'depth': 2}
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    res_file = out / 'results.json'
    results = json.loads(res_file.read_text()) if res_file.exists() else {}
    config = dict(method=method, dataset=dataset, ipc=ipc, iterations=iterations, eval_nets=n_nets, eval_epochs=epochs,
                  net_kw=net_kw)
    if {'method': 'dm', **results.get('config', config)} != config:   # files of the DM-only version lack 'method'
        raise SystemExit(f'{res_file} holds another configuration: {results["config"]} (this run: {config})')
    results['config'] = config
    runs = results.setdefault('runs', {})
    train, test, _ = prepare_data(dataset, root=a.root, smoke=a.smoke)
    real = ClassSampler(train, device)
    for seed in a.seeds:
        for arm in a.arms:
            key = f'{arm}/seed{seed}'
            if key in runs: print(f'{key}: done ({statistics.mean(runs[key]["accs"]):.2f} %)'); continue
            okw = {'real_autocast': ARMS[arm], **({'compile': True} if a.compile else {})}
            if net_kw: okw['net_kw'] = net_kw
            s = METHODS[method].settings(dataset, ipc, iterations=iterations, objective_kw=okw)
            t0 = time.perf_counter()
            param, objective, hist, s = condense_method(real, method, ipc, seed, s,
                                                        ckpt=out / f'ckpt_{arm}_seed{seed}.pt', progress=False,
                                                        ckpt_every=a.ckpt_every)
            t_cond = time.perf_counter() - t0
            prot = eval_protocol(s, dataset, objective, param, method=method, n_nets=n_nets, epochs=epochs,
                                 seed=derive_seed(seed, 'eval'), net_kw=net_kw)
            path = save_condensed(out / f'set_{arm}_seed{seed}.safetensors',
                                  condensed_synset(param, train.info, method, dict(config, arm=arm), seed, prot,
                                                   objective))
            ev = evaluate_condensed(path, test=test, device=device)   # as `condense_nb experiment` evaluates
            runs[key] = dict(accs=list(ev.accs), final_loss=hist.loss[-1] if hist.loss else None,
                             condense_seconds=round(t_cond, 1), eval=prot, device=str(device),
                             torch=torch.__version__)
            res_file.write_text(json.dumps(results, indent=1))
            print(f'{key}: {ev} (condensation {t_cond:.0f} s, final loss {runs[key]["final_loss"]:.4g})')
    report(runs, a.seeds)
    return results


def report(runs: dict, seeds) -> None:
    "Per-seed accuracies and the paired bf16 - fp32 difference over all (seed, net) pairs."
    diffs = []
    print(f"\n{'seed':>4} {'fp32 mean':>10} {'bf16 mean':>10} {'bf16 - fp32':>12}")
    for seed in seeds:
        f, b = runs.get(f'fp32/seed{seed}'), runs.get(f'bf16/seed{seed}')
        if not (f and b): continue
        d = [y - x for x, y in zip(f['accs'], b['accs'])]
        diffs += d
        print(f"{seed:>4} {statistics.mean(f['accs']):10.2f} {statistics.mean(b['accs']):10.2f} "
              f"{statistics.mean(d):+12.2f}")
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
