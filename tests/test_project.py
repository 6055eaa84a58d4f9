"""Project-level invariants: package metadata, generated modules, book table of contents."""
import configparser, importlib, json, re, sys
from pathlib import Path

import nbformat, pytest
import condense_nb

ROOT = Path(__file__).resolve().parents[1]
CFG = configparser.ConfigParser(delimiters=['=']); CFG.read(ROOT / 'settings.ini'); CFG = CFG['DEFAULT']


def test_version_matches_settings():
    assert condense_nb.__version__ == CFG['version']


def _exported_modules():
    mods = {}
    for nb in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        for cell in json.loads(nb.read_text())['cells']:
            src = ''.join(cell['source'])
            m = re.search(r'^#\|\s*default_exp\s+(\S+)', src, re.M)
            if cell['cell_type'] == 'code' and m: mods[m.group(1)] = nb
    return mods


def test_every_notebook_module_is_generated_and_imports():
    mods = _exported_modules()
    assert {'core', 'data', 'nets', 'augment', 'evaluate', 'coreset', 'storage', 'engine', 'viz', 'runner', 'cli'} <= set(mods)
    for name in mods:
        assert (ROOT / 'condense_nb' / f'{name}.py').exists(), f'{name}.py missing: run nbdev_export'
        importlib.import_module(f'condense_nb.{name}')


def test_experiment_notebooks_export_nothing():
    for nb in (ROOT / 'nbs' / 'experiments').glob('*.ipynb'):
        text = nb.read_text()
        assert 'default_exp' not in text and '#| export' not in text, nb


def test_toc_lists_existing_files_and_every_chapter():
    toc = (ROOT / '_toc.yml').read_text()
    files = re.findall(r'file:\s*(\S+)', toc) + re.findall(r'root:\s*(\S+)', toc)
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in ('.ipynb', '.md')), f
    chapters = {p.stem for p in (ROOT / 'nbs').glob('[0-9]*.ipynb')}
    assert chapters <= {Path(f).name for f in files}, chapters - {Path(f).name for f in files}


def test_experiments_never_execute_in_book_or_nbdev_test():
    assert (ROOT / 'nbs' / 'experiments' / '.notest').exists()
    assert 'experiments/*' in (ROOT / '_config.yml').read_text()


def _notebook(path, *cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)
    return path


def test_execute_notebooks_caches_passing_and_fails_on_a_raising_chapter(tmp_path, capsys):
    "tools/execute_notebooks.py (CI step 4): outputs cached by code hash, reused on a rerun; a raising cell fails it."
    sys.path.insert(0, str(ROOT / 'tools'))
    try: import execute_notebooks as ex
    finally: sys.path.pop(0)
    assert ex.chapters() == sorted((ROOT / 'nbs').glob('[0-9]*.ipynb')) and ex.chapters()
    ok = _notebook(tmp_path / 'ok.ipynb', 'x = 2', 'assert x == 2')
    bad = _notebook(tmp_path / 'bad.ipynb', 'x = 1', "assert x == 2, 'x is not 2'")
    cache = ['--cache', str(tmp_path / 'cache')]
    assert ex.main([str(ok), *cache]) == 0
    assert ex.main([str(ok), *cache]) == 0 and '1 of 1 notebooks already cached; executing 0' in capsys.readouterr().out
    assert ex.main([str(ok), str(bad), *cache]) == 1
    out = capsys.readouterr()
    assert 'x is not 2' in out.err and "not cached: ['bad.ipynb']" in out.err
    with pytest.raises(SystemExit): ex.main([str(tmp_path / 'missing.ipynb'), *cache])
