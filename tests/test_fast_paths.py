"""The compiled fast paths with torch.compile's default (inductor) backend give the reference loss and gradient.

The notebooks test `compile` with the `aot_eager` backend (tracing only, quick); these tests run the code-generating
backend once per objective. They are skipped, with the reason, where inductor cannot build kernels (no C++ compiler,
or a platform without inductor support). The last test runs `benchmarks/flops.py` on tiny data (it is the first step
of the prepared GPU call), checking that it completes and reports, never its timings.
"""
import functools, time

import pytest
import torch

from condense_nb.core import make_generator
from condense_nb.data import load_dataset, ClassSampler
from condense_nb.augment import dsa_strategy_for
from condense_nb.engine import PixelParam
from condense_nb.dm import DM
from condense_nb.gm import GradientMatching
from condense_nb.nets import get_net, net_state, stem_embed_fn


@functools.cache
def inductor_problem() -> str | None:
    "None when inductor compiles a tiny function here, else why not."
    try:
        f = torch.compile(lambda x: torch.relu(x) * 2 + 1)
        out = f(torch.randn(4))
        assert out.shape == (4,)
    except Exception as e:  # noqa: BLE001 (any failure means: no inductor here)
        return f'torch.compile (inductor) does not work on this machine: {type(e).__name__}: {str(e)[:300]}'
    return None


needs_inductor = pytest.mark.skipif(inductor_problem() is not None, reason=str(inductor_problem()))


@functools.cache
def digits():
    real = ClassSampler(load_dataset('digits')[0], 'cpu')
    return real, PixelParam.init(real, 2, generator=make_generator(0))


def loss_grad(obj, seed):
    real, px = digits()
    x = px.x.detach().clone().requires_grad_()
    loss = obj.loss(x, px.y, real, make_generator(seed))
    return loss.item(), torch.autograd.grad(loss, x)[0]


def assert_same(fast, ref, rtol_loss, rtol_grad):
    (l1, g1), (l0, g0) = fast, ref
    assert abs(l1 - l0) <= rtol_loss * abs(l0), (l1, l0)
    err = ((g1 - g0).abs().max() / g0.abs().max()).item()
    assert err <= rtol_grad, err


@needs_inductor
@pytest.mark.parametrize('real_autocast', [None, 'bf16'])
def test_dm_compiled_embedding_matches_eager(real_autocast):
    "compile=True gives the eager loss and gradient, in float32 and with the bf16 real side (the fastest CPU setting)."
    kw = dict(dsa_strategy=dsa_strategy_for('digits'), net_kw={'width': 32, 'depth': 2}, real_autocast=real_autocast)
    fast = DM(16, compile=True, **kw)
    t0 = time.perf_counter()
    for seed in (5, 6):   # the second draw is a fresh network through the same compiled function
        assert_same(loss_grad(fast, seed), loss_grad(DM(16, **kw), seed), 1e-5 if real_autocast is None else 1e-3,
                    1e-4 if real_autocast is None else 1e-2)
    assert len(fast._embed_fns) == 1
    print(f'DM ({real_autocast or "fp32"}) with inductor: {time.perf_counter() - t0:.1f} s including compilation')


@needs_inductor
def test_dm_fused_stem_matches_eager():
    "fuse_stem=True with inductor gives the eager loss and gradient; `stem_embed_fn` gives `embed` on MNIST/CIFAR shapes."
    kw = dict(dsa_strategy=dsa_strategy_for('digits'), net_kw={'width': 32, 'depth': 2})
    fast = DM(16, compile=True, fuse_stem=True, **kw)
    t0 = time.perf_counter()
    for seed in (5, 6):   # the second draw is a fresh network through the same compiled functions
        assert_same(loss_grad(fast, seed), loss_grad(DM(16, **kw), seed), 1e-5, 1e-4)
    assert sorted(k[-1] for k in fast._embed_fns) == [False, True]   # synthetic side: plain; real side: fused
    for c, hw in ((1, 28), (3, 32)):
        net = get_net('ConvNet', c, 10, hw, seed=c, width=16, channels_last=True).requires_grad_(False)
        x = torch.randn(8, c, hw, hw, generator=torch.Generator().manual_seed(c))
        ref = net.embed(x)
        err = ((stem_embed_fn(net)(net_state(net), x) - ref).abs().max() / ref.abs().max()).item()
        assert err < 1e-5, (c, hw, err)
    bf = DM(16, compile=True, fuse_stem=True, real_autocast='bf16', **kw)   # stem in float32, later blocks in bf16
    assert_same(loss_grad(bf, 5), loss_grad(DM(16, real_autocast='bf16', **kw), 5), 2e-3, 3e-2)
    d1 = get_net('ConvNetD1', 1, 10, 28, seed=1, width=16).requires_grad_(False)   # its embedding is the stem alone
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.autocast('cpu', torch.bfloat16): e = stem_embed_fn(d1)(net_state(d1), x)
    assert e.dtype == torch.float32 and (e - d1.embed(x)).abs().max() < 1e-5 * d1.embed(x).abs().max()
    print(f'DM fuse_stem with inductor: {time.perf_counter() - t0:.1f} s including compilation')


