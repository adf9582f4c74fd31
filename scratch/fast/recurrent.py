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
split) is declared with the torch implementation, not here. The equations in the docstrings are
written for one row per sample, as in Keras: ``a_t = x_t W_x + h_{t-1} W_h + b``.

How all three layers compute (the same four moves each time)
------------------------------------------------------------
1. **Input projection for every step at once.** ``x W_x + b`` does not depend on the
   recurrence, so it is ONE matmul call over all T steps, before the time loop.
2. **The time loop** adds the recurrent term -- one fused product for all k gates,
   ``(H, kH)`` -- and applies the gate non-linearities in place. Forward caches what backward
   needs: gate activations, cell states, every ``h``.
3. **Backprop through time** runs the loop backwards. At each step the chain rule through the
   gates (elementwise, using only cached activations) gives ``da``, the gradient of the k
   pre-activations, and one fused product with ``W_h`` carries it on to ``h_{t-1}``.
4. **Parameter gradients are sums over time**, so once every ``da`` is known each is ONE
   product over all steps: ``dW_x = X^T dA``, ``dW_h = H_prev^T dA``, ``db = sum dA``, and the
   input gradient ``dx = dA W_x^T``. A row of ones appended to X (the bias trick) makes move 1
   ``[X 1] [W_x; b]`` and gives ``[dW_x; db]`` from one product too; where the same ``dA``
   drives ``W_h`` (SimpleRNN, LSTM) ``[X 1 H_prev]`` gives all three from one product.

Memory layout inside the loops: features x batch
------------------------------------------------
Inside the loops every per-step array is stored *transposed*, one column per sample:
``h_prev (H, N)``, pre-activations ``a (kH, N)``, computed as ``a = W_h^T h_prev`` -- the same
numbers as the row form above. Why: the k gate blocks of a ``(kH, N)`` array are *row* blocks,
each one contiguous in memory, while the column blocks of an ``(N, kH)`` array are strided, and
NumPy's elementwise calls run about 3x faster on contiguous blocks (measured here: a 32x64 float32
multiply takes 0.7 us contiguous, 2.4 us as a column block; the LSTM makes 23 such calls per
step, forward and backward together). Time is the leading axis, so step ``t`` of a
``(T, kH, N)`` buffer is contiguous too. The public arrays stay batch-first; the transposes
happen once per call, outside the loops.

The per-step arrays are slices of a few large work arrays (``_buffer``), kept between calls,
and the slices of every step are cut once and kept with them (``_step_views``): a loop step
then unpacks a tuple of views and makes only the arithmetic calls.

The sigmoid is written as ``0.5 * (1 + tanh(a / 2))``: the same function, but it cannot overflow
(``exp(300)`` in ``1 / (1 + exp(-a))`` can), so saturated inputs give exactly 0 or 1, no warning.
Its error is absolute (a few ulps of 1), not relative: ``sigmoid(-300)`` comes out as 0, not
5e-131.

Models: ``RecurrentModel`` (at the end) wraps one layer, with an optional Dense head on the last
hidden state or on every step, into the scratch model protocol the engine runs; the
``build_*`` functions below it are the builders the registered specs name.

Dtype: every buffer is allocated with the input's dtype and every scalar is a Python number
(which NumPy does not let promote an array), so float32 stays float32 end to end.
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L

from ..base import Array, Layer

__all__ = ["SimpleRNN", "LSTM", "GRU"]


# -- elementwise helpers, all in place: the time loops allocate nothing ------------------------

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


def _gru_update_(h: Array, h_prev: Array, z: Array, hh: Array) -> Array:
    """h <- z * h_prev + (1 - z) * hh, written hh + z * (h_prev - hh): the GRU's last step,
    the same in both reset formulas."""
    np.subtract(h_prev, hh, out=h)
    h *= z
    h += hh
    return h


