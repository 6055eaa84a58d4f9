"""Shared by the kill-and-resume tests: wait until a run's checkpoint reaches an iteration, then SIGKILL the run."""
import os, signal, time

import torch


def kill_after_checkpoint(proc, ckpt, min_it:int, timeout:float=300) -> int:
    "Wait until `ckpt` holds iteration >= `min_it`, SIGKILL `proc`, return the checkpoint's iteration."
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ckpt.exists():
            try:
                if torch.load(ckpt, weights_only=True)['it'] >= min_it: break
            except Exception: pass  # being replaced right now: try again
        if proc.poll() is not None: break
        time.sleep(0.05)
    err = proc.stderr.read().decode()[-2000:] if proc.poll() is not None and proc.stderr else ''
    assert proc.poll() is None, f'the run ended before it could be killed {err}'
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return torch.load(ckpt, weights_only=True)['it']
