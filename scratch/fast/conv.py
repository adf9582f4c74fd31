"""The fast twin of the scratch Conv2D: im2col, one GEMM, work arrays kept between calls.

The textbook layer (crossframe/scratch/conv.py, a loop over kernel taps) is what a learner reads
and what the parity matrix checks; this one computes the same numbers faster and is what
training, the report and ``crossframe bench`` run (the test ``test_fast_equals_textbook`` pins
them equal in float64). MaxPool2D and Flatten have no fast twin: the textbook ones are fast.

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
for *all* the padding to sit at the bottom/right (``crossframe.geometry``).

How the arithmetic is organised (NumPy is fast only on big whole-array operations):
- forward is im2col + one matrix product: every kh x kw x C_in window becomes one row of a
  "columns" matrix, and the convolution is ``cols @ W``;
- backward is two matrix products: ``dW = cols^T @ dY`` (using the columns forward cached) and
  the column gradients ``dY @ W^T``, which are then added back onto the image ("col2im") with
  one whole-array add per kernel offset (at most kh * kw of them) -- no loop over pixels or over
  the batch, and no ``np.add.at``.
Every temporary is created in the input's dtype, so float32 stays float32 throughout.

Dilation and groups are not tuned here: a Conv2D with ``dilation_rate`` != 1 or ``groups`` > 1
hands the whole pass to the textbook layer (``Conv2D.textbook``), which computes them tap by
tap and group by group; Conv1D has no fast twin (its textbook layer runs in scratch-fast).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from crossframe import layers as L
from crossframe.geometry import output_size, same_padding

from .. import conv as textbook
from ..base import Array, Layer


def _windows(x: Array, window: tuple[int, int], stride: tuple[int, int]) -> Array:
    """Every (kh, kw) window of x at the given stride, as a *view* (no copy).

    x: (N, H, W, C)  ->  (N, Ho, Wo, kh, kw, C)  with Ho = floor((H - kh)/sh) + 1.
    """
    (sh, sw) = stride
    view = sliding_window_view(x, window, axis=(1, 2))  # (N, H-kh+1, W-kw+1, C, kh, kw)
    return view[:, ::sh, ::sw].transpose(0, 1, 2, 4, 5, 3)


class TextbookCache:
    """A forward pass the textbook layer ran (dilation or groups): its layer and its cache."""

    def __init__(self, layer, cache):
        self.layer, self.cache = layer, cache


# -- Conv2D ------------------------------------------------------------------------------------
class Conv2D(Layer):
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

    forward(params, x) -> (y, cache);  backward(params, cache, dY) -> (grads, dx), the scratch
    protocol (crossframe.scratch.base); options ``strides`` and ``padding``.
    """

    declaration = L.Conv2D
    strides = (1, 1)
    padding = "valid"
    dilation_rate = (1, 1)
    groups = 1

    def textbook(self):
        """The textbook layer with these options, or None where this kernel applies (no
        dilation, one group)."""
        if tuple(self.dilation_rate) == (1, 1) and self.groups == 1:
            return None
        return textbook.Conv2D(strides=self.strides, padding=self.padding,
                               dilation_rate=self.dilation_rate, groups=self.groups)

    def _workspace(self, name: str, shape: tuple[int, ...], dtype: np.dtype, fill=0) -> Array:
        """A private work array, filled with ``fill`` when created, kept from call to call.

        Never handed to the caller. Why keep it: a fresh multi-MB array is mapped page by page
        on first touch, one page fault per 4 KiB, on every call -- measured here, a forward +
        backward step took 9.3 ms with fresh arrays and 3.9 ms without the faults. Regions the
        code never writes (the zero border of a padded image, the column of ones) keep their
        initial values for free.
        """
        work = self.__dict__.setdefault("_work", {})
        buf = work.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = work[name] = np.full(shape, fill, dtype)
        return buf

    def pads(self, kernel, H: int, W: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) zeros added to an (H, W) image."""
        kh, kw = kernel
        if self.padding == "valid":
            return (0, 0), (0, 0)
        return same_padding(H, kh, self.strides[0]), same_padding(W, kw, self.strides[1])

    def forward(self, params, x: Array):
        slow = self.textbook()
        if slow is not None:
            y, cache = slow.forward(params, x)
            return y, TextbookCache(slow, cache)
        W = params["W"]
        kh, kw, C_in, C_out = W.shape
        if x.ndim != 4 or x.shape[3] != C_in:
            raise ValueError(
                f"Conv2D input: expected (N, H, W, {C_in}) in NHWC, got {x.shape}"
                + (" -- looks like NCHW" if x.ndim == 4 and x.shape[1] == C_in else "")
            )
        if x.dtype != W.dtype:
            raise ValueError(f"Conv2D input: dtype {x.dtype} differs from W's dtype {W.dtype}")
        N, H, W_in, _ = x.shape
        Ho = output_size(H, kh, self.strides[0], self.padding)
        Wo = output_size(W_in, kw, self.strides[1], self.padding)

        (top, bottom), (left, right) = pad_h, pad_w = self.pads((kh, kw), H, W_in)
        if pad_h == pad_w == (0, 0):
            xp = x
        else:  # zero border (written once, when the workspace is created), x in the middle
            xp = self._workspace("xp", (N, top + H + bottom, left + W_in + right, C_in), x.dtype)
            xp[:, top : top + H, left : left + W_in] = x
        # im2col: one copy of the (N, Ho, Wo, kh, kw, C_in) window view into a matrix whose
        # column order (i, j, c) matches W.reshape(kh*kw*C_in, C_out); then, with a bias, one
        # more column that holds 1 (written once, when the workspace is created)
        K = kh * kw * C_in
        has_bias = "b" in params
        cols = self._workspace("cols", (N * Ho * Wo, K + has_bias), x.dtype, fill=1)
        cols[:, :K].reshape(N, Ho, Wo, kh, kw, C_in)[...] = _windows(xp, (kh, kw), self.strides)

        W_rows = W.reshape(K, C_out)
        if has_bias:  # [W; b]: the bias is the weight of the constant-1 column
            W_rows = np.concatenate([W_rows, params["b"][None, :]])
        y = cols @ W_rows  # (N*Ho*Wo, C_out)
        # the columns for dW (and db), the grid for col2im
        return y.reshape(N, Ho, Wo, C_out), (cols, (xp.shape, pad_h, pad_w, Ho, Wo), (H, W_in))

    def backward(self, params, cache, dY: Array):
        if isinstance(cache, TextbookCache):
            return cache.layer.backward(params, cache.cache, dY)
        cols, grid, (H, W_in) = cache
        W = params["W"]
        kh, kw, C_in, C_out = W.shape
        sh, sw = self.strides
        (N, Hp, Wp, _), (top, _), (left, _), Ho, Wo = grid
        dY2 = dY.reshape(N * Ho * Wo, C_out)

        # parameter gradients: one GEMM; with a bias, its last row (from the column of ones)
        # is db = sum of dY over n, h, w
        dW_rows = cols.T @ dY2  # (K [+ 1], C_out)
        K = kh * kw * C_in
        grads = {"W": dW_rows[:K].reshape(W.shape)}
        if "b" in params:
            grads["b"] = dW_rows[K]

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
        return grads, np.ascontiguousarray(dxp[:, top : top + H, left : left + W_in])
