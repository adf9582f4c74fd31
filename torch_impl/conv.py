"""The image layers in PyTorch: Conv2D with Keras' padding rule, Flatten (pools: pooling.py).

Shape legend: N batch, C channels, H, W height and width, kh, kw kernel. Torch is NCHW
throughout: x (N, C, H, W); ``nn.Conv2d.weight`` (C_out, C_in, kh, kw); ``nn.Flatten`` of
(N, C, H, W) orders the features (c, h, w). The canonical layout is NHWC with kernels
(kh, kw, C_in, C_out) and (h, w, c)-ordered features; crossframe/layers/conv.py declares the
transposes and the permutation, this file never converts anything itself.

Padding. Keras' ``padding="same"`` puts ``pad_total // 2`` zeros before and the rest after
(bottom/right). ``nn.Conv2d(padding=p)`` pads p on *both* sides, and ``padding="same"`` is
refused for stride > 1, so ``Conv2D`` computes Keras' amounts from the input size at call time
(``crossframe.geometry``, the one definition of the rule) and, where they are not symmetric,
pads explicitly with ``F.pad`` and convolves with padding 0.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from crossframe import layers as L
from crossframe.geometry import pads


class Conv2D(nn.Conv2d):
    """``nn.Conv2d`` with Keras' ``padding="valid"`` / ``"same"`` (odd extra zero after).

    Parameters ``weight`` (C_out, C_in, kh, kw) and ``bias`` (C_out,) as in ``nn.Conv2d``.
    x: (N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = ceil(H / sh) for "same"."""

    declaration = L.Conv2D

    def __init__(self, cfg):
        o = cfg.opts
        super().__init__(cfg.flow_in.features, o["filters"], o["kernel_size"], o["strides"],
                         padding=0, bias=o["use_bias"])
        self.keras_padding = o["padding"]

    def pads(self, H: int, W: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) for an (H, W) input."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return pads(H, kh, sh, self.keras_padding), pads(W, kw, sw, self.keras_padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.pads(*x.shape[2:])
        if top == bottom and left == right:  # nn.Conv2d's own symmetric padding will do
            return F.conv2d(standard_strides(x), self.weight, self.bias, self.stride, (top, left))
        # F.pad lists the last axis first: (left, right, top, bottom)
        return F.conv2d(standard_strides(F.pad(x, (left, right, top, bottom))), self.weight,
                        self.bias, self.stride, 0)


def standard_strides(x: torch.Tensor) -> torch.Tensor:
    """x with NCHW's standard strides where a 1-channel x also reads as channels_last.

    A torch bug worked around (torch 2.13.0 CPU, float32; found by a property test in
    parity_tests/test_conv.py): an (N, 1, H, W) input whose channel stride is 1 -- what
    ``torch.from_numpy`` gives for an NHWC array transposed to NCHW, or ``x.permute(0, 3, 1, 2)``
    of a 1-channel image -- is taken as channels_last, and oneDNN's convolution then returns
    uninitialised memory when the output is one column wide and the column stride is > 1
    (e.g. 5x5 input, 1x5 kernel, stride (1, 2)). Same values, standard strides: correct.
    """
    if x.shape[1] == 1 and x.stride(1) != x.shape[2] * x.shape[3]:
        return x.clone(memory_format=torch.contiguous_format)
    return x


class Flatten(nn.Flatten):
    """(N, C, H, W) -> (N, C*H*W): features in (c, h, w) order."""

    declaration = L.Flatten

    def __init__(self, cfg):
        super().__init__()
