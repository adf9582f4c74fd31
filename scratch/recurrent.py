"""Recurrent layers from scratch: SimpleRNN, LSTM and GRU, with backprop through time by hand.

Written as a textbook writes them (CS231n's assignment 3): one function for a step forward,
one for a step backward, and a layer that loops over time. Variable names are the equations'.

Shape legend
    N batch, T time steps, D input features, H hidden units

    x      (N, T, D)   batch-first input sequence;  x_t = x[:, t]  (N, D)
    h0, c0 (N, H)      initial hidden / cell state
    h_seq  (N, T, H)   the hidden state after every step
    W_x    (D, kH)     input kernel, the k gate blocks side by side as column blocks
    W_h    (H, kH)     recurrent kernel, the same column blocks
    b      (kH,)       bias; (2, 3H) for the GRU with reset_after=True

This is the canonical layout (Keras'); the torch mapping (transposes, the GRU's gate order, the
two biases) is declared in crossframe/layers/recurrent.py, not here.

Backprop through time: the loss reaches h_t along two paths, from the output at step t
(``dh_seq[:, t]``) and from step t + 1 through the recurrence (``dh_next``); the backward loop
adds them, steps back, and sums each step's parameter gradients.

The fast twins (``crossframe.scratch.fast.recurrent``: fused gates, one product for all steps'
input projections, work arrays kept between calls) compute the same numbers; a test pins them.
"""
from __future__ import annotations

import numpy as np

from crossframe import activations as A
from crossframe import layers as L

from .activations import sigmoid
from .base import Layer

# an activation as (f, f'): y = f(a) and dy/da = f'(a, y). The defaults are written here as the
# textbook writes them; any other comes from the table (crossframe/activations.py, whose maths
# is scratch/activations.py): hard_sigmoid_keras2 for an old Keras LSTM, relu for an RNN, ...
TANH = (np.tanh, lambda a, y: 1 - y * y)
SIGMOID = (sigmoid, lambda a, y: y * (1 - y))


def activation(name: str):
    """(f, f') of the activation called ``name``."""
    if name == "tanh":
        return TANH
    if name == "sigmoid":
        return SIGMOID
    spec = A.get(name)
    return spec.forward(), spec.derivative()


# --- SimpleRNN --------------------------------------------------------------------------------
def rnn_step_forward(x_t, h_prev, W_x, W_h, b, act=TANH):
    """h = f(x_t W_x + h_prev W_h + b), f = tanh by default.
    x_t (N, D), h_prev (N, H) -> h (N, H)."""
    a = x_t @ W_x + h_prev @ W_h + b
    h = act[0](a)
    return h, (x_t, h_prev, a, h)


def rnn_step_backward(dh, cache, W_x, W_h, act=TANH):
    """dh (N, H) -> dx_t, dh_prev, and this step's dW_x, dW_h, db."""
    x_t, h_prev, a, h = cache
    da = dh * act[1](a, h)                # through f: tanh' = 1 - h^2
    return da @ W_x.T, da @ W_h.T, x_t.T @ da, h_prev.T @ da, da.sum(axis=0)


# --- LSTM -------------------------------------------------------------------------------------
def lstm_step_forward(x_t, h_prev, c_prev, W_x, W_h, b, act=TANH, rec=SIGMOID):
    """One LSTM step, gate blocks i, f, g, o (Keras calls g "c"); with the defaults
    (act tanh, rec sigmoid):

        [a_i a_f a_g a_o] = x_t W_x + h_prev W_h + b                  (N, 4H)
        i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
        c = f c_prev + i g
        h = o tanh(c)
    """
    a = np.split(x_t @ W_x + h_prev @ W_h + b, 4, axis=1)
    a_i, a_f, a_g, a_o = a
    i, f, g, o = rec[0](a_i), rec[0](a_f), act[0](a_g), rec[0](a_o)
    c = f * c_prev + i * g
    tanh_c = act[0](c)
    h = o * tanh_c
    return h, c, (x_t, h_prev, c_prev, i, f, g, o, tanh_c, a, c)


