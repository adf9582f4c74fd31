"""Layer normalization in PyTorch.

``nn.LayerNorm(F, eps)`` normalizes the trailing dimension: on a flat (N, F) or sequence
(N, T, F) tensor that is the features; on an NCHW image it would be W, so the channels are moved
last and back (Keras normalizes the last axis of NHWC, the channels). ``weight`` and ``bias``
are Keras' ``gamma`` and ``beta`` unchanged; eps is given explicitly, since torch's default
(1e-5) is not Keras' (1e-3) — crossframe/layers/dense.py::LayerNormalization.
"""
from __future__ import annotations

from torch import nn

from crossframe import layers as L


class LayerNormalization(nn.LayerNorm):
    declaration = L.LayerNormalization

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, eps=cfg.opts["epsilon"])
        self.image = cfg.flow_in.layout == "image"

    def forward(self, x):
        if self.image:
            return super().forward(x.movedim(1, -1)).movedim(-1, 1)
        return super().forward(x)
