"""Recurrent layers and models in PyTorch: SimpleRNN, LSTM, GRU, and the reset-before GRU.

Shapes: N batch, T time, D in, H hidden, L num_layers, dirs 1 or 2 (bidirectional).
x: (N, T, D) (``batch_first=True``). Initial states h0 / c0: canonical (N, H); torch's layers
want (L * dirs, N, H): for one layer and direction the module adds the axis (``h0[None]``);
for several, the model's input mapping hands them over in torch's layout already. Every layer
returns what its declaration's ``layer_outputs`` names, in torch's layouts:
``(h_seq (N, T, H'), h_last (N, H)[, c_last (N, H)])``, or for several layers or directions
``(h_seq, y_last (N, H'), h_n (L*dirs, N, H)[, c_n])``; the model picks what it passes on.

What torch stores (the canonical <-> torch mapping is declared in crossframe/layers/recurrent.py):
    weight_ih_l0 (kH, D), weight_hh_l0 (kH, H)   gate blocks as *row* blocks:
                                                 LSTM i, f, g, o; GRU r, z, n (Keras: z, r, h)
    bias_ih_l0 (kH,), bias_hh_l0 (kH,)           two biases, both added to every pre-activation
                                                 (for the GRU's n block, bias_hh sits inside
                                                 the reset gate: r * (W_hn h + b_hn))
    ..._l1 (layer 1; its weight_ih reads the 2H concatenated directions of layer 0 when
    bidirectional), ..._reverse (the backward direction)

The options torch has no argument for are done here, around torch's own module, and said in
``crossframe describe``: ``go_backwards`` flips x before the call (Keras then returns h_seq in
that reversed order, and so does this module); ``merge_mode`` sum / mul / ave is computed from
the two halves of torch's concatenated output; the output at the last step of a bidirectional
layer is the merge of the last layer's two final states ``h_n[-2], h_n[-1]`` (torch's
``output[:, -1]`` holds the backward direction after only ONE step).

``torch.nn.GRU`` computes the reset gate *after* the recurrent product (Keras'
``reset_after=True``). No torch layer computes the original formula with the reset applied
*before* the product (Keras' ``reset_after=False``), so ``GRUResetBefore`` below writes that
cell out with torch operations and lets autograd differentiate it — torch stays an independent
third implementation. It keeps nn.GRU's parameter names and layout, so one mapping serves both.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from crossframe import activations as A
from crossframe import layers as L


def merge(mode: str, a, b):
    """Keras' Bidirectional merge of the forward half ``a`` and the backward half ``b``."""
    if mode == "concat":
        return torch.cat([a, b], dim=-1)
    return {"sum": lambda: a + b, "mul": lambda: a * b, "ave": lambda: (a + b) / 2}[mode]()


