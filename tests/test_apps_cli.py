"""The applications' console jobs end to end (tiny settings): records are written, resumed entry by entry, and refused
when the settings change."""
import contextlib, io, json, subprocess, sys

from condense_nb.cli import main

EXE = [sys.executable, '-m', 'condense_nb.cli']


def _run(*args, timeout=300):
    "The console command in a fresh process."
    return subprocess.run([*EXE, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def _main(*args):
    "`main` in this process: (exit status, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


CL = ['continual', '--dataset', 'digits', '--stages', '2', '--memory', 'random', '--ipc', '2', '--epochs', '1',
      '--finetune-epochs', '2', '--no-dsa', '--no-progress']


def test_continual_console_resumes(tmp_path):
    out = tmp_path / 'cl'
    r = _run(*CL, '--out', out, '--seeds', '0', '1')
    assert r.returncode == 0, r.stderr
    assert 'random digits, 2 stages, ipc 2, 2 seeds' in r.stdout
    rec = json.loads((out / 'record.json').read_text())
    assert sorted(rec['runs']) == ['0', '1'] and all(len(v['acc']) == 2 for v in rec['runs'].values())
    assert rec['config']['stages'] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]] and rec['runs']['0']['memory_size'] == 2 * 10
    r = _run(*CL, '--out', out, '--seeds', '1', '2')  # seed 1 is skipped (entry kept as is), seed 2 added
    assert r.returncode == 0, r.stderr
    rec2 = json.loads((out / 'record.json').read_text())
    assert rec2['runs']['1'] == rec['runs']['1'] and sorted(rec2['runs']) == ['0', '1', '2']
    assert rec2['n_runs'] == 3 and len(rec2['mean']) == 2
    rc, _, _ = _main(*CL, '--out', tmp_path / 'alone', '--seeds', '2')  # seed 2 alone: the same numbers
    assert rc == 0
    assert json.loads((tmp_path / 'alone' / 'record.json').read_text())['runs']['2']['acc'] == rec2['runs']['2']['acc']
    rc, _, err = _main(*CL, '--out', out, '--seeds', '0', '--kd')
    assert rc == 2 and "differs in ['kd', 'kd_weight', 'temperature']" in err, err


def test_continual_console_method_memory_and_errors(tmp_path):
    rc, _, err = _main('continual', '--stages', '2', '--memory', 'pixel_mmd', '--smoke', '--iterations', '3', '--ipc', '1',
                       '--epochs', '1', '--finetune-epochs', '1', '--seeds', '0', '--kd', '--no-dsa', '--no-progress',
                       '--out', tmp_path / 'pm')
    assert rc == 0, err
    rec = json.loads((tmp_path / 'pm' / 'record.json').read_text())
    assert rec['config']['method_kw'] == {'iterations': 3} and rec['runs']['0']['memory_size'] == 10
    rc, _, err = _main('continual', '--memory', 'gdumb', '--out', tmp_path / 'bad')
    assert rc == 2 and "unknown memory 'gdumb'" in err and 'herding' in err
    rc, _, err = _main('continual', '--stages', '11', '--memory', 'random', '--out', tmp_path / 'bad')
    assert rc == 2 and 'stages=11 exceeds the 10 classes' in err


NAS = ['nas-proxy', '--dataset', 'digits', '--depths', '1', '--norms', 'instancenorm', 'none', '--proxies', 'random',
       'early', '--ipc', '3', '--proxy-epochs', '3', '--early-epochs', '1', '--full-epochs', '2', '--no-dsa', '--no-progress',
       '--iterations', '2']  # method settings must not reach the coreset proxies


def test_nas_proxy_console_resumes(tmp_path):
    out = tmp_path / 'nas'
    r = _run(*NAS, '--out', out, '--widths', '8', '16')
    assert r.returncode == 0, r.stderr
    rec = json.loads((out / 'record.json').read_text())
    assert sorted(rec['archs']) == ['W16-D1-IN-R-AP', 'W16-D1-NN-R-AP', 'W8-D1-IN-R-AP', 'W8-D1-NN-R-AP']
    s = rec['summary']
    assert set(s) == {'full', 'random', 'early'} and all(-1 <= v['rho'] <= 1 for v in s.values())
    assert s['random']['selected'] in rec['archs'] and 'rho' in r.stdout
    proxy = out / 'proxy_random.safetensors'
    stamp = proxy.stat().st_mtime_ns
    rc, _, err = _main(*NAS, '--out', out, '--widths', '8', '16', '4')  # two new architectures; the rest is reused
    assert rc == 0, err
    rec2 = json.loads((out / 'record.json').read_text())
    assert len(rec2['archs']) == 6 and all(rec2['archs'][a] == rec['archs'][a] for a in rec['archs'])
    assert proxy.stat().st_mtime_ns == stamp
    rc, _, err = _main(*NAS, '--out', out, '--widths', '8', '--ipc', '4')
    assert rc == 2 and "differs in ['ipc']" in err, err
