"""One forward + backward pass of a torch module with autograd: the torch side of a Result."""
from __future__ import annotations

import numpy as np
import torch

from .losses import compute

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def to_tensor(a: np.ndarray, requires_grad: bool = False, device: str = "cpu") -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def load_state(module: torch.nn.Module, weights: dict[str, np.ndarray]) -> None:
    """load_state_dict(strict=True), refusing a dtype change (it would cast silently)."""
    own = dict(module.named_parameters())
    for name, value in weights.items():
        if name in own and DTYPES[str(value.dtype)] != own[name].dtype:
            raise TypeError(f"{name}: weights {value.dtype} vs module {own[name].dtype}")
    module.load_state_dict({k: to_tensor(v) for k, v in weights.items()}, strict=True)


def make_step(module, inputs, target, upstream, loss: str, dtype: str, device: str = "cpu"):
    """A closure running one forward + backward pass on fixed data (weights already loaded).

    Returns (outputs, loss, input tensors); parameter grads are left in ``p.grad``.
    """
    t_in = {k: to_tensor(v, requires_grad=True, device=device) for k, v in inputs.items()}
    t_target = None if target is None else to_tensor(target, device=device)
    t_up = {k: to_tensor(v, device=device) for k, v in upstream.items()}

    def step():
        module.zero_grad(set_to_none=True)
        for t in t_in.values():
            t.grad = None
        outputs = module(**t_in)
        value = compute(loss, outputs, t_target, t_up)
        value.backward()
        return outputs, value, t_in

    return step


def run_step(module, weights, inputs, target, upstream, loss: str, dtype: str,
             device: str = "cpu"):
    """Return (outputs, loss, param grads, input grads), NumPy, in torch names and layouts."""
    module = module.to(device)
    load_state(module, weights)
    outputs, value, t_in = make_step(module, inputs, target, upstream, loss, dtype, device)()
    numpy = lambda t: t.detach().cpu().numpy()  # noqa: E731
    grads = {n: numpy(p.grad) for n, p in module.named_parameters()}
    return ({k: numpy(v) for k, v in outputs.items()}, numpy(value), grads,
            {k: numpy(v.grad) for k, v in t_in.items()})
