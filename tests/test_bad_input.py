"""The bad-input checklist of the foundation: each case fails with a clear message naming the bad value."""
import pytest, torch
from safetensors.torch import save_file

from condense_nb.core import make_generator
from condense_nb.data import load_dataset, ClassSampler
from condense_nb.nets import get_net
from condense_nb.augment import DSA
from condense_nb.coreset import select_coreset
from condense_nb.engine import METHODS, PixelParam, PixelMMD, condense, NonFiniteLossError
from condense_nb.storage import SynSet, SynSetError, save_synset, load_synset, make_meta


@pytest.fixture(scope='module')
def digits(): return load_dataset('digits')


def test_unknown_names(digits):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'.*digits"): load_dataset('imagenet')
    with pytest.raises(ValueError, match="unknown net 'Transformer'.*ConvNet"): get_net('Transformer', 1, 10, (8, 8))
    with pytest.raises(ValueError, match="unknown method 'magic'.*pixel_mmd"): METHODS['magic']
    with pytest.raises(ValueError, match="'mixup'"): DSA('color_mixup')
    with pytest.raises(ValueError, match="unknown coreset strategy 'best'.*herding"): select_coreset(digits[0], 1, 'best')


def test_coreset_ipc_out_of_range(digits):
    train = digits[0]
    with pytest.raises(ValueError, match='ipc must be >= 1, got 0'): select_coreset(train, 0)
    smallest = int(train.class_counts().min())
    with pytest.raises(ValueError, match=str(smallest)): select_coreset(train, smallest + 1)


def test_net_input_shape_checked():
    net = get_net('ConvNet', 3, 10, (32, 32))
    with pytest.raises(ValueError, match=r'\(N, 3, 32, 32\).*\(2, 1, 32, 32\)'): net(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r'\(N, 3, 32, 32\).*\(2, 3, 28, 28\)'): net(torch.zeros(2, 3, 28, 28))


class _Exploding(PixelMMD):
    def __init__(self): super().__init__(None); self.calls = 0
    def loss(self, *a):
        self.calls += 1
        return super().loss(*a) * (float('nan') if self.calls > 8 else 1.)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(digits, tmp_path):
    real = ClassSampler(digits[0], 'cpu')
    p = PixelParam.init(real, 1, generator=make_generator(0))
    with pytest.raises(NonFiniteLossError, match='non-finite loss \\(nan\\) at iteration 8.*iteration 5'):
        condense(p, _Exploding(), real, 20, lr_img=0.1, ckpt=tmp_path / 'ck.pt', ckpt_every=5, progress=False)
    state = torch.load(tmp_path / 'ck.pt', weights_only=True)
    assert state['it'] == 5 and torch.isfinite(state['param']['x']).all()


def _saved(tmp_path):
    meta = make_meta(dataset='digits', mean=[0.], std=[1.], method='pixel_mmd', config={}, seed=0, budget_per_class=64)
    path = tmp_path / 'set.safetensors'
    save_synset(path, SynSet({'images': torch.rand(10, 1, 8, 8), 'labels': torch.arange(10)}, meta))
    return path


def test_tampered_synset_rejected(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes()); data[-5] ^= 0xFF; path.write_bytes(bytes(data))
    with pytest.raises(SynSetError, match='tampered|corrupt'): load_synset(path)


def test_pickle_offered_as_synset_rejected(tmp_path):
    torch.save({'images': torch.zeros(1)}, tmp_path / 'set.pt')
    with pytest.raises(SynSetError, match='unpickle'): load_synset(tmp_path / 'set.pt')
    import pickle; (tmp_path / 'p.pkl').write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(SynSetError, match='unpickle'): load_synset(tmp_path / 'p.pkl')


def test_foreign_safetensors_rejected(tmp_path):
    save_file({'w': torch.zeros(3)}, tmp_path / 'model.safetensors')
    with pytest.raises(SynSetError, match='condense_nb'): load_synset(tmp_path / 'model.safetensors')
