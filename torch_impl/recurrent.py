"""Recurrent layers and models in PyTorch: SimpleRNN, LSTM, GRU, and the reset-before GRU.

Shapes: N batch, T time, D in, H hidden.  x: (N, T, D) (``batch_first=True``),
h0 / c0: (N, H) canonical; torch's layers want (num_layers=1, N, H), added here.

What torch stores (the canonical <-> torch mapping is declared in crossframe.models.recurrent):
    weight_ih_l0 (kH, D), weight_hh_l0 (kH, H)   gate blocks as *row* blocks:
                                                 LSTM i, f, g, o; GRU r, z, n (Keras: z, r, h)
    bias_ih_l0 (kH,), bias_hh_l0 (kH,)           two biases, both added to every pre-activation
                                                 (for the GRU's n block, bias_hh sits inside
                                                 the reset gate: r * (W_hn h + b_hn))

``torch.nn.GRU`` computes the reset gate *after* the recurrent product (Keras'
``reset_after=True``). No torch layer computes the original formula with the reset applied
*before* the product (Keras' ``reset_after=False``), so ``GRUResetBefore`` below writes that
cell out with torch operations and lets autograd differentiate it — torch stays an independent
third implementation. It keeps nn.GRU's parameter names and layout, so one mapping serves both.
"""
from __future__ import annotations

import torch
from torch import nn

from .engine import DTYPES


class GRUResetBefore(nn.Module):
    """A one-layer, batch-first GRU with the reset gate applied BEFORE the recurrent product.

    Parameters as in ``nn.GRU`` (rows r, z, n): weight_ih_l0 (3H, D), weight_hh_l0 (3H, H),
    bias_ih_l0 (3H,), bias_hh_l0 (3H,). Per step, with h = h_{t-1}:

        r = sigmoid(W_ir x_t + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x_t + b_iz + W_hz h + b_hz)
        n = tanh(W_in x_t + b_in + W_hn (r * h) + b_hn)      (nn.GRU: ... + r * (W_hn h + b_hn))
        h_t = (1 - z) * n + z * h

    forward(x (N, T, D), h0 (1, N, H) or None) -> (h_seq (N, T, H), h_n (1, N, H)), as nn.GRU.
    Backward is torch autograd through these operations.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * H, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * H))

    def forward(self, x, h0=None):
        N, T, _ = x.shape
        H = self.hidden_size
        h = x.new_zeros(N, H) if h0 is None else h0[0]
        # the input side of every step in one product: (N, T, 3H), rows r, z, n
        gx = x @ self.weight_ih_l0.T + self.bias_ih_l0
        W_hrz, W_hn = self.weight_hh_l0[:2 * H], self.weight_hh_l0[2 * H:]
        b_hrz, b_hn = self.bias_hh_l0[:2 * H], self.bias_hh_l0[2 * H:]
        steps = []
        for t in range(T):
            g = gx[:, t]
            rz = torch.sigmoid(g[:, :2 * H] + h @ W_hrz.T + b_hrz)
            r, z = rz[:, :H], rz[:, H:]
            n = torch.tanh(g[:, 2 * H:] + (r * h) @ W_hn.T + b_hn)
            h = (1 - z) * n + z * h
            steps.append(h)
        return torch.stack(steps, dim=1), h[None]


def _cell(cell: str, D: int, H: int) -> nn.Module:
    if cell == "rnn":
        return nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
    if cell == "lstm":
        return nn.LSTM(D, H, batch_first=True)
    if cell == "gru":
        return nn.GRU(D, H, batch_first=True)
    if cell == "gru_reset_before":
        return GRUResetBefore(D, H)
    raise ValueError(f"unknown recurrent cell {cell!r}")


CLASSES = 10  # the digits

# the attribute (so the parameter prefix: ``lstm.weight_ih_l0``) of each cell
LAYER_NAME = {"rnn": "rnn", "lstm": "lstm", "gru": "gru", "gru_reset_before": "gru"}


class Recurrent(nn.Module):
    """x [, h0, c0] -> one recurrent layer -> [a Dense head] -> a dict of outputs.

    ``head`` None: the layer alone; outputs ``h_seq`` (when ``return_sequences``), ``h_last``
    and, for the LSTM, ``c_last`` (torch's ``output, (h_n, c_n)``).
    ``head`` (units, output name): ``nn.Linear`` on ``h_last`` (a classifier), or on every step
    of ``h_seq`` when ``return_sequences`` (Linear acts on the last axis: per time step).
    """

    def __init__(self, cell: str, D: int, H: int, return_sequences: bool,
                 head: tuple[int, str] | None = None):
        super().__init__()
        self.cell, self.layer = cell, LAYER_NAME[cell]
        self.return_sequences = return_sequences
        self.add_module(self.layer, _cell(cell, D, H))
        self.head_output = None
        if head is not None:
            units, self.head_output = head
            self.dense = nn.Linear(H, units)

    def forward(self, x, h0=None, c0=None):
        layer = getattr(self, self.layer)
        if self.cell == "lstm":
            state = None if h0 is None else (h0[None], c0[None])
            h_seq, (h_n, c_n) = layer(x, state)
            finals = {"h_last": h_n[0], "c_last": c_n[0]}
        else:
            h_seq, h_n = layer(x, None if h0 is None else h0[None])
            finals = {"h_last": h_n[0]}
        if self.head_output is not None:
            features = h_seq if self.return_sequences else finals["h_last"]
            return {self.head_output: self.dense(features)}
        return {"h_seq": h_seq, **finals} if self.return_sequences else finals


def _build(cell: str, D: int, H: int, return_sequences: bool, head, dtype: str) -> Recurrent:
    return Recurrent(cell, D, H, return_sequences, head).to(DTYPES[dtype])


def build_layer(cell: str, opts: dict, dtype: str) -> Recurrent:
    return _build(cell, opts["inputs"], opts["hidden"], opts["return-sequences"], None, dtype)


def build_classifier(cell: str, opts: dict, dtype: str) -> Recurrent:
    """digits read row by row -> h_last -> Linear(H, 10) logits."""
    return _build(cell, opts["inputs"], opts["hidden"], False, (CLASSES, "logits"), dtype)


def build_sequence(cell: str, opts: dict, dtype: str) -> Recurrent:
    """digits rows 0..T-1 -> h_seq -> Linear(H, 8) at every step: the next row's prediction."""
    return _build(cell, opts["inputs"], opts["hidden"], True, (opts["inputs"], "prediction"),
                  dtype)
