"""The losses in PyTorch, with the reduction written out (the defaults happen to agree with
scratch: ``mse_loss``, ``l1_loss``, ``cross_entropy`` and ``binary_cross_entropy_with_logits``
all take the mean). Both cross-entropies take logits: ``cross_entropy`` always does, and the
binary one is the ``_with_logits`` function (``F.binary_cross_entropy`` wants probabilities)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def compute(loss: str, outputs: dict, target, upstream: dict) -> torch.Tensor:
    if loss == "upstream":
        return sum((upstream[k] * outputs[k]).sum() for k in upstream)
    (pred,) = outputs.values()
    if loss == "mse":
        return F.mse_loss(pred, target, reduction="mean")
    if loss == "mae":
        return F.l1_loss(pred, target, reduction="mean")
    if loss == "softmax_ce":
        return F.cross_entropy(pred, target, reduction="mean")
    if loss == "binary_ce":
        return F.binary_cross_entropy_with_logits(pred, target, reduction="mean")
    raise ValueError(f"unknown loss {loss!r}")
