"""Execute the book's literate notebooks, several at a time, into the jupyter-cache that `jupyter-book build` reads.

`jupyter-book build` (execute_notebooks: cache) runs every notebook it finds no cached outputs for, one after the
other. This script runs them first, in parallel (one process per CPU core, jupyter-cache's `local-parallel`
executor, the same cell-by-cell execution MyST-NB uses), and stores the outputs under the same hash of the code cells,
so the book then only reads them back. Every cell runs, `#| slow` ones included (the book shows them); any error fails
the script with the notebook's traceback, so this is also the test that every chapter executes.

    python tools/execute_notebooks.py                 # all literate chapters (nbs/[0-9]*.ipynb)
    python tools/execute_notebooks.py nbs/00_core.ipynb nbs/06_storage.ipynb
"""
from __future__ import annotations
import argparse, sys, time
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / '_build' / '.jupyter_cache'   # where jupyter-book 1.x keeps it (execution_cache_path unset)
TIMEOUT = 600                                  # seconds per notebook, as `execute: timeout` in _config.yml


def chapters() -> list[Path]:
    "The literate notebooks the book executes (the experiment pages are excluded from execution in _config.yml)."
    return sorted((ROOT / 'nbs').glob('[0-9]*.ipynb'))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', type=Path, help='notebooks to execute (default: every literate chapter)')
    p.add_argument('--cache', type=Path, default=CACHE, help=f'jupyter-cache folder (default: the book\'s, {CACHE})')
    a = p.parse_args(argv)
    nbs = [n.resolve() for n in a.notebooks] or chapters()
    missing = [str(n) for n in nbs if not n.is_file()]
    if missing: p.error(f'no such notebook: {", ".join(missing)}')
    cache = get_cache(str(a.cache))
    todo = []
    for n in nbs:
        if _cached(cache, n): continue
        todo.append(str(cache.add_nb_to_project(str(n)).uri))
    print(f'{len(nbs) - len(todo)} of {len(nbs)} notebooks already cached; executing {len(todo)}', flush=True)
    t0 = time.perf_counter()
    res = load_executor('local-parallel', cache).run_and_cache(filter_uris=todo, timeout=TIMEOUT, force=True) \
        if todo else None
    failed = [] if res is None else res.excepted + res.errored
    for uri in failed:
        rec = cache.get_project_record(uri)
        print(f'\nFAILED {uri}\n{rec.traceback or "(no traceback recorded)"}', file=sys.stderr)
    left = [n for n in nbs if not _cached(cache, n)]   # what the book would still have to execute
    print(f'executed {len(todo) - len(failed)} of {len(todo)} in {time.perf_counter() - t0:.0f} s; '
          f'{len(nbs) - len(left)} of {len(nbs)} notebooks now cached for the book')
    if failed or left:
        print(f'FAIL: {len(failed)} notebook(s) raised; not cached: {[n.name for n in left]}', file=sys.stderr)
        return 1
    return 0


def _cached(cache, path:Path) -> bool:
    "True when the cache holds outputs for `path`'s current code cells (the match MyST-NB makes)."
    try: cache.match_cache_notebook(nbformat.read(path, as_version=4)); return True
    except KeyError: return False


if __name__ == '__main__': sys.exit(main())
