"""The convolutions in PyTorch: Conv2D and Conv1D with Keras' padding rules, Flatten (pools:
pooling.py).

Shape legend: N batch, C channels, H, W height and width, L length, T time steps, D inputs per
step, kh, kw, k kernel, G groups. Torch is channels-first throughout: images (N, C, H, W), 1-D
maps (N, C, L); ``nn.Conv2d.weight`` (C_out, C_in/G, kh, kw), ``nn.Conv1d.weight``
(C_out, C_in/G, k); ``nn.Flatten`` orders the features (c, h, w) or (c, l). The canonical layout
is channels-last with kernels (kh, kw, C_in/G, C_out) / (k, C_in/G, C_out) and (h, w, c)- or
(l, c)-ordered features; crossframe/layers/conv.py declares the transposes and the permutation,
this file never converts a weight itself. One layout change does happen here: a Conv1D reading
a batch-first sequence (N, T, D) transposes it to (N, D, T), as a torch model must.

Padding. Keras' ``padding="same"`` puts ``pad_total // 2`` zeros before and the rest after
(bottom/right). ``nn.Conv2d(padding=p)`` pads p on *both* sides, and ``padding="same"`` is
refused for stride > 1, so ``Conv2D`` computes Keras' amounts from the input size at call time
(``crossframe.geometry``, the one definition of the rule, dilation included) and, where they
are not symmetric, pads explicitly with ``F.pad`` and convolves with padding 0. torch has no
``padding="causal"``: ``Conv1D`` pads ``(k-1)*d`` zeros on the left with ``F.pad``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from crossframe import layers as L
from crossframe.geometry import pads


class Conv2D(nn.Conv2d):
    """``nn.Conv2d`` with Keras' ``padding="valid"`` / ``"same"`` (odd extra zero after).

    Parameters ``weight`` (C_out, C_in/G, kh, kw) and ``bias`` (C_out,) as in ``nn.Conv2d``;
    ``dilation`` and ``groups`` are nn.Conv2d's own (the same meaning as Keras' dilation_rate
    and groups). x: (N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = ceil(H / sh) for "same"."""

    declaration = L.Conv2D

    def __init__(self, cfg):
        o = cfg.opts
        super().__init__(cfg.flow_in.features, o["filters"], o["kernel_size"], o["strides"],
                         padding=0, dilation=o["dilation_rate"], groups=o["groups"],
                         bias=o["use_bias"])
        self.keras_padding = o["padding"]

    def pads(self, H: int, W: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) for an (H, W) input."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        return (pads(H, kh, sh, self.keras_padding, dh),
                pads(W, kw, sw, self.keras_padding, dw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.pads(*x.shape[2:])
        if top == bottom and left == right:  # nn.Conv2d's own symmetric padding will do
            return F.conv2d(standard_strides(x), self.weight, self.bias, self.stride, (top, left),
                            self.dilation, self.groups)
        # F.pad lists the last axis first: (left, right, top, bottom)
        return F.conv2d(standard_strides(F.pad(x, (left, right, top, bottom))), self.weight,
                        self.bias, self.stride, 0, self.dilation, self.groups)


class Conv1D(nn.Conv1d):
    """``nn.Conv1d`` with Keras' ``padding="valid"`` / ``"same"`` / ``"causal"``.

    Parameters ``weight`` (C_out, C_in/G, k) and ``bias`` (C_out,) as in ``nn.Conv1d``.
    x: (N, C_in, L) -> (N, C_out, Lo); a sequence input (N, T, D), batch-first as every
    crossframe sequence, is first transposed to (N, D, T)."""

    declaration = L.Conv1D

    def __init__(self, cfg):
        o = cfg.opts
        super().__init__(cfg.flow_in.features, o["filters"], o["kernel_size"], o["strides"],
                         padding=0, dilation=o["dilation_rate"], groups=o["groups"],
                         bias=o["use_bias"])
        self.keras_padding = o["padding"]
        self.sequence_input = cfg.flow_in.layout == "sequence"

    def pads(self, L_in: int) -> tuple[int, int]:
        """(left, right) zeros for a length-L input ("causal": all on the left)."""
        (k,), (s,), (d,) = self.kernel_size, self.stride, self.dilation
        return pads(L_in, k, s, self.keras_padding, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sequence_input:
            x = x.transpose(1, 2)                         # (N, T, D) -> (N, D, T)
        left, right = self.pads(x.shape[2])
        if left != right:
            x = F.pad(x, (left, right))
        return F.conv1d(standard_strides(x), self.weight, self.bias, self.stride,
                        left if left == right else 0, self.dilation, self.groups)


def standard_strides(x: torch.Tensor) -> torch.Tensor:
    """x with NCHW's standard strides where a 1-channel x also reads as channels_last.

    A torch bug worked around (torch 2.13.0 CPU, float32; found by a property test in
    parity_tests/test_conv.py): an (N, 1, H, W) input whose channel stride is 1 -- what
    ``torch.from_numpy`` gives for an NHWC array transposed to NCHW, or ``x.permute(0, 3, 1, 2)``
    of a 1-channel image -- is taken as channels_last, and oneDNN's convolution then returns
    uninitialised memory when the output is one column wide and the column stride is > 1
    (e.g. 5x5 input, 1x5 kernel, stride (1, 2)). Same values, standard strides: correct.
    """
    standard = 1
    for n in x.shape[2:]:
        standard *= n
    if x.shape[1] == 1 and x.stride(1) != standard:   # (also an NCL view of an NLC array)
        return x.clone(memory_format=torch.contiguous_format)
    return x


class Flatten(nn.Flatten):
    """(N, C, H, W) -> (N, C*H*W): features in (c, h, w) order; (N, C, L) -> (c, l)."""

    declaration = L.Flatten

    def __init__(self, cfg):
        super().__init__()
