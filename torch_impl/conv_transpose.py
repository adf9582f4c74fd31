"""The transposed convolution in PyTorch: Conv2DTranspose with Keras' output sizes, NCHW.

Shape legend: N batch, C_in input channels, F filters, H, W height and width, kh, kw kernel.
x (N, C_in, H, W) -> (N, F, Ho, Wo); ``nn.ConvTranspose2d.weight`` (C_in, F, kh, kw), the
canonical (Keras') kernel (kh, kw, F, C_in) transposed (3, 2, 0, 1), as
crossframe/layers/conv_transpose.py declares; this file never converts anything itself.

Padding. ``nn.ConvTranspose2d(padding=p, output_padding=op)`` crops p rows from both ends of the
full transposed convolution ((H - 1)*sh + kh rows) and gives op rows back at the end. Keras'
'same' crops the floor half of its total at the top and the rest at the bottom, so torch takes
padding = Keras' top crop and output_padding = top - bottom crop where that is >= 0; where the
bottom crop is one larger (an odd total), torch cannot say it with its two arguments and the
extra row is cut off the end here (``torch_port``, the one definition of the rule; the amounts
depend on kernel, stride and output_padding only, not on the input size).

A torch bug worked around (torch 2.13.0 CPU, float32; found by the property test in
parity_tests/test_conv_transpose.py): for a 1-channel input whose channel stride is 1 (an NHWC
array viewed as NCHW), a 1x1 kernel, one filter and a non-zero output_padding, the WEIGHT
gradient of ``conv_transpose2d`` comes out wrong (0.3% to 90% here; output and input gradient
right). The input with standard strides (``standard_strides``, as Conv2D does) computes it right.
"""
from __future__ import annotations

import torch
from torch import nn

from crossframe import layers as L
from crossframe.layers.conv_transpose import torch_port

from .conv import standard_strides


class Conv2DTranspose(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` with Keras' ``padding``/``output_padding`` output: torch's own
    padding and output_padding, plus ``cut`` (0 or 1 per axis) rows/columns off the end.

    Parameters ``weight`` (C_in, F, kh, kw) and ``bias`` (F,) as in ``nn.ConvTranspose2d``."""

    declaration = L.Conv2DTranspose

    def __init__(self, cfg):
        o = cfg.opts
        ops = o["output_padding"] or (None, None)
        port = [torch_port(k, s, o["padding"], op)
                for k, s, op in zip(o["kernel_size"], o["strides"], ops)]
        super().__init__(cfg.flow_in.features, o["filters"], o["kernel_size"], o["strides"],
                         padding=tuple(p[0] for p in port),
                         output_padding=tuple(p[1] for p in port), bias=o["use_bias"])
        self.cut = tuple(p[2] for p in port)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(standard_strides(x))
        cut_h, cut_w = self.cut
        return y[:, :, :y.shape[2] - cut_h, :y.shape[3] - cut_w]
