"""Recurrent layers and models in Keras 3: SimpleRNN, LSTM, GRU (reset_after=True and False).

Shapes: N batch, T time, D in, H hidden.  x: (N, T, D); h0 / c0: (N, H).

Keras' layout is the canonical one: ``kernel (D, kH)``, ``recurrent_kernel (H, kH)`` with the
gate blocks as *column* blocks (LSTM i, f, g(c), o; GRU z, r, h), one ``bias (kH,)`` — except
the GRU with ``reset_after=True`` (the default), whose bias is ``(2, kH)``: row 0 added on the
input side, row 1 on the recurrent side (inside the reset gate for the h block).
Variables live under the layer's cell: ``lstm/lstm_cell/kernel``, ``rnn/simple_rnn_cell/bias``,
``gru/gru_cell/recurrent_kernel`` (Keras 3.15).

The time axis of the input is declared ``None``: one built model serves every sequence length
(the property tests reuse models across T). Every layer gets ``dtype=`` explicitly.
"""
from __future__ import annotations

from .backend import keras

CLASSES = 10  # the digits

# cell -> (Keras layer class name, layer name = variable path prefix, extra layer arguments)
CELLS = {
    "rnn": ("SimpleRNN", "rnn", {"activation": "tanh"}),
    "lstm": ("LSTM", "lstm", {}),
    "gru": ("GRU", "gru", {"reset_after": True}),
    "gru_reset_before": ("GRU", "gru", {"reset_after": False}),
}


def _build(cell: str, D: int, H: int, return_sequences: bool, initial_state: bool,
           head: tuple[int, str] | None, dtype: str):
    """x [, h0, c0] -> the recurrent layer -> [Dense head] -> a dict of outputs.

    ``head`` None: the layer alone with ``return_state=True``; outputs ``h_seq`` (when
    ``return_sequences``), ``h_last`` and, for the LSTM, ``c_last``.
    ``head`` (units, name): ``Dense`` on the last hidden state, or on every step of the
    sequence when ``return_sequences`` (Dense acts on the last axis: per time step).
    """
    cls, name, extra = CELLS[cell]
    x = keras.Input(shape=(None, D), dtype=dtype, name="x")
    inputs = {"x": x}
    if initial_state:
        inputs["h0"] = keras.Input(shape=(H,), dtype=dtype, name="h0")
        if cell == "lstm":
            inputs["c0"] = keras.Input(shape=(H,), dtype=dtype, name="c0")
    states = [v for k, v in inputs.items() if k != "x"] or None
    layer = getattr(keras.layers, cls)(H, return_sequences=return_sequences,
                                       return_state=head is None, dtype=dtype, name=name,
                                       **extra)
    out = layer(x, initial_state=states)
    if head is not None:
        units, output = head
        y = keras.layers.Dense(units, dtype=dtype, name="dense")(out)
        return keras.Model(inputs=inputs, outputs={output: y})
    first, *finals = out          # return_state=True: [output, h_last (, c_last)]
    outputs = {"h_seq": first} if return_sequences else {}
    outputs.update(zip(("h_last", "c_last"), finals))
    return keras.Model(inputs=inputs, outputs=outputs)


def build_layer(cell: str, opts: dict, dtype: str):
    return _build(cell, opts["inputs"], opts["hidden"], opts["return-sequences"],
                  opts["initial-state"], None, dtype)


def build_classifier(cell: str, opts: dict, dtype: str):
    """digits read row by row -> last hidden state -> Dense(10) logits."""
    return _build(cell, opts["inputs"], opts["hidden"], False, opts["initial-state"],
                  (CLASSES, "logits"), dtype)


def build_sequence(cell: str, opts: dict, dtype: str):
    """digits rows 0..T-1 -> every hidden state -> Dense(8) per step: the next row."""
    return _build(cell, opts["inputs"], opts["hidden"], True, opts["initial-state"],
                  (opts["inputs"], "prediction"), dtype)
