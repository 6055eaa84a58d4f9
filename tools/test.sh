#!/usr/bin/env bash
# The full test suite (what CI runs after tools/setup.sh): notebooks and modules in sync, notebook tests, pytest, book build.
set -euo pipefail
cd "$(dirname "$0")/.."
# one BLAS/OpenMP thread per process: step 4 runs 2 notebooks at once on a 2-core machine, and oversubscribed
# torch threads spin (measured: one notebook 13 s alone vs 138 s with 2 threads each on a loaded box)
export PATH="$PWD/venv/bin:$PATH" PYTHONHASHSEED=0 OMP_NUM_THREADS=1
t0=$(date +%s)
echo "== [$(( $(date +%s) - t0 )) s] 1/7 nbdev_export leaves condense_nb/ unchanged"
nbdev_export
if [ -n "$(git status --porcelain -- condense_nb)" ]; then git status --porcelain -- condense_nb; git --no-pager diff --stat -- condense_nb; echo "FAIL: run nbdev_export and commit the generated modules"; exit 1; fi
echo "== [$(( $(date +%s) - t0 )) s] 2/7 nbdev_clean leaves nbs/ unchanged"
nbdev_clean
if [ -n "$(git status --porcelain -- nbs)" ]; then git status --porcelain -- nbs; echo "FAIL: run nbdev_clean and commit the notebooks"; exit 1; fi
echo "== [$(( $(date +%s) - t0 )) s] 3/7 code lines fit the book's 120-character code column (_static/code_width.css)"
python tools/check_code_width.py
echo "== [$(( $(date +%s) - t0 )) s] 4/7 every literate chapter executes, every cell (slow ones too), 2 at a time, into the book's jupyter-cache"
# this replaces nbdev_test (which skips the #| slow cells the book runs anyway) and the book's own one-by-one execution:
# step 7 reads these outputs back; the experiment pages are never executed here (they render committed records)
python tools/execute_notebooks.py
echo "== [$(( $(date +%s) - t0 )) s] 5/7 pytest"
python -m pytest -q -p no:cacheprovider -n 2 --durations=15 tests   # the 15 slowest, for keeping CI under 30 min
echo "== [$(( $(date +%s) - t0 )) s] 6/7 a wheel builds and carries every module and the console script"
whl=$(mktemp -d)
python -m pip wheel --quiet --no-deps . -w "$whl" 2> >(grep -v '^WARNING: Location' >&2)
python - "$whl" <<'PYEOF'
import sys, zipfile, glob, pathlib
w = zipfile.ZipFile(glob.glob(sys.argv[1] + '/condense_nb-*.whl')[0]); names = set(w.namelist())
mods = {f'condense_nb/{p.name}' for p in pathlib.Path('condense_nb').glob('*.py')}
missing = mods - names
ep = next(n for n in names if n.endswith('entry_points.txt'))
assert not missing, f'wheel lacks {missing}'
assert 'condense_nb = condense_nb.cli:main' in w.read(ep).decode(), 'console script missing'
print(f'wheel ok: {len(mods)} modules + console script')
PYEOF
rm -rf "$whl"
echo "== [$(( $(date +%s) - t0 )) s] 7/7 jupyter-book build"
jupyter-book build . -W -n --keep-going
# figures must reach the pages (an Agg backend in the kernel silently drops them)
grep -q '_images/' _build/html/nbs/03_augment.html || { echo "FAIL: no figures in the built book"; exit 1; }
# every chapter page carries a Colab launch button, and no nbdev directive line reaches a page
for p in _build/html/nbs/[0-9]*.html; do grep -q 'colab.research.google.com/github/' "$p" || { echo "FAIL: no Colab button in $p"; exit 1; }; done
! grep -l '#| \?\(export\|default_exp\|hide\)' _build/html/nbs/*.html || { echo "FAIL: nbdev directives shown in the pages above"; exit 1; }
echo "== all checks passed in $(( $(date +%s) - t0 )) s"
