"""The pooling layers in PyTorch: MaxPool2D, AveragePooling2D (NCHW), MaxPooling1D,
AveragePooling1D (NCL), and the global pools (amax / mean over the positions).

Shape legend: N batch, C channels, H, W height and width, L length (T steps of a sequence).
x (N, C, H, W) -> (N, C, Ho, Wo); x (N, C, L) -> (N, C, Lo); a 1-D pool given a sequence
(N, T, D) transposes it to (N, D, T) first. Global: (N, C, ...) -> (N, C).

Keras' padding="same" (crossframe.geometry): where the pads are symmetric, torch's own
``padding=p`` (with ``count_include_pad=False`` for an average, so the border divides by the
real elements); where they are not, ``F.pad`` with Keras' amounts (-inf for a max; zeros for an
average, then divided by the same pool of a padded ones-mask: sum(real x) / count(real x)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from crossframe import layers as L


class _Padding:
    """What the windowed pools share: Keras' pads for this layer, and how torch applies them."""

    def setup(self, cfg):
        decl = cfg.decl
        self.same = cfg.opts["padding"] == "same"
        self.explicit = self.same and not decl.symmetric(cfg)   # asymmetric: F.pad
        self.pad = decl.torch_pad(cfg)                         # (left, right[, top, bottom])
        self.symmetric_padding = tuple(before for before, _ in decl.pads_of(cfg)) \
            if self.same and not self.explicit else 0
        self.from_sequence = decl.rank == 1 and cfg.flow_in.layout == "sequence"

    def window(self, cfg):
        window, strides = cfg.decl.window(cfg.opts)
        if cfg.decl.rank == 1:
            window, strides = window[0], strides[0]
            padding = self.symmetric_padding[0] if self.symmetric_padding else 0
        else:
            padding = self.symmetric_padding
        return dict(kernel_size=window, stride=strides, padding=padding)

    def to_ncl(self, x):
        return x.transpose(1, 2) if self.from_sequence else x


class MaxPool2D(_Padding, nn.MaxPool2d):
    """Floor semantics for 'valid' (ceil_mode=False, the default); 'same' pads -inf."""

    declaration = L.MaxPool2D

    def __init__(self, cfg):
        self.setup(cfg)
        super().__init__(**self.window(cfg))

    def forward(self, x):
        if self.explicit:
            x = F.pad(x, self.pad, value=float("-inf"))
        return super().forward(x)


class MaxPooling1D(_Padding, nn.MaxPool1d):
    """(N, C, L) -> (N, C, Lo); a sequence (N, T, D) is transposed to (N, D, T) first."""

    declaration = L.MaxPooling1D

    def __init__(self, cfg):
        self.setup(cfg)
        super().__init__(**self.window(cfg))

    def forward(self, x):
        x = self.to_ncl(x)
        if self.explicit:
            x = F.pad(x, self.pad, value=float("-inf"))
        return super().forward(x)


class _Average(_Padding):
    def average(self, x, pool):
        """Keras' average: over the real elements of each window."""
        if not self.explicit:
            return pool(x)     # 'valid', or symmetric pads with count_include_pad=False
        ones = torch.ones_like(x[:1, :1])
        return pool(F.pad(x, self.pad)) / pool(F.pad(ones, self.pad))


class AveragePooling2D(_Average, nn.AvgPool2d):
    """'same' border windows divide by their real elements, as TensorFlow's."""

    declaration = L.AveragePooling2D

    def __init__(self, cfg):
        self.setup(cfg)
        super().__init__(**self.window(cfg), count_include_pad=False)

    def forward(self, x):
        return self.average(x, super().forward)


class AveragePooling1D(_Average, nn.AvgPool1d):
    declaration = L.AveragePooling1D

    def __init__(self, cfg):
        self.setup(cfg)
        super().__init__(**self.window(cfg), count_include_pad=False)

    def forward(self, x):
        return self.average(self.to_ncl(x), super().forward)


class _Global(nn.Flatten):
    """(N, C, ...) -> nn.Flatten(2) -> (N, C, P) -> reduced over the P positions."""

    def __init__(self, cfg):
        super().__init__(2)
        self.from_sequence = cfg.flow_in.layout == "sequence"

    def positions(self, x):
        return super().forward(x.transpose(1, 2) if self.from_sequence else x)


class GlobalMaxPooling2D(_Global):
    """amax, not max(dim) or AdaptiveMaxPool2d(1): ties split the gradient evenly, as
    TensorFlow's reduce_max (Keras' GlobalMaxPooling2D)."""

    declaration = L.GlobalMaxPooling2D

    def forward(self, x):
        return self.positions(x).amax(dim=2)


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    declaration = L.GlobalMaxPooling1D


class GlobalAveragePooling2D(_Global):
    declaration = L.GlobalAveragePooling2D

    def forward(self, x):
        return self.positions(x).mean(dim=2)


class GlobalAveragePooling1D(GlobalAveragePooling2D):
    declaration = L.GlobalAveragePooling1D
