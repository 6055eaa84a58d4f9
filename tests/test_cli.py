"""The installed console command runs the README's main job end to end (tiny settings) and reports clear errors."""
import json, shutil, subprocess, sys

import pytest
from pathlib import Path

EXE = shutil.which('condense_nb') or str(Path(sys.executable).parent / 'condense_nb')


def test_console_condense_show_evaluate(tmp_path):
    out = tmp_path / 'run'
    r = subprocess.run([EXE, 'condense', '--dataset', 'digits', '--method', 'pixel_mmd', '--ipc', '1', '--iterations', '50',
                        '--eval-nets', '1', '--eval-epochs', '50', '--no-progress', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert 'condensed set' in r.stdout and 'random real' in r.stdout
    rec = json.loads((out / 'result.json').read_text())
    assert rec['ipc'] == 1 and len(rec['synset_acc']) == 1 and 0 <= rec['synset_mean'] <= 100
    r = subprocess.run([EXE, 'show', str(out / 'synset.safetensors')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and 'pixel_mmd' in r.stdout, r.stderr
    r = subprocess.run([EXE, 'evaluate', str(out / 'synset.safetensors'), '--nets', '1', '--epochs', '20', '--no-progress'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and '%' not in r.stderr, r.stderr   # --no-progress: no bar


def test_console_errors_are_clear(tmp_path):
    r = subprocess.run([EXE, 'condense', '--dataset', 'imagenet', '--no-progress'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown dataset 'imagenet'" in r.stderr and 'digits' in r.stderr
    (tmp_path / 'x.pt').write_bytes(b'\x80\x04\x95')
    r = subprocess.run([EXE, 'show', str(tmp_path / 'x.pt')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'unpickle' in r.stderr


def test_console_experiment_smoke_resumes(tmp_path):
    out = tmp_path / 'exp'
    cmd = [sys.executable, '-m', 'condense_nb.cli', 'experiment', '--dataset', 'digits', '--method', 'pixel_mmd',
           '--ipc', '1', '--out', str(out), '--smoke', '--no-progress']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rec = json.loads((out / 'record.json').read_text())
    assert rec['n_sets'] == 2 and rec['config']['smoke'] and set(rec['runs']) == {'0', '1'}
    assert (out / 'synset_seed0.safetensors').exists() and (out / 'synset_seed1.png').exists()
    before = (out / 'record.json').read_bytes()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)   # every seed is in the record: nothing re-runs
    assert r.returncode == 0 and (out / 'record.json').read_bytes() == before, r.stderr


def test_console_evaluate_whitens_the_test_split_of_a_zca_set(tmp_path):
    import torch
    from condense_nb.data import load_dataset, zca_whiten
    from condense_nb.coreset import select_coreset
    from condense_nb.storage import SynSet, save_synset, make_meta
    train, test = load_dataset('digits')
    train_z, _, zca = zca_whiten(train, test)
    idx = select_coreset(train_z, 10, 'random', seed=0)
    tensors = {'images': train_z.x[idx], 'labels': train_z.y[idx], **{f'zca.{k}': v for k, v in zca.state_dict().items()}}
    meta = make_meta(dataset='digits', mean=None, std=None, method='pixel_mmd', config={}, seed=0,
                     budget_per_class=640, zca=True)
    save_synset(tmp_path / 'z.safetensors', SynSet(tensors, meta))
    r = subprocess.run([EXE, 'evaluate', str(tmp_path / 'z.safetensors'), '--nets', '1', '--epochs', '100'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split(': ', 1)[1].split('±')[0])
    assert acc > 70, r.stdout   # a whitened set tested on a non-whitened split would score far lower


def _every_method():
    from condense_nb.runner import load_methods
    return load_methods()


@pytest.mark.parametrize('method', _every_method())
def test_every_method_condenses_from_the_console_and_its_file_reproduces_the_evaluation(method, tmp_path):
    """Issue 16: each registered method runs through `condense_nb condense` (its smoke settings, 3 iterations) and
    `condense_nb evaluate` on the saved set gives the run's own accuracy (the protocol travels in the file)."""
    out = tmp_path / 'run'
    r = subprocess.run([EXE, 'condense', '--dataset', 'digits', '--method', method, '--ipc', '1', '--iterations', '3',
                        '--eval-nets', '1', '--eval-epochs', '2', '--smoke', '--no-progress', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads((out / 'result.json').read_text())
    assert rec['method'] == method and rec['iterations'] == 3 and len(rec['synset_acc']) == 1
    r = subprocess.run([EXE, 'evaluate', str(out / 'synset.safetensors')], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'protocol: stored' in r.stdout
    assert r.stdout.split(': ', 1)[1].startswith(f"{rec['synset_mean']:.1f} ± 0.0"), (r.stdout, rec['synset_acc'])
