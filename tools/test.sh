#!/usr/bin/env bash
# The full test suite (what CI runs after tools/setup.sh): notebooks and modules in sync, notebook tests, pytest, book build.
set -euo pipefail
cd "$(dirname "$0")/.."
# one BLAS/OpenMP thread per process: nbdev_test runs 2 notebooks at once on a 2-core machine, and oversubscribed
# torch threads spin (measured: one notebook 13 s alone vs 138 s with 2 threads each on a loaded box)
export PATH="$PWD/venv/bin:$PATH" MPLBACKEND=Agg PYTHONHASHSEED=0 OMP_NUM_THREADS=1
t0=$(date +%s)
echo "== 1/5 nbdev_export leaves condense_nb/ unchanged"
nbdev_export
if [ -n "$(git status --porcelain -- condense_nb)" ]; then git status --porcelain -- condense_nb; git --no-pager diff --stat -- condense_nb; echo "FAIL: run nbdev_export and commit the generated modules"; exit 1; fi
echo "== 2/5 nbdev_clean leaves nbs/ unchanged"
nbdev_clean
if [ -n "$(git status --porcelain -- nbs)" ]; then git status --porcelain -- nbs; echo "FAIL: run nbdev_clean and commit the notebooks"; exit 1; fi
echo "== 3/5 nbdev_test (literate notebooks; nbs/experiments has .notest)"
nbdev_test --n_workers 2 --timing
echo "== 4/5 pytest"
python -m pytest -q -p no:cacheprovider tests
echo "== 5/5 jupyter-book build"
jupyter-book build . -W -n --keep-going
echo "== all checks passed in $(( $(date +%s) - t0 )) s"