def lstm_step_backward(dh, dc, cache, W_x, W_h, act=TANH, rec=SIGMOID):
    """dh, dc (N, H): the gradients reaching this step's h and c ->
    dx_t, dh_prev, dc_prev, and this step's dW_x, dW_h, db.

        do = dh tanh(c)              dc += dh o (1 - tanh(c)^2)
        di = dc g    df = dc c_prev    dg = dc i    dc_prev = dc f
        da_i = di i (1 - i)   da_f = df f (1 - f)   da_g = dg (1 - g^2)   da_o = do o (1 - o)
    (other activations: their f'(a, y) in place of y (1 - y) and 1 - y^2)
    """
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, (a_i, a_f, a_g, a_o), c = cache
    do = dh * tanh_c
    dc = dc + dh * o * act[1](c, tanh_c)
    di, df, dg, dc_prev = dc * g, dc * c_prev, dc * i, dc * f
    da = np.concatenate([di * rec[1](a_i, i), df * rec[1](a_f, f), dg * act[1](a_g, g),
                         do * rec[1](a_o, o)], axis=1)                    # (N, 4H)
    return (da @ W_x.T, da @ W_h.T, dc_prev, x_t.T @ da, h_prev.T @ da, da.sum(axis=0))


# --- GRU --------------------------------------------------------------------------------------
def gru_step_forward(x_t, h_prev, W_x, W_h, b, reset_after=True, act=TANH, rec=SIGMOID):
    """One GRU step, gate blocks z (update), r (reset), h (candidate hh).

    reset_after=True (torch's nn.GRU, Keras' default), b = [b_in; b_rec]  (2, 3H):
        [a_z a_r a_h] = x_t W_x + b_in        [m_z m_r m_h] = h_prev W_h + b_rec
        z = sigmoid(a_z + m_z)   r = sigmoid(a_r + m_r)   hh = tanh(a_h + r m_h)
    reset_after=False (the original formula), b (3H,), W_h = [W_hz W_hr W_hh]:
        [a_z a_r a_h] = x_t W_x + b
        z = sigmoid(a_z + h_prev W_hz)   r = sigmoid(a_r + h_prev W_hr)
        hh = tanh(a_h + (r h_prev) W_hh)
    Both:
        h = z h_prev + (1 - z) hh
    (sigmoid is ``rec``, tanh ``act``: other activations in their place)
    """
    H = h_prev.shape[1]
    if reset_after:
        a_z, a_r, a_h = np.split(x_t @ W_x + b[0], 3, axis=1)
        m_z, m_r, m_h = np.split(h_prev @ W_h + b[1], 3, axis=1)
        pre_z, pre_r = a_z + m_z, a_r + m_r
        z, r = rec[0](pre_z), rec[0](pre_r)
        pre_h = a_h + r * m_h
        reset = m_h
    else:
        a_z, a_r, a_h = np.split(x_t @ W_x + b, 3, axis=1)
        pre_z, pre_r = a_z + h_prev @ W_h[:, :H], a_r + h_prev @ W_h[:, H:2 * H]
        z, r = rec[0](pre_z), rec[0](pre_r)
        reset = r * h_prev
        pre_h = a_h + reset @ W_h[:, 2 * H:]
    hh = act[0](pre_h)
    h = z * h_prev + (1 - z) * hh
    return h, (x_t, h_prev, z, r, hh, reset, (pre_z, pre_r, pre_h))


