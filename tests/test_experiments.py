"""Every experiment notebook runs top to bottom in smoke mode (tiny settings, CPU, real data from ../shared/data)."""
import json, os, shutil
from pathlib import Path

import nbformat, pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT / 'nbs' / 'experiments').glob('e*.ipynb'))
DATA = next((p for p in (ROOT.parent / 'shared' / 'data', ROOT / '.data') if p.exists()), None)


@pytest.mark.parametrize('nb_path', NBS, ids=[p.stem for p in NBS])
def test_experiment_notebook_smoke(nb_path, tmp_path, monkeypatch):
    if DATA is None: pytest.skip('no NPZ data: ../shared/data and .data are both absent')
    monkeypatch.setenv('CONDENSE_NB_SMOKE', '1')
    monkeypatch.setenv('CONDENSE_NB_DATA', str(DATA))
    monkeypatch.setenv('CONDENSE_NB_RESULTS', str(tmp_path / 'results'))
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    nb = nbformat.read(nb_path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name='python3', resources={'metadata': {'path': str(nb_path.parent)}}).execute()
    records = sorted((tmp_path / 'results').rglob('record.json'))
    assert records, 'the notebook wrote no run record in smoke mode'
    for path in records:   # every record is complete, marked as smoke, and holds accuracies
        rec = json.loads(path.read_text())
        assert rec['config']['smoke'] is True and rec['runs'], path
        assert all(0 <= a <= 100 for r in rec['runs'].values() for a in r['accs']) and 0 <= rec['mean'] <= 100, path
        assert {'device', 'commit', 'torch', 'wall_seconds'} <= set(rec), path