class Explicit(nn.Module):
    """A batch-first recurrent layer written out step by step with torch operations (autograd
    differentiates it), with nn.RNN / nn.LSTM / nn.GRU's parameter names and layouts, for what
    no torch layer computes. ``kind``: "rnn", "lstm", "gru_after" (nn.GRU's formula) or
    "gru_before" (the reset gate before the recurrent product). Per step, h = h_{t-1}, rows in
    torch's gate order:

        rnn:         h_t = act(W_ih x_t + b_ih + W_hh h + b_hh)
        lstm:        i, f, g, o = rec(.), rec(.), act(.), rec(.) of W_ih x_t + b_ih + W_hh h + b_hh
                     c_t = f c + i g;  h_t = o act(c_t)
        gru_after:   r, z = rec(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h + b_h{r,z})
                     n = act(W_in x_t + b_in + r * (W_hn h + b_hn));  h_t = (1 - z) n + z h
        gru_before:  r, z as above;  n = act(W_in x_t + b_in + W_hn (r * h) + b_hn)

    with ``act`` tanh and ``rec`` sigmoid by default. Layers and directions as nn.LSTM runs
    them: the backward direction reads the sequence reversed and its outputs are turned back,
    layer l + 1 reads both directions concatenated.

    forward(x (N, T, D), hx (L*dirs, N, H) or (h0, c0) or None) -> (output (N, T, dirs*H),
    h_n (L*dirs, N, H) or (h_n, c_n)), as torch's layers. Parameters start as torch.empty;
    ``reset_parameters`` draws nn.RNNBase's U(-1/sqrt(H), 1/sqrt(H)) in torch's order."""

    GATES = {"rnn": 1, "lstm": 4, "gru_after": 3, "gru_before": 3}

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, bias: bool = True, activation=torch.tanh,
                 recurrent_activation=torch.sigmoid):
        super().__init__()
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        self.bidirectional, self.bias = bidirectional, bias
        self.activation, self.recurrent_activation = activation, recurrent_activation
        kH, dirs = self.GATES[kind] * hidden_size, 2 if bidirectional else 1
        for layer in range(num_layers):
            D = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                s = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, f"weight_ih{s}", nn.Parameter(torch.empty(kH, D)))
                setattr(self, f"weight_hh{s}", nn.Parameter(torch.empty(kH, hidden_size)))
                if bias:
                    setattr(self, f"bias_ih{s}", nn.Parameter(torch.empty(kH)))
                    setattr(self, f"bias_hh{s}", nn.Parameter(torch.empty(kH)))

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, gx, h, c, W_hh, b_hh):
        """One step from the input side ``gx`` = W_ih x_t + b_ih (N, kH): (h_t, c_t)."""
        act, rec, H = self.activation, self.recurrent_activation, self.hidden_size
        if self.kind == "gru_before":
            gh = h @ W_hh[:2 * H].T + (0 if b_hh is None else b_hh[:2 * H])
            r, z = rec(gx[:, :2 * H] + gh).chunk(2, dim=1)
            n = act(gx[:, 2 * H:] + (r * h) @ W_hh[2 * H:].T
                    + (0 if b_hh is None else b_hh[2 * H:]))
            return (1 - z) * n + z * h, c
        gh = h @ W_hh.T + (0 if b_hh is None else b_hh)
        if self.kind == "rnn":
            return act(gx + gh), c
        if self.kind == "gru_after":
            r, z = rec(gx[:, :2 * H] + gh[:, :2 * H]).chunk(2, dim=1)
            n = act(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            return (1 - z) * n + z * h, c
        i, f, g, o = (gx + gh).chunk(4, dim=1)
        i, f, g, o = rec(i), rec(f), act(g), rec(o)
        c = f * c + i * g
        return o * act(c), c

    def forward(self, x, hx=None, mask=None):
        """``mask`` (N, T), a right-padding mask, or None: what pack_padded_sequence does to
        torch's own layers, by hand: the state is kept at padded steps (h_n is the last real
        step's), the output there is 0, and the backward direction reads each sequence
        reversed within its length (it starts at the last real step)."""
        N, T, _ = x.shape
        dirs, H = 2 if self.bidirectional else 1, self.hidden_size
        lstm = self.kind == "lstm"
        if hx is None:
            zeros = x.new_zeros(self.num_layers * dirs, N, H)
            hx = (zeros, zeros) if lstm else zeros
        h0, c0 = hx if lstm else (hx, None)
        flip = (lambda a: a.flip(1))
        if mask is not None:           # reversed within each length: an involution
            t = torch.arange(T, device=x.device)[None, :]
            lengths = mask.sum(1, keepdim=True)
            idx = torch.where(t < lengths, lengths - 1 - t, t)                  # (N, T)
            flip = (lambda a: a.gather(1, idx[..., None].expand_as(a)))
        layer_in, h_n, c_n = x, [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k, s = layer * dirs + d, f"_l{layer}" + ("_reverse" if d else "")
                x_d = flip(layer_in) if d else layer_in
                gx = x_d @ getattr(self, f"weight_ih{s}").T
                if self.bias:
                    gx = gx + getattr(self, f"bias_ih{s}")
                W_hh = getattr(self, f"weight_hh{s}")
                b_hh = getattr(self, f"bias_hh{s}") if self.bias else None
                h, c = h0[k], None if c0 is None else c0[k]
                steps = []
                for t in range(T):
                    h_new, c_new = self.step(gx[:, t], h, c, W_hh, b_hh)
                    if mask is None:
                        h, c = h_new, c_new
                        steps.append(h)
                        continue
                    m = mask[:, t, None]                   # padded: state kept, output 0
                    h = torch.where(m, h_new, h)
                    c = None if c is None else torch.where(m, c_new, c)
                    steps.append(torch.where(m, h_new, torch.zeros_like(h_new)))
                seq = torch.stack(steps, dim=1)
                outs.append(flip(seq) if d else seq)
                h_n.append(h)
                c_n.append(c)
            layer_in = torch.cat(outs, dim=2) if dirs == 2 else outs[0]
        h_n = torch.stack(h_n)
        return layer_in, ((h_n, torch.stack(c_n)) if lstm else h_n)


class GRUResetBefore(Explicit):
    """A batch-first GRU with the reset gate applied BEFORE the recurrent product.

    Parameters as in ``nn.GRU`` (rows r, z, n): weight_ih_l0 (3H, D), weight_hh_l0 (3H, H),
    bias_ih_l0 (3H,), bias_hh_l0 (3H,) (and _l1, _reverse, as nn.GRU names them). Per step,
    with h = h_{t-1}:

        r = sigmoid(W_ir x_t + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x_t + b_iz + W_hz h + b_hz)
        n = tanh(W_in x_t + b_in + W_hn (r * h) + b_hn)      (nn.GRU: ... + r * (W_hn h + b_hn))
        h_t = (1 - z) * n + z * h

    forward(x (N, T, D), h0 (L*dirs, N, H) or None) -> (h_seq (N, T, dirs*H), h_n (L*dirs, N,
    H)), as nn.GRU. Backward is torch autograd through these operations.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, bias: bool = True):
        super().__init__("gru_before", input_size, hidden_size, num_layers, bidirectional, bias)


class _Options:
    """The options torch's recurrent modules have no argument for, around their forward:
    a 1-D feature map (N, C, L) read as the sequence (N, L, C), go_backwards (x flipped),
    the states' layer axis, merge_mode and the output at the last step."""

    def _options(self, cfg) -> None:
        self._opts = dict(cfg.opts)
        self._signal = cfg.flow_in.layout == "signal"
        self._general = cfg.decl.general(cfg.opts)
        self._lstm = cfg.decl.states(cfg.opts) == ("h0", "c0")

    def forward(self, x, *states, mask=None):
        o = self._opts
        if self._signal:                       # nn.Conv1d's (N, C, L) -> batch-first (N, L, C)
            x = x.transpose(1, 2)
        if o["go_backwards"]:                  # Keras reads the last step first
            x = x.flip(1)
        state = None
        if states:
            states = states if self._general else tuple(s[None] for s in states)
            state = tuple(states) if self._lstm else states[0]
        if mask is None:
            h_seq, finals = super().forward(x, state)
        else:
            h_seq, finals = self._packed(x, state, mask)
        finals = finals if self._lstm else (finals,)
        if not self._general:
            return (h_seq, *(f[0] for f in finals))
        h_n = finals[0]
        if o["bidirectional"]:
            H, mode = o["units"], o["merge_mode"]
            y_last = merge(mode, h_n[-2], h_n[-1])
            if mode != "concat":
                h_seq = merge(mode, h_seq[..., :H], h_seq[..., H:])
        else:
            y_last = h_n[-1]
        return (h_seq, y_last, *finals)


    def _packed(self, x, state, mask):
        """The module on the batch packed with the mask's lengths (torch has no masks):
        pack_padded_sequence (right padding: checked, else an InputError), the module, then
        pad_packed_sequence, which puts 0 at every padded step (Keras' zero_output_for_mask);
        h_n is the state at each sequence's last real step, and the reverse direction starts
        there. With zero_output_for_mask=False (a plain Keras layer's default) the padded steps
        get the last real output, as Keras carries it."""
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        from crossframe.layers.masking import lengths_of

        lengths = torch.as_tensor(lengths_of(mask.cpu().numpy(), "torch packing"))
        if isinstance(self, Explicit):       # the cell written out: packing by hand
            h_seq, finals = Explicit.forward(self, x, state, mask=mask)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, finals = super().forward(packed, state)
            h_seq, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        if not self._opts["zero_output_for_mask"]:           # carry the last real output
            last = h_seq[torch.arange(len(lengths)), lengths - 1]       # (N, F)
            h_seq = torch.where(mask[..., None], h_seq, last[:, None])
        return h_seq, finals


def _sizes(cfg) -> dict:
    o = cfg.opts
    return dict(num_layers=o["num_layers"], bidirectional=o["bidirectional"], bias=o["use_bias"])


class _Written(_Options, Explicit):
    """The cell written out (``Explicit``) for activations no torch layer computes; its
    parameters drawn at once with nn.RNNBase's law, in torch's order (so a seeded draw is
    nn.LSTM's)."""

    def __init__(self, cfg):
        o, acts = cfg.opts, cfg.decl.activations(cfg.opts)
        Explicit.__init__(self, cfg.decl.explicit_kind(o), cfg.flow_in.features, o["units"],
                          **_sizes(cfg),
                          **{k: A.get(v).torch_fn() for k, v in acts.items()})
        self.reset_parameters()
        self._options(cfg)


def _written_out(cls, cfg):
    """``cls``'s own module, or the written-out cell where the activations ask for it."""
    if cfg.decl.written_out(cfg.opts):
        return _Written(cfg)
    return nn.Module.__new__(cls)


class SimpleRNN(_Options, nn.RNN):
    """nn.RNN(D, H, nonlinearity='tanh' or 'relu', batch_first=True); another activation: the
    cell written out."""

    declaration = L.SimpleRNN

    def __new__(cls, cfg):
        return _written_out(cls, cfg)

    def __init__(self, cfg):
        nn.RNN.__init__(self, cfg.flow_in.features, cfg.opts["units"],
                        nonlinearity=cfg.opts["activation"], batch_first=True, **_sizes(cfg))
        self._options(cfg)


class LSTM(_Options, nn.LSTM):
    """nn.LSTM(D, H, batch_first=True); other activations: the cell written out."""

    declaration = L.LSTM

    def __new__(cls, cfg):
        return _written_out(cls, cfg)

    def __init__(self, cfg):
        nn.LSTM.__init__(self, cfg.flow_in.features, cfg.opts["units"], batch_first=True,
                         **_sizes(cfg))
        self._options(cfg)


class GRU(nn.Module):
    """nn.GRU (reset_after=True) or the explicit ``GRUResetBefore`` (reset_after=False), under
    the layer's own name so the parameters read ``gru.weight_ih_l0`` either way; other
    activations: the cell written out."""

    declaration = L.GRU

    def __new__(cls, cfg):
        if cfg.decl.written_out(cfg.opts):
            return _Written(cfg)
        base = _GRUAfter if cfg.opts["reset_after"] else _GRUBefore
        return base(cfg)


class _GRUAfter(_Options, nn.GRU):
    def __init__(self, cfg):
        nn.GRU.__init__(self, cfg.flow_in.features, cfg.opts["units"], batch_first=True,
                        **_sizes(cfg))
        self._options(cfg)


class _GRUBefore(_Options, GRUResetBefore):
    def __init__(self, cfg):
        GRUResetBefore.__init__(self, cfg.flow_in.features, cfg.opts["units"], **_sizes(cfg))
        self._options(cfg)
