"""Re-render the experiment notebooks from their committed run records (normal mode: no smoke, nothing long runs).

    python tools/render_experiments.py [nbs/experiments/e11_dm.ipynb ...]   # default: every page, overview last

Executes each notebook in place with nbclient (cwd = nbs/experiments), so its outputs show the records in
nbs/experiments/results/. Without a GPU the paper-tier cells list missing records as pending; they never start a run.
Run `nbdev_clean` afterwards (tools/test.sh checks that notebooks are clean).
"""
import os, sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def render(path:Path) -> float:
    "Execute the notebook at `path` in place; returns the seconds it took."
    t0 = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - t0


if __name__ == '__main__':
    for k in ('CONDENSE_NB_SMOKE', 'CONDENSE_NB_RESULTS', 'CONDENSE_NB_FORCE_RUN'): os.environ.pop(k, None)
    os.environ.pop('MPLBACKEND', None)   # the kernel's inline backend, so that figures are kept in the outputs
    data = next((p for p in (ROOT.parent / 'shared' / 'data', ROOT / '.data') if p.exists()), None)
    if data is not None: os.environ.setdefault('CONDENSE_NB_DATA', str(data))
    exp = ROOT / 'nbs' / 'experiments'
    paths = [Path(p).resolve() for p in sys.argv[1:]] or [*sorted(exp.glob('e*.ipynb')), exp / 'overview.ipynb']
    for p in paths: print(f'{p.relative_to(ROOT)}: rendered in {render(p):.0f} s', flush=True)
