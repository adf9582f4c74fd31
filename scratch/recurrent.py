"""Recurrent layers from scratch: SimpleRNN, LSTM and GRU, with backprop through time by hand.

Shape legend (used on every argument below)
-------------------------------------------
    N batch, T time steps, D input features, H hidden units,
    k gate blocks per step (SimpleRNN 1, GRU 3, LSTM 4).

    x      (N, T, D)   batch-first input sequence
    h0, c0 (N, H)      initial hidden / cell state (pass zeros for "no initial state")
    h_seq  (N, T, H)   the hidden state after every step
    W_x    (D, kH)     input weights, the k gate blocks side by side as column blocks
    W_h    (H, kH)     recurrent weights, same column blocks
    b      (kH,)       bias ((2, 3H) for the GRU with ``reset_after=True``)

This is the canonical layout (= Keras'); the torch mapping (transposes, GRU gate reorder, bias
split) is declared with the torch implementation, not here.

How all three layers compute (the same four moves each time)
------------------------------------------------------------
1. **Input projection for every step at once.** ``x W_x + b`` does not depend on the
   recurrence, so it is ONE matrix product ``(N*T, D) @ (D, kH)`` before the time loop. It is
   stored *time-major*, ``A: (T, N, kH)``, so that ``A[t]`` is one contiguous block.
2. **The time loop** adds the recurrent term ``h_prev @ W_h`` -- one fused product for all k
   gates, ``(N, H) @ (H, kH)`` -- and applies the gate non-linearities in place. Forward caches
   what backward needs: gate activations, cell states, every ``h``.
3. **Backprop through time** runs the loop backwards. At each step the chain rule through the
   gates (elementwise, using only cached activations) gives ``dA[t]``, the gradient of the k
   pre-activations, and one fused product ``dA[t] @ W_h.T`` carries the gradient to ``h_prev``.
4. **Parameter gradients are sums over time**, so once every ``dA[t]`` is known each is ONE
   product over all steps: ``dW_x = X^T dA``, ``dW_h = H_prev^T dA``, ``db = sum dA``, and the
   input gradient ``dx = dA W_x^T``.

The sigmoid is written as ``0.5 * (1 + tanh(a / 2))``: the same function, but it cannot overflow
(``exp(300)`` in ``1 / (1 + exp(-a))`` can), so saturated inputs give exactly 0 or 1, no warning.

Dtype: every buffer is allocated with the input's dtype and every scalar is a Python number
(which NumPy does not let promote an array), so float32 stays float32 end to end.
"""
from __future__ import annotations

import numpy as np

from .base import Array, ParamOperation

__all__ = ["SimpleRNN", "LSTM", "GRU"]


# -- elementwise helpers (all in place: the time loop allocates nothing it can avoid) ---------

