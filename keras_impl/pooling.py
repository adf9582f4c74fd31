"""The pooling layers in Keras 3, channels_last: MaxPooling2D, AveragePooling2D (x (N, H, W, C)),
MaxPooling1D, AveragePooling1D (x (N, L, C)), GlobalMax/GlobalAveragePooling 1D and 2D
(-> (N, C)).

``padding="valid"`` drops what does not fill a window (floor), as torch's ``ceil_mode=False``;
``padding="same"`` is TensorFlow's: the odd pad after, a max ignoring the pads, an average
dividing by the real elements. The global max is ``ops.max`` (tf.reduce_max): tied maxima
share the gradient evenly.

On the torch backend Keras 3.15 averages a 'same' border over a different window where the
pads are asymmetric (see ``RealCountSame``): the average pools there zero-pad by Keras' rule
and divide by the pooled ones-mask themselves.
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import BACKEND, keras


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """Keras' (TensorFlow's) 'same' pads of one axis of length ``n``, window ``k``, stride
    ``s``: output ceil(n / s), pad_total = max((out - 1) s + k - n, 0), the odd one after."""
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class RealCountSame:
    """An average pool whose 'same' border divides by the REAL elements, on the torch backend.

    Keras 3.15's torch ``average_pool`` (keras/src/backend/torch/nn.py) hands asymmetric 'same'
    pads to ``_apply_same_padding``, which pads the input itself with ``mode="replicate"`` (for
    every pooling) and pools with padding 0, so ``count_include_pad=False`` has nothing to
    exclude: the edge element is counted twice. [1..8], k=3, s=2 -> the last window is
    (7 + 8 + 8) / 3 = 7.67 where TensorFlow, JAX and torch's own AvgPool1d on F.pad give
    (7 + 8) / 2 = 7.5 (measured: max_rel 0.28 on the output, 0.25 on dL/dx; symmetric pads go
    to torch's padding= and are right; a max pool is unaffected: a repeated edge is never a
    new maximum). Here, on torch with padding='same': zero-pad by Keras' rule (``same_pads``)
    and divide the pooled input by the same pool of a ones-mask, mean(pad(x)) / mean(pad(1)) =
    sum(real x) / count(real x), as torch_impl does. Everywhere else, Keras' own layer.
    parity_tests/test_keras_backends.py pins the upstream behaviour."""

    def call(self, inputs):
        if BACKEND != "torch" or self.padding != "same":
            return super().call(inputs)
        ops = keras.ops
        spatial = tuple(inputs.shape)[1:-1]                   # channels_last: (N, ..., C)
        pads = [(0, 0), *(same_pads(n, k, s) for n, k, s in
                          zip(spatial, self.pool_size, self.strides)), (0, 0)]

        def pool(t):
            return ops.average_pool(ops.pad(t, pads), self.pool_size, self.strides, "valid",
                                    self.data_format)

        ones = ops.ones((1, *spatial, 1), dtype=inputs.dtype)
        return pool(inputs) / pool(ones)


class AveragePooling2DRealCount(RealCountSame, keras.layers.AveragePooling2D):
    """keras.layers.AveragePooling2D, 'same' on torch by the real count (RealCountSame)."""


class AveragePooling1DRealCount(RealCountSame, keras.layers.AveragePooling1D):
    """keras.layers.AveragePooling1D, 'same' on torch by the real count (RealCountSame)."""


def _windowed(cls):
    def make(cfg, dtype):
        o = cfg.opts
        return cls(o["pool_size"], o["strides"], padding=o["padding"], dtype=dtype,
                   name=cfg.name)
    return staticmethod(make)


def _global(cls):
    def make(cfg, dtype):
        return cls(dtype=dtype, name=cfg.name)
    return staticmethod(make)


class MaxPool2D:
    declaration = L.MaxPool2D
    make = _windowed(keras.layers.MaxPooling2D)


class AveragePooling2D:
    declaration = L.AveragePooling2D
    make = _windowed(AveragePooling2DRealCount)


class MaxPooling1D:
    declaration = L.MaxPooling1D
    make = _windowed(keras.layers.MaxPooling1D)


class AveragePooling1D:
    declaration = L.AveragePooling1D
    make = _windowed(AveragePooling1DRealCount)


class GlobalMaxPooling2D:
    declaration = L.GlobalMaxPooling2D
    make = _global(keras.layers.GlobalMaxPooling2D)


class GlobalMaxPooling1D:
    declaration = L.GlobalMaxPooling1D
    make = _global(keras.layers.GlobalMaxPooling1D)


class GlobalAveragePooling2D:
    declaration = L.GlobalAveragePooling2D
    make = _global(keras.layers.GlobalAveragePooling2D)


class GlobalAveragePooling1D:
    declaration = L.GlobalAveragePooling1D
    make = _global(keras.layers.GlobalAveragePooling1D)
