"""Sphinx extension: hide nbdev's plumbing in the rendered book, never in the notebooks.

nbdev needs its directive comments (`#| default_exp core`, `#| export`, `#| hide`, ...) in the notebooks; a reader of
the book does not. At build time (a docutils transform on each notebook's doctree, after MyST-NB has parsed it) this
extension

- removes every line that starts with `#|` from the shown source of a code cell;
- drops a code cell whose source is nothing but directives (`#| default_exp core`) and which has no output
  (with outputs, only the empty source box goes);
- drops a cell marked `#| hide` altogether (nbdev's meaning: not in the docs), outputs included.

The notebooks, the executed code and the jupyter-cache are untouched. Registered in _config.yml under
`sphinx: local_extensions: {nbdev_clean_render: _ext}`.
"""
from __future__ import annotations
import re
from docutils import nodes
from docutils.transforms import Transform

__version__ = '0.1'
_DIRECTIVE = re.compile(r'^\s*#\s*\|')  # nbdev also accepts `# |` (black-formatted notebooks)

def clean_source(source:str) -> tuple[str, list[str]]:
    "(`source` without its `#|` lines and the blank lines they leave at the top, the directives without `#|`)."
    keep, directives = [], []
    for line in source.splitlines():
        if _DIRECTIVE.match(line): directives.append(_DIRECTIVE.sub('', line, count=1).strip())
        else: keep.append(line)
    while keep and not keep[0].strip(): keep.pop(0)
    while keep and not keep[-1].strip(): keep.pop()
    return '\n'.join(keep), directives

def is_hidden(directives:list[str]) -> bool:
    "True when the directives hide the whole cell from the docs (`#| hide`)."
    return any(d.split(':')[0].split()[0] == 'hide' for d in directives if d)

def _child(node, element:str):
    return next((c for c in node.children if isinstance(c, nodes.Element) and c.get('nb_element') == element), None)

class NbdevCleanRender(Transform):
    "Remove `#|` lines from notebook code cells; drop directive-only and `#| hide` cells."
    default_priority = 500  # after MyST-NB built the cells, long before HTML post-transforms wrap hidden cells

    def apply(self, **kwargs):
        for cell in list(self.document.findall(nodes.container)):
            if cell.get('nb_element') != 'cell_code' or cell.parent is None: continue
            src_box = _child(cell, 'cell_code_source')
            if src_box is None: continue
            block = next(iter(src_box.findall(nodes.literal_block)), None)
            if block is None: continue
            code, directives = clean_source(block.astext())
            if not directives: continue
            has_output = _child(cell, 'cell_code_output') is not None
            if is_hidden(directives) or (not code and not has_output): cell.parent.remove(cell)
            elif not code: cell.remove(src_box)
            else:
                block.rawsource = code
                block.clear()
                block += nodes.Text(code)

def setup(app):
    app.add_transform(NbdevCleanRender)
    return {'version': __version__, 'parallel_read_safe': True, 'parallel_write_safe': True}