@needs_inductor
@pytest.mark.parametrize('impl,real_autocast', [('loop', None), ('loop', 'bf16'), ('vmap', None)])
def test_gm_compiled_matching_matches_loop(impl, real_autocast):
    "compile=True (loop: compiled real gradients; vmap: one-pass matching) gives the eager loop's numbers (bf16: close)."
    kw = dict(batch_real=32, net_kw={'width': 16}, real_autocast=real_autocast)
    fast = GradientMatching(compile=True, impl=impl, **kw)
    t0 = time.perf_counter()
    for seed in (3, 4):   # the second draw is a fresh network through the same compiled function
        if real_autocast is None:
            assert_same(loss_grad(fast, seed), loss_grad(GradientMatching(impl='loop', **kw), seed), 1e-4, 3e-3)
        else:   # bf16 (the loop's 1-channel conv unfolded): float32's loss and gradient within the chapter's tolerance
            (l1, g1), (l0, g0) = loss_grad(fast, seed), loss_grad(GradientMatching(impl='loop', net_kw={'width': 16},
                                                                                   batch_real=32), seed)
            cos = torch.nn.functional.cosine_similarity(g1.flatten(), g0.flatten(), 0).item()
            assert abs(l1 - l0) < 1e-2 * abs(l0) and cos > 0.995, (l1, l0, cos)
    assert [k[0] for k in fast._match_fns] == ['real' if impl == 'loop' else 'vmap']
    print(f'GM {impl} ({real_autocast or "fp32"}) with inductor: {time.perf_counter() - t0:.1f} s including compilation')


@needs_inductor
@pytest.mark.parametrize('real_autocast', [None, 'bf16'])
def test_gm_fused_stem_matches_loop(real_autocast):
    "fuse_stem=True with inductor: the compiled real gradient on MNIST's shape and the matching loss on digits."
    from condense_nb.gm import real_grad_fn, real_gradient
    from condense_nb.nets import get_net
    t0 = time.perf_counter()
    net = get_net('ConvNet', 1, 10, 28, seed=0, device='cpu', width=16)   # first conv pads 28 -> 32
    w = {k: p.detach() for k, p in net.named_parameters()}
    x = torch.randn(8, 1, 28, 28, generator=make_generator(1))
    g = torch.compile(real_grad_fn(net, real_autocast, fuse_stem=True))(w, {}, x, torch.full((8,), 2))
    ref, ref_ac = (dict(zip(w, real_gradient(net, x, 2, real_autocast=a))) for a in (None, real_autocast))
    def err(a, k): return ((a[k] - ref[k]).norm() / ref[k].norm()).item()
    for k in w:
        if k.startswith('features.') and k.endswith('.bias') and k.split('.')[1] in ('0', '4', '8'): continue  # noise
        # float32: the same gradient; bf16: no further from float32 than the unfused bf16 gradient (as the chapter)
        assert err(g, k) < (1e-4 if real_autocast is None else 2 * err(ref_ac, k) + 0.01), (k, err(g, k))
    assert g['features.0.bias'].abs().max().item() == 0.   # cancelled by the norm: exactly zero when fused
    kw = dict(batch_real=32, net_kw={'width': 16}, impl='loop')
    fast = GradientMatching(compile=True, fuse_stem=True, **kw)
    if real_autocast is None:
        for seed in (3, 4):   # the second draw is a fresh network through the same compiled function
            assert_same(loss_grad(fast, seed), loss_grad(GradientMatching(**kw), seed), 1e-4, 3e-3)
    assert [k[0] for k in fast._match_fns] == ['real'] * (real_autocast is None)
    print(f'GM fuse_stem ({real_autocast or "fp32"}) with inductor: {time.perf_counter() - t0:.1f} s')