def gru_step_backward(dh, cache, W_x, W_h, reset_after=True, act=TANH, rec=SIGMOID):
    """dh (N, H) -> dx_t, dh_prev, and this step's dW_x, dW_h, db.

        dz = dh (h_prev - hh)        dhh = dh (1 - z)        dh_prev = dh z  (+ below)
        da_z = dz z (1 - z)          da_h = dhh (1 - hh^2)
    reset_after=True:   dr = da_h m_h;  dm_h = da_h r;  da_r = dr r (1 - r)
        the input side gets [da_z da_r da_h], the recurrent side [da_z da_r dm_h]
    reset_after=False:  d(r h_prev) = da_h W_hh^T;  dr = d(r h_prev) h_prev;
        dh_prev += d(r h_prev) r + [da_z da_r] [W_hz W_hr]^T
    (other activations: their f'(a, y) in place of y (1 - y) and 1 - y^2)
    """
    x_t, h_prev, z, r, hh, reset, (pre_z, pre_r, pre_h) = cache
    H = h_prev.shape[1]
    dz, dhh, dh_prev = dh * (h_prev - hh), dh * (1 - z), dh * z
    da_z = dz * rec[1](pre_z, z)
    da_h = dhh * act[1](pre_h, hh)
    if reset_after:
        m_h = reset
        da_r = da_h * m_h * rec[1](pre_r, r)
        da = np.concatenate([da_z, da_r, da_h], axis=1)                   # input side
        dm = np.concatenate([da_z, da_r, da_h * r], axis=1)               # recurrent side
        dh_prev = dh_prev + dm @ W_h.T
        db = np.stack([da.sum(axis=0), dm.sum(axis=0)])
        return da @ W_x.T, dh_prev, x_t.T @ da, h_prev.T @ dm, db
    r_h_prev = reset
    d_rh = da_h @ W_h[:, 2 * H:].T
    da_r = d_rh * h_prev * rec[1](pre_r, r)
    dh_prev = dh_prev + d_rh * r + np.concatenate([da_z, da_r], axis=1) @ W_h[:, :2 * H].T
    da = np.concatenate([da_z, da_r, da_h], axis=1)
    dW_h = np.concatenate([h_prev.T @ da_z, h_prev.T @ da_r, r_h_prev.T @ da_h], axis=1)
    return da @ W_x.T, dh_prev, x_t.T @ da, dW_h, da.sum(axis=0)


# --- merging two directions (Keras' Bidirectional merge_mode) ----------------------------------
def merge(mode, a, b):
    """Combine the forward output ``a`` and the backward output ``b`` (both (N, ..., H)):
    concat [a b] (N, ..., 2H), sum a + b, mul a * b, ave (a + b) / 2."""
    if mode == "concat":
        return np.concatenate([a, b], axis=-1)
    return {"sum": lambda: a + b, "mul": lambda: a * b, "ave": lambda: (a + b) / 2}[mode]()


def merge_backward(mode, g, a, b):
    """dL/da, dL/db from g = dL/d merge(a, b)."""
    if mode == "concat":
        return np.split(g, 2, axis=-1)
    if mode == "sum":
        return g, g
    if mode == "ave":
        return g / 2, g / 2
    return g * b, g * a                                   # mul


# --- masked steps (Keras' mask; torch's packed sequences) ---------------------------------------
# m_t (N, 1) True at a real step. At a masked step the state is kept and the output is the
# previous output (Keras' default) or 0 (zero_output_for_mask: torch's pad_packed_sequence):
#
#     h_t = m_t h~_t + (1 - m_t) h_{t-1}          h~_t = the cell's step from (x_t, h_{t-1})
#     y_t = m_t h~_t + (1 - m_t) y_{t-1}          (carry; y_{-1} = 0)   or   y_t = m_t h~_t
#
# and backward, with dH = dL/dh_t (from step t + 1) and dY = dL/dy_t (dh_seq[t] + the carry):
#
#     dL/dh~_t = m_t (dH + dY)      dL/dh_{t-1} = (1 - m_t) dH + (the cell's dh_prev)
#     dL/dy_{t-1} += (1 - m_t) dY   (carry only)
# Without a mask every m_t is 1 and these are the plain loops. (keras/src/backend/tensorflow/
# rnn.py: ``where(mask_t, output, prev_output)``, ``where(mask_t, new_state, state)``.)
def step_mask(mask, t):
    """m_t (N, 1) of a (N, T) mask, or None."""
    return None if mask is None else mask[:, t, None]


def keep(m, new, old):
    """The forward rule: ``new`` at a real step, ``old`` at a masked one."""
    return new if m is None else np.where(m, new, old)


def split(m, d):
    """The backward rule: d at a real step goes to the cell, at a masked one past it:
    (where(m, d, 0), where(m, 0, d))."""
    if m is None:
        return d, 0
    return np.where(m, d, 0), np.where(m, 0, d)


class Steps(list):
    """The per-step caches of one time loop, and the mask it ran under (``mask``; None: every
    step real). A plain list of step caches reads as unmasked."""

    mask = None


def steps_under(mask) -> Steps:
    steps = Steps()
    steps.mask = mask
    return steps


