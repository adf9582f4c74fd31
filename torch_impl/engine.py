"""One forward + backward pass of a torch module with autograd: the torch side of a Result.

The mode is explicit: ``module.train()`` or ``module.eval()`` from ``mode`` ("train" / "eval"),
never torch's implicit default.
"""
from __future__ import annotations

import numpy as np
import torch

from .losses import compute
from .model import Model

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def build(sequential, dtype: str, classes: dict) -> Model:
    return Model(sequential, classes).to(DTYPES[dtype])


def to_tensor(a: np.ndarray, requires_grad: bool = False, device: str = "cpu") -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def load_state(module: torch.nn.Module, weights: dict[str, np.ndarray]) -> None:
    """load_state_dict(strict=True), refusing a dtype change (it would cast silently)."""
    own = dict(module.state_dict())
    for name, value in weights.items():
        if name in own and DTYPES[str(value.dtype)] != own[name].dtype:
            raise TypeError(f"{name}: weights {value.dtype} vs module {own[name].dtype}")
    module.load_state_dict({k: to_tensor(v) for k, v in weights.items()}, strict=True)


def make_step(module, inputs, target, upstream, loss, dtype: str, mode: str = "train",
              device: str = "cpu", backward: bool = True):
    """A closure running one forward (+ backward) pass on fixed data (weights already loaded).

    Returns (outputs, loss, input tensors); parameter grads are left in ``p.grad``."""
    # integer ids (an Embedding's x) have no gradient
    t_in = {k: to_tensor(v, requires_grad=backward and v.dtype.kind == "f", device=device)
            for k, v in inputs.items()}
    t_target = None if target is None else to_tensor(target, device=device)
    t_up = {k: to_tensor(v, device=device) for k, v in upstream.items()}
    module.train(mode == "train")

    def step():
        module.zero_grad(set_to_none=True)
        for t in t_in.values():
            t.grad = None
        with torch.set_grad_enabled(backward):
            outputs = module(**t_in)
            value = compute(loss, outputs, t_target, t_up)
        if backward:
            value.backward()
        return outputs, value, t_in

    return step


def run_step(module, weights, inputs, target, upstream, loss, dtype: str, mode: str = "train",
             backward: bool = True, device: str = "cpu"):
    """Return (outputs, loss, param grads, input grads, state), NumPy, in torch names."""
    module = module.to(device)
    load_state(module, weights)
    outputs, value, t_in = make_step(module, inputs, target, upstream, loss, dtype, mode,
                                     device, backward)()
    numpy = lambda t: t.detach().cpu().numpy()  # noqa: E731
    grads = {n: numpy(p.grad) for n, p in module.named_parameters()} if backward else {}
    input_grads = {k: numpy(v.grad) for k, v in t_in.items() if v.requires_grad} \
        if backward else {}
    state = {n: numpy(b) for n, b in module.named_buffers()}
    return ({k: numpy(v) for k, v in outputs.items()}, numpy(value), grads, input_grads, state)
