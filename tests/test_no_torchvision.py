"""condense_nb runs without torchvision (a CPU-only torch build has none): every module imports, a tiny condense runs,
and what does need torchvision (image folders, torchvision's dataset files) says `pip install torchvision`."""
import json, subprocess, sys, textwrap

# In the child, `import torchvision` (and any `from torchvision... import`) raises ImportError, as in a venv without it.
SHIM = "import sys; sys.modules['torchvision'] = None\n"


def _run(code: str, cwd, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', SHIM + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def test_every_module_imports_without_torchvision(tmp_path):
    r = _run("""
        import importlib, json, pkgutil, condense_nb
        names = sorted(m.name for m in pkgutil.iter_modules(condense_nb.__path__))
        for n in names: importlib.import_module(f'condense_nb.{n}')
        print(json.dumps(names))
        """, tmp_path)
    assert r.returncode == 0, r.stderr
    names = json.loads(r.stdout.strip().splitlines()[-1])
    expected = {'core', 'data', 'nets', 'engine', 'runner', 'cli', 'dm', 'gm', 'tm', 'haba', 'kfs', 'gen', 'apps'}
    assert expected <= set(names), names


def test_condense_digits_and_npz_without_torchvision(tmp_path):
    r = _run("""
        import numpy as np, sys
        from condense_nb.cli import main
        from condense_nb.data import load_custom
        rng = np.random.default_rng(0)
        np.savez('own.npz', x=rng.integers(0, 256, (20, 8, 8), dtype=np.uint8), y=np.arange(20) % 2)
        train, test = load_custom('own.npz', test_fraction=0.2)
        assert (len(train), len(test)) == (16, 4), (len(train), len(test))
        sys.exit(main(['condense', '--dataset', 'digits', '--method', 'dm', '--ipc', '1', '--iterations', '2',
                       '--eval-nets', '1', '--eval-epochs', '1', '--smoke', '--no-progress', '--out', 'run']))
        """, tmp_path)
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path / 'run' / 'result.json').read_text())
    assert rec['ipc'] == 1 and len(rec['synset_acc']) == 1
    assert (tmp_path / 'run' / 'synset.safetensors').exists()


def test_what_needs_torchvision_says_so(tmp_path):
    r = _run("""
        import sys
        from pathlib import Path
        from PIL import Image
        from condense_nb.cli import main
        for c in ('a', 'b'):
            Path('imgs', c).mkdir(parents=True)
            for k in range(2): Image.new('L', (4, 4), 40 * k).save(f'imgs/{c}/{k}.png')
        Path('empty').mkdir()
        sys.exit(10 * main(['condense', '--data', 'imgs', '--no-progress', '--out', 'r1'])
                 + main(['condense', '--dataset', 'mnist', '--root', 'empty', '--download', '--no-progress',
                         '--out', 'r2']))
        """, tmp_path)
    assert r.returncode == 22, (r.returncode, r.stderr)   # both commands stop with the CLI's clean error (2)
    errs = [l for l in r.stderr.splitlines() if 'error:' in l]
    assert len(errs) == 2 and all('pip install torchvision' in e for e in errs), r.stderr
    assert 'Reading the image folder imgs needs torchvision' in errs[0]
    assert "mnist from torchvision's files (no mnist-*.npz in empty) needs torchvision" in errs[1]
    assert not (tmp_path / 'empty').is_dir() or not any((tmp_path / 'empty').iterdir())   # nothing downloaded
