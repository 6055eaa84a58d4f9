#!/usr/bin/env python
"""Fail when a notebook code line is wider than the book's code column shows without scrolling.

The book's CSS (_static/code_width.css) fits MAX_WIDTH characters on a 1440-px window; nbdev directive lines (`#| ...`)
are not counted because the book does not show them (_ext/nbdev_clean_render.py removes them).

    python tools/check_code_width.py [--max 120] [--top 20] [notebooks ...]   # default: nbs/**/*.ipynb
"""
from __future__ import annotations
import argparse, json, sys
from pathlib import Path

MAX_WIDTH = 120  # keep in step with _static/code_width.css

def long_lines(nb_path, max_width:int=MAX_WIDTH) -> list[tuple[int, int, int, str]]:
    "(cell index, line number in the cell, length, line) of every shown code line longer than `max_width`."
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    out = []
    for ci, cell in enumerate(nb.get('cells', [])):
        if cell.get('cell_type') != 'code': continue
        src = cell.get('source', '')
        src = ''.join(src) if isinstance(src, list) else src
        for li, line in enumerate(src.splitlines(), 1):
            if line.lstrip().startswith('#|'): continue
            if len(line) > max_width: out.append((ci, li, len(line), line))
    return out

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='default: nbs/**/*.ipynb')
    ap.add_argument('--max', type=int, default=MAX_WIDTH, help=f'widest allowed line (default {MAX_WIDTH})')
    ap.add_argument('--top', type=int, default=0, help='also print the N longest lines overall')
    a = ap.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    paths = [Path(p) for p in a.notebooks] or sorted(p for p in (root / 'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
    bad = []
    for p in paths:
        rel = p.resolve().relative_to(root) if p.resolve().is_relative_to(root) else p
        for ci, li, n, line in long_lines(p, a.max): bad.append((str(rel), ci, li, n, line))
    for f, ci, li, n, line in bad: print(f'{f}: cell {ci} line {li}: {n} > {a.max} characters: {line.strip()[:80]}')
    if a.top:
        print(f'-- the {a.top} longest lines:')
        for f, ci, li, n, line in sorted(bad, key=lambda r: -r[3])[:a.top]: print(f'{n:4d}  {f} cell {ci} line {li}')
    if bad:
        print(f'FAIL: {len(bad)} code line(s) in {len({b[0] for b in bad})} notebook(s) are wider than {a.max} characters '
              'and would scroll in the book; wrap them')
        return 1
    print(f'code width ok: every code line in {len(paths)} notebooks is at most {a.max} characters')
    return 0

if __name__ == '__main__': sys.exit(main())
