"""The convolution family from scratch in NumPy: Conv2D, MaxPool2D, Flatten.

Shape legend (used on every argument below)
    N       batch size
    H, W    input height and width          (Hp, Wp after zero padding; the code says W_in
            for the width wherever W already names the kernel)
    Ho, Wo  output height and width
    C       channels (C_in into a convolution, C_out out of it)
    kh, kw  kernel (or pool window) height and width
    sh, sw  stride along height and width

Canonical layout is the Keras one: images are NHWC ``(N, H, W, C)`` and a convolution kernel is
``(kh, kw, C_in, C_out)``. (Torch uses NCHW images and ``(C_out, C_in, kh, kw)`` kernels; the
torch side permutes, this file never does.)

Output size and padding follow TensorFlow/Keras:

    padding="valid":  Ho = floor((H - kh) / sh) + 1            (rows that do not fit are dropped)
    padding="same":   Ho = ceil(H / sh)
                      pad_total = max((Ho - 1) * sh + kh - H, 0)
                      pad_top = pad_total // 2,  pad_bottom = pad_total - pad_top

so an odd extra row/column of zeros goes to the bottom/right, and with stride 2 it is common
for *all* the padding to sit at the bottom/right. ``same_padding`` and ``output_size`` expose
the rule so that the torch side (which has no strided ``padding="same"``) can ``F.pad`` the
same amounts explicitly.

How the arithmetic is organised (NumPy is fast only on big whole-array operations):
- forward is im2col + one matrix product: every kh x kw x C_in window becomes one row of a
  "columns" matrix, and the convolution is ``cols @ W``;
- backward is two matrix products: ``dW = cols^T @ dY`` (using the columns forward cached) and
  the column gradients ``dY @ W^T``, which are then added back onto the image ("col2im") with
  one whole-array add per kernel offset (at most kh * kw of them) -- no loop over pixels or over
  the batch, and no ``np.add.at``.
Every temporary is created in the input's dtype, so float32 stays float32 throughout.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from crossframe.scratch.base import Array, Operation, ParamOperation

PADDINGS = ("valid", "same")


# -- the size rules, as small pure functions ---------------------------------------------------
def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros to add (before, after) along one axis for TF/Keras ``padding="same"``.

    ``size`` input length, ``kernel`` window length, ``stride`` step. The output length is
    ``ceil(size / stride)``; any odd extra zero goes *after* (bottom/right).

    >>> same_padding(28, 3, 1), same_padding(28, 3, 2), same_padding(5, 4, 1), same_padding(5, 2, 3)
    ((1, 1), (0, 1), (1, 2), (0, 0))
    """
    out = -(-size // stride)  # ceil without floats
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Output length along one axis: ``floor((size - kernel)/stride) + 1`` for ``"valid"``,
    ``ceil(size/stride)`` for ``"same"``. Raises ``ValueError`` when no window fits."""
    if padding not in PADDINGS:
        raise ValueError(f"padding: expected one of {PADDINGS}, got {padding!r}")
    if padding == "same":
        return -(-size // stride)
    if size < kernel:
        raise ValueError(
            f"padding='valid': the window ({kernel}) is larger than the input ({size}); "
            "use padding='same' or a smaller kernel"
        )
    return (size - kernel) // stride + 1


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """An int ``v`` means ``(v, v)``; a pair is kept. Both entries must be positive ints."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(f"{name}: expected a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _windows(x: Array, window: tuple[int, int], stride: tuple[int, int]) -> Array:
    """Every (kh, kw) window of x at the given stride, as a *view* (no copy).

    x: (N, H, W, C)  ->  (N, Ho, Wo, kh, kw, C)  with Ho = floor((H - kh)/sh) + 1.
    """
    (sh, sw) = stride
    view = sliding_window_view(x, window, axis=(1, 2))  # (N, H-kh+1, W-kw+1, C, kh, kw)
    return view[:, ::sh, ::sw].transpose(0, 1, 2, 4, 5, 3)


# -- Conv2D ------------------------------------------------------------------------------------
class Conv2D(ParamOperation):
    """2-D convolution (cross-correlation, as in every framework), NHWC.

    Shapes
        x: (N, H, W, C_in)   W: (kh, kw, C_in, C_out)   b: (C_out,) or None
        y: (N, Ho, Wo, C_out)

    Forward                                         Backward (given dY = dL/dy)
        xp = zero-pad(x)        (N, Hp, Wp, C_in)
        cols[n,h,w,(i,j,c)] = xp[n, h*sh+i, w*sw+j, c]
                                (N*Ho*Wo, kh*kw*C_in)
        y = cols @ W + b        (N*Ho*Wo, C_out)      dW = cols^T @ dY       (kh*kw*C_in, C_out)
                                                     db = sum over n,h,w of dY          (C_out,)
                                                     dcols = dY @ W^T  (N*Ho*Wo, kh*kw*C_in)
                                                     dxp[n, h*sh+i, w*sw+j, c] += dcols[...]
                                                     dx = dxp without its padding

    Two implementation choices, both measured on 32 x 28x28, 8 -> 16 channels, 3x3, float32:
    - the bias is the weight of an extra input that is always 1: ``cols`` carries a last column
      of ones and ``W`` a last row ``b``, so ``y = [cols 1] @ [W; b]`` is one GEMM, and
      ``[cols 1]^T @ dY`` gives ``dW`` and, in its last row, ``db`` in the same GEMM (a whole
      forward + backward step ~5% faster than a separate bias add and sum);
    - the col2im step (last two lines) is written so that each of the kh*kw adds is one long
      contiguous add: each output gradient is placed at its window's top-left corner on the
      padded grid, the grid is flattened, and kernel offset (i, j) is then simply a shift by
      ``i*Wp + j`` along it (see ``_backward``; ~1.1 ms where adds into strided 6-D views of
      ``dcols`` took ~4.9 ms).

    Parameters: ``params["W"]``, and ``params["b"]`` unless ``b is None``; gradients appear in
    ``grads`` under the same names after ``backward``.
    """

    def __init__(
        self,
        W: Array,
        b: Array | None = None,
        stride: int | tuple[int, int] = 1,
        padding: str = "valid",
    ) -> None:
        if not isinstance(W, np.ndarray) or W.ndim != 4:
            raise ValueError(
                f"Conv2D.W: expected an array (kh, kw, C_in, C_out), got shape "
                f"{getattr(W, 'shape', type(W).__name__)}"
            )
        if b is not None and (not isinstance(b, np.ndarray) or b.shape != (W.shape[3],)):
            raise ValueError(
                f"Conv2D.b: expected shape ({W.shape[3]},) = (C_out,), got "
                f"{getattr(b, 'shape', type(b).__name__)}"
            )
        if b is not None and b.dtype != W.dtype:
            raise ValueError(f"Conv2D.b: dtype {b.dtype} differs from W's dtype {W.dtype}")
        if padding not in PADDINGS:
            raise ValueError(f"Conv2D.padding: expected one of {PADDINGS}, got {padding!r}")
        params = {"W": W} if b is None else {"W": W, "b": b}
        super().__init__(params)
        self.stride = _pair(stride, "Conv2D.stride")
        self.padding = padding
        self._work: dict[str, Array] = {}

    def _workspace(self, name: str, shape: tuple[int, ...], dtype: np.dtype, fill=0) -> Array:
        """A private work array, filled with ``fill`` when created, kept from call to call.

        Never handed to the caller. Why keep it: a fresh multi-MB array is mapped page by page
        on first touch, one page fault per 4 KiB, on every call -- measured here, a forward +
        backward step took 9.3 ms with fresh arrays and 3.9 ms without the faults. Regions the
        code never writes (the zero border of a padded image, the column of ones) keep their
        initial values for free.
        """
        buf = self._work.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._work[name] = np.full(shape, fill, dtype)
        return buf

    def pads(self, H: int, W: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) zeros added to an (H, W) image."""
        kh, kw = self.params["W"].shape[:2]
        if self.padding == "valid":
            return (0, 0), (0, 0)
        return same_padding(H, kh, self.stride[0]), same_padding(W, kw, self.stride[1])

    def _output(self, x: Array) -> Array:
        W = self.params["W"]
        kh, kw, C_in, C_out = W.shape
        if x.ndim != 4 or x.shape[3] != C_in:
            raise ValueError(
                f"Conv2D input: expected (N, H, W, {C_in}) in NHWC, got {x.shape}"
                + (" -- looks like NCHW" if x.ndim == 4 and x.shape[1] == C_in else "")
            )
        if x.dtype != W.dtype:
            raise ValueError(f"Conv2D input: dtype {x.dtype} differs from W's dtype {W.dtype}")
        N, H, W_in, _ = x.shape
        Ho = output_size(H, kh, self.stride[0], self.padding)
        Wo = output_size(W_in, kw, self.stride[1], self.padding)

        (top, bottom), (left, right) = pad_h, pad_w = self.pads(H, W_in)
        if pad_h == pad_w == (0, 0):
            xp = x
        else:  # zero border (written once, when the workspace is created), x in the middle
            xp = self._workspace("xp", (N, top + H + bottom, left + W_in + right, C_in), x.dtype)
            xp[:, top : top + H, left : left + W_in] = x
        # im2col: one copy of the (N, Ho, Wo, kh, kw, C_in) window view into a matrix whose
        # column order (i, j, c) matches W.reshape(kh*kw*C_in, C_out); then, with a bias, one
        # more column that holds 1 (written once, when the workspace is created)
        K = kh * kw * C_in
        has_bias = "b" in self.params
        cols = self._workspace("cols", (N * Ho * Wo, K + has_bias), x.dtype, fill=1)
        cols[:, :K].reshape(N, Ho, Wo, kh, kw, C_in)[...] = _windows(xp, (kh, kw), self.stride)

        W_rows = W.reshape(K, C_out)
        if has_bias:  # [W; b]: the bias is the weight of the constant-1 column
            W_rows = np.concatenate([W_rows, self.params["b"][None, :]])
        y = cols @ W_rows  # (N*Ho*Wo, C_out)
        self._cols = cols  # for dW (and db)
        self._grid = (xp.shape, pad_h, pad_w, Ho, Wo)  # for col2im
        return y.reshape(N, Ho, Wo, C_out)

    def _backward(self, dY: Array) -> Array:
        W = self.params["W"]
        kh, kw, C_in, C_out = W.shape
        sh, sw = self.stride
        (N, Hp, Wp, _), (top, _), (left, _), Ho, Wo = self._grid
        H, W_in = self.inputs[0].shape[1:3]
        dY2 = dY.reshape(N * Ho * Wo, C_out)

        # parameter gradients: one GEMM; with a bias, its last row (from the column of ones)
        # is db = sum of dY over n, h, w
        dW_rows = self._cols.T @ dY2  # (K [+ 1], C_out)
        K = kh * kw * C_in
        self.grads["W"] = dW_rows[:K].reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = dW_rows[K]

        # input gradient. Put dY[n, h, w] at its window's top-left corner (h*sh, w*sw) on the
        # padded grid (zeros elsewhere) and flatten the grid to L = N*Hp*Wp positions p. Then
        # window position p, kernel offset (i, j) touches input position p + i*Wp + j, so
        #   dxp[p + i*Wp + j, c] += (dY_grid @ W^T)[p, (i, j, c)]   for each (i, j):
        # kh*kw shifted adds of whole contiguous arrays. (With stride > 1 most grid rows are
        # zero; the GEMM then does sh*sw times the necessary work, still cheaper than
        # strided adds.)
        L = N * Hp * Wp
        dY_grid = self._workspace("dY_grid", (N, Hp, Wp, C_out), dY.dtype)  # zero off-corner
        dY_grid[:, : sh * Ho : sh, : sw * Wo : sw] = dY
        # dcols^T = W @ dY_grid^T: offset-major (kh, kw, C_in, L), so each add below is
        # contiguous along p. (dY @ W^T in (L, kh*kw*C_in) layout would leave only C_in
        # contiguous numbers per row: measured 4-10x slower to add back.)
        dcols_T = self._workspace("dcols_T", (kh * kw * C_in, L), dY.dtype)
        np.matmul(W.reshape(kh * kw * C_in, C_out), dY_grid.reshape(L, C_out).T, out=dcols_T)
        dcols_T = dcols_T.reshape(kh, kw, C_in, L)
        dxp_flat = self._workspace("dxp_flat", (C_in, L + (kh - 1) * Wp + (kw - 1)), dY.dtype)
        dxp_flat.fill(0)
        for i in range(kh):
            for j in range(kw):
                shift = i * Wp + j
                dxp_flat[:, shift : shift + L] += dcols_T[i, j]
        # positions >= L only ever receive zeros (shifted from empty grid cells): drop them
        dxp = dxp_flat[:, :L].reshape(C_in, N, Hp, Wp).transpose(1, 2, 3, 0)
        return np.ascontiguousarray(dxp[:, top : top + H, left : left + W_in])


# -- MaxPool2D ---------------------------------------------------------------------------------
class MaxPool2D(Operation):
    """Max pooling over (ph, pw) windows, NHWC, padding "valid" (floor: rows/columns that do not
    fill a window are dropped, as in torch and Keras).

    Shapes
        x: (N, H, W, C)  ->  y: (N, Ho, Wo, C),  Ho = floor((H - ph)/sh) + 1

    Forward                                         Backward (given dY)
        win[n,h,w,k,c] = x[n, h*sh+i, w*sw+j, c]
            with k = i*pw + j (row-major)
        k*[n,h,w,c] = argmax_k win[n,h,w,k,c]         dx[n, h*sh+i, w*sw+j, c] += dY[n,h,w,c]
        y[n,h,w,c]  = win[n,h,w,k*,c]                      where (i, j) = divmod(k*, pw)

    Ties: ``argmax`` returns the FIRST maximum in row-major window order, so the whole gradient
    goes to that one element (torch and TensorFlow do the same; e.g. an all-zero window after a
    ReLU sends its gradient to its top-left element). Overlapping windows (stride < pool)
    accumulate: an element that is the maximum of two windows receives both gradients.
    """

    def __init__(
        self, pool: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.pool = _pair(pool, "MaxPool2D.pool")
        self.stride = self.pool if stride is None else _pair(stride, "MaxPool2D.stride")

    def _output(self, x: Array) -> Array:
        if x.ndim != 4:
            raise ValueError(f"MaxPool2D input: expected (N, H, W, C), got shape {x.shape}")
        (ph, pw), (sh, sw) = self.pool, self.stride
        N, H, W, C = x.shape
        Ho, Wo = output_size(H, ph, sh, "valid"), output_size(W, pw, sw, "valid")
        # one copy: (N, Ho, Wo, ph, pw, C) view -> (N, Ho, Wo, ph*pw, C), window index k = i*pw + j
        win = _windows(x, self.pool, self.stride).reshape(N, Ho, Wo, ph * pw, C)
        self._argmax = win.argmax(axis=3)  # (N, Ho, Wo, C), first maximum on ties
        return np.take_along_axis(win, self._argmax[:, :, :, None, :], axis=3)[:, :, :, 0, :]

    def _backward(self, dY: Array) -> Array:
        (ph, pw), (sh, sw) = self.pool, self.stride
        _, Ho, Wo, _ = dY.shape
        dx = np.zeros_like(self.inputs[0])
        # one whole-array add per window offset; "+=" accumulates overlapping windows
        for k in range(ph * pw):
            i, j = divmod(k, pw)
            dx[:, i : i + sh * Ho : sh, j : j + sw * Wo : sw] += dY * (self._argmax == k)
        return dx


# -- Flatten -----------------------------------------------------------------------------------
class Flatten(Operation):
    """(N, H, W, C) -> (N, H*W*C) in C order, i.e. feature index ``(h*W + w)*C + c`` (Keras'
    NHWC order); backward reshapes the gradient back.

    Forward: y = x.reshape(N, H*W*C)                Backward: dx = dY.reshape(N, H, W, C)

    Torch flattens NCHW tensors, feature index ``(c*H + h)*W + w``, so the same trained Dense
    that follows a Flatten needs its input rows permuted between the two frameworks; that
    permutation is declared with the parameter mappings, not here.
    """

    def _output(self, x: Array) -> Array:
        return x.reshape(x.shape[0], -1)

    def _backward(self, dY: Array) -> Array:
        return dY.reshape(self.inputs[0].shape)


# -- builders for the registered conv specs (see crossframe.models.conv) -----------------------
# Each takes the resolved options and a dtype and returns a Sequential whose parameters start
# as zeros of the right shapes; the engine loads the canonical weights into them. The sizes
# come from the one plan in crossframe.models.conv, so all three implementations agree on them.
def _conv(g, dtype) -> Conv2D:
    """A Conv2D of a ``ConvGeometry``: kernel (kh, kw, C_in, C_out), bias (C_out,) or none."""
    W = np.zeros((*g.kernel, g.channels, g.filters), dtype=dtype)
    b = np.zeros(g.filters, dtype=dtype) if g.bias else None
    return Conv2D(W, b, g.stride, g.padding)


def build_conv2d(opts, dtype):
    from crossframe.models.conv import conv2d_geometry  # the spec module imports this one
    from crossframe.scratch.model import Sequential

    return Sequential([("conv", _conv(conv2d_geometry(opts), dtype))])


def build_maxpool2d(opts, dtype):
    from crossframe.models.conv import pair
    from crossframe.scratch.model import Sequential

    return Sequential([("pool", MaxPool2D(pair(opts["pool"]), pair(opts["stride"])))])


def build_flatten(opts, dtype):
    from crossframe.scratch.model import Sequential

    return Sequential([("flatten", Flatten())])


def build_flatten_dense(opts, dtype):
    from crossframe.scratch.dense import Dense
    from crossframe.scratch.model import Sequential

    n, units = opts["height"] * opts["width"] * opts["channels"], opts["units"]
    b = np.zeros(units, dtype=dtype) if opts["bias"] else None
    return Sequential([("flatten", Flatten()), ("dense", Dense(np.zeros((n, units), dtype), b))])


def build_convnet(opts, dtype):
    """conv1 -> relu1 -> pool1 -> conv2 -> relu2 -> pool2 -> flatten -> dense (logits)."""
    from crossframe.models.conv import convnet_plan
    from crossframe.scratch.activations import ReLU
    from crossframe.scratch.dense import Dense
    from crossframe.scratch.model import Sequential

    plan = convnet_plan(opts)
    W = np.zeros((plan.flat_size, plan.units), dtype=dtype)
    return Sequential([
        ("conv1", _conv(plan.conv1, dtype)), ("relu1", ReLU()),
        ("pool1", MaxPool2D(plan.pool1.pool, plan.pool1.stride)),
        ("conv2", _conv(plan.conv2, dtype)), ("relu2", ReLU()),
        ("pool2", MaxPool2D(plan.pool2.pool, plan.pool2.stride)),
        ("flatten", Flatten()),
        ("dense", Dense(W, np.zeros(plan.units, dtype=dtype))),
    ], output_name="logits")
