"""Dense models in Keras 3: ``linear`` and ``mlp`` (and the lone ``dense`` layer).

``layers.Dense`` stores ``kernel`` as (in, out) — the canonical layout — and ``bias`` (out,).
Every layer gets ``dtype=`` explicitly; functional models take and return dicts so the engine
can name inputs and outputs.
"""
from __future__ import annotations

from .backend import keras


def _dense_stack(sizes, activation, dtype, output, bias=True):
    x = keras.Input(shape=(sizes[0],), dtype=dtype, name="x")
    h = x
    n = len(sizes) - 1
    for i in range(1, n + 1):
        h = keras.layers.Dense(sizes[i], activation=activation if i < n else None,
                               use_bias=bias, dtype=dtype, name=f"dense{i}")(h)
    return keras.Model(inputs={"x": x}, outputs={output: h})


def build_mlp(opts, dtype):
    return _dense_stack(opts["sizes"], opts["activation"], dtype, "logits")


def build_linear(opts, dtype):
    return _dense_stack([opts["features"], 1], None, dtype, "prediction")


def build_dense(opts, dtype):
    return _dense_stack([opts["inputs"], opts["units"]], None, dtype, "output", opts["bias"])


def build_activation(opts, dtype):
    x = keras.Input(shape=(opts["inputs"],), dtype=dtype, name="x")
    y = keras.layers.Activation(opts["activation"], dtype=dtype, name="act")(x)
    return keras.Model(inputs={"x": x}, outputs={"output": y})
