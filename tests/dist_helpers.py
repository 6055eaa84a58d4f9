"""Workers and cases of `test_distributed.py`: every shardable method, run for 2 iterations on digits with tiny nets,
recording the synthetic parameters' gradients after every backward pass (after the engine's sum over processes).

The workers live in a module (not in the test file's functions) because `torch.multiprocessing.spawn` imports them in
fresh interpreters.
"""
import torch

from condense_nb.data import load_dataset, ClassSampler
from condense_nb.engine import Callback, METHODS, condense
from condense_nb.runner import load_methods, build_method

SMALL = {'width': 16, 'depth': 2}
# name: (method, overrides of its smoke settings); SGD everywhere, so that the final sets compare too
CASES = {
    'pixel_mmd': ('pixel_mmd', {}),
    'dm': ('dm', dict(objective_kw=dict(net_kw=SMALL))),
    'dm_full': ('dm_full', dict(objective_kw=dict(net_kw=SMALL))),
    'dm_batchnorm': ('dm', dict(objective_kw=dict(net='ConvNetBN', net_kw=SMALL))),
    'dc': ('dc', dict(objective_kw=dict(outer_loop=2, inner_loop=1, batch_real=32, net_kw=SMALL))),
    'dsa': ('dsa', dict(objective_kw=dict(outer_loop=2, inner_loop=1, batch_real=32, net_kw=SMALL))),
    'kfs': ('kfs', dict(optimizer='sgd', momentum=0.5, objective_kw=dict(net_kw=SMALL),
                        param_kw=dict(sample_decoders=1))),
    'haba_dm': ('haba_dm', {}),
}
ITERATIONS = 2


class GradLog(Callback):
    "The loss and every synthetic parameter's gradient after each backward pass (after `GradAllReduce`'s sum)."
    order = 0
    def __init__(self): self.steps = []
    def after_backward(self, run):
        mine = {id(p) for g in run.opt.param_groups for p in g['params']}   # the synthetic set's (HaBa: no extractor)
        self.steps.append(dict(loss=float(run.loss.detach()),
                               grads={n: None if p.grad is None else p.grad.detach().clone()
                                      for n, p in run.param.named_parameters() if id(p) in mine}))


def run_case(name, real):
    "Condense `CASES[name]` for `ITERATIONS` iterations; returns the per-step log and the final state."
    load_methods()
    method, over = CASES[name]
    s = METHODS[method].settings('digits', 1, smoke=True, **over)
    param, objective, s = build_method(real, method, 1, 0, s)
    log = GradLog()
    condense(param, objective, real, ITERATIONS, lr_img=s['lr_img'],
             momentum=s['momentum'] if s['optimizer'] == 'sgd' else None, optimizer=s['optimizer'],
             optimizer_kw=s['optimizer_kw'] or None, seed=0, callbacks=[log], progress=False)
    return dict(steps=log.steps, state={k: v.detach().clone() for k, v in param.state_dict().items()})


def digits():
    torch.set_num_threads(1)
    return ClassSampler(load_dataset('digits')[0], 'cpu')


def grad_worker(rank, world_size, port, out, names):
    "One process: join a gloo group and run every case of `names`; saves `{name: run_case(...)}` to `out.<rank>`."
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world_size)
    try:
        real = digits()
        torch.save({n: run_case(n, real) for n in names}, f'{out}.{rank}')
    finally: dist.destroy_process_group()