# --- the layers: a loop over time -------------------------------------------------------------
class _Recurrent(Layer):
    """What the three layers share: the options around the time loop of one direction.

    A subclass writes ``forward_one`` / ``backward_one``: the loop over time of ONE layer in
    ONE direction (x (N, T, D), its initial states (N, H) -> (h_seq, h_last[, c_last])).
    Around it, readable loops do the options:

    - ``use_bias=False``: the loop runs with a zero bias and no gradient comes back for it;
    - ``go_backwards``: the loop reads x[:, ::-1]; h_seq stays in that (reversed) order, as
      Keras returns it, and dx is turned back;
    - ``num_layers`` L, ``bidirectional`` (dirs = 2): for layer l = 0..L-1 and direction d, the
      cell's weights are ``W_x{suffix}``, ``W_h{suffix}``, ``b{suffix}`` (suffix "", "_reverse",
      "_l1", "_l1_reverse", ...). The backward direction reads its input reversed and its h_seq
      is turned back, so that step t of both directions lines up; the next layer reads both
      concatenated (torch's rule); the last layer's two are merged by ``merge_mode``.
      States are then (N, L * dirs, H), row l * dirs + d for layer l, direction d (torch's h_0
      order, batch first), and the layer returns (h_seq, y_last, h_last[, c_last]) where
      y_last, the output at the last step, is the merge of the last layer's two final states
      (for one direction, its final state)."""

    use_bias, go_backwards, num_layers, bidirectional, merge_mode = True, False, 1, False, None
    activation, recurrent_activation = "tanh", "sigmoid"

    @property
    def act(self):
        return activation(self.activation)

    @property
    def rec(self):
        return activation(self.recurrent_activation)

    @property
    def general(self) -> bool:
        return self.num_layers > 1 or self.bidirectional

    def _cell(self, params, suffix=""):
        """The weights of one cell, the bias zero when there is none."""
        W_x, W_h = params["W_x" + suffix], params["W_h" + suffix]
        b = params.get("b" + suffix)
        if b is None:
            b = np.zeros(self._bias_shape(W_h.shape[1]), dtype=W_x.dtype)
        return {"W_x": W_x, "W_h": W_h, "b": b}

    def _bias_shape(self, kH):
        return (kH,)

    def _grads(self, grads, suffix=""):
        return {k + suffix: v for k, v in grads.items() if k != "b" or self.use_bias}

    zero_output_for_mask = False

    def forward(self, params, x, *states, mask=None):
        """``mask`` (N, T) bool, True at a real step (a Masking layer or an Embedding with
        mask_zero before this one), or None: the steps where it is False keep the state."""
        if not self.general:
            x_in = x[:, ::-1] if self.go_backwards else x
            m_in = mask[:, ::-1] if (self.go_backwards and mask is not None) else mask
            return self.forward_one(self._cell(params), x_in, *states, mask=m_in)
        L, dirs = self.num_layers, 2 if self.bidirectional else 1
        layer_in, caches, finals = x, [], [[] for _ in states]
        for layer in range(L):
            seqs = []
            for d in range(dirs):
                k = layer * dirs + d                     # row of the states
                x_d = layer_in[:, ::-1] if d else layer_in    # backward: the last step first
                # the backward direction reads the mask reversed too: the padded steps come
                # first and keep the initial state, so it starts at each last real step
                m_d = mask[:, ::-1] if (d and mask is not None) else mask
                outs, cache = self.forward_one(self._cell(params, L_suffix(layer, d)), x_d,
                                               *[s[:, k] for s in states], mask=m_d)
                seqs.append(outs[0][:, ::-1] if d else outs[0])   # re-reversed: aligned
                caches.append(cache)
                for f, last in zip(finals, outs[1:]):
                    f.append(last)
            layer_in = np.concatenate(seqs, axis=2) if dirs == 2 else seqs[0]
        h_finals = [np.stack(f, axis=1) for f in finals]         # (N, L * dirs, H)
        if dirs == 2:
            last_h = (h_finals[0][:, -2], h_finals[0][:, -1])
            h_seq = merge(self.merge_mode, *seqs)
            y_last = merge(self.merge_mode, *last_h)
        else:
            last_h, h_seq, y_last = None, seqs[0], h_finals[0][:, -1].copy()
        return (h_seq, y_last, *h_finals), (caches, seqs, last_h)

    def backward(self, params, cache, douts):
        if not self.general:
            grads, (dx, *dstates) = self.backward_one(self._cell(params), cache, douts)
            return self._grads(grads), (dx[:, ::-1].copy() if self.go_backwards else dx,
                                        *dstates)
        caches, seqs, last_h = cache
        dh_seq, dy_last, *dfinals = douts
        dfinals = [d.copy() for d in dfinals]          # (N, L * dirs, H); y_last adds to it
        L, dirs = self.num_layers, 2 if self.bidirectional else 1
        if dirs == 2:
            d_seqs = merge_backward(self.merge_mode, dh_seq, *seqs)
            dy_f, dy_b = merge_backward(self.merge_mode, dy_last, *last_h)
            dfinals[0][:, -2] += dy_f
            dfinals[0][:, -1] += dy_b
        else:
            d_seqs = [dh_seq]
            dfinals[0][:, -1] += dy_last
        grads, dstates = {}, [np.zeros_like(d) for d in dfinals]
        for layer in reversed(range(L)):
            d_in = 0
            for d in range(dirs):
                k, suffix = layer * dirs + d, L_suffix(layer, d)
                dseq = d_seqs[d][:, ::-1] if d else d_seqs[d]   # back in processing order
                g, (dx, *ds) = self.backward_one(self._cell(params, suffix), caches[k],
                                                 (dseq, *[f[:, k] for f in dfinals]))
                grads.update(self._grads(g, suffix))
                d_in = d_in + (dx[:, ::-1] if d else dx)
                for dst, v in zip(dstates, ds):
                    dst[:, k] = v
            if layer:                        # layer l read layer l - 1's [forward backward]
                d_seqs = np.split(d_in, dirs, axis=2) if dirs == 2 else [d_in]
        return grads, (np.ascontiguousarray(d_in), *dstates)


