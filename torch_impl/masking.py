"""Masking in PyTorch, which has no masks: the module zeroes the padded steps and computes the
mask; crossframe's torch model (crossframe.torch_impl.model) hands it to the recurrent layers,
which pack with lengths = mask.sum(1) (torch.nn.utils.rnn.pack_padded_sequence).

Shapes: N batch, T time steps, D features; x (N, T, D), mask (N, T) bool, True at a real step.

    mask[n, t] = any_d(x[n, t, d] != mask_value)        y = x * mask      (autograd: G * mask)
"""
from __future__ import annotations

from torch import nn

from crossframe import layers as L


class Masking(nn.Module):
    declaration = L.Masking

    def __init__(self, cfg=0.0):
        """``Masking(cfg)`` as crossframe builds it, or ``Masking(mask_value)`` as the printed
        torch code writes it."""
        super().__init__()
        self.mask_value = cfg.opts["mask_value"] if hasattr(cfg, "opts") else float(cfg)

    def compute_mask(self, x):
        return (x != self.mask_value).any(dim=-1)

    def forward(self, x):
        return x * self.compute_mask(x)[..., None].to(x.dtype)
