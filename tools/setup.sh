#!/usr/bin/env bash
# Create venv/ with the pinned dev stack and install condense_nb into it (editable, --no-deps: TOOLCHAIN.md N3).
# Refuses to fetch torch/torchvision from the registry (TOOLCHAIN.md §3): the pins must come from local disk.
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=${REQ:-requirements-dev.txt}
[ -x venv/bin/python ] || python3 -m venv venv
PY=venv/bin/python
plan=$(mktemp)
"$PY" -m pip install --dry-run --quiet --report "$plan" -r "$REQ" 2> >(grep -v '^WARNING: Location' >&2)
"$PY" - "$plan" "$REQ" <<'PYEOF'
import json, sys
plan, req = json.load(open(sys.argv[1])).get("install", []), sys.argv[2]
bad = [f"{p['metadata']['name']} {p['metadata']['version']}" for p in plan
       if p["metadata"]["name"].lower() in ("torch", "torchvision") and not p["download_info"]["url"].startswith("file:")]
if bad: sys.exit(f"ERROR: {req} would download {', '.join(bad)} from the registry: the image changed, update the torch pins (TOOLCHAIN.md §3)")
PYEOF
"$PY" -m pip install --quiet -r "$REQ" 2> >(grep -v '^WARNING: Location' >&2)
"$PY" -m pip install --quiet --no-deps -e . 2> >(grep -v '^WARNING: Location' >&2)
"$PY" -m pip check
# the notebooks' kernel must be this venv's python whatever PATH says (jupyter-book, nbclient)
"$PY" -m ipykernel install --sys-prefix --name python3 --display-name python3 >/dev/null
"$PY" -c "import torch, torchvision, torchvision.ops as o, kornia; o.nms(torch.rand(4,4), torch.rand(4), .5); print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'kornia', kornia.__version__)"
