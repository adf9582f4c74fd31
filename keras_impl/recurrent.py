"""Recurrent layers in Keras 3: SimpleRNN, LSTM, GRU (reset_after=True and False).

Shapes: N batch, T time, D in, H hidden.  x: (N, T, D); h0 / c0: (N, H).

Keras' layout is the canonical one: ``kernel (D, kH)``, ``recurrent_kernel (H, kH)`` with the
gate blocks as *column* blocks (LSTM i, f, g(c), o; GRU z, r, h), one ``bias (kH,)`` — except
the GRU with ``reset_after=True`` (the default), whose bias is ``(2, kH)``: row 0 added on the
input side, row 1 on the recurrent side (inside the reset gate for the h block).
Variables live under the layer's cell: ``lstm/lstm_cell/kernel`` (Keras 3.15).

The model calls the layer with ``initial_state`` when the model takes the states as inputs;
with ``return_state`` Keras returns ``[output, h_last(, c_last)]``.
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


def _make(cls, cfg, dtype, **extra):
    o = cfg.opts
    return cls(o["units"], return_sequences=o["return_sequences"],
               return_state=o["return_state"], dtype=dtype, name=cfg.name, **extra)


class SimpleRNN:
    declaration = L.SimpleRNN

    @staticmethod
    def make(cfg, dtype):
        return _make(keras.layers.SimpleRNN, cfg, dtype, activation="tanh")


class LSTM:
    declaration = L.LSTM

    @staticmethod
    def make(cfg, dtype):
        return _make(keras.layers.LSTM, cfg, dtype)


class GRU:
    declaration = L.GRU

    @staticmethod
    def make(cfg, dtype):
        return _make(keras.layers.GRU, cfg, dtype, reset_after=cfg.opts["reset_after"])
