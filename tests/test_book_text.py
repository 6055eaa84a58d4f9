"""The book's text: no pointers to files outside the book, no chapter numbers, and every cross-reference resolves.

The sidebar numbers chapters by their place in `_toc.yml`, not by the notebook file numbers (`13_kfs` is not chapter
13), so prose says "the {ref}`engine chapter <ch-engine>`", never "chapter 7". Facts come from the appendix pages
(`{ref}`) and the bibliography (`{cite}`), never from `REFERENCE.md` or the project's `shared/` folder, which a
reader of the book does not have. The checks read what a reader sees of every page jupyter-book renders (markdown,
shown code, committed outputs), so they run without building the book.
"""
import json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# text that must not reach a page: (what, pattern)
FORBIDDEN = [
    ('REFERENCE.md', re.compile(r'REFERENCE\.md')),
    ('../shared', re.compile(r'\.\./shared')),
    # the project's folder named relatively (`shared/data/README.md`); an absolute path in a run record is no pointer
    ('shared/papers or shared/data', re.compile(r'(?<![/\w.])shared/(papers|data)\b')),
    ('papers/*.md', re.compile(r'\bpapers/\w+\.md')),
    ('chapter number', re.compile(r'\b[Cc]hapters? \d+')),
    ('ch. number', re.compile(r'\b[Cc]h\. ?\d+')),
    ('notebook number', re.compile(r'\b[Nn]otebooks? \d+')),
    ('notebook file name', re.compile(r'\b\d\d_[a-z][a-z_]*\.ipynb')),
]
CHAPTER_STEMS = sorted(p.stem for p in (ROOT / 'nbs').glob('[0-9][0-9]_*.ipynb'))
if CHAPTER_STEMS:  # a chapter's file stem (`14_generative`) is a file name too
    FORBIDDEN.append(('chapter file stem', re.compile(r'\b(' + '|'.join(map(re.escape, CHAPTER_STEMS)) + r')\b')))


def _src(x) -> str: return ''.join(x) if isinstance(x, list) else (x or '')


def _toc_pages() -> list[Path]:
    names = re.findall(r'(?:file|root):\s*(\S+)', (ROOT / '_toc.yml').read_text())
    return [next(p for p in ((ROOT / n).with_suffix(s) for s in ('.ipynb', '.md')) if p.exists()) for n in names]


def book_pages() -> list[Path]:
    "Every page jupyter-book renders: those of `_toc.yml` and every notebook and page in nbs/ and nbs/experiments/."
    pages = set(_toc_pages()) | set((ROOT / 'nbs').glob('*.ipynb')) | set((ROOT / 'nbs').glob('*.md'))
    return sorted(pages | set((ROOT / 'nbs' / 'experiments').glob('*.ipynb')))


def _is_hidden(cell:dict) -> bool:
    "A cell the book drops: tag `remove-cell`, or nbdev's `#| hide` (dropped by _ext/nbdev_clean_render.py)."
    if 'remove-cell' in cell.get('metadata', {}).get('tags', []): return True
    return cell['cell_type'] == 'code' and re.search(r'^\s*#\s*\|\s*hide\s*$', _src(cell['source']), re.M) is not None


def _output_text(out:dict) -> str:
    if out.get('output_type') == 'stream': return _src(out.get('text'))
    return '\n'.join(_src(v) for k, v in out.get('data', {}).items() if k.startswith('text/'))


def shown_text(path:Path) -> list[tuple[str, str]]:
    "(where, text) for every piece of a page that reaches the reader."
    if path.suffix == '.md': return [('', path.read_text())]
    parts = []
    for i, cell in enumerate(json.loads(path.read_text())['cells']):
        if _is_hidden(cell): continue
        tags = cell.get('metadata', {}).get('tags', [])
        if 'remove-input' not in tags: parts.append((f'cell {i}', _src(cell['source'])))
        if 'remove-output' not in tags:
            parts += [(f'cell {i} output', _output_text(o)) for o in cell.get('outputs', [])]
    return parts


def offences(parts:list[tuple[str, str]]) -> list[str]:
    "One line per forbidden match: `where:line: [what] the line`."
    found = []
    for where, text in parts:
        for n, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith('#|'): continue  # nbdev directives are not shown
            found += [f'{where}:{n}: [{what}] {line.strip()[:160]}' for what, pat in FORBIDDEN if pat.search(line)]
    return found


