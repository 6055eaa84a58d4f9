"Book rendering: the local Sphinx extension that hides nbdev directives (_ext/nbdev_clean_render.py)."
import re, sys
from pathlib import Path
import nbformat, pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / '_ext'))
from nbdev_clean_render import clean_source, is_hidden

def test_clean_source():
    assert clean_source('#| export\ndef f(x): return x\n') == ('def f(x): return x', ['export'])
    assert clean_source('#| default_exp core') == ('', ['default_exp core'])
    assert clean_source('#| hide\n\n#| eval: false\nx = 1\n') == ('x = 1', ['hide', 'eval: false'])
    assert clean_source('# |export\nx = 1') == ('x = 1', ['export'])  # black-formatted directive
    src = 'x = 1  #| not a directive\n# a comment\ny = "#|"'
    assert clean_source(src) == (src, [])  # only lines that start with #| go
    assert clean_source('def f():\n    x = 1\n\n    return x') == ('def f():\n    x = 1\n\n    return x', [])

def test_is_hidden():
    assert is_hidden(['hide'])
    assert is_hidden(['export', 'hide'])
    assert not is_hidden(['export', 'hide_input: true']) and not is_hidden(['exporti']) and not is_hidden([])

def _cell(src, tags=(), outputs=()):
    c = nbformat.v4.new_code_cell(src, metadata={'tags': list(tags)} if tags else {})
    c.outputs = [nbformat.v4.new_output('stream', name='stdout', text=t) for t in outputs]
    return c

def test_tiny_book(tmp_path):
    "Build a one-notebook Sphinx project with MyST-NB (no execution) and read the HTML."
    sphinx_app = pytest.importorskip('sphinx.application')
    pytest.importorskip('myst_nb')
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('# Tiny\n\nSome text.'),
        _cell('#| default_exp tiny'),                                   # directive only: dropped
        _cell('#| export\ndef double(x): return 2 * x'),                # directive line removed
        _cell('#| hide\nsecret_setup = 42'),                            # nbdev hide: dropped
        _cell('#| eval: false', outputs=['kept output 7\n']),           # directive only, with output: output stays
        _cell('double(21)', outputs=['42\n']),                          # untouched
    ], metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                 'language_info': {'name': 'python'}})
    src = tmp_path / 'src'; src.mkdir()
    nbformat.write(nb, src / 'index.ipynb')
    before = (src / 'index.ipynb').read_text()
    (src / 'conf.py').write_text(f"import sys; sys.path.insert(0, {str(ROOT / '_ext')!r})\n"
                                 "extensions = ['myst_nb', 'nbdev_clean_render']\nnb_execution_mode = 'off'\n"
                                 "exclude_patterns = ['_build']\n")
    out = tmp_path / 'html'
    app = sphinx_app.Sphinx(str(src), str(src), str(out), str(tmp_path / 'doctrees'), 'html',
                            status=None, warning=None, freshenv=True, warningiserror=False)
    app.build()
    html = (out / 'index.html').read_text()
    text = re.sub(r'<[^>]+>', '', html)
    assert '#|' not in text and 'default_exp' not in text and 'secret_setup' not in text
    assert 'double' in text and 'kept output 7' in text and '42' in text
    assert text.count('cell_input') == 0  # sanity: class names are inside tags, stripped above
    assert html.count('class="cell docutils container"') == 3  # export, eval-with-output, demo
    assert (src / 'index.ipynb').read_text() == before  # the notebook itself is untouched