def _through_gru_update_(dh: Array, h_prev: Array, z: Array, hh: Array, da_z: Array,
                         da_h: Array, tmp: Array) -> None:
    """Backward of ``_gru_update_``, on to the pre-activations of z and of the candidate:
        da_z = dh (h_prev - hh) z (1 - z);   da_h = dh (1 - z) (1 - hh^2)."""
    np.subtract(h_prev, hh, out=da_z)
    da_z *= dh
    _times_sigmoid_grad_(da_z, z, tmp)
    np.subtract(1.0, z, out=da_h)
    da_h *= dh
    _times_tanh_grad_(da_h, hh, tmp)


def _feature_major(a: Array, out: Array | None = None) -> Array:
    """(N, T, F) batch-first -> (T, F, N) contiguous (into ``out`` when given): step t is one
    (F, N) block."""
    if out is None:
        return a.transpose(1, 2, 0).copy()
    np.copyto(out, a.transpose(1, 2, 0))
    return out


def _batch_first(a: Array) -> Array:
    """(T, F, N) -> (N, T, F) contiguous, the inverse of ``_feature_major``."""
    return a.transpose(2, 0, 1).copy()


def _sum_over_time(dA2: Array, *inputs: Array, stacked: Array | None = None) -> Array:
    """sum over steps t and samples n of inputs_t^T da_t, as ONE GEMM.

    dA2 (k, T*N); inputs: (T, F_i, N) step-major blocks, stacked along F into one (F, T, N)
    operand (one copy each; into ``stacked`` when given) -> (sum F_i, k). Written
    (dA2 inputs^T)^T: the same product as inputs dA2^T, in the orientation OpenBLAS runs
    faster here (311 vs 368 us for the LSTM benchmark's dW_h)."""
    T, _, N = inputs[0].shape
    F = sum(a.shape[1] for a in inputs)
    if stacked is None:
        stacked = np.empty((F, T, N), dtype=dA2.dtype)
    row = 0
    for a in inputs:
        stacked[row:row + a.shape[1]] = a.transpose(1, 0, 2)
        row += a.shape[1]
    return np.ascontiguousarray((dA2 @ stacked.reshape(F, T * N).T).T)