def test_checker_catches_and_ignores(tmp_path):
    "The checker itself: each kind of offence is found; hidden cells and directive lines are not read."
    bad = ['see REFERENCE.md', 'in ../shared/data', '`shared/papers/kfs.md`', 'see `shared/data/README.md`',
           'papers/dc_gradient_matching.md §3', 'as in chapter 7', '(ch. 10)', 'Chapter 3 shows', 'notebook 13 has',
           'see 13_kfs.ipynb']
    for b in bad: assert offences([('x', b)]), b
    if CHAPTER_STEMS: assert offences([('x', f'chosen in {CHAPTER_STEMS[-1]}')])
    good = ['the {ref}`engine chapter <ch-engine>`', 'this chapter', 'the shared ConvNet', '{doc}`experiments/e10_dc`',
            'ResNet18 at 10 images', 'e13_kfs_cifar10_ipc1', 'epoch 13', "'data': '/work/shared/data'"]
    for g in good: assert not offences([('x', g)]), g
    code = lambda src, tags=(), outputs=(): dict(cell_type='code', metadata={'tags': list(tags)}, source=src,
                                                 outputs=list(outputs))
    nb = {'cells': [code("p = '../shared/data'", tags=['remove-cell']), code('#| hide\nREFERENCE.md'),
                    code('x = 1', outputs=[{'output_type': 'stream', 'name': 'stdout', 'text': 'read ../shared/x\n'}]),
                    dict(cell_type='markdown', metadata={}, source='As in chapter 2.')]}
    (tmp_path / 'x.ipynb').write_text(json.dumps(nb))
    assert [o.split(':')[0] for o in offences(shown_text(tmp_path / 'x.ipynb'))] == ['cell 2 output', 'cell 3']


@pytest.mark.parametrize('page', book_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_points_only_inside_the_book(page):
    found = offences(shown_text(page))
    assert not found, (f'{page.relative_to(ROOT)}: use a {{ref}} to a chapter label (ch-*) or an appendix label, or '
                       'a {cite} of references.bib (in code: the chapter title in words), instead of:\n'
                       + '\n'.join(found))


# ---- labels and cross-references (what `jupyter-book build -n` reports, without the build) ----

_LABEL = re.compile(r'^\(([A-Za-z0-9_.:-]+)\)=\s*$', re.M)
_REF = re.compile(r'\{(?:ref|numref)\}`(?:[^`<]*<)?([^`<>]+?)>?`')
_CITE = re.compile(r'\{cite(?::[a-z]+)?\}`([^`]+)`')
_DOC = re.compile(r'\{doc\}`(?:[^`<]*<)?([^`<>]+?)>?`')


def _markdown(page:Path) -> str:
    "The page's markdown without code (fenced blocks other than directives, and ``double-backtick`` spans)."
    if page.suffix == '.md': t = page.read_text()
    else:
        cells = json.loads(page.read_text())['cells']
        t = '\n'.join(_src(c['source']) for c in cells if c['cell_type'] == 'markdown')
    t = re.sub(r'^(```|~~~)(?!\{).*?^\1', '', t, flags=re.M | re.S)
    return re.sub(r'``.+?``', '', t)


def test_chapters_carry_a_label_before_the_title():
    "Each chapter notebook has a markdown cell `(ch-...)=` right before its `# Title` cell; the title cell itself must"
    " start with '# ', since nbdev takes the module docstring from the first markdown cell that does."
    for nb in sorted((ROOT / 'nbs').glob('[0-9][0-9]_*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        t = next(i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and _src(c['source']).startswith('# '))
        assert t > 0 and re.fullmatch(r'\(ch-[a-z-]+\)=\s*', _src(cells[t - 1]['source'])), nb.name


def test_every_ref_cite_and_doc_resolves():
    text = {p: _markdown(p) for p in _toc_pages()}
    defined = [m for t in text.values() for m in _LABEL.findall(t)]
    labels = set(defined)
    assert len(labels) == len(defined), f'labels defined twice: {sorted({l for l in defined if defined.count(l) > 1})}'
    bib = set(re.findall(r'^@\w+\{([^,\s]+),', (ROOT / 'references.bib').read_text(), re.M))
    docs = {p.relative_to(ROOT).with_suffix('').as_posix() for p in text}
    bad = []
    for p, t in text.items():
        where = p.relative_to(ROOT)
        bad += [f'{where}: {{ref}} to unknown label {r!r}' for r in _REF.findall(t) if r not in labels]
        bad += [f'{where}: {{cite}} of unknown key {k!r}' for ks in _CITE.findall(t)
                for k in map(str.strip, ks.split(',')) if k not in bib]
        for d in _DOC.findall(t):
            target = d.lstrip('/') if d.startswith('/') else (p.parent / d).resolve().relative_to(ROOT).as_posix()
            if target not in docs: bad.append(f'{where}: {{doc}} of a page not in _toc.yml: {d!r}')
    assert not bad, '\n'.join(bad)
