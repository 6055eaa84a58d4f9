"""Every experiment notebook runs top to bottom in smoke mode (tiny settings, CPU, real data from ../shared/data)."""
import json, os, shutil
from pathlib import Path

import nbformat, pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT / 'nbs' / 'experiments').glob('e*.ipynb'))
OVERVIEW = ROOT / 'nbs' / 'experiments' / 'overview.ipynb'   # renders the pages' rows; runs nothing
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


COMMITTED = sorted(p for p in (ROOT / 'nbs' / 'experiments' / 'results').rglob('record.json')
                   if 'apps' not in p.parts)   # the applications' records have their own layout and tests


@pytest.mark.parametrize('path', COMMITTED, ids=[p.parent.name for p in COMMITTED])
def test_committed_record_is_a_result(path):
    "A committed record is a real run: not smoke, complete, with its device, commit, budget and the set files it names."
    rec = json.loads(path.read_text())
    assert rec['config'].get('smoke') is False, f'{path}: smoke records are never committed'
    assert rec['runs'] and {'device', 'commit', 'torch', 'wall_seconds', 'mean', 'std', 'n_sets'} <= set(rec), path
    assert rec['commit'] not in ('', 'unknown'), path
    for seed, run in rec['runs'].items():
        assert run['accs'] and all(0 <= a <= 100 for a in run['accs']), path
        assert (path.parent / f'synset_seed{seed}.safetensors').exists(), f'{path}: set file of seed {seed} missing'


EVALS = sorted(p for p in (ROOT / 'nbs' / 'experiments' / 'results').rglob('eval_*.json') if 'apps' not in p.parts)


@pytest.mark.parametrize('path', EVALS, ids=[f'{p.parent.name}/{p.stem}' for p in EVALS])
def test_committed_evaluation_is_a_result(path):
    "A committed `condense_nb evaluate --json` file: its device and commit, a mean that is its accuracies' mean, its set."
    ev = json.loads(path.read_text())
    assert {'device', 'commit', 'torch', 'seconds', 'set', 'overrides', 'result'} <= set(ev), path
    assert ev['commit'] not in ('', 'unknown') and ev['seconds'] > 0, path
    res = ev['result']
    assert res['accs'] and len(res['accs']) == res['n'] and all(0 <= a <= 100 for a in res['accs']), path
    assert abs(res['mean'] - sum(res['accs']) / len(res['accs'])) < 1e-6, f'{path}: mean is not the accuracies\' mean'
    assert (path.parent / Path(ev['set']).name).exists(), f'{path}: the evaluated set is not committed beside it'


def test_experiment_pages_render_every_committed_record():
    "Each experiment notebook's committed outputs show its committed CPU-tier records (no stale 'pending' row)."
    for nb_path in NBS + [OVERVIEW]:
        nb = nbformat.read(nb_path, as_version=4)
        outs = '\n'.join(o.get('data', {}).get('text/markdown', '') for c in nb.cells if c.cell_type == 'code'
                         for o in c.get('outputs', []))
        for line in outs.splitlines():
            if 'no record yet (' in line:
                name = line.split('no record yet (')[1].split(')')[0]
                assert not (ROOT / 'nbs' / 'experiments' / 'results' / name / 'record.json').exists(), \
                    f'{nb_path.name} shows {name} as pending but its record is committed: re-render the notebook'


def test_overview_runs_and_lists_every_page_row(monkeypatch):
    "The overview executes on the committed records and shows every CPU-tier row of every experiment page."
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    nb = nbformat.read(OVERVIEW, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(OVERVIEW.parent)}}).execute()
    outs = '\n'.join(o.get('data', {}).get('text/markdown', '') + ''.join(o.get('text', '')) for c in nb.cells
                     if c.cell_type == 'code' for o in c.get('outputs', []))
    for nb_path in NBS:   # every row's case of every page appears in the overview's tables
        page = nbformat.read(nb_path, as_version=4)
        src = next(c.source for c in page.cells if c.cell_type == 'code' and 'CPU_ROWS = [' in c.source)
        for case in (m.split("'")[0] for m in src.split("case='")[1:]):
            assert f'| {case} |' in outs, f'{nb_path.name}: row {case!r} is missing from the overview'