@needs_inductor
@pytest.mark.parametrize('train_autocast,fuse_stem', [(None, False), ('bf16', False), (None, True)])
def test_gm_compiled_training_matches_eager(train_autocast, fuse_stem):
    ("compile=True also compiles the network's training on the synthetic set (with fuse_stem, its first block "
     "fused): one Alg. 1 iteration gives eager's update.")
    import copy
    real, px = digits()
    def update(obj):
        p = copy.deepcopy(px); opt = torch.optim.SGD(p.parameters(), lr=1.0)
        def syn_step(loss): opt.zero_grad(); loss.backward(); opt.step(); return loss.item()
        return obj.iteration(p, real, syn_step, make_generator(5)), (p.x - px.x).detach()
    kw = dict(batch_real=32, outer_loop=2, inner_loop=3, net_kw={'width': 16}, train_autocast=train_autocast)
    fast = GradientMatching(compile=True, fuse_stem=fuse_stem, **kw)
    (l1, d1), (l0, d0) = update(fast), update(GradientMatching(**kw))
    # bf16: inductor fuses the elementwise work around the bf16 convolutions differently from eager, so the two bf16
    # paths agree only to bf16 accuracy (eager bf16 against float32: 3.5e-2 on the update in the chapter's test)
    assert abs(l1 - l0) <= (1e-4 if train_autocast is None else 1e-2) * abs(l0), (l1, l0)
    err = ((d1 - d0).norm() / d0.norm()).item()
    assert err <= (1e-3 if train_autocast is None else 1e-1), err
    assert sorted(k[0] for k in fast._match_fns) == ['real', 'train']



@needs_inductor
def test_evaluation_compiled_training_matches_eager():
    ("evaluate_synset(compile=True) trains its networks like eager: the same weights after 20 epochs (60 SGD steps with "
     "momentum and weight decay, two batch sizes) on DSA-augmented batches of the same seed.")
    from condense_nb.evaluate import train_net, fast_train_loss
    from condense_nb.augment import DSA
    real, px = digits()
    x, y = px.x.detach(), px.y
    def trained(compiled):
        net = get_net('ConvNet', 1, 10, 8, seed=3, width=16)
        train_net(net, (x, y), 20, batch=8, dsa=DSA(dsa_strategy_for('digits')), generator=make_generator(2),
                  loss_fn=fast_train_loss(net, True) if compiled else None)
        return torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    w0, w1 = trained(False), trained(True)
    err = ((w1 - w0).norm() / w0.norm()).item()
    assert err <= 1e-4, err


@pytest.mark.parametrize('native', [False, True])
def test_emulated_precision_warns_once_per_switch(monkeypatch, native):
    "On a CPU without native bf16 each autocast switch warns once when its objective first runs; with it, never."
    import copy, warnings
    from condense_nb import nets
    monkeypatch.setattr(nets, 'cpu_has_native', lambda precision: native)   # whatever this CPU has
    monkeypatch.setattr(nets, '_EMULATED_WARNED', set())
    real, px = digits()
    def syn_step(loss): return loss.item()
    def warned(run):   # the switches that warned while `run()` ran, from a fresh process's state
        nets._EMULATED_WARNED.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            run()
        return sorted(str(w.message).split('=')[0] for w in caught if issubclass(w.category, RuntimeWarning))
    dm = DM(16, net_kw={'width': 16, 'depth': 2}, real_autocast='bf16')
    gm = GradientMatching(batch_real=16, outer_loop=2, inner_loop=1, net_kw={'width': 16},
                          real_autocast='bf16', train_autocast='bf16')
    runs = {'dm': lambda: [loss_grad(dm, seed) for seed in (1, 2)],
            'gm': lambda: [gm.iteration(copy.deepcopy(px), real, syn_step, make_generator(s)) for s in (1, 2)],
            'fp32': lambda: loss_grad(GradientMatching(batch_real=16, net_kw={'width': 16}), 3)}
    got = {k: warned(run) for k, run in runs.items()}
    assert got == ({'dm': [], 'gm': [], 'fp32': []} if native else
                   {'dm': ['real_autocast'], 'gm': ['real_autocast', 'train_autocast'], 'fp32': []}), got

