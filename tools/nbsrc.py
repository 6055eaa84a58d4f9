"""Convert between notebooks and a plain-text authoring format (an aid for writing notebooks; the .ipynb stays the source of truth).

Format: cells start with a header line `%% md` or `%% code`, optionally followed by `tags=a,b`.
Markdown is written raw (no comment prefixes). Example:

    %% md
    # Title
    > subtitle
    %% code tags=remove-cell
    #| hide
    from fastcore.test import *

Usage:
    python tools/nbsrc.py to-nb  SRC.nbsrc  OUT.ipynb   # text -> notebook (outputs dropped)
    python tools/nbsrc.py to-src NB.ipynb   OUT.nbsrc   # notebook -> text (outputs dropped)
"""
import json, re, sys, uuid
from pathlib import Path

_HDR = re.compile(r'^%% (md|code)(?:\s+tags=(\S+))?\s*$')


def parse(text):
    "Split authoring text into (kind, tags, source) triples."
    cells, cur = [], None
    for line in text.splitlines():
        m = _HDR.match(line)
        if m:
            if cur: cells.append(cur)
            cur = (m.group(1), [t for t in (m.group(2) or '').split(',') if t], [])
        elif cur is not None: cur[2].append(line)
        elif line.strip(): raise ValueError(f'text before the first cell header: {line!r}')
    if cur: cells.append(cur)
    return [(k, tags, '\n'.join(src).strip('\n')) for k, tags, src in cells]


def to_nb(src_path, nb_path):
    cells = []
    for i, (kind, tags, src) in enumerate(parse(Path(src_path).read_text())):
        cid = uuid.uuid5(uuid.NAMESPACE_URL, f'{Path(nb_path).name}/{i}/{src[:200]}').hex[:8]
        meta = {'tags': tags} if tags else {}
        if kind == 'md': cells.append(dict(cell_type='markdown', id=cid, metadata=meta, source=src))
        else: cells.append(dict(cell_type='code', id=cid, metadata=meta, source=src, outputs=[], execution_count=None))
    nb = dict(cells=cells, nbformat=4, nbformat_minor=5,
              metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')))
    Path(nb_path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')


def to_src(nb_path, src_path):
    nb, out = json.loads(Path(nb_path).read_text()), []
    for c in nb['cells']:
        src = c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
        tags = c.get('metadata', {}).get('tags', [])
        hdr = '%% ' + ('md' if c['cell_type'] == 'markdown' else 'code') + (f" tags={','.join(tags)}" if tags else '')
        out += [hdr, src, '']
    Path(src_path).write_text('\n'.join(out))


if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] not in ('to-nb', 'to-src'): sys.exit(__doc__)
    (to_nb if sys.argv[1] == 'to-nb' else to_src)(sys.argv[2], sys.argv[3])
