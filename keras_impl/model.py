"""The Keras model of a Sequential: a functional ``keras.Model`` taking and returning dicts.

Each layer is made by its implementation class (``make(cfg, dtype)``) under its layer name, so
its variables read ``dense1/kernel``, ``lstm/lstm_cell/kernel``: what the declared mappings name.
Every layer gets the model's dtype explicitly (Keras' floatx() is float32 by default).
"""
from __future__ import annotations

from .backend import keras


def build(sequential, dtype: str, classes: dict):
    x = keras.Input(shape=sequential.input_shape, name="x",
                    dtype="int64" if sequential.ids is not None else dtype)
    inputs = {"x": x}
    for name, shape in sequential.inputs.items():
        if name != "x":
            inputs[name] = keras.Input(shape=shape, dtype=dtype, name=name)
    h, outputs = x, {}
    for cfg in sequential.layers:
        layer = classes[cfg.decl.name].make(cfg, dtype)
        if not cfg.decl.recurrent:
            h = layer(h)
            continue
        states = [inputs[s] for s in cfg.state_inputs] or None
        named = layer(h, initial_state=states)     # keras_impl.recurrent.Stack: a dict
        h = named[cfg.decl.passed_on(cfg.opts)]
        if cfg.opts["return_state"]:
            outputs = {n: named[n] for n in cfg.decl.outputs(cfg.opts)}
    return keras.Model(inputs=inputs, outputs=outputs or {sequential.output_name: h})
