"""Recurrent layers and models in PyTorch: SimpleRNN, LSTM, GRU, and the reset-before GRU.

Shapes: N batch, T time, D in, H hidden.  x: (N, T, D) (``batch_first=True``),
h0 / c0: (N, H) canonical; torch's layers want (num_layers=1, N, H), added here. Every layer
returns ``(h_seq (N, T, H), h_last (N, H)[, c_last (N, H)])``; the model picks what it passes on.

What torch stores (the canonical <-> torch mapping is declared in crossframe/layers/recurrent.py):
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

from crossframe import layers as L


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


class SimpleRNN(nn.RNN):
    """nn.RNN(D, H, nonlinearity='tanh', batch_first=True)."""

    declaration = L.SimpleRNN

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, cfg.opts["units"], nonlinearity="tanh",
                         batch_first=True)

    def forward(self, x, h0=None):
        h_seq, h_n = super().forward(x, None if h0 is None else h0[None])
        return h_seq, h_n[0]


class LSTM(nn.LSTM):
    """nn.LSTM(D, H, batch_first=True)."""

    declaration = L.LSTM

    def __init__(self, cfg):
        super().__init__(cfg.flow_in.features, cfg.opts["units"], batch_first=True)

    def forward(self, x, h0=None, c0=None):
        state = None if h0 is None else (h0[None], c0[None])
        h_seq, (h_n, c_n) = super().forward(x, state)
        return h_seq, h_n[0], c_n[0]


class GRU(nn.Module):
    """nn.GRU (reset_after=True) or the explicit ``GRUResetBefore`` (reset_after=False), under
    the layer's own name so the parameters read ``gru.weight_ih_l0`` either way."""

    declaration = L.GRU

    def __new__(cls, cfg):
        base = _GRUAfter if cfg.opts["reset_after"] else _GRUBefore
        return base(cfg.flow_in.features, cfg.opts["units"])


class _GRUAfter(nn.GRU):
    def __init__(self, D: int, H: int):
        super().__init__(D, H, batch_first=True)

    def forward(self, x, h0=None):
        h_seq, h_n = super().forward(x, None if h0 is None else h0[None])
        return h_seq, h_n[0]


class _GRUBefore(GRUResetBefore):
    def forward(self, x, h0=None):
        h_seq, h_n = super().forward(x, None if h0 is None else h0[None])
        return h_seq, h_n[0]
