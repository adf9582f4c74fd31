"""The convolution family in PyTorch: Conv2D with Keras' padding rule, MaxPool2D, Flatten, and
the ``convnet`` model.

Shape legend: N batch, C channels, H, W height and width, kh, kw kernel. Torch is NCHW
throughout: x (N, C, H, W); ``nn.Conv2d.weight`` (C_out, C_in, kh, kw); ``nn.Flatten`` of
(N, C, H, W) orders the features (c, h, w). The canonical layout is NHWC with kernels
(kh, kw, C_in, C_out) and (h, w, c)-ordered features; crossframe.models.conv declares the
transposes and the permutation, this file never converts anything itself.

Padding. Keras' ``padding="same"`` puts ``pad_total // 2`` zeros before and the rest after
(bottom/right). ``nn.Conv2d(padding=p)`` pads p on *both* sides, and ``padding="same"`` is
refused for stride > 1, so ``KerasConv2d`` computes Keras' amounts from the input size at call
time (``crossframe.scratch.conv.same_padding``, the one definition of the rule) and, where they
are not symmetric, pads explicitly with ``F.pad`` and convolves with padding 0.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from crossframe.models.conv import convnet_plan, pair
from crossframe.scratch.conv import same_padding

from .engine import DTYPES


class KerasConv2d(nn.Conv2d):
    """``nn.Conv2d`` with Keras' ``padding="valid"`` / ``"same"`` (odd extra zero after).

    Parameters ``weight`` (C_out, C_in, kh, kw) and ``bias`` (C_out,) as in ``nn.Conv2d``.
    x: (N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = ceil(H / sh) for "same".
    """

    def __init__(self, c_in: int, c_out: int, kernel, stride, padding: str, bias: bool = True):
        super().__init__(c_in, c_out, pair(kernel), pair(stride), padding=0, bias=bias)
        self.keras_padding = padding

    def pads(self, H: int, W: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) for an (H, W) input."""
        if self.keras_padding == "valid":
            return (0, 0), (0, 0)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return same_padding(H, kh, sh), same_padding(W, kw, sw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.pads(*x.shape[2:])
        if top == bottom and left == right:  # nn.Conv2d's own symmetric padding will do
            return F.conv2d(standard_strides(x), self.weight, self.bias, self.stride, (top, left))
        # F.pad lists the last axis first: (left, right, top, bottom)
        return F.conv2d(standard_strides(F.pad(x, (left, right, top, bottom))), self.weight,
                        self.bias, self.stride, 0)


def standard_strides(x: torch.Tensor) -> torch.Tensor:
    """x with NCHW's standard strides where a 1-channel x also reads as channels_last.

    A torch bug worked around (torch 2.13.0 CPU, float32; found by the property test in
    parity_tests/test_conv.py): an (N, 1, H, W) input whose channel stride is 1 -- what
    ``torch.from_numpy`` gives for an NHWC array transposed to NCHW, or ``x.permute(0, 3, 1, 2)``
    of a 1-channel image -- is taken as channels_last, and oneDNN's convolution then returns
    uninitialised memory when the output is one column wide and the column stride is > 1
    (e.g. 5x5 input, 1x5 kernel, stride (1, 2)). Same values, standard strides: correct.
    """
    if x.shape[1] == 1 and x.stride(1) != x.shape[2] * x.shape[3]:
        return x.clone(memory_format=torch.contiguous_format)
    return x


def _pool(pool, stride) -> nn.MaxPool2d:
    """Floor semantics (ceil_mode=False, the default), as Keras' padding="valid"."""
    return nn.MaxPool2d(pair(pool), pair(pool if stride is None else stride))


class Layer(nn.Module):
    """One layer alone, input ``x`` and output ``output`` (a lone-layer check)."""

    def __init__(self, **layers: nn.Module):
        super().__init__()
        for name, layer in layers.items():
            self.add_module(name, layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return {"output": x}


class ConvNet(nn.Module):
    """conv1 -> relu -> pool1 -> conv2 -> relu -> pool2 -> flatten -> dense; x (N, 1, 8, 8)."""

    def __init__(self, opts):
        super().__init__()
        plan = convnet_plan(opts)
        for name in ("conv1", "conv2"):
            g = getattr(plan, name)
            self.add_module(name, KerasConv2d(g.channels, g.filters, g.kernel, g.stride,
                                              g.padding))
        self.pool1 = _pool(plan.pool1.pool, plan.pool1.stride)
        self.pool2 = _pool(plan.pool2.pool, plan.pool2.stride)
        self.flatten = nn.Flatten()  # (N, C, H, W) -> (N, C*H*W): (c, h, w) order
        self.dense = nn.Linear(plan.flat_size, plan.units)

    def forward(self, x):
        h = self.pool1(torch.relu(self.conv1(x)))
        h = self.pool2(torch.relu(self.conv2(h)))
        return {"logits": self.dense(self.flatten(h))}


def build_conv2d(opts, dtype):
    conv = KerasConv2d(opts["channels"], opts["filters"], opts["kernel"], opts["stride"],
                       opts["padding"], opts["bias"])
    return Layer(conv=conv).to(DTYPES[dtype])


def build_maxpool2d(opts, dtype):
    return Layer(pool=_pool(opts["pool"], opts["stride"])).to(DTYPES[dtype])


def build_flatten(opts, dtype):
    return Layer(flatten=nn.Flatten()).to(DTYPES[dtype])


def build_flatten_dense(opts, dtype):
    n = opts["height"] * opts["width"] * opts["channels"]
    return Layer(flatten=nn.Flatten(),
                 dense=nn.Linear(n, opts["units"], bias=opts["bias"])).to(DTYPES[dtype])


def build_convnet(opts, dtype):
    return ConvNet(opts).to(DTYPES[dtype])