def test_bf16_accuracy_script_runs(tmp_path):
    "benchmarks/bf16_accuracy.py runs both arms for DC end to end (smoke) as two experiment records, and resumes."
    import json, os, subprocess, sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, str(root / 'benchmarks' / 'bf16_accuracy.py'), '--smoke', '--method', 'dc', '--seeds', '0',
           '--out', str(tmp_path)]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    recs = {arm: json.loads((tmp_path / arm / 'record.json').read_text()) for arm in ('fp32', 'bf16')}
    assert recs['bf16']['config']['objective_kw']['real_autocast'] == 'bf16'
    assert 'real_autocast' not in recs['fp32']['config']['objective_kw']
    assert all(list(rec['runs']) == ['0'] and 0 <= rec['mean'] <= 100 for rec in recs.values())
    assert 'bf16 - fp32' in r.stdout   # the per-seed table (one pair: no standard error)
    before = {arm: (tmp_path / arm / 'record.json').read_bytes() for arm in recs}
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)   # resumes: nothing to redo
    assert r2.returncode == 0 and all((tmp_path / arm / 'record.json').read_bytes() == b for arm, b in before.items())
    r3 = subprocess.run(cmd + ['--arms', 'bf16'], capture_output=True, text=True, timeout=600, env=env)
    assert r3.returncode == 0 and 'fp32/seed0' not in r3.stdout and 'bf16 - fp32' in r3.stdout   # fp32 read back
    r4 = subprocess.run(cmd[:-1] + [str(tmp_path / 'one'), '--arms', 'bf16'], capture_output=True, text=True,
                        timeout=600, env=env)
    assert r4.returncode == 0 and 'fp32 arm not run yet' in r4.stdout and not (tmp_path / 'one' / 'fp32').exists()
    bad = subprocess.run(cmd[:-4] + ['--method', 'dm', '--seeds', '0', '--out', str(tmp_path)], capture_output=True,
                         text=True, timeout=600, env=env)
    assert bad.returncode != 0 and 'holds a run with other settings' in bad.stderr + bad.stdout
    bad = subprocess.run(cmd[:-4] + ['--method', 'dm', '--train-bf16', '--out', str(tmp_path / 'x')],
                         capture_output=True, text=True, timeout=600, env=env)
    assert bad.returncode != 0 and '--train-bf16 is for dc/dsa' in bad.stderr


def test_bf16_accuracy_train_bf16_arm(tmp_path):
    "With --train-bf16 the bf16 arm's record also holds train_autocast (the fp32 arm neither switch)."
    import json, os, subprocess, sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / 'benchmarks' / 'bf16_accuracy.py'), '--smoke', '--method', 'dc',
                        '--seeds', '0', '--train-bf16', '--out', str(tmp_path)], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    kw = {arm: json.loads((tmp_path / arm / 'record.json').read_text())['config']['objective_kw'] or {}
          for arm in ('fp32', 'bf16')}
    assert kw['bf16']['train_autocast'] == 'bf16' and kw['bf16']['real_autocast'] == 'bf16'
    assert 'train_autocast' not in kw['fp32'] and 'real_autocast' not in kw['fp32']


def test_compile_switch_reports_a_bad_backend():
    "The switch is wired: a backend that does not exist fails at the first loss, naming it."
    with pytest.raises(Exception, match='nonexistent_backend'):
        loss_grad(DM(16, compile={'backend': 'nonexistent_backend'}, net_kw={'width': 8, 'depth': 2}), 0)


