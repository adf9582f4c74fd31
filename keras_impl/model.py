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
        out = layer(h, initial_state=states)
        if cfg.opts["return_state"]:
            h, *finals = out
            names = cfg.decl.outputs(cfg.opts)
            values = ([h] if cfg.opts["return_sequences"] else []) + finals
            outputs = dict(zip(names, values))
        else:
            h = out
    return keras.Model(inputs=inputs, outputs=outputs or {sequential.output_name: h})
