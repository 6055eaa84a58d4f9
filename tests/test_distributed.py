"""Class sharding over processes (chapter 7, *Classes over processes*): two gloo processes on the CPU against one.

Compared at the gradient level, after every backward pass (the engine's sum over processes happens there), not through
the optimiser: Adam would hide a gradient counted twice. Every shardable method of `dist_helpers.CASES` runs 2
iterations in both settings (DC/DSA: 2 matching steps per iteration, the network trained in between).
"""
import json, os, shutil, subprocess, sys

import pytest
import torch

from dist_helpers import CASES, ITERATIONS, SMALL, digits, grad_worker, run_case
from condense_nb.engine import PixelParam, Shard, condense, spawn_local
from condense_nb.storage import load_synset


def test_summed_gradients_equal_one_process(tmp_path):
    "Every case in two gloo processes (one spawn for all, hence one test: pytest-xdist keeps it in one worker) and here."
    out = str(tmp_path / 'grads')
    spawn_local(grad_worker, 2, out, list(CASES))
    r0, r1 = (torch.load(f'{out}.{r}', weights_only=True) for r in (0, 1))
    real = digits()
    for name in CASES:
        one = run_case(name, real)
        steps, n_none = one['steps'], 0
        assert len(steps) == len(r0[name]['steps']) == len(r1[name]['steps']) == ITERATIONS * (
            2 if name in ('dc', 'dsa') else 1), name
        for s, a, b in zip(steps, r0[name]['steps'], r1[name]['steps']):
            for k, g in s['grads'].items():
                if g is None:   # no gradient in one process: none in either of two (unsampled decoders, hallucinators)
                    assert a['grads'][k] is None and b['grads'][k] is None, (name, k)
                    n_none += 1
                    continue
                assert torch.equal(a['grads'][k], b['grads'][k]), (name, k)   # both processes hold the same sum
                torch.testing.assert_close(a['grads'][k], g, rtol=1e-5, atol=1e-5 * float(g.abs().max()),
                                           msg=lambda m: f'{name} {k}: {m}')
            assert a['loss'] == pytest.approx(s['loss'], rel=1e-5), name   # the summed loss
        assert (n_none > 0) == (name in ('kfs', 'haba_dm')), name   # the None case is exercised where it exists
        for k, v in one['state'].items():   # the same set after the last step, in both processes
            torch.testing.assert_close(r0[name]['state'][k], v, rtol=1e-5, atol=1e-5, msg=lambda m: f'{name} {k}: {m}')
            assert torch.equal(r0[name]['state'][k], r1[name]['state'][k]), (name, k)


def test_objectives_that_are_not_sums_over_classes_refuse():
    from condense_nb.tm import MTT
    from condense_nb.gen import GenObjective
    from condense_nb.haba import HaBaParam
    real = digits()
    cases = [(PixelParam.init(real, 1), MTT(), 'MTT cannot be spread over 2 processes: its loss compares one student'),
             (HaBaParam.init(real, 1, extractor_kw=SMALL), MTT(), 'MTT cannot be spread over 2 processes'),
             (PixelParam.init(real, 1), GenObjective(),
              'GenObjective cannot be spread over 2 processes: its loss is not written as a sum of per-class terms')]
    for param, objective, msg in cases:   # refused before any work (MTT would train its experts first)
        with pytest.raises(ValueError, match=msg):
            condense(param, objective, real, 1, shard=Shard(1, 2), progress=False)


def test_cli_under_torchrun_resumes_and_saves_the_one_process_set(tmp_path):
    "`torchrun ... condense_nb.cli condense` (2 gloo processes) resumes a checkpoint and saves one process's set."
    from condense_nb.cli import main
    args = ['condense', '--method', 'dm', '--smoke', '--eval-nets', '1', '--eval-epochs', '1', '--no-progress',
            '--device', 'cpu', '--objective-kw', json.dumps({'net_kw': SMALL})]
    one, two, scratch = tmp_path / 'one', tmp_path / 'two', tmp_path / 'scratch'
    assert main(args + ['--iterations', '1', '--out', str(one)]) == 0
    ck = one / 'checkpoint.pt'   # move the set, so that only a resumed run can end where `one` ends
    state = torch.load(ck, weights_only=True)
    state['param']['x'] += 0.25
    torch.save(state, ck)
    shutil.copytree(one, two)
    assert main(args + ['--iterations', '2', '--out', str(one)]) == 0
    assert main(args + ['--iterations', '2', '--out', str(scratch)]) == 0
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                        '-m', 'condense_nb.cli', *args, '--iterations', '2', '--out', str(two)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    a, b = (load_synset(d / 'synset.safetensors') for d in (one, two))
    torch.testing.assert_close(b.images, a.images, rtol=1e-5, atol=1e-5)
    assert (a.images - load_synset(scratch / 'synset.safetensors').images).abs().max() > 0.1   # it did resume
    assert json.loads((two / 'result.json').read_text())['iterations'] == 2
    assert r.stdout.count('condensed set :') == 1   # the first process reports, once