def L_suffix(layer, d):
    """The parameter suffix of layer ``layer``, direction ``d`` (crossframe.layers.recurrent)."""
    return L.SimpleRNN.suffix(layer, d)


class SimpleRNN(_Recurrent):
    """h_t = tanh(x_t W_x + h_{t-1} W_h + b), for t = 1..T.

    forward(params, x (N, T, D), h0 (N, H)) -> ((h_seq (N, T, H), h_last (N, H)), cache)
    backward(params, cache, (dh_seq, dh_last)) -> (grads, (dx, dh0))"""

    declaration = L.SimpleRNN

    def forward_one(self, params, x, h0, mask=None):
        W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
        h, y, hs, caches = h0, np.zeros_like(h0), [], steps_under(mask)
        for t in range(x.shape[1]):
            m = step_mask(mask, t)
            h_new, cache = rnn_step_forward(x[:, t], h, W_x, W_h, b, self.act)
            h = keep(m, h_new, h)                                # masked: the state is kept
            y = keep(m, h_new, 0 * y if self.zero_output_for_mask else y)
            hs.append(y)
            caches.append(cache)
        return (np.stack(hs, axis=1), h.copy()), caches      # copies: the caches keep h

    def backward_one(self, params, caches, douts):
        dh_seq, dh_last = douts
        mask = getattr(caches, "mask", None)
        W_x, W_h = params["W_x"], params["W_h"]
        dx = np.zeros(dh_seq.shape[:2] + (W_x.shape[0],), dtype=dh_seq.dtype)
        dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(params["b"])
        dh_next, dy_next = dh_last, 0
        for t in reversed(range(len(caches))):
            m = step_mask(mask, t)
            dy, dy_past = split(m, dh_seq[:, t] + dy_next)           # dL/dy_t
            dh, dh_past = split(m, dh_next)                           # dL/dh_t
            dx[:, t], dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(
                dh + dy, caches[t], W_x, W_h, self.act)
            dh_next = dh_prev + dh_past
            dy_next = 0 if self.zero_output_for_mask else dy_past
            dW_x += dWx_t
            dW_h += dWh_t
            db += db_t
        return {"W_x": dW_x, "W_h": dW_h, "b": db}, (dx, dh_next)


