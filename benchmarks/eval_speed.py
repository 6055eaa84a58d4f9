"""How fast the evaluation networks train: eager against `evaluate_synset(compile=True)` (`fast_train_loss`).

Prints, per configuration `dataset:ipc:augmentation` (a ConvNet-128 with instance norm trained as the protocols do:
SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 256, per-image DSA or DC-aug on every batch), the milliseconds per
training epoch of each variant, their ratio to eager, and the one-off cost of the first epochs (compilation). Time is
CPU time of the process (threads summed) on a CPU, wall time on CUDA. Variants run **interleaved** in one process
(round r trains every variant for `--epochs` epochs, in reversed order every other round), each on its own copy of the
same network, so a change in the machine's load hits all of them alike. Images are random (the speed does not depend
on the pixels).

With `--set FILE`, also the check that the switches leave the accuracy unchanged: the saved set is evaluated with its
stored protocol (`--nets`, `--epochs-eval` override it) eagerly and compiled, network k of both with the same seed
(`seed=k`), interleaved per network; printed: each network's accuracy and seconds per variant. Every configuration
starts from a reset of torch.compile's caches (`torch._dynamo.reset()`), so none runs into its limit of compiled
versions per function (8), after which torch would train eagerly.

    python benchmarks/eval_speed.py                                    # default configurations, 1 thread
    python benchmarks/eval_speed.py --configs mnist:10:dsa --epochs 40 --rounds 3
    python benchmarks/eval_speed.py --configs --nets 1 --root .data --json eval_speed.json \\
        --set nbs/experiments/results/dsa_mnist_ipc10_cpu10/synset_seed0.safetensors
"""
from __future__ import annotations
import argparse, json, platform, sys, time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from condense_nb.core import make_generator, keep_freed_memory  # noqa: E402
from condense_nb.nets import get_net  # noqa: E402
from condense_nb.augment import DSA, DCAug, dsa_strategy_for  # noqa: E402
from condense_nb.evaluate import train_epoch, fast_train_loss  # noqa: E402

SHAPES = {'mnist': (1, 28, 28), 'fashionmnist': (1, 28, 28), 'cifar10': (3, 32, 32)}
VARIANTS = {'eager': None, 'compile': dict(compile=True)}
DEFAULT_CONFIGS = ['mnist:1:dsa', 'mnist:10:dsa', 'mnist:10:dcaug', 'cifar10:10:dsa', 'mnist:50:dsa']


def parse_config(text: str) -> tuple[str, int, str]:
    "`dataset:ipc:augmentation` -> its parts, with clear errors."
    parts = text.split(':')
    if len(parts) != 3 or parts[0] not in SHAPES or not parts[1].isdigit() or parts[2] not in ('dsa', 'dcaug', 'none'):
        raise SystemExit(f'bad --configs entry {text!r}: expected dataset:ipc:augmentation with dataset in '
                         f'{sorted(SHAPES)}, ipc a positive integer, augmentation dsa, dcaug or none')
    return parts[0], int(parts[1]), parts[2]


def clock(device) -> float:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device); return time.perf_counter()
    return time.process_time()


class Arm:
    "One variant: its own network, optimiser and generator, trained epoch by epoch on the same images."
    def __init__(self, name, speed, x, y, aug, device):
        self.name, self.x, self.y, self.aug = name, x, y, aug
        c, h, w = x.shape[1:]
        self.net = get_net('ConvNet', c, 10, (h, w), seed=0, device=device).train()
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        self.loss_fn = None if speed is None else fast_train_loss(self.net, **speed)
        self.g, self.times, self.device = make_generator(1), [], device

    def epochs(self, n: int) -> float:
        t0 = clock(self.device)
        for _ in range(n): loss = train_epoch(self.net, self.opt, self.x, self.y, 256, self.g, self.aug, self.loss_fn)
        return (clock(self.device) - t0), loss