class _Recurrent(Layer):
    """What the three layers share: parameter and input checks, the input projection (move 1),
    and the input / parameter gradients after the backward loop (move 4).
    ``k`` is the number of gate blocks."""

    k: int = 1

    @property
    def name(self) -> str:
        return type(self).__name__

    # the layer's options (crossframe.layers.recurrent); this twin computes one layer in one
    # direction with tanh and sigmoid, with or without a bias, forwards or backwards. Several
    # layers or directions run on the textbook layer (its loops over layers and directions; the
    # kept work arrays here hold one call's cache, so one instance cannot serve several cells),
    # and so do other activations (the fused tanh-for-sigmoid trick is tanh's and sigmoid's).
    use_bias, go_backwards, num_layers, bidirectional = True, False, 1, False
    activation, recurrent_activation = "tanh", "sigmoid"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._options = options

    @property
    def general(self) -> bool:
        """Computed by the textbook layer: several cells, or other activations."""
        return (self.num_layers > 1 or self.bidirectional or self.activation != "tanh"
                or self.recurrent_activation != "sigmoid")

    def _textbook(self):
        """The textbook layer of the same options (crossframe/scratch/recurrent.py)."""
        from .. import recurrent as textbook

        if "_slow" not in self.__dict__:
            self._slow = getattr(textbook, type(self).__name__)(**self._options)
        return self._slow

    def forward(self, params: dict, x: Array, *states: Array, mask=None):
        """The scratch protocol (crossframe.scratch.base): ((h_seq, h_last[, c_last]), cache).
        The parameters are checked, then the loop runs on kept work arrays. Under a mask
        (masked steps keep the state) the textbook layer computes."""
        self._masked = mask is not None
        if self.general or self._masked:
            return self._textbook().forward(params, x, *states, mask=mask)
        if not self.use_bias:               # a zero bias; no gradient is returned for it
            W_h = params["W_h"]
            params = {**params, "b": np.zeros(self._bias_shape(W_h.shape[0]), W_h.dtype)}
        if self.go_backwards:               # the last step first; h_seq stays in that order
            x = x[:, ::-1]
        self._check_params(params["W_x"], params["W_h"], params["b"])
        self.params, self.grads = params, {}
        self.input_size, self.hidden_size = params["W_x"].shape[0], params["W_h"].shape[0]
        return self._output(x, *states), self._cache

    def backward(self, params: dict, cache, grad_out: tuple):
        """(grads, (dx, dh0[, dc0])) from the cache of the matching forward."""
        if self.general or getattr(self, "_masked", False):
            return self._textbook().backward(params, cache, grad_out)
        if not self.use_bias:
            W_h = params["W_h"]
            params = {**params, "b": np.zeros(self._bias_shape(W_h.shape[0]), W_h.dtype)}
        self.params, self.grads, self._cache = params, {}, cache
        dx, *dstates = self._backward(grad_out)
        grads = {k: v for k, v in self.grads.items() if k != "b" or self.use_bias}
        if self.go_backwards:
            dx = np.ascontiguousarray(dx[:, ::-1])
        return grads, (dx, *dstates)

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

    # -- work arrays kept between calls --------------------------------------------------------
    def _buffer(self, name: str, shape: tuple[int, ...], dtype) -> Array:
        """The work array ``name``, kept between calls and reused while shape and dtype match.

        The large arrays of one call (forward's cache of every step, backward's gradients of
        every pre-activation) are megabytes; allocated afresh on every call they come back as
        new pages from the operating system, each one faulted in on first write, and the
        per-step views (``_step_views``) would have to be cut again. Kept, the LSTM benchmark
        (float32) took 0.85-0.90 of the time with fresh arrays (medians of 300 interleaved
        calls, three runs, measured here). Nothing returned to the caller is one of these
        arrays: every output and gradient is a copy (test_results_survive_the_next_call)."""
        work = self.__dict__.setdefault("_work", {})
        buf = work.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = work[name] = np.empty(shape, dtype=dtype)
            self._views = {}                        # views into the replaced array are stale
        return buf

    def _step_views(self, name: str, build) -> list[tuple[Array, ...]]:
        """``build()``: one tuple per step of the views that step reads and writes, kept while
        no work array is reallocated. Slicing a dozen blocks out of the work arrays costs
        about 2 us a step, 0.1 ms per loop at T = 50 (forward loop 1.08 -> 0.98 ms with the
        views kept, measured here); the loop itself then only unpacks a tuple."""
        views = self.__dict__.setdefault("_views", {})
        if name not in views:
            views[name] = build()
        return views[name]

    def _steps_first(self, dh_seq: Array) -> Array:
        """The upstream gradient dh_seq (N, T, H) as (T, H, N), in a kept work array."""
        N, T, H = dh_seq.shape
        return _feature_major(dh_seq, self._buffer("dh_seq", (T, H, N), dh_seq.dtype))

    # -- move 1 and move 4 --------------------------------------------------------------------
    def _project_inputs(self, x: Array, W_x: Array, bias: Array) -> tuple[Array, Array]:
        """Move 1: x (N, T, D) -> X1 (T, D+1, N), A (T, kH, N) with A[t] = (x_t W_x + bias)^T.

        ONE matmul call for every step at once, with the bias riding along (the classic bias
        trick): X1[t] is x_t feature-major with a row of ones appended, so [W_x^T | bias]
        (kH, D+1) times X1[t] is x_t W_x + bias, transposed. NumPy broadcasts the (kH, D+1)
        matrix over the T stacked steps and runs the T products in C, writing A step-major:
        each A[t] the loop adds is then one contiguous block. (A single (kH, D+1) x (D+1, T*N)
        product leaves A[t] strided, and that per-step add ran 3x slower: 3.3 us vs 1.1 us for
        a 256 x 32 float32 block, measured here.)"""
        N, T, D = x.shape
        X1 = self._buffer("X1", (T, D + 1, N), x.dtype)
        X1[:, :D] = x.transpose(1, 2, 0)
        X1[:, D] = 1.0
        A = self._buffer("A", (T, W_x.shape[1], N), x.dtype)
        return X1, np.matmul(np.concatenate([W_x.T, bias[:, None]], axis=1), X1, out=A)

    def _input_grads(self, X1: Array, dA: Array, W_x: Array,
                     h_prev: Array | None = None) -> tuple:
        """Move 4. From X1 (T, D+1, N), dA (T, kH, N), the pre-activation gradients of every
        step, and W_x (D, kH), return dx (N, T, D), dW_x (D, kH), the summed bias gradient
        (kH,) and dA2 = dA as (kH, T*N), ready for a recurrent-weight product.

        The row of ones in X1 makes [dW_x; db] = X1 dA2^T a single GEMM (sum_t x_t^T da_t,
        sum_t da_t). Given ``h_prev`` (T, H, N), the inputs of W_h, when the same dA drives W_h
        (SimpleRNN, LSTM), the GEMM takes [X1; h_prev] and also returns dW_h (H, kH) last:
        [dW_x; db; dW_h] from one product."""
        T, kH, N = dA.shape
        D = X1.shape[1] - 1
        dA2 = self._buffer("dA2", (kH, T, N), dA.dtype)
        np.copyto(dA2, dA.transpose(1, 0, 2))
        dA2 = dA2.reshape(kH, T * N)
        inputs = (X1,) if h_prev is None else (X1, h_prev)
        F = sum(a.shape[1] for a in inputs)
        dW = _sum_over_time(dA2, *inputs,
                            stacked=self._buffer("stacked", (F, T, N), dA.dtype))
        dx_rows = dA2.T @ W_x.T                            # (T*N, D): da_t W_x^T, rows (t, n)
        dx = np.ascontiguousarray(dx_rows.reshape(T, N, D).transpose(1, 0, 2))
        grads = (dx, dW[:D].copy(), dW[D].copy(), dA2)
        return grads if h_prev is None else grads + (dW[D + 1:].copy(),)

    @staticmethod
    def _outputs(h_all: Array) -> tuple[Array, Array]:
        """h_all (T+1, H, N), h_all[0] = h0 -> (h_seq (N, T, H), h_last (N, H)), batch-first."""
        return _batch_first(h_all[1:]), h_all[-1].T.copy()


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
    declaration = L.SimpleRNN

    def _output(self, x: Array, h0: Array) -> tuple[Array, Array]:
        self._check_inputs(x, h0)
        W_hT = self.params["W_h"].T
        N, T, _ = x.shape
        X1, A = self._project_inputs(x, self.params["W_x"], self.params["b"])  # A[t]: (H, N)
        h_all = self._buffer("h_all", (T + 1, self.hidden_size, N), x.dtype)
        h_all[0] = h0.T
        steps = self._step_views("forward", lambda: [(A[t], h_all[t], h_all[t + 1])
                                                     for t in range(T)])
        for a_t, h_prev, h in steps:
            np.matmul(W_hT, h_prev, h)                  # (h_prev W_h)^T
            h += a_t
            np.tanh(h, h)
        self._cache = (X1, h_all)
        return self._outputs(h_all)

    def _backward(self, grad_out: tuple[Array, Array]) -> tuple[Array, Array]:
        dh_seq, dh_last = self._steps_first(grad_out[0]), grad_out[1]
        X1, h_all = self._cache
        W_h = self.params["W_h"]
        T = h_all.shape[0] - 1
        dA = self._buffer("dA", h_all[1:].shape, h_all.dtype)  # (T, H, N): d pre-activation
        tmp = np.empty_like(h_all[0])
        dh = dh_last.T.copy()     # total gradient reaching h_t
        steps = self._step_views("backward", lambda: [(dh_seq[t], dA[t], h_all[t + 1])
                                                      for t in reversed(range(T))])
        for dh_t, da, h in steps:
            dh += dh_t
            np.copyto(da, dh)
            _times_tanh_grad_(da, h, tmp)               # da = dh * (1 - h_t^2)
            np.matmul(W_h, da, dh)                      # dh_prev = da W_h^T
        dx, self.grads["W_x"], self.grads["b"], _, self.grads["W_h"] = self._input_grads(
            X1, dA, self.params["W_x"], h_all[:-1])
        return dx, dh.T.copy()


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
        da_o = dh * tanh(c_t) * o (1 - o)
        dc  += dh * o * (1 - tanh(c_t)^2)     (the path through h_t joins the carried dc)
        da_i = dc * g * i (1 - i)
        da_f = dc * c_{t-1} * f (1 - f)
        da_g = dc * i * (1 - g^2)
        dc_{t-1} = dc * f
        dh_{t-1} = [da_i da_f da_g da_o] W_h^T          (one fused product for all four gates)

    Three implementation details make the time loop cheaper without changing a number:

    * inside forward/backward the gate rows are kept in the order i, f, o, g (``self._order``),
      so the three sigmoids are one contiguous block;
    * since sigmoid(a) = (1 + tanh(a/2)) / 2, the sigmoid rows of W_x, W_h and b are halved
      once per call (exact in binary floating point), so a single tanh call per step serves
      all four gates;
    * forward keeps, per step, one (5H, N) block ``[i f o g tanh(c_t)]``: backward then takes
      every gate derivative with two calls on contiguous rows -- s (1 - s) on the three
      sigmoids and 1 - y^2 on ``[g tanh(c_t)]`` -- instead of one pair per gate.
    """

    k = 4
    declaration = L.LSTM

    @property
    def _order(self) -> Array:
        """Internal row order i, f, o, g: the canonical column of each internal row. Weights
        are permuted on the way in (once per call) and gradients permuted back on the way out."""
        H = self.hidden_size
        return np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]

    @property
    def _canonical(self) -> Array:
        return np.argsort(self._order)

    def _internal_weights(self) -> tuple[Array, Array, Array]:
        """W_x (D, 4H), W_h^T (4H, H), b (4H,) in the internal order i f o g, the sigmoid rows
        halved: then tanh(a) gives tanh(a_i/2) .. tanh(a_o/2) and tanh(a_g) in one call."""
        H, order = self.hidden_size, self._order
        W_x, W_hT, b = (self.params["W_x"][:, order], self.params["W_h"].T[order],
                        self.params["b"][order])
        W_x[:, :3 * H] *= 0.5
        W_hT[:3 * H] *= 0.5
        b[:3 * H] *= 0.5
        return W_x, W_hT, b

    def _output(self, x: Array, h0: Array, c0: Array) -> tuple[Array, Array, Array]:
        self._check_inputs(x, h0, c0)
        N, T, _ = x.shape
        H = self.hidden_size
        W_x, W_hT, b = self._internal_weights()
        X1, A = self._project_inputs(x, W_x, b)              # A[t]: (4H, N)
        S = self._buffer("S", (T, 5 * H, N), x.dtype)        # per step: i f o g tanh(c_t)
        S5 = S.reshape(T, 5, H, N)                           # the same, one block per name
        h_all = self._buffer("h_all", (T + 1, H, N), x.dtype)
        c_all = self._buffer("c_all", (T + 1, H, N), x.dtype)
        h_all[0], c_all[0] = h0.T, c0.T
        ig = np.empty((H, N), dtype=x.dtype)
        steps = self._step_views("forward", lambda: [
            (A[t], h_all[t], h_all[t + 1], c_all[t], c_all[t + 1], S[t, :4 * H], S[t, :3 * H],
             *S5[t]) for t in range(T)])
        for a_t, h_prev, h, c_prev, c, gates, sigmoids, i, f, o, g, tanh_c in steps:
            np.matmul(W_hT, h_prev, gates)              # all four gates in one product
            gates += a_t                                # a_i/2, a_f/2, a_o/2, a_g
            np.tanh(gates, gates)
            sigmoids *= 0.5                             # i, f, o = (1 + tanh(a / 2)) / 2
            sigmoids += 0.5
            np.multiply(f, c_prev, c)                   # c_t = f * c_prev + i * g
            c += np.multiply(i, g, ig)
            np.tanh(c, tanh_c)                          # h_t = o * tanh(c_t)
            np.multiply(o, tanh_c, h)
        self._cache = (X1, S, h_all, c_all)
        return (*self._outputs(h_all), c_all[-1].T.copy())

    def _backward(self, grad_out: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        dh_seq, dh_last, dc_last = self._steps_first(grad_out[0]), grad_out[1], grad_out[2]
        X1, S, h_all, c_all = self._cache
        T, H5, N = S.shape
        H = H5 // 5
        S5 = S.reshape(T, 5, H, N)
        W_h = self.params["W_h"][:, self._order]       # (H, 4H), columns i f o g
        dA = self._buffer("dA", (T, 4 * H, N), S.dtype)  # da_i da_f da_o da_g of every step
        dA4 = dA.reshape(T, 4, H, N)
        local = np.empty((5 * H, N), dtype=S.dtype)    # derivatives of one step, as S's rows:
        sig_grad, tanh_grad = local[:3 * H], local[3 * H:]  # s (1 - s); 1 - y^2 for g, tanh c
        gate_grad, tanh_c_grad = local[:4 * H], local[4 * H:]
        dtc = np.empty((H, N), dtype=S.dtype)
        dh = dh_last.T.copy()           # total gradient reaching h_t
        dc = dc_last.T.copy()           # total gradient reaching c_t
        steps = self._step_views("backward", lambda: [
            (dh_seq[t], c_all[t], S[t, :3 * H], S[t, 3 * H:], *S5[t], dA[t], *dA4[t])
            for t in reversed(range(T))])
        for (dh_t, c_prev, sigmoids, tanhs, i, f, o, g, tanh_c,
             da, da_i, da_f, da_o, da_g) in steps:
            dh += dh_t
            np.subtract(1.0, sigmoids, sig_grad)         # s (1 - s) for i, f, o
            sig_grad *= sigmoids
            np.multiply(tanhs, tanhs, tanh_grad)         # 1 - y^2 for g and tanh(c_t)
            np.subtract(1.0, tanh_grad, tanh_grad)
            # h_t = o * tanh(c_t)
            np.multiply(dh, tanh_c, da_o)                # do
            np.multiply(dh, o, dtc)                      # d tanh(c_t)
            dtc *= tanh_c_grad
            dc += dtc                                    # dc += dh * o * (1 - tanh(c_t)^2)
            # c_t = f * c_prev + i * g
            np.multiply(dc, g, da_i)                     # di
            np.multiply(dc, c_prev, da_f)                # df
            np.multiply(dc, i, da_g)                     # dg
            da *= gate_grad                              # da = d(gate) * gate'(a), all four
            dc *= f                                      # dc_prev
            np.matmul(W_h, da, dh)                       # dh_prev, all four gates at once
        dx, dW_x, db, _, dW_h = self._input_grads(X1, dA, self.params["W_x"][:, self._order],
                                                  h_all[:-1])
        canonical = self._canonical                    # columns back to i, f, g, o
        self.grads.update(W_x=dW_x[:, canonical], W_h=dW_h[:, canonical], b=db[canonical])
        return dx, dh.T.copy(), dc.T.copy()


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
    declaration = L.GRU
    reset_after = True

    def _bias_shape(self, H: int) -> tuple[int, ...]:
        return (2, 3 * H) if self.reset_after else (3 * H,)

    def _output(self, x: Array, h0: Array) -> tuple[Array, Array]:
        self._check_inputs(x, h0)
        if self.reset_after:
            return self._forward_reset_after(x, h0)
        return self._forward_reset_before(x, h0)

    def _backward(self, grad_out: tuple[Array, Array]) -> tuple[Array, Array]:
        dh_seq, dh_last = self._steps_first(grad_out[0]), grad_out[1]
        if self.reset_after:
            dx, dh = self._backward_reset_after(dh_seq, dh_last.T.copy())
        else:
            dx, dh = self._backward_reset_before(dh_seq, dh_last.T.copy())
        return dx, dh.T.copy()

    # -- reset_after=True ---------------------------------------------------------------------
    def _forward_reset_after(self, x: Array, h0: Array) -> tuple[Array, Array]:
        W_hT, b = self.params["W_h"].T, self.params["b"]
        N, T, _ = x.shape
        H = self.hidden_size
        X1, A = self._project_inputs(x, self.params["W_x"], b[0])  # A[t]: (3H, N), a_z a_r a_h
        gates = self._buffer("gates", (T, 3 * H, N), x.dtype)   # z r hh of every step
        R = self._buffer("R", (T, 3 * H, N), x.dtype)   # rec = (h_prev W_h + b[1])^T, cached
        h_all = self._buffer("h_all", (T + 1, H, N), x.dtype)
        h_all[0] = h0.T
        b_rec = b[1][:, None]
        steps = self._step_views("forward", lambda: [
            (h_all[t], h_all[t + 1], R[t], R[t, :2 * H], R[t, 2 * H:], A[t, :2 * H],
             A[t, 2 * H:], gates[t, :2 * H], gates[t, :H], gates[t, H:2 * H], gates[t, 2 * H:])
            for t in range(T)])
        for h_prev, h, rec, rec_zr, rec_h, a_zr, a_h, zr, z, r, hh in steps:
            np.matmul(W_hT, h_prev, rec)          # all three blocks in one product
            rec += b_rec
            np.add(a_zr, rec_zr, zr)
            _sigmoid_(zr)                         # z and r are adjacent: one call
            np.multiply(r, rec_h, hh)             # hh = tanh(a_h + r * rec_h)
            hh += a_h
            np.tanh(hh, hh)
            _gru_update_(h, h_prev, z, hh)        # h = z * h_prev + (1 - z) * hh
        self._cache = (X1, gates, R, h_all)
        return self._outputs(h_all)

    def _backward_reset_after(self, dh_seq: Array, dh: Array) -> tuple[Array, Array]:
        X1, gates, R, h_all = self._cache
        W_h = self.params["W_h"]
        T, H3, N = gates.shape
        H = H3 // 3
        dA = self._buffer("dA", gates.shape, gates.dtype)   # gradient of the input side a_t
        dR = self._buffer("dR", gates.shape, gates.dtype)   # of the recurrent side rec_t
        tmp = np.empty((H, N), dtype=gates.dtype)
        steps = self._step_views("backward", lambda: [
            (dh_seq[t], h_all[t], R[t, 2 * H:], gates[t, :H], gates[t, H:2 * H],
             gates[t, 2 * H:], dR[t], dR[t, :H], dR[t, H:2 * H], dR[t, 2 * H:], dA[t, 2 * H:])
            for t in reversed(range(T))])
        for dh_t, h_prev, rec_h, z, r, hh, drec, da_z, da_r, drec_h, da_h in steps:
            dh += dh_t                            # dh: total gradient reaching h_t
            _through_gru_update_(dh, h_prev, z, hh, da_z, da_h, tmp)   # da_z, da_h
            # hh = tanh(a_h + r * rec_h)
            np.multiply(da_h, rec_h, out=da_r)
            _times_sigmoid_grad_(da_r, r, tmp)          # da_r = da_h rec_h r (1 - r)
            np.multiply(da_h, r, out=drec_h)
            # dh_prev = dh * z + drec W_h^T
            np.multiply(dh, z, out=tmp)
            np.matmul(W_h, drec, out=dh)
            dh += tmp
        # z and r see a + rec summed, so both sides get the same gradient: copy once, not per step
        dA[:, :2 * H] = dR[:, :2 * H]
        dx, self.grads["W_x"], db_input, _ = self._input_grads(X1, dA, self.params["W_x"])
        dR2 = np.ascontiguousarray(dR.transpose(1, 0, 2)).reshape(H3, T * N)
        self.grads["W_h"] = _sum_over_time(dR2, h_all[:-1])
        self.grads["b"] = np.stack([db_input, dR2.sum(axis=1)])
        return dx, dh

    # -- reset_after=False --------------------------------------------------------------------
    def _forward_reset_before(self, x: Array, h0: Array) -> tuple[Array, Array]:
        W_h = self.params["W_h"]
        N, T, _ = x.shape
        H = self.hidden_size
        W_hzrT, W_hhT = W_h[:, :2 * H].T, W_h[:, 2 * H:].T
        X1, A = self._project_inputs(x, self.params["W_x"], self.params["b"])  # A[t]: (3H, N)
        gates = self._buffer("gates", (T, 3 * H, N), x.dtype)   # z r hh of every step
        RH = self._buffer("RH", (T, H, N), x.dtype)        # r * h_prev, cached for dW_hh
        h_all = self._buffer("h_all", (T + 1, H, N), x.dtype)
        h_all[0] = h0.T
        steps = self._step_views("forward", lambda: [
            (h_all[t], h_all[t + 1], A[t, :2 * H], A[t, 2 * H:], gates[t, :2 * H],
             gates[t, H:2 * H], gates[t, 2 * H:], gates[t, :H], RH[t]) for t in range(T)])
        for h_prev, h, a_zr, a_h, zr, r, hh, z, rh in steps:
            np.matmul(W_hzrT, h_prev, zr)                    # z and r in one product
            zr += a_zr
            _sigmoid_(zr)
            np.multiply(r, h_prev, rh)
            np.matmul(W_hhT, rh, hh)                         # hh = tanh(a_h + (r h_prev) W_hh)
            hh += a_h
            np.tanh(hh, hh)
            _gru_update_(h, h_prev, z, hh)                   # h = z * h_prev + (1 - z) * hh
        self._cache = (X1, gates, RH, h_all)
        return self._outputs(h_all)

    def _backward_reset_before(self, dh_seq: Array, dh: Array) -> tuple[Array, Array]:
        X1, gates, RH, h_all = self._cache
        W_h = self.params["W_h"]
        T, H3, N = gates.shape
        H = H3 // 3
        W_hzr, W_hh = W_h[:, :2 * H], W_h[:, 2 * H:]
        dA = self._buffer("dA", gates.shape, gates.dtype)   # (T, 3H, N): da_z da_r da_h
        tmp, drh = np.empty((H, N), dtype=gates.dtype), np.empty((H, N), dtype=gates.dtype)
        steps = self._step_views("backward", lambda: [
            (dh_seq[t], h_all[t], gates[t, :H], gates[t, H:2 * H], gates[t, 2 * H:],
             dA[t, :2 * H], dA[t, :H], dA[t, H:2 * H], dA[t, 2 * H:])
            for t in reversed(range(T))])
        for dh_t, h_prev, z, r, hh, da_zr, da_z, da_r, da_h in steps:
            dh += dh_t                            # dh: total gradient reaching h_t
            _through_gru_update_(dh, h_prev, z, hh, da_z, da_h, tmp)   # da_z, da_h
            # hh = tanh(a_h + (r * h_prev) W_hh)
            np.matmul(W_hh, da_h, out=drh)              # d(r * h_prev) = da_h W_hh^T
            np.multiply(drh, h_prev, out=da_r)
            _times_sigmoid_grad_(da_r, r, tmp)          # da_r = drh h_prev r (1 - r)
            # dh_prev = dh * z + drh * r + [da_z da_r] W_hzr^T
            np.multiply(dh, z, out=tmp)
            drh *= r
            tmp += drh
            np.matmul(W_hzr, da_zr, dh)
            dh += tmp
        dx, self.grads["W_x"], self.grads["b"], dA2 = self._input_grads(X1, dA, self.params["W_x"])
        self.grads["W_h"] = np.concatenate(
            [_sum_over_time(dA2[:2 * H], h_all[:-1]),   # z, r: their input is h_prev
             _sum_over_time(dA2[2 * H:], RH)],          # hh:   its input is r * h_prev
            axis=1)
        return dx, dh
