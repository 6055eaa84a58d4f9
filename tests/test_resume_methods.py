"""Issue 16: for methods with state beyond pixels (a trained network, experts, decoders, a generator and its
discriminator), a run killed with SIGKILL resumes from its checkpoint and ends bit-identical to an uninterrupted run."""
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path

import pytest, torch

from kill_helpers import kill_after_checkpoint

SCRIPT = textwrap.dedent('''
    import sys, time, torch
    from condense_nb.core import make_generator
    from condense_nb.data import ClassSampler
    from condense_nb.engine import METHODS
    from condense_nb.runner import load_methods, prepare_data, condense_method
    torch.set_num_threads(1)
    method, ckpt, out, slow, cache = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == 'slow', sys.argv[5]
    load_methods()
    train, _, _ = prepare_data('digits', smoke=True)
    real = ClassSampler(train, 'cpu')
    s = METHODS[method].settings('digits', 1, smoke=True, iterations=12)
    cb = (lambda it, loss, param: time.sleep(0.3)) if slow else None
    param, objective, hist, _ = condense_method(real, method, 1, seed=3, settings=s, ckpt=None if ckpt == '-' else ckpt,
                                                ckpt_every=2, cache_dir=cache, progress=False, callback=cb)
    state = {'param.' + k: v for k, v in param.state_dict().items()}
    state.update({'objective.' + k: v for k, v in objective.state_dict().items()})
    torch.save(state, out)
''')


def _run(tmp, *args):
    return subprocess.run([sys.executable, str(tmp / 'job.py'), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('method', ['dc', 'haba', 'kfs', 'gen'])
def test_sigkill_then_resume_is_bit_identical(method, tmp_path):
    (tmp_path / 'job.py').write_text(SCRIPT)
    cache = str(tmp_path / 'cache')   # shared by both runs: MTT's experts are trained once
    r = _run(tmp_path, method, '-', str(tmp_path / 'straight.pt'), 'fast', cache)
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = tmp_path / 'ck.pt'
    proc = subprocess.Popen([sys.executable, str(tmp_path / 'job.py'), method, str(ckpt), str(tmp_path / 'killed.pt'),
                             'slow', cache], stderr=subprocess.PIPE)
    it_killed = kill_after_checkpoint(proc, ckpt, 4)
    assert 4 <= it_killed < 12
    r = _run(tmp_path, method, str(ckpt), str(tmp_path / 'resumed.pt'), 'fast', cache)
    assert r.returncode == 0, r.stderr[-3000:]
    assert torch.load(ckpt, weights_only=True)['it'] == 12
    if method == 'gen':   # the pre-trained generator was built once (straight run) and loaded by the other two
        assert len(list((tmp_path / 'cache' / 'init').glob('generator_digits_*.safetensors'))) == 1
    a, b = torch.load(tmp_path / 'straight.pt'), torch.load(tmp_path / 'resumed.pt')
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{method}: resumed state differs in {different}'