def speed_config(dataset, ipc, aug_name, variants, epochs, rounds, warmup, device) -> dict:
    torch._dynamo.reset()   # a fresh compile cache per configuration (see the module docstring)
    c, h, w = SHAPES[dataset]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10 * ipc, c, h, w, generator=g).to(device)
    y = torch.arange(10, device=device).repeat_interleave(ipc)
    aug = (DSA(dsa_strategy_for(dataset)) if aug_name == 'dsa' else DCAug('crop_scale_rotate') if aug_name == 'dcaug'
           else None)
    arms = [Arm(v, VARIANTS[v], x, y, aug, device) for v in variants]
    first = {a.name: a.epochs(warmup)[0] for a in arms}   # compilation happens here
    per = {a.name: [] for a in arms}
    for r in range(rounds):
        for a in (arms if r % 2 == 0 else arms[::-1]):
            t, loss = a.epochs(epochs); per[a.name].append(1000 * t / epochs)
    ms = {k: min(v) for k, v in per.items()}
    base = ms[variants[0]]
    return dict(config=f'{dataset}:{ipc}:{aug_name}', images=len(x), ms_per_epoch=ms, all_rounds=per,
                ratio={k: base / v for k, v in ms.items()}, warmup_seconds=first, warmup_epochs=warmup)


def accuracy_check(path, variants, nets, epochs, root, device) -> dict:
    from condense_nb.runner import evaluate_condensed, load_condensed
    cset = load_condensed(path)
    test = cset.load_test(root)
    rows = {v: [] for v in variants}
    torch._dynamo.reset()
    for k in range(nets):
        for v in (variants if k % 2 == 0 else variants[::-1]):
            t0 = time.perf_counter()
            res = evaluate_condensed(cset, test=test, n_nets=1, epochs=epochs, seed=k, device=device,
                                     **(VARIANTS[v] or {}))
            rows[v].append(dict(seed=k, acc=res.accs[0], seconds=round(time.perf_counter() - t0, 1)))
            print(f'  set {Path(path).parent.name}, net seed {k}, {v:13s}: {res.accs[0]:.2f} % in '
                  f'{rows[v][-1]["seconds"]:.0f} s', flush=True)
    return dict(set=str(path), protocol=cset.protocol, epochs=epochs or cset.protocol['epochs'], nets=nets, runs=rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--configs', nargs='*', default=DEFAULT_CONFIGS, help='dataset:ipc:augmentation (dsa, dcaug, none)')
    p.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument('--epochs', type=int, default=20, help='epochs per variant and round (default 20)')
    p.add_argument('--rounds', type=int, default=2, help='interleaved rounds; the best round counts (default 2)')
    p.add_argument('--warmup', type=int, default=3, help='untimed first epochs per variant (compilation; default 3)')
    p.add_argument('--threads', type=int, default=1, help='torch threads on a CPU (default 1)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--set', default=None, help='also check accuracies on this saved set (see above)')
    p.add_argument('--nets', type=int, default=1, help='networks per variant for --set (default 1)')
    p.add_argument('--epochs-eval', type=int, default=None, help="epochs for --set (default: the stored protocol's)")
    p.add_argument('--root', default='.data', help='dataset files for --set (default .data)')
    p.add_argument('--json', default=None, help='also write the figures to this JSON file')
    a = p.parse_args(argv)
    if a.variants[0] != 'eager': raise SystemExit('the first variant is the reference: put eager first')
    torch.set_num_threads(a.threads)
    if torch.device(a.device).type == 'cpu': keep_freed_memory()
    from condense_nb.runner import cpu_model, git_commit
    out = dict(device=a.device, cpu=cpu_model() or platform.machine(), threads=a.threads, torch=torch.__version__,
               commit=git_commit(), epochs=a.epochs, rounds=a.rounds, configs=[])
    unit = 'CPU-ms' if torch.device(a.device).type == 'cpu' else 'ms'
    for text in a.configs:
        r = speed_config(*parse_config(text), a.variants, a.epochs, a.rounds, a.warmup, a.device)
        out['configs'].append(r)
        print(f"{r['config']} ({r['images']} images): " + ', '.join(
            f"{k} {v:.0f} {unit}/epoch ({r['ratio'][k]:.2f}x)" for k, v in r['ms_per_epoch'].items())
            + f'; first {a.warmup} epochs: ' + ', '.join(f'{k} {v:.1f} s' for k, v in r['warmup_seconds'].items()),
            flush=True)
    if a.set:
        out['accuracy'] = accuracy_check(a.set, a.variants, a.nets, a.epochs_eval, a.root, a.device)
        for v, rows in out['accuracy']['runs'].items():
            print(f"{v:13s}: accuracies {[r['acc'] for r in rows]}, seconds {[r['seconds'] for r in rows]}")
    if a.json: Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
