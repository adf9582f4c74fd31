"""Dense and the activations in PyTorch.

``nn.Linear`` stores ``weight`` as (out, in) and computes ``x @ weight.T + bias``; the canonical
kernel is (in, out), so the declaration's mapping transposes (crossframe/layers/dense.py).
Each class is built from a ``LayerConfig`` (the declaration, resolved options, input shape).
"""
from __future__ import annotations

import torch
from torch import nn

from crossframe import activations as A
from crossframe import layers as L


class Dense(nn.Linear):
    """nn.Linear(F, units), then the activation in the same module (torch's Linear has none;
    a parameterless function, so the state_dict keys stay weight and bias). On an NCHW image it
    acts on the channels, as Keras' Dense acts on the last axis of NHWC: the channels are moved
    last, the activation applied (softmax over them), and moved back."""

    declaration = L.Dense

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, cfg.opts["units"], bias=cfg.opts["use_bias"])
        self.image = cfg.flow_in.channels_first   # NCHW or NCL: channels on axis 1
        self.activation = A.get(cfg.opts["activation"]).torch_fn()

    def forward(self, x):
        if self.image:
            return self.activation(super().forward(x.movedim(1, -1))).movedim(-1, 1)
        return self.activation(super().forward(x))


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


class GELU(nn.GELU):
    declaration = L.GELU

    def __init__(self, cfg):
        super().__init__(approximate="tanh" if cfg.opts["approximate"] else "none")


class ELU(nn.ELU):
    declaration = L.ELU

    def __init__(self, cfg):
        super().__init__(alpha=cfg.opts["alpha"])


class SELU(nn.SELU):
    declaration = L.SELU

    def __init__(self, cfg):
        super().__init__()


class LeakyReLU(nn.LeakyReLU):
    declaration = L.LeakyReLU

    def __init__(self, cfg):
        super().__init__(negative_slope=cfg.opts["negative_slope"])


class HardSigmoid(nn.Hardsigmoid):
    """nn.Hardsigmoid's formula, relu6(x + 3) / 6, written with F.relu6: torch 2.13's own
    hardsigmoid_backward multiplies by a float32 1/6 in float64 (3e-8 relative; pinned in
    parity_tests/test_activations.py). The same forward, values and kinks."""

    declaration = L.HardSigmoid

    def __init__(self, cfg):
        super().__init__()

    def forward(self, x):
        return nn.functional.relu6(x + 3) / 6


class HardSigmoidKeras2(nn.Module):
    """Keras 2's hard_sigmoid: clamp(0.2 x + 0.5, 0, 1); torch has no module for it."""

    declaration = L.HardSigmoidKeras2

    def __init__(self, cfg):
        super().__init__()

    def forward(self, x):
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


class SiLU(nn.SiLU):
    declaration = L.SiLU

    def __init__(self, cfg):
        super().__init__()


class Softplus(nn.Softplus):
    """nn.Softplus() as a port writes it: beta=1, threshold=20 (above 20 it returns x)."""

    declaration = L.Softplus

    def __init__(self, cfg):
        super().__init__()
