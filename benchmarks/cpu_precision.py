"""Does reduced precision pay on this CPU? One ConvNet training step in float32 and under bf16 (and fp16) autocast.

The bf16 switches (`real_autocast`, `train_autocast`) are fast only where oneDNN computes bfloat16 natively (AVX-512
BF16 or AMX); elsewhere it emulates it. This prints the CPU's capability, what oneDNN reports
(`condense_nb.nets.cpu_has_native`) and the CPU seconds of one forward + backward of the MNIST ConvNet (width 128,
instance norm, eager) on `--images` images per precision, the precisions interleaved over `--rounds`, with the ratio
to float32 (> 1: slower than float32).

    python benchmarks/cpu_precision.py                  # ~1 minute on an AVX2 CPU (bf16 is the slow part)
    python benchmarks/cpu_precision.py --smoke          # seconds: width 8, 8 images, 1 round
"""
from __future__ import annotations
import argparse, statistics, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from condense_nb.nets import get_net, cpu_has_native, autocast_context


def step_seconds(net, x, y, precision) -> float:
    "CPU seconds of one training step (forward, loss, backward) under `precision` autocast (None: float32)."
    t = time.process_time()
    with autocast_context(precision, 'cpu'): loss = F.cross_entropy(net(x), y)
    loss.backward()
    return time.process_time() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--images', type=int, default=100, help='batch size (DC ipc 10 trains on 100 MNIST images)')
    p.add_argument('--width', type=int, default=128)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--precisions', nargs='+', default=['bf16'], choices=['bf16', 'fp16'])
    p.add_argument('--smoke', action='store_true', help='width 8, 8 images, 1 round')
    a = p.parse_args(argv)
    if a.smoke: a.images, a.width, a.rounds = 8, 8, 1
    torch.set_num_threads(a.threads)
    net = get_net('ConvNet', 1, 10, 28, seed=0, device='cpu', width=a.width)
    x, y = torch.randn(a.images, 1, 28, 28, generator=torch.Generator().manual_seed(0)), torch.arange(a.images) % 10
    arms = [None] + a.precisions
    for arm in arms: step_seconds(net, x, y, arm)   # warm-up (oneDNN primitive creation)
    times = {arm: [] for arm in arms}
    for _ in range(a.rounds):
        for arm in arms: times[arm].append(step_seconds(net, x, y, arm))
    print(f'torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, '
          f'{a.threads} thread(s); native: ' + ', '.join(f'{q} {cpu_has_native(q)}' for q in a.precisions))
    fp32 = statistics.median(times[None])
    for arm in arms:
        med = statistics.median(times[arm])
        print(f'{arm or "fp32":>5}: {med * 1000:8.1f} CPU-ms per training step ({a.images} images, width {a.width}); '
              f'{med / fp32:5.2f}x float32')
    return times


if __name__ == '__main__':
    main()