def _sigmoid_(a: Array) -> Array:
    """a <- sigmoid(a) = 0.5 * (1 + tanh(a / 2)), in place; exact 0 / 1 at +-300, no overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


def _times_sigmoid_grad_(d: Array, s: Array, tmp: Array) -> Array:
    """d <- d * s * (1 - s): through a sigmoid whose cached output is ``s``."""
    d *= s
    np.subtract(1.0, s, out=tmp)
    d *= tmp
    return d


def _times_tanh_grad_(d: Array, y: Array, tmp: Array) -> Array:
    """d <- d * (1 - y^2): through a tanh whose cached output is ``y``."""
    np.multiply(y, y, out=tmp)
    np.subtract(1.0, tmp, out=tmp)
    d *= tmp
    return d


class _Recurrent(ParamOperation):
    """What the three layers share: parameter checks, the input projection (move 1) and the
    input/parameter gradients after the backward loop (move 4). ``k`` is the number of gate
    blocks."""

    k: int = 1

    def __init__(self, W_x: Array, W_h: Array, b: Array) -> None:
        self._check_params(W_x, W_h, b)
        super().__init__({"W_x": W_x, "W_h": W_h, "b": b})
        self.input_size, self.hidden_size = W_x.shape[0], W_h.shape[0]

    # -- checks that name the argument, the expectation and the likely cause ------------------
    def _bias_shape(self, H: int) -> tuple[int, ...]:
        return (self.k * H,)

    def _check_params(self, W_x: Array, W_h: Array, b: Array) -> None:
        k, who = self.k, self.name
        for key, p in (("W_x", W_x), ("W_h", W_h), ("b", b)):
            if not isinstance(p, np.ndarray) or p.dtype not in (np.float32, np.float64):
                raise TypeError(f"{who}.{key}: expected a float32 or float64 ndarray, got "
                                f"{getattr(p, 'dtype', type(p).__name__)}")
        if W_h.ndim != 2 or W_h.shape[1] != k * W_h.shape[0]:
            hint = (" -- looks transposed" if W_h.ndim == 2 and W_h.shape[0] == k * W_h.shape[1]
                    else "")
            raise ValueError(f"{who}.W_h: expected (H, {k}H), got {W_h.shape}{hint}")
        H = W_h.shape[0]
        if W_x.ndim != 2 or W_x.shape[1] != k * H:
            hint = " -- looks transposed" if W_x.ndim == 2 and W_x.shape[0] == k * H else ""
            raise ValueError(f"{who}.W_x: expected (D, {k * H}) for H = {H}, got {W_x.shape}"
                             f"{hint}")
        if b.shape != self._bias_shape(H):
            raise ValueError(f"{who}.b: expected {self._bias_shape(H)} for H = {H}, got "
                             f"{b.shape}")
        if not W_x.dtype == W_h.dtype == b.dtype:
            raise TypeError(f"{who}: parameters mix dtypes (W_x {W_x.dtype}, W_h {W_h.dtype}, "
                            f"b {b.dtype}) -- cast them all to one")

    def _check_inputs(self, x: Array, *states: Array) -> None:
        who, dtype, H = self.name, self.params["W_x"].dtype, self.hidden_size
        if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{who}: x should be (N, T, D={self.input_size}) batch-first, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        N, T, _ = x.shape
        if T < 1:
            raise ValueError(f"{who}: x has T = 0 time steps; a sequence needs at least one")
        names = ("h0", "c0")
        for name, s in zip(names, states):
            if not isinstance(s, np.ndarray) or s.shape != (N, H):
                raise ValueError(f"{who}: {name} should be (N, H) = {(N, H)}, got "
                                 f"{getattr(s, 'shape', type(s).__name__)} -- pass zeros for "
                                 f"no initial state")
        for name, a in (("x", x), *zip(names, states)):
            if a.dtype != dtype:
                raise TypeError(f"{who}: {name} is {a.dtype} but the parameters are {dtype} -- "
                                f"cast one of them (a silent mix would compute in float64)")

    # -- move 1 and move 4 --------------------------------------------------------------------
    def _project_inputs(self, x: Array, bias: Array) -> tuple[Array, Array]:
        """x (N, T, D) -> x_tm (T, N, D) time-major copy, A (T, N, kH) = x_tm W_x + bias.

        One GEMM over all N*T rows instead of T small ones."""
        N, T, D = x.shape
        x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))
        A = (x_tm.reshape(T * N, D) @ self.params["W_x"]).reshape(T, N, -1)
        A += bias
        return x_tm, A

    def _input_grads(self, x_tm: Array, dA: Array) -> tuple[Array, Array, Array]:
        """From dA (T, N, kH), the pre-activation gradients of every step, return
        dx (N, T, D), dW_x (D, kH) and the summed bias gradient (kH,): one GEMM each."""
        T, N, D = x_tm.shape
        dA2 = dA.reshape(T * N, -1)
        dW_x = x_tm.reshape(T * N, D).T @ dA2
        db = dA2.sum(axis=0)
        dx = (dA2 @ self.params["W_x"].T).reshape(T, N, D).transpose(1, 0, 2)
        return np.ascontiguousarray(dx), dW_x, db

    @staticmethod
    def _outputs(h_all: Array) -> tuple[Array, Array]:
        """h_all (T+1, N, H) time-major, h_all[0] = h0 -> (h_seq (N, T, H), h_last (N, H))."""
        return np.ascontiguousarray(h_all[1:].transpose(1, 0, 2)), h_all[-1].copy()


class SimpleRNN(_Recurrent):
    """Elman RNN:  h_t = tanh(x_t W_x + h_{t-1} W_h + b).

    Params: W_x (D, H), W_h (H, H), b (H,).
    forward(x (N, T, D), h0 (N, H)) -> (h_seq (N, T, H), h_last (N, H)).
    backward((dh_seq, dh_last)) -> (dx, dh0); grads["W_x" | "W_h" | "b"].

    Backward, with dh the total gradient reaching h_t (from h_seq[:, t] and from step t+1):
        da_t     = dh * (1 - h_t^2)          (tanh' from the cached output)
        dh_{t-1} = da_t W_h^T
        dW_h = sum_t h_{t-1}^T da_t,  dW_x = sum_t x_t^T da_t,  db = sum_t da_t
    """

    k = 1

    def __init__(self, *, W_x: Array, W_h: Array, b: Array) -> None:
        super().__init__(W_x, W_h, b)

    def _output(self, x: Array, h0: Array) -> tuple[Array, Array]:
        self._check_inputs(x, h0)
        W_h = self.params["W_h"]
        N, T, _ = x.shape
        x_tm, A = self._project_inputs(x, self.params["b"])   # (T, N, H) = x_t W_x + b
        h_all = np.empty((T + 1, N, self.hidden_size), dtype=x.dtype)
        h_all[0] = h0
        for t in range(T):
            h_prev, h = h_all[t], h_all[t + 1]
            np.matmul(h_prev, W_h, out=h)
            h += A[t]
            np.tanh(h, out=h)
        self._cache = (x_tm, h_all)
        return self._outputs(h_all)

    def _backward(self, grad_out: tuple[Array, Array]) -> tuple[Array, Array]:
        dh_seq, dh_last = grad_out
        x_tm, h_all = self._cache
        W_h = self.params["W_h"]
        T = x_tm.shape[0]
        dA = np.empty_like(h_all[1:])           # (T, N, H): gradient of each pre-activation
        tmp = np.empty_like(h_all[0])
        dh = dh_last.copy()                     # total gradient reaching h_t
        for t in reversed(range(T)):
            dh += dh_seq[:, t]
            da = dA[t]
            np.copyto(da, dh)
            _times_tanh_grad_(da, h_all[t + 1], tmp)     # da = dh * (1 - h_t^2)
            np.matmul(da, W_h.T, out=dh)                 # dh_prev = da W_h^T
        H = W_h.shape[0]
        self.grads["W_h"] = h_all[:-1].reshape(-1, H).T @ dA.reshape(-1, H)
        dx, self.grads["W_x"], self.grads["b"] = self._input_grads(x_tm, dA)
        return dx, dh


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber), gate blocks in the order i, f, g, o.

    Params: W_x (D, 4H), W_h (H, 4H), b (4H,); columns [0:H] i (input gate), [H:2H] f (forget
    gate), [2H:3H] g (cell candidate), [3H:4H] o (output gate).

        a_t = x_t W_x + h_{t-1} W_h + b                 (N, 4H), split into a_i a_f a_g a_o
        i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    forward(x (N, T, D), h0 (N, H), c0 (N, H)) -> (h_seq (N, T, H), h_last (N, H), c_last (N, H)).
    backward((dh_seq, dh_last, dc_last)) -> (dx, dh0, dc0); grads["W_x" | "W_h" | "b"].

    Backward at step t, with dh / dc the total gradient reaching h_t / c_t:
        do  = dh * tanh(c_t)                  da_o = do * o (1 - o)
        dc += dh * o * (1 - tanh(c_t)^2)      (the path through h_t joins the carried dc)
        di  = dc * g                          da_i = di * i (1 - i)
        df  = dc * c_{t-1}                    da_f = df * f (1 - f)
        dg  = dc * i                          da_g = dg * (1 - g^2)
        dc_{t-1} = dc * f
        dh_{t-1} = [da_i da_f da_g da_o] W_h^T          (one fused product for all four gates)
    """

    k = 4

    def __init__(self, *, W_x: Array, W_h: Array, b: Array) -> None:
        super().__init__(W_x, W_h, b)

    def _output(self, x: Array, h0: Array, c0: Array) -> tuple[Array, Array, Array]:
        self._check_inputs(x, h0, c0)
        W_h = self.params["W_h"]
        N, T, _ = x.shape
        H = self.hidden_size
        x_tm, A = self._project_inputs(x, self.params["b"])   # (T, N, 4H); becomes i f g o
        h_all = np.empty((T + 1, N, H), dtype=x.dtype)
        c_all = np.empty((T + 1, N, H), dtype=x.dtype)
        tanh_c = np.empty((T, N, H), dtype=x.dtype)
        h_all[0], c_all[0] = h0, c0
        rec = np.empty((N, 4 * H), dtype=x.dtype)
        ig = np.empty((N, H), dtype=x.dtype)
        for t in range(T):
            h_prev, c_prev, c = h_all[t], c_all[t], c_all[t + 1]
            a = A[t]
            a += np.matmul(h_prev, W_h, out=rec)     # all four gates in one product
            _sigmoid_(a[:, :2 * H])                  # i, f  (adjacent blocks: one call)
            np.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            _sigmoid_(a[:, 3 * H:])
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            np.multiply(f, c_prev, out=c)            # c_t = f * c_prev + i * g
            c += np.multiply(i, g, out=ig)
            np.tanh(c, out=tanh_c[t])                # h_t = o * tanh(c_t)
            np.multiply(o, tanh_c[t], out=h_all[t + 1])
        self._cache = (x_tm, A, h_all, c_all, tanh_c)
        return (*self._outputs(h_all), c_all[-1].copy())

    def _backward(self, grad_out: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        dh_seq, dh_last, dc_last = grad_out
        x_tm, A, h_all, c_all, tanh_c = self._cache   # A holds the activations i f g o
        W_h = self.params["W_h"]
        T, N, H4 = A.shape
        H = H4 // 4
        dA = np.empty_like(A)                          # (T, N, 4H): da_i da_f da_g da_o
        tmp, dtc = np.empty((N, H), dtype=A.dtype), np.empty((N, H), dtype=A.dtype)
        dh, dc = dh_last.copy(), dc_last.copy()        # total gradients reaching h_t, c_t
        for t in reversed(range(T)):
            a, da = A[t], dA[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            da_i, da_f, da_g, da_o = da[:, :H], da[:, H:2 * H], da[:, 2 * H:3 * H], da[:, 3 * H:]
            c_prev, tc = c_all[t], tanh_c[t]
            dh += dh_seq[:, t]
            # h_t = o * tanh(c_t)
            np.multiply(dh, tc, out=da_o)                # do
            _times_sigmoid_grad_(da_o, o, tmp)           # da_o = do * o (1 - o)
            np.multiply(dh, o, out=dtc)                  # d tanh(c_t)
            dc += _times_tanh_grad_(dtc, tc, tmp)        # dc += dh * o * (1 - tanh(c_t)^2)
            # c_t = f * c_prev + i * g
            np.multiply(dc, g, out=da_i)
            _times_sigmoid_grad_(da_i, i, tmp)
            np.multiply(dc, c_prev, out=da_f)
            _times_sigmoid_grad_(da_f, f, tmp)
            np.multiply(dc, i, out=da_g)
            _times_tanh_grad_(da_g, g, tmp)
            dc *= f                                    # dc_prev
            np.matmul(da, W_h.T, out=dh)               # dh_prev, all four gates at once
        self.grads["W_h"] = h_all[:-1].reshape(-1, H).T @ dA.reshape(-1, H4)
        dx, self.grads["W_x"], self.grads["b"] = self._input_grads(x_tm, dA)
        return dx, dh, dc


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al. 2014), gate blocks in the Keras order z, r, h.

    Columns [0:H] z (update gate), [H:2H] r (reset gate), [2H:3H] h (candidate hh).
    Both variants end the same way:   h_t = z * h_{t-1} + (1 - z) * hh.

    ``reset_after=True`` (Keras' default; the formula torch.nn.GRU computes):
        params W_x (D, 3H), W_h (H, 3H), b (2, 3H) -- b[0] input bias, b[1] recurrent bias.
        a_t   = x_t W_x + b[0]                      (input side,     a_z a_r a_h)
        rec_t = h_{t-1} W_h + b[1]                  (recurrent side, rec_z rec_r rec_h)
        z = sigmoid(a_z + rec_z)    r = sigmoid(a_r + rec_r)
        hh = tanh(a_h + r * rec_h)                  (reset applied AFTER the product)
      One fused (H, 3H) product per step.
      Backward: da_z = dh (h_{t-1} - hh) z (1 - z);  da_h = dh (1 - z)(1 - hh^2);
        da_r = da_h rec_h r (1 - r);  drec = [da_z, da_r, da_h * r];
        dh_{t-1} = dh z + drec W_h^T;  dW_h = sum h_{t-1}^T drec;  db[1] = sum drec;
        dW_x = sum x_t^T [da_z, da_r, da_h];  db[0] = sum [da_z, da_r, da_h].

    ``reset_after=False`` (the original formula, Keras ``reset_after=False``; no torch layer):
        params W_x (D, 3H), W_h (H, 3H), b (3H,).  W_h = [W_hzr | W_hh] by columns.
        a_t = x_t W_x + b
        z, r = sigmoid(a_zr + h_{t-1} W_hzr)
        hh = tanh(a_h + (r * h_{t-1}) W_hh)         (reset applied BEFORE the product)
      The candidate's product needs r first, so this variant takes two products per step,
      (H, 2H) then (H, H): the dependency, not a lack of fusion.
      Backward: da_z, da_h as above;  drh = da_h W_hh^T  (gradient of r * h_{t-1});
        da_r = drh h_{t-1} r (1 - r);  dh_{t-1} = dh z + drh r + [da_z da_r] W_hzr^T;
        dW_h = [sum h_{t-1}^T [da_z da_r] | sum (r h_{t-1})^T da_h].

    forward(x (N, T, D), h0 (N, H)) -> (h_seq (N, T, H), h_last (N, H)).
    backward((dh_seq, dh_last)) -> (dx, dh0); grads["W_x" | "W_h" | "b"].
    """

    k = 3

    def __init__(self, *, W_x: Array, W_h: Array, b: Array, reset_after: bool = True) -> None:
        self.reset_after = bool(reset_after)
        super().__init__(W_x, W_h, b)

    def _bias_shape(self, H: int) -> tuple[int, ...]:
        return (2, 3 * H) if self.reset_after else (3 * H,)

    def _output(self, x: Array, h0: Array) -> tuple[Array, Array]:
        self._check_inputs(x, h0)
        if self.reset_after:
            return self._forward_reset_after(x, h0)
        return self._forward_reset_before(x, h0)

    def _backward(self, grad_out: tuple[Array, Array]) -> tuple[Array, Array]:
        if self.reset_after:
            return self._backward_reset_after(*grad_out)
        return self._backward_reset_before(*grad_out)

    # -- reset_after=True ---------------------------------------------------------------------
    def _forward_reset_after(self, x: Array, h0: Array) -> tuple[Array, Array]:
        W_h, b = self.params["W_h"], self.params["b"]
        N, T, _ = x.shape
        H = self.hidden_size
        x_tm, A = self._project_inputs(x, b[0])   # (T, N, 3H) a_z a_r a_h; becomes z r hh
        R = np.empty_like(A)                      # (T, N, 3H) rec = h_prev W_h + b[1], cached
        h_all = np.empty((T + 1, N, H), dtype=x.dtype)
        h_all[0] = h0
        tmp = np.empty((N, H), dtype=x.dtype)
        for t in range(T):
            h_prev, h, a, rec = h_all[t], h_all[t + 1], A[t], R[t]
            np.matmul(h_prev, W_h, out=rec)       # all three blocks in one product
            rec += b[1]
            a[:, :2 * H] += rec[:, :2 * H]
            _sigmoid_(a[:, :2 * H])               # z, r  (adjacent blocks: one call)
            z, r, hh = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            hh += np.multiply(r, rec[:, 2 * H:], out=tmp)
            np.tanh(hh, out=hh)
            np.subtract(h_prev, hh, out=h)        # h = z * h_prev + (1 - z) * hh
            h *= z                                #   = hh + z * (h_prev - hh)
            h += hh
        self._cache = (x_tm, A, R, h_all)
        return self._outputs(h_all)

    def _backward_reset_after(self, dh_seq: Array, dh_last: Array) -> tuple[Array, Array]:
        x_tm, A, R, h_all = self._cache
        W_h = self.params["W_h"]
        T, N, H3 = A.shape
        H = H3 // 3
        dA = np.empty_like(A)                     # gradient of the input-side a_t
        dR = np.empty_like(A)                     # gradient of the recurrent-side rec_t
        tmp = np.empty((N, H), dtype=A.dtype)
        dh = dh_last.copy()                       # total gradient reaching h_t
        for t in reversed(range(T)):
            a, h_prev, rec_h = A[t], h_all[t], R[t][:, 2 * H:]
            z, r, hh = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            drec = dR[t]
            da_z, da_r, drec_h = drec[:, :H], drec[:, H:2 * H], drec[:, 2 * H:]
            da_h = dA[t][:, 2 * H:]
            dh += dh_seq[:, t]
            # h = z * h_prev + (1 - z) * hh
            np.subtract(h_prev, hh, out=da_z)
            da_z *= dh
            _times_sigmoid_grad_(da_z, z, tmp)          # da_z = dh (h_prev - hh) z (1 - z)
            np.subtract(1.0, z, out=da_h)
            da_h *= dh
            _times_tanh_grad_(da_h, hh, tmp)            # da_h = dh (1 - z) (1 - hh^2)
            # hh = tanh(a_h + r * rec_h)
            np.multiply(da_h, rec_h, out=da_r)
            _times_sigmoid_grad_(da_r, r, tmp)          # da_r = da_h rec_h r (1 - r)
            np.multiply(da_h, r, out=drec_h)
            # dh_prev = dh * z + drec W_h^T
            np.multiply(dh, z, out=tmp)
            np.matmul(drec, W_h.T, out=dh)
            dh += tmp
        # z and r see a + rec summed, so both sides get the same gradient: copy once, not per step
        dA[..., :2 * H] = dR[..., :2 * H]
        dR2 = dR.reshape(-1, H3)
        self.grads["W_h"] = h_all[:-1].reshape(-1, H).T @ dR2
        dx, self.grads["W_x"], db_input = self._input_grads(x_tm, dA)
        self.grads["b"] = np.stack([db_input, dR2.sum(axis=0)])
        return dx, dh

    # -- reset_after=False --------------------------------------------------------------------
    def _forward_reset_before(self, x: Array, h0: Array) -> tuple[Array, Array]:
        W_h = self.params["W_h"]
        N, T, _ = x.shape
        H = self.hidden_size
        W_hzr, W_hh = W_h[:, :2 * H], W_h[:, 2 * H:]
        x_tm, A = self._project_inputs(x, self.params["b"])   # (T, N, 3H); becomes z r hh
        RH = np.empty((T, N, H), dtype=x.dtype)               # r * h_prev, cached for dW_hh
        h_all = np.empty((T + 1, N, H), dtype=x.dtype)
        h_all[0] = h0
        rec_zr = np.empty((N, 2 * H), dtype=x.dtype)
        tmp = np.empty((N, H), dtype=x.dtype)
        for t in range(T):
            h_prev, h, a = h_all[t], h_all[t + 1], A[t]
            a[:, :2 * H] += np.matmul(h_prev, W_hzr, out=rec_zr)
            _sigmoid_(a[:, :2 * H])                            # z, r
            z, r, hh = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            np.multiply(r, h_prev, out=RH[t])
            hh += np.matmul(RH[t], W_hh, out=tmp)
            np.tanh(hh, out=hh)
            np.subtract(h_prev, hh, out=h)                     # h = hh + z * (h_prev - hh)
            h *= z
            h += hh
        self._cache = (x_tm, A, RH, h_all)
        return self._outputs(h_all)

    def _backward_reset_before(self, dh_seq: Array, dh_last: Array) -> tuple[Array, Array]:
        x_tm, A, RH, h_all = self._cache
        W_h = self.params["W_h"]
        T, N, H3 = A.shape
        H = H3 // 3
        W_hzr, W_hh = W_h[:, :2 * H], W_h[:, 2 * H:]
        dA = np.empty_like(A)                     # (T, N, 3H): da_z da_r da_h
        tmp, drh = np.empty((N, H), dtype=A.dtype), np.empty((N, H), dtype=A.dtype)
        dh = dh_last.copy()                       # total gradient reaching h_t
        for t in reversed(range(T)):
            a, da, h_prev = A[t], dA[t], h_all[t]
            z, r, hh = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            da_z, da_r, da_h = da[:, :H], da[:, H:2 * H], da[:, 2 * H:]
            dh += dh_seq[:, t]
            # h = z * h_prev + (1 - z) * hh
            np.subtract(h_prev, hh, out=da_z)
            da_z *= dh
            _times_sigmoid_grad_(da_z, z, tmp)          # da_z = dh (h_prev - hh) z (1 - z)
            np.subtract(1.0, z, out=da_h)
            da_h *= dh
            _times_tanh_grad_(da_h, hh, tmp)            # da_h = dh (1 - z) (1 - hh^2)
            # hh = tanh(a_h + (r * h_prev) W_hh)
            np.matmul(da_h, W_hh.T, out=drh)            # d(r * h_prev)
            np.multiply(drh, h_prev, out=da_r)
            _times_sigmoid_grad_(da_r, r, tmp)          # da_r = drh h_prev r (1 - r)
            # dh_prev = dh * z + drh * r + [da_z da_r] W_hzr^T
            np.multiply(dh, z, out=tmp)
            drh *= r
            tmp += drh
            np.matmul(da[:, :2 * H], W_hzr.T, out=dh)
            dh += tmp
        dA2 = dA.reshape(-1, H3)
        self.grads["W_h"] = np.concatenate(
            [h_all[:-1].reshape(-1, H).T @ dA2[:, :2 * H],    # z, r: input h_prev
             RH.reshape(-1, H).T @ dA2[:, 2 * H:]],           # hh:   input r * h_prev
            axis=1)
        dx, self.grads["W_x"], self.grads["b"] = self._input_grads(x_tm, dA)
        return dx, dh
