"""Dense and the activations in Keras 3.

``layers.Dense`` stores ``kernel`` as (in, out) — the canonical layout — and ``bias`` (out,); on
more axes it acts on the last one. Each class makes the Keras layer for a ``LayerConfig`` with
the model's dtype given explicitly and the layer's name (its variables' path prefix).
"""
from __future__ import annotations

from crossframe import activations as A
from crossframe import layers as L

from .backend import BACKEND, keras


def hard_sigmoid_relu6(x):
    """Keras 3's hard_sigmoid, relu6(x + 3) / 6, in keras.ops: for the torch backend.

    Keras 3.15's torch ``hard_sigmoid`` (keras/src/backend/torch/nn.py) is
    ``torch.nn.functional.hardsigmoid``, whose CPU backward (torch 2.13, ATen's
    hardsigmoid_backward) multiplies the gradient by a float32 1/6 also in float64:
    dL/dx off by 2.98e-8 relative (measured, the forward exact). ``ops.relu6`` is torch's
    hardtanh, whose backward only masks: the same values and kinks, the gradient exact (as
    torch_impl's HardSigmoid). parity_tests/test_keras_backends.py pins the upstream one."""
    return keras.ops.relu6(x + 3.0) / 6.0


def _activation(name: str, opts: dict | None = None):
    """What Keras' ``activation=`` gets: the name where Keras' own function is exact in float64,
    else the table's exact callable (leaky_relu, gelu: TensorFlow rounds their constants to
    float32; hard_sigmoid_keras2: Keras 3 has no such name), and on the torch backend
    ``hard_sigmoid_relu6`` for hard_sigmoid (torch's own has a float32 1/6 in its backward)."""
    spec = A.get(name)
    if spec.name in ("leaky_relu", "gelu", "hard_sigmoid_keras2"):
        return spec.keras_fn(opts)
    if spec.name == "hard_sigmoid" and BACKEND == "torch":
        return hard_sigmoid_relu6
    if spec.options and spec.resolve(opts) != spec.resolve():
        return spec.keras_fn(opts)
    return spec.keras_name


class Dense:
    declaration = L.Dense

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Dense(cfg.opts["units"], activation=_activation(cfg.opts["activation"]),
                                  use_bias=cfg.opts["use_bias"], dtype=dtype, name=cfg.name)


class ReLU:
    declaration = L.ReLU

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.ReLU(dtype=dtype, name=cfg.name)


class Sigmoid:
    declaration = L.Sigmoid

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Activation("sigmoid", dtype=dtype, name=cfg.name)


class Tanh:
    declaration = L.Tanh

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Activation("tanh", dtype=dtype, name=cfg.name)


class Softmax:
    """Over the last axis: the features, or the channels of NHWC."""

    declaration = L.Softmax

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Softmax(axis=-1, dtype=dtype, name=cfg.name)


def _table_layer(cfg, dtype):
    opts = {o.name: cfg.opts[o.name] for o in cfg.decl.options}
    return keras.layers.Activation(_activation(cfg.decl.spec_name, opts), dtype=dtype,
                                   name=cfg.name)


class GELU:
    """Activation(gelu) in keras.ops (Keras' own gelu is 1e-9 off in float64)."""

    declaration = L.GELU
    make = staticmethod(_table_layer)


class ELU:
    declaration = L.ELU

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.ELU(alpha=cfg.opts["alpha"], dtype=dtype, name=cfg.name)


class SELU:
    declaration = L.SELU
    make = staticmethod(_table_layer)


class LeakyReLU:
    """Activation(where(x > 0, x, slope x)): keras.layers.LeakyReLU's TensorFlow op holds the
    slope in float32 (0.3 -> 0.30000001192... in float64; pinned in test_activations.py)."""

    declaration = L.LeakyReLU
    make = staticmethod(_table_layer)


class HardSigmoid:
    declaration = L.HardSigmoid
    make = staticmethod(_table_layer)


class HardSigmoidKeras2:
    declaration = L.HardSigmoidKeras2
    make = staticmethod(_table_layer)


class SiLU:
    declaration = L.SiLU
    make = staticmethod(_table_layer)


class Softplus:
    declaration = L.Softplus
    make = staticmethod(_table_layer)
