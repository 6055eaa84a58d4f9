"""Project-level invariants: package metadata, generated modules, book table of contents."""
import configparser, importlib, json, re
from pathlib import Path

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
