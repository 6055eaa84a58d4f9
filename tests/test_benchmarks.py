"""The benchmark scripts that need no official code run end to end on tiny fake data (figures are not checked)."""
import json, subprocess, sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_load_memory_script(tmp_path):
    "benchmarks/load_memory.py loads a fake MNIST four ways, one process each, and prints what each kept."
    rng = np.random.default_rng(0)
    y = np.arange(40) % 10                      # 4 images of each of the 10 classes
    np.savez(tmp_path / 'mnist-train-part1.npz', x=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), y=y)
    np.savez(tmp_path / 'mnist-test.npz', x=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y=np.arange(10))
    r = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'load_memory.py'), '--dataset', 'mnist',
                        '--root', str(tmp_path), '--modes', 'full', 'cap2', 'cut2', 'part1'],
                       capture_output=True, text=True, timeout=600, env={'PATH': '', 'CONDENSE_NB_CACHE': 'off'})
    assert r.returncode == 0, r.stderr[-2000:]
    rows = {d['mode']: d for d in map(json.loads, (l for l in r.stdout.splitlines() if l.startswith('{')))}
    assert {m: d['n_train'] for m, d in rows.items()} == {'full': 40, 'cap2': 20, 'cut2': 20, 'part1': 40}
    assert all(d['n_test'] == 10 and d['peak_rss_mb'] >= d['rss_after_imports_mb'] > 0 for d in rows.values())
    assert 'peak RSS of the loading process' in r.stdout
    bad = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / 'load_memory.py'), '--dataset', 'mnist',
                          '--root', str(tmp_path), '--modes', 'half'], capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "unknown mode 'half'" in bad.stdout + bad.stderr
