"""The prepared GPU call (tools/gpu_experiments.sh) rehearsed on the CPU: every cell runs through the one runner in
smoke mode and leaves a run record plus a summary in OUT."""
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / 'shared' / 'data'


@pytest.mark.skipif(not (DATA / 'cifar10-jpeg.npz').exists() and not (DATA / 'cifar10-train-part1.npz').exists(),
                    reason='no CIFAR-10 files in ../shared/data')
def test_gpu_script_smoke(tmp_path):
    env = dict(os.environ, OUT=str(tmp_path / 'out'), DATA=str(DATA), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    (tmp_path / 'out').mkdir()
    r = subprocess.run(['bash', str(ROOT / 'tools' / 'gpu_experiments.sh'), '--smoke'], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    summary = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    sys.path.insert(0, str(ROOT / 'tools'))
    from gpu_experiments import CELLS
    assert set(summary['cells']) == {c[0] for c in CELLS}
    for name, cell in summary['cells'].items():
        rec = json.loads((tmp_path / 'out' / name / 'record.json').read_text())
        assert rec['config']['smoke'] and rec['device'].startswith('cpu: '), name
        assert rec['commit'] and rec['n_sets'] == 1, name
