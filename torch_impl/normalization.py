"""Layer normalization in PyTorch.

``nn.LayerNorm(F, eps)`` normalizes the trailing dimension: on a flat (N, F) or sequence
(N, T, F) tensor that is the features; on an NCHW image it would be W, so the channels are moved
last and back (Keras normalizes the last axis of NHWC, the channels). ``weight`` and ``bias``
are Keras' ``gamma`` and ``beta`` unchanged; eps is given explicitly, since torch's default
(1e-5) is not Keras' (1e-3) — crossframe/layers/dense.py::LayerNormalization.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from crossframe import layers as L


class LayerNormalization(nn.LayerNorm):
    declaration = L.LayerNormalization

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, eps=cfg.opts["epsilon"])
        self.image = cfg.flow_in.channels_first   # NCHW or NCL: channels on axis 1

    def forward(self, x):
        if self.image:
            return super().forward(x.movedim(1, -1)).movedim(-1, 1)
        return super().forward(x)


class BatchNormalization(_BatchNorm):
    """torch's batch norm (the class behind nn.BatchNorm1d and nn.BatchNorm2d: F.batch_norm
    over dim 1) on (N, C), (N, C, H, W) and, a sequence transposed in and out, (N, C, T); eps
    and momentum = 1 - Keras' momentum given explicitly.

    Its running_var moves with the unbiased batch variance (times M/(M-1), M rows per
    channel); Keras' with the biased one. ``running_var_biased``, a buffer beside it, follows
    Keras' rule on the biased batch variance torch normalized with, from the same loaded value:
    the mapping reads the state back from it (the declared difference;
    parity_tests/test_normalization.py checks torch's own running_var against the unbiased
    rule). In inference torch normalizes with its own running_var, as nn.BatchNorm does.
    num_batches_tracked is kept out of the state dict: with a momentum given, torch never
    reads it."""

    declaration = L.BatchNormalization

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, eps=cfg.opts["epsilon"],
                         momentum=1 - cfg.opts["momentum"], affine=cfg.opts["scale"])
        self._buffers.pop("num_batches_tracked")
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long),
                             persistent=False)
        self.register_buffer("running_var_biased", self.running_var.clone(), persistent=False)
        self.sequence = cfg.flow_in.layout == "sequence"

    def _load_from_state_dict(self, *args, **kwargs):
        # nn.Module's own loading: _NormBase's would add num_batches_tracked to a state dict
        # without version metadata, a key this layer does not keep
        nn.Module._load_from_state_dict(self, *args, **kwargs)
        with torch.no_grad():                      # both conventions start from the same value
            self.running_var_biased = self.running_var.clone()

    def _check_input_dim(self, x):
        if x.dim() not in (2, 3, 4):
            raise ValueError(f"expected a 2-, 3- or 4-D input, got {x.dim()}-D")

    def forward(self, x):
        if self.sequence:
            x = x.transpose(1, 2)
        if self.training:
            dims = [0] + list(range(2, x.dim()))
            var = x.detach().var(dim=dims, unbiased=False)      # what torch normalizes with
        y = super().forward(x)
        if self.training:
            with torch.no_grad():     # Keras' rule, on the same batch
                self.running_var_biased = (1 - self.momentum) * self.running_var_biased + \
                    self.momentum * var
        return y.transpose(1, 2) if self.sequence else y
