"""Shared by `tests/test_reference.py` and `tests/fixtures/make_reference.py`: deterministic weights and images that both
the official code and this library can rebuild without storing them, and the fixture file layout.

Weights are not stored in the fixtures (AlexNet, VGG11 and ResNet18 alone would be ~100 MB): both sides fill their
networks with `det_fill_`, which writes the same numbers into the k-th entry of the state dict. The official and the
library networks list their entries in the same order (checked by the tests through `state_signature`), so this is
exactly "load the official state dict into ours, mapping names by position". The values come from a splitmix64 hash
in numpy, which does not depend on torch's RNG or its version.
"""
import json, math
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent / 'fixtures'

_GOLDEN, _M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def det_uniform(n: int, seed: int) -> np.ndarray:
    "`n` float64 numbers in [-1, 1), a pure function of `(n, seed)` (splitmix64)."
    with np.errstate(over='ignore'):
        z = np.uint64(seed % 2**63) * _M1 + (np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -52 - 1.0


def det_tensor(shape, seed: int, scale: float = 1.0) -> torch.Tensor:
    "A float32 tensor of `shape` with entries `scale * U[-1, 1)` from `det_uniform`."
    n = math.prod(shape)
    return torch.from_numpy(det_uniform(n, seed) * scale).float().reshape(tuple(shape))


def _values(leaf: str, t: torch.Tensor, seed: int) -> torch.Tensor:
    "What `det_fill_` writes into one state-dict entry named `...leaf` (rules by role, so both sides agree)."
    u = det_tensor(t.shape, seed)
    if leaf == 'running_mean': return 0.2 * u
    if leaf == 'running_var': return 1.0 + 0.5 * u           # positive
    if leaf == 'bias': return 0.1 * u
    if leaf == 'weight' and t.ndim in (2, 4):                # linear / conv: He-uniform bound on the fan-in
        return u * math.sqrt(6.0 / t[0].numel())
    if leaf == 'weight': return 1.0 + 0.2 * u                # norm scales (1-D; LayerNorm: C x H x W)
    return 0.1 * u                                           # anything else (e.g. HaBa's shift)


@torch.no_grad()
def det_fill_(module: torch.nn.Module, seed: int, leaves: list | None = None) -> torch.nn.Module:
    """Overwrite every float entry of `module.state_dict()` (parameters and BN buffers) deterministically, in order;
    `leaves`: the entries' names for choosing the fill rule (default: their own; pass the official ones if they differ)."""
    items = list(module.state_dict().items())
    if leaves is not None and len(leaves) != len(items): raise ValueError(f'{len(leaves)} names for {len(items)} entries')
    for k, (name, t) in enumerate(items):
        leaf = name.rsplit('.', 1)[-1] if leaves is None else leaves[k]
        if t.is_floating_point(): t.copy_(_values(leaf, t, seed * 1009 + k))
    return module


def det_state(signature: list, seed: int) -> list:
    """The tensors `det_fill_(module, seed)` writes, in order, into a module whose `state_signature` is `signature` (all
    entries float): for loading official weights into a module whose entries have other names or shapes."""
    return [_values(leaf, torch.empty(shape), seed * 1009 + k) for k, (leaf, shape) in enumerate(signature)]


def state_signature(module: torch.nn.Module) -> list:
    "`[leaf name, shape]` of every state-dict entry in order: what must agree for `det_fill_` to map by position."
    return [[n.rsplit('.', 1)[-1], list(t.shape)] for n, t in module.state_dict().items()]


def checksum(module: torch.nn.Module) -> float:
    "Sum of |entries| of the float state (float64): equal on both sides when the weights are the same."
    return float(sum(t.double().abs().sum() for t in module.state_dict().values() if t.is_floating_point()))


def load_fixture(name: str):
    "`(tensors, meta)` of `tests/fixtures/<name>.safetensors`; `meta` is the JSON stored under the key 'meta'."
    from safetensors import safe_open
    with safe_open(str(FIXTURES / f'{name}.safetensors'), framework='pt') as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()['meta'])
