#!/usr/bin/env bash
# The one prepared GPU call (issue 14). On the lent machine, from the repository root, with .whl and .data carried:
#   OUT=$OUT CONDENSE_NB_COMMIT=<sha> bash tools/gpu_experiments.sh            # benchmarks, then the experiment cells
#   bash tools/gpu_experiments.sh --smoke                                      # CPU rehearsal (CI), into a temp folder
# The GPU image has torch but no kornia: it is installed from the carried wheels (.whl), never from the network.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SMOKE=""; [ "${1:-}" = "--smoke" ] && SMOKE="--smoke"
OUT=${OUT:-$(mktemp -d)}
DATA=${DATA:-.data}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import kornia" 2>/dev/null; then
  [ -d .whl ] || { echo "kornia is missing and there is no .whl folder of wheels to install it from"; exit 1; }
  "$PY" -m pip install --quiet --no-index --find-links .whl kornia
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
if [ -z "$SMOKE" ]; then
  for b in dm dc; do "$PY" "benchmarks/${b}_benchmark.py" --device cuda > "$OUT/bench_$b.txt" 2>&1 || echo "benchmark $b failed (see $OUT/bench_$b.txt)"; done
  # achieved FLOP/s against the matmul peak, and the fast-path switches (one pass, bf16, channels_last, compile)
  timeout 300 "$PY" benchmarks/flops.py --device cuda --root "$DATA" --json "$OUT/flops_cuda.json" > "$OUT/bench_flops.txt" 2>&1 \
    || echo "benchmark flops failed or timed out (see $OUT/bench_flops.txt)"
  "$PY" tools/gpu_experiments.py --data "$DATA" --out "$OUT" --budget "${BUDGET:-420}"
else
  "$PY" tools/gpu_experiments.py --data "$DATA" --out "$OUT" --smoke
fi
echo "records in $OUT"