class LSTM(_Recurrent):
    """c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)  (lstm_step_forward), for t = 1..T.

    forward(params, x (N, T, D), h0, c0 (N, H)) -> ((h_seq, h_last, c_last), cache)
    backward(params, cache, (dh_seq, dh_last, dc_last)) -> (grads, (dx, dh0, dc0))"""

    declaration = L.LSTM

    def forward_one(self, params, x, h0, c0, mask=None):
        W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
        h, c, y, hs, caches = h0, c0, np.zeros_like(h0), [], steps_under(mask)
        for t in range(x.shape[1]):
            m = step_mask(mask, t)
            h_new, c_new, cache = lstm_step_forward(x[:, t], h, c, W_x, W_h, b, self.act,
                                                    self.rec)
            h, c = keep(m, h_new, h), keep(m, c_new, c)         # masked: both states kept
            y = keep(m, h_new, 0 * y if self.zero_output_for_mask else y)
            hs.append(y)
            caches.append(cache)
        return (np.stack(hs, axis=1), h.copy(), c.copy()), caches   # the caches keep h, c

    def backward_one(self, params, caches, douts):
        dh_seq, dh_last, dc_last = douts
        mask = getattr(caches, "mask", None)
        W_x, W_h = params["W_x"], params["W_h"]
        dx = np.zeros(dh_seq.shape[:2] + (W_x.shape[0],), dtype=dh_seq.dtype)
        dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(params["b"])
        dh_next, dc_next, dy_next = dh_last, dc_last, 0
        for t in reversed(range(len(caches))):
            m = step_mask(mask, t)
            dy, dy_past = split(m, dh_seq[:, t] + dy_next)
            dh, dh_past = split(m, dh_next)
            dc, dc_past = split(m, dc_next)
            dx[:, t], dh_prev, dc_prev, dWx_t, dWh_t, db_t = lstm_step_backward(
                dh + dy, dc, caches[t], W_x, W_h, self.act, self.rec)
            dh_next, dc_next = dh_prev + dh_past, dc_prev + dc_past
            dy_next = 0 if self.zero_output_for_mask else dy_past
            dW_x += dWx_t
            dW_h += dWh_t
            db += db_t
        return {"W_x": dW_x, "W_h": dW_h, "b": db}, (dx, dh_next, dc_next)


class GRU(_Recurrent):
    """h_t = z h_{t-1} + (1 - z) hh  (gru_step_forward), for t = 1..T; option ``reset_after``.

    forward(params, x (N, T, D), h0 (N, H)) -> ((h_seq, h_last), cache)
    backward(params, cache, (dh_seq, dh_last)) -> (grads, (dx, dh0))"""

    declaration = L.GRU
    reset_after = True

    def _bias_shape(self, kH):
        return (2, kH) if self.reset_after else (kH,)

    def forward_one(self, params, x, h0, mask=None):
        W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
        h, y, hs, caches = h0, np.zeros_like(h0), [], steps_under(mask)
        for t in range(x.shape[1]):
            m = step_mask(mask, t)
            h_new, cache = gru_step_forward(x[:, t], h, W_x, W_h, b, self.reset_after,
                                            self.act, self.rec)
            h = keep(m, h_new, h)                                # masked: the state is kept
            y = keep(m, h_new, 0 * y if self.zero_output_for_mask else y)
            hs.append(y)
            caches.append(cache)
        return (np.stack(hs, axis=1), h.copy()), caches      # copies: the caches keep h

    def backward_one(self, params, caches, douts):
        dh_seq, dh_last = douts
        mask = getattr(caches, "mask", None)
        W_x, W_h = params["W_x"], params["W_h"]
        dx = np.zeros(dh_seq.shape[:2] + (W_x.shape[0],), dtype=dh_seq.dtype)
        dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(params["b"])
        dh_next, dy_next = dh_last, 0
        for t in reversed(range(len(caches))):
            m = step_mask(mask, t)
            dy, dy_past = split(m, dh_seq[:, t] + dy_next)
            dh, dh_past = split(m, dh_next)
            dx[:, t], dh_prev, dWx_t, dWh_t, db_t = gru_step_backward(
                dh + dy, caches[t], W_x, W_h, self.reset_after, self.act, self.rec)
            dh_next = dh_prev + dh_past
            dy_next = 0 if self.zero_output_for_mask else dy_past
            dW_x += dWx_t
            dW_h += dWh_t
            db += db_t
        return {"W_x": dW_x, "W_h": dW_h, "b": db}, (dx, dh_next)