def test_flops_benchmark_runs(tmp_path):
    "benchmarks/flops.py (the GPU call's first step) runs end to end on tiny data: FLOPs counted, every variant timed."
    import json, os, subprocess, sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / 'flops.json'
    r = subprocess.run([sys.executable, str(root / 'benchmarks' / 'flops.py'), '--dataset', 'digits', '--random-data',
                        '--per-class', '20', '--dm-ipc', '2', '--dm-variants', 'fp32', 'bf16', 'onepass',
                        '--dc-variants', 'loop', 'cl', '--reps', '1', '--warmup', '0', '--threads', '1', '--check',
                        '--probe-n', '256', '--json', str(out)],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads(out.read_text())
    for kind, variants in (('dm', ['fp32', 'bf16', 'onepass']), ('dc', ['loop', 'cl'])):
        assert res['results'][kind]['flops'] > 0 and not res['results'][kind]['errors'], res['results'][kind]
        assert list(res['results'][kind]['rows']) == variants
    assert {c['variant'] for c in res['check_dm']} == {'fp32', 'bf16', 'onepass'}
    assert max(c['rel_loss'] for c in res['check_dc']) < 1e-4


@needs_inductor
def test_eval_speed_benchmark_runs(tmp_path):
    "benchmarks/eval_speed.py runs end to end on one tiny configuration and refuses a malformed one."
    import json, os, subprocess, sys
    from pathlib import Path
    script, out = Path(__file__).resolve().parents[1] / 'benchmarks' / 'eval_speed.py', tmp_path / 'es.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, str(script), '--configs', 'mnist:1:dsa', '--variants', 'eager', 'compile',
                        '--epochs', '1', '--rounds', '1', '--warmup', '1', '--json', str(out)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    (res,) = json.loads(out.read_text())['configs']
    assert res['config'] == 'mnist:1:dsa' and list(res['ms_per_epoch']) == ['eager', 'compile'], res
    assert res['ratio']['eager'] == 1.0 and res['ms_per_epoch']['compile'] > 0
    bad = subprocess.run([sys.executable, str(script), '--configs', 'mnist:ten:dsa'], capture_output=True, text=True,
                         timeout=120, env=env)
    assert bad.returncode != 0 and "bad --configs entry 'mnist:ten:dsa'" in bad.stderr, bad.stderr[-1000:]


def test_block_time_benchmark_runs():
    "benchmarks/block_time.py times every ConvNet block and counts its convolution FLOPs (2 N H W Cout Cin 9)."
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        'block_time', Path(__file__).resolve().parents[1] / 'benchmarks' / 'block_time.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    res = mod.main(['--datasets', 'mnist', 'cifar10', '--chunk', '4', '--width', '8', '--reps', '1', '--no-compile',
                    '--probe-n', '128', '--fuse-stem'])
    for ds, (c, hw1) in {'mnist': (1, 32), 'cifar10': (3, 32)}.items():   # MNIST's first conv pads 3: 32 x 32 out
        rows, fused = res[ds][:-1], res[ds][-1]
        assert fused['block'] == '1 fused' and fused['flops'] == rows[0]['flops'] and fused['cpu_s'] > 0
        assert [r['in_shape'] for r in rows] == [(c, 28 if ds == 'mnist' else 32, 28 if ds == 'mnist' else 32),
                                                 (8, 16, 16), (8, 8, 8)]
        assert [r['flops'] for r in rows] == [2 * 4 * hw1 * hw1 * 8 * c * 9, 2 * 4 * 16 * 16 * 8 * 8 * 9,
                                              2 * 4 * 8 * 8 * 8 * 8 * 9]
        assert all(r['cpu_s'] > 0 for r in rows)


def test_cpu_precision_benchmark_runs():
    "benchmarks/cpu_precision.py --smoke times float32 and bf16 training steps and says whether bf16 is native here."
    import importlib.util
    from pathlib import Path
    from condense_nb.nets import cpu_has_native
    spec = importlib.util.spec_from_file_location(
        'cpu_precision', Path(__file__).resolve().parents[1] / 'benchmarks' / 'cpu_precision.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    times = mod.main(['--smoke', '--precisions', 'bf16', 'fp16'])
    assert list(times) == [None, 'bf16', 'fp16'] and all(len(t) == 1 and t[0] > 0 for t in times.values())
    assert isinstance(cpu_has_native('bf16'), bool)
