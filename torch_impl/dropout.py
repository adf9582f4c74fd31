"""Dropout in PyTorch, with the mask crossframe injects.

torch.nn.Dropout(p) computes x * bernoulli(1 - p) / (1 - p) with torch's own generator, which
no other library reproduces; for parity this module applies the shared mask
(crossframe.data.dropout_mask, canonical layout; NHWC -> NCHW on an image) in torch's ops, and is
the identity in eval mode, as nn.Dropout is. The real nn.Dropout is checked statistically in
parity_tests/test_dropout.py.
"""
from __future__ import annotations

import torch
from torch import nn

from crossframe import layers as L
from crossframe.data import dropout_mask


class Dropout(nn.Module):
    declaration = L.Dropout

    def __init__(self, cfg):
        super().__init__()
        self.p, self.seed = cfg.opts["rate"], cfg.opts["seed"]
        self.image = cfg.flow_in.channels_first   # NCHW or NCL: channels on axis 1

    def forward(self, x):
        if not self.training:
            return x
        shape = (x.shape[0], *x.shape[2:], x.shape[1]) if self.image else tuple(x.shape)
        mask = torch.from_numpy(dropout_mask(self.seed, shape, self.p, str(x.dtype)[6:]))
        if self.image:
            mask = mask.movedim(-1, 1)
        return x * (mask / (1 - self.p))
