"""Peak memory and time of loading a dataset's training split: all of it, or only `train_per_class` images per class.

Each way of loading runs in a fresh process (so one does not inherit another's peak) and reports its peak resident
memory (`ru_maxrss`), the memory after the imports, the seconds and what it loaded:

  * `full`     `load_dataset(name, root)`: the whole training split as float32;
  * `capN`     `load_dataset(name, root, train_per_class=N)`: the loader keeps `cap_per_class(train, N)` and converts
               only those images (for the JPEG file the decoded uint8 arrays, cached after the first load, are read in
               full, then N per class are converted);
  * `cutN`     the same images by the old route: `cap_per_class(load_dataset(name, root)[0], N)` (everything
               converted, then cut);
  * `part1`    `load_npz(root/'{stem}-train-part1.npz')`: the part file the official code's side of
               `official_side_by_side.py` reads, which our side now reads too.

The test split is loaded in every mode (a run needs it). The JPEG decoding cache must exist already (any earlier
`load_dataset` call writes it); otherwise the first child pays the decoding and writes it.

    python benchmarks/load_memory.py --dataset cifar10 --root ../shared/data --modes full cap1000 cut1000 part1
"""
from __future__ import annotations
import argparse, json, resource, subprocess, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    "Peak resident set size of this process so far, in MB (Linux reports KiB)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(a) -> None:
    "Load one way and print one JSON line."
    sys.path.insert(0, str(REPO))
    import torch  # noqa: F401  (in the baseline, like any run)
    from condense_nb.data import load_dataset, load_npz, cap_per_class, _NPZ_STEMS
    base, t0 = rss_mb(), time.perf_counter()
    m = a.child
    if m == 'full': train, test = load_dataset(a.dataset, root=a.root)
    elif m.startswith('cap'): train, test = load_dataset(a.dataset, root=a.root, train_per_class=int(m[3:]))
    elif m.startswith('cut'):
        train, test = load_dataset(a.dataset, root=a.root)
        train = cap_per_class(train, int(m[3:]))
    elif m == 'part1':
        stem = _NPZ_STEMS[a.dataset]
        train, test = (load_npz(Path(a.root) / f'{stem}-train-part1.npz', a.dataset),
                       load_npz(Path(a.root) / f'{stem}-test.npz', a.dataset))
    else: raise SystemExit(f'unknown mode {m!r}: expected full, capN, cutN or part1')
    print(json.dumps(dict(mode=m, n_train=len(train), n_test=len(test), seconds=round(time.perf_counter() - t0, 2),
                          rss_after_imports_mb=round(base), peak_rss_mb=round(rss_mb()))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='cifar10')
    p.add_argument('--root', default='data', help='folder with the NPZ files')
    p.add_argument('--modes', nargs='+', default=['full', 'cap1000', 'cut1000', 'part1'])
    p.add_argument('--repeats', type=int, default=1, help='processes per mode (interleaved)')
    p.add_argument('--child', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child: return child(a)
    rows = []
    for r in range(a.repeats):
        for m in a.modes:
            out = subprocess.run([sys.executable, __file__, '--dataset', a.dataset, '--root', a.root, '--child', m],
                                 capture_output=True, text=True)
            if out.returncode: raise SystemExit(f'mode {m} failed:\n{out.stderr[-2000:]}')
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print(f'\n{a.dataset} from {a.root}: peak RSS of the loading process (MB), median over {a.repeats} process(es)')
    print(f'{"mode":>10} {"n_train":>8} {"peak MB":>8} {"after imports":>14} {"seconds":>8}')
    for m in a.modes:
        rs = sorted((r for r in rows if r['mode'] == m), key=lambda r: r['peak_rss_mb'])
        r = rs[len(rs) // 2]
        print(f'{m:>10} {r["n_train"]:>8} {r["peak_rss_mb"]:>8} {r["rss_after_imports_mb"]:>14} {r["seconds"]:>8}')


if __name__ == '__main__':
    main()
