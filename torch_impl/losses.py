"""The losses in PyTorch, with the reduction written out (crossframe/losses.py says exactly what
each reduces over). Both cross-entropies take logits by default: ``cross_entropy`` always does,
and the binary one is the ``_with_logits`` function; ``from_logits=False`` takes the model's
softmax / sigmoid output through ``nll_loss(log(p))`` / ``binary_cross_entropy(p)``.
A prediction with steps (N, T, K) puts its classes on axis 1 first, as torch's losses want."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def compute(loss, outputs: dict, target, upstream: dict) -> torch.Tensor:
    """``loss`` a crossframe.losses.Loss; ``outputs`` the model's {name: tensor}."""
    if loss.upstream:
        return sum((upstream[k] * outputs[k]).sum() for k in upstream)
    (pred,) = outputs.values()
    red = loss.reduction
    if loss.name == "mse":
        return F.mse_loss(pred, target, reduction=red)
    if loss.name == "mae":
        return F.l1_loss(pred, target, reduction=red)
    if loss.name == "softmax_ce":
        classes_first = pred.movedim(-1, 1) if pred.dim() > 2 else pred
        if loss.from_logits:
            return F.cross_entropy(classes_first, target, reduction=red)
        return F.nll_loss(torch.log(classes_first), target, reduction=red)
    if loss.name == "binary_ce":
        if loss.from_logits:
            return F.binary_cross_entropy_with_logits(pred, target, reduction=red)
        return F.binary_cross_entropy(pred, target, reduction=red)
    raise ValueError(f"unknown loss {loss.name!r}")
