"""A condensation run killed with SIGKILL resumes from its checkpoint and ends bit-identical to an uninterrupted run (CPU, fixed seed)."""
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path

import torch

from kill_helpers import kill_after_checkpoint

SCRIPT = textwrap.dedent('''
    import sys, time, torch
    from condense_nb.core import make_generator
    from condense_nb.data import load_dataset, ClassSampler
    from condense_nb.engine import PixelParam, PixelMMD, condense
    torch.set_num_threads(1)
    ckpt, out, slow = sys.argv[1], sys.argv[2], sys.argv[3] == 'slow'
    train, _ = load_dataset('digits')
    real = ClassSampler(train, 'cpu')
    p = PixelParam.init(real, ipc=3, generator=make_generator(11))
    cb = (lambda it, loss, param: time.sleep(0.05)) if slow else None
    condense(p, PixelMMD(batch_real=32), real, 60, lr_img=0.05, seed=7, ckpt=None if ckpt == '-' else ckpt,
             ckpt_every=5, callback=cb, progress=False)
    torch.save(p.x.detach(), out)
''')


def _run(tmp, *args):
    return subprocess.run([sys.executable, str(tmp / 'job.py'), *args], capture_output=True, text=True, timeout=300)


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    (tmp_path / 'job.py').write_text(SCRIPT)
    r = _run(tmp_path, '-', str(tmp_path / 'straight.pt'), 'fast')
    assert r.returncode == 0, r.stderr
    ckpt = tmp_path / 'ck.pt'
    proc = subprocess.Popen([sys.executable, str(tmp_path / 'job.py'), str(ckpt), str(tmp_path / 'killed.pt'), 'slow'])
    it_killed = kill_after_checkpoint(proc, ckpt, 15, timeout=240)
    assert 15 <= it_killed < 60
    assert not (tmp_path / 'killed.pt').exists()
    r = _run(tmp_path, str(ckpt), str(tmp_path / 'resumed.pt'), 'fast')
    assert r.returncode == 0, r.stderr
    assert torch.load(ckpt, weights_only=True)['it'] == 60
    assert torch.equal(torch.load(tmp_path / 'straight.pt'), torch.load(tmp_path / 'resumed.pt'))
    # a temporary file the SIGKILL may have left mid-write is cleaned up by the next checkpoint write
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith('.tmp')]
