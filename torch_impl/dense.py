"""Dense and the activations in PyTorch.

``nn.Linear`` stores ``weight`` as (out, in) and computes ``x @ weight.T + bias``; the canonical
kernel is (in, out), so the declaration's mapping transposes (crossframe/layers/dense.py).
Each class is built from a ``LayerConfig`` (the declaration, resolved options, input shape).
"""
from __future__ import annotations

from torch import nn

from crossframe import layers as L


class Dense(nn.Linear):
    """nn.Linear(F, units). On an NCHW image it acts on the channels, as Keras' Dense acts on the
    last axis of NHWC: the channels are moved last and back."""

    declaration = L.Dense

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, cfg.opts["units"], bias=cfg.opts["use_bias"])
        self.image = cfg.flow_in.channels_first   # NCHW or NCL: channels on axis 1

    def forward(self, x):
        if self.image:
            return super().forward(x.movedim(1, -1)).movedim(-1, 1)
        return super().forward(x)


class ReLU(nn.ReLU):
    declaration = L.ReLU

    def __init__(self, cfg):
        super().__init__()


class Sigmoid(nn.Sigmoid):
    declaration = L.Sigmoid

    def __init__(self, cfg):
        super().__init__()


class Tanh(nn.Tanh):
    declaration = L.Tanh

    def __init__(self, cfg):
        super().__init__()


class Softmax(nn.Softmax):
    """Over the features: the last axis, or the channels (dim=1) of an NCHW image."""

    declaration = L.Softmax

    def __init__(self, cfg):
        super().__init__(dim=1 if cfg.flow_in.channels_first else -1)
