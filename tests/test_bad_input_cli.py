"""Issue 12's bad-input checklist through the console command: exit code 2, one clear line naming the value and what
was expected, no traceback, and nothing half-written."""
import shutil, subprocess, sys
from pathlib import Path

import numpy as np, pytest, torch

EXE = shutil.which('condense_nb') or str(Path(sys.executable).parent / 'condense_nb')
DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'
TINY = ['--iterations', '2', '--eval-nets', '1', '--eval-epochs', '1', '--no-progress']


def cli(*args, timeout=600):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def refused(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    for n in needles: assert n in r.stderr, (n, r.stderr[-2000:])


@pytest.mark.parametrize('device, needle', [('cuda', 'no CUDA GPU'), ('foo', "unknown device 'foo'")])
def test_bad_device(tmp_path, device, needle):
    if device == 'cuda' and torch.cuda.is_available(): pytest.skip('this machine has a GPU')
    refused(cli('condense', '--device', device, '--out', tmp_path / 'o', *TINY), needle)
    assert not (tmp_path / 'o').exists()


def test_unwritable_out_is_refused_before_condensing(tmp_path):
    (tmp_path / 'f').write_text('')
    refused(cli('condense', '--out', tmp_path / 'f', *TINY), 'exists and is not a folder')
    refused(cli('condense', '--out', tmp_path / 'f' / 'sub', *TINY), 'is a file, not a folder')


def test_late_checks_come_first(tmp_path):
    refused(cli('condense', '--eval-net', 'VGG11', '--out', tmp_path / 'o', *TINY), 'VGG11 cannot take 1x8x8 input')
    refused(cli('condense', '--eval-net', 'Transformer', '--out', tmp_path / 'o', *TINY), "unknown net 'Transformer'")
    refused(cli('condense', '--eval-nets', '0', '--out', tmp_path / 'o', '--iterations', '2', '--no-progress'),
            'eval_nets must be >= 1, got 0')
    refused(cli('condense', '--eval-epochs', '0', '--out', tmp_path / 'o', '--iterations', '2', '--no-progress'),
            'eval_epochs must be >= 1, got 0')
    assert not (tmp_path / 'o').exists()
    r = cli('condense', '--help')
    assert r.returncode == 0 and 'ResNet18' in r.stdout and 'dm_full' in r.stdout


@pytest.mark.parametrize('content, needle', [
    (b'', 'is empty (0 bytes)'), (b'garbage', 'remove it to start over'), ('list', 'not a condense_nb checkpoint'),
    ('keys', 'it lacks'), ('shapes', 'does not fit this run')])
def test_bad_checkpoints(tmp_path, content, needle):
    out = tmp_path / 'o'; out.mkdir()
    if content == 'list': torch.save([1, 2], out / 'checkpoint.pt')
    elif content == 'keys': torch.save({'it': 1}, out / 'checkpoint.pt')
    elif content == 'shapes':
        assert cli('condense', '--out', out, *TINY).returncode == 0
        s = torch.load(out / 'checkpoint.pt', weights_only=True)
        s['fingerprint']['param_shapes'] = {'x': [1]}; s['param']['x'] = torch.zeros(1)
        torch.save(s, out / 'checkpoint.pt')
        (out / 'result.json').unlink(); (out / 'synset.safetensors').unlink()
    else: (out / 'checkpoint.pt').write_bytes(content)
    r = cli('condense', '--out', out, *TINY)
    if content == 'shapes': refused(r, 'param_shapes')   # the fingerprint sees it first
    else: refused(r, needle)
    assert 'weights_only' not in r.stderr
    assert not (out / 'result.json').exists() and not (out / 'synset.safetensors').exists()


@pytest.mark.skipif(not (DATA / 'mnist-train.npz').exists(), reason='no shared MNIST/FashionMNIST files')
def test_same_out_with_another_dataset_of_the_same_shape_is_refused(tmp_path):
    out = tmp_path / 'o'
    r = cli('condense', '--dataset', 'mnist', '--root', DATA, '--smoke', '--out', out, *TINY)
    assert r.returncode == 0, r.stderr[-2000:]
    (out / 'checkpoint.pt').exists()
    r = cli('condense', '--dataset', 'fashion_mnist', '--root', DATA, '--smoke', '--out', out, *TINY)
    refused(r, 'different configuration', 'data:', 'remove')


def test_bad_npz_and_nan_data(tmp_path):
    (tmp_path / 'junk.npz').write_bytes(b'not an npz at all')
    r = cli('condense', '--data', tmp_path / 'junk.npz', *TINY)
    refused(r, 'junk.npz')
    assert 'allow_pickle' not in r.stderr
    x = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32); x[3, 2, 2] = np.nan
    np.savez(tmp_path / 'nan.npz', x=x, y=np.repeat(np.arange(4), 10))
    refused(cli('condense', '--data', tmp_path / 'nan.npz', *TINY), 'nan.npz', 'NaN')


def test_own_data_folder_condense_and_evaluate(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c, name in enumerate(['dark', 'light']):
        (tmp_path / 'shapes' / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray((rng.random((8, 8)) * 100 + 120 * c).astype(np.uint8), mode='L').save(tmp_path / 'shapes' / name / f'{i}.png')
    out = tmp_path / 'o'
    r = cli('condense', '--data', tmp_path / 'shapes', '--test-fraction', '0.3', '--out', out, *TINY)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'shapes' in r.stdout
    r = cli('evaluate', out / 'synset.safetensors', '--no-progress')
    assert r.returncode == 0 and 'protocol: stored' in r.stdout, r.stderr[-2000:]
