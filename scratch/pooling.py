"""The pooling layers from scratch, as a textbook writes them: MaxPool2D, AveragePooling2D,
MaxPooling1D, AveragePooling1D, and the global pools GlobalMax/GlobalAveragePooling 1D and 2D.

Shape legend
    N       batch size
    H, W    input height and width;  Ho, Wo  output height and width
    L       input length (a 1-D map, or T steps of a sequence);  Lo  output length
    C       channels (a sequence's D features)
    ph, pw  pool window height and width;  sh, sw  strides along height and width
    k, s    a 1-D window and stride

Canonical layout, Keras': images NHWC ``(N, H, W, C)``, 1-D maps ``(N, L, C)``. A pool is a
loop over the window's ph * pw offsets: offset (di, dj) sees every output position's input
pixel through one strided view of the padded input ``xp``,
``xp[:, di : di + sh*Ho : sh, dj : dj + sw*Wo : sw]`` of shape (N, Ho, Wo, C).

padding="same" pads by Keras' rule (``crossframe.geometry.pads``: the odd pad after, at the
bottom/right): with -inf for a max (a pad never wins), with zeros for an average, which then
divides by the number of REAL elements in each window (``count``), as TensorFlow does.

A 1-D pool is the 2-D one on ``x[:, :, None, :]`` (N, L, 1, C) with a (k, 1) window: the
length axis plays the height, never the channels (TensorFlow's own 1-D pools do the same).
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L
from crossframe.geometry import output_size, pads

from .base import Layer


def pool_geometry(H: int, W: int, window, strides, padding: str):
    """((Ho, Wo), ((top, bottom), (left, right))) by Keras' rule."""
    (ph, pw), (sh, sw) = window, strides
    Ho, Wo = output_size(H, ph, sh, padding), output_size(W, pw, sw, padding)
    return (Ho, Wo), (pads(H, ph, sh, padding), pads(W, pw, sw, padding))


def pad_image(x, border, value):
    """x (N, H, W, C) with ``border`` ((top, bottom), (left, right)) rows/columns of ``value``."""
    return np.pad(x, ((0, 0), *border, (0, 0)), constant_values=value)


def real_count(H: int, W: int, window, strides, border, out) -> np.ndarray:
    """count (Ho, Wo): how many REAL (not padded) elements each window holds, the divisor of
    a 'same' average. Per axis, window i covers padded rows [i*s, i*s + k) and the real ones
    are [top, top + H); the count is the product of the two axes' counts."""
    (ph, pw), (sh, sw), ((top, _), (left, _)), (Ho, Wo) = window, strides, border, out
    rows = np.arange(Ho) * sh - top                 # first input row of each window
    cols = np.arange(Wo) * sw - left
    in_rows = np.minimum(rows + ph, H) - np.maximum(rows, 0)
    in_cols = np.minimum(cols + pw, W) - np.maximum(cols, 0)
    return np.outer(in_rows, in_cols)


class Window2D(Layer):
    """What the 2-D pools share: their options (Keras' names) and the window geometry."""

    pool_size = (2, 2)
    strides = None
    padding = "valid"

    def geometry(self, H: int, W: int):
        """((Ho, Wo), ((top, bottom), (left, right))): Keras' rule, the odd pad after."""
        return pool_geometry(H, W, self.pool_size, self.strides or self.pool_size, self.padding)


class MaxPool2D(Window2D):
    """Max pooling over (ph, pw) windows, NHWC.

        x (N, H, W, C)  ->  y (N, Ho, Wo, C)
        'valid': Ho = floor((H - ph) / sh) + 1 (what does not fill a window is dropped, as
                 torch's ceil_mode=False);   'same': Ho = ceil(H / sh), x padded with -inf

    Forward:   y[n, i, j, c] = max over the window of xp[n, i*sh + di, j*sw + dj, c]
    Backward:  the whole G[n, i, j, c] goes to that window's FIRST maximum in row-major
               window order (ties are common after a ReLU), and adds up where windows overlap.
    torch and TensorFlow break ties the same way (measured in 2-D, 1-D and with 'same')."""

    declaration = L.MaxPool2D

    def forward(self, params, x):
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        N, H, W, C = x.shape
        (Ho, Wo), border = self.geometry(H, W)
        xp = pad_image(x, border, -np.inf)
        best = np.full((N, Ho, Wo, C), -np.inf, dtype=x.dtype)
        where = np.zeros((N, Ho, Wo, C), dtype=np.int64)      # window offset k = di*pw + dj
        for k in range(ph * pw):                              # row-major: the first max wins
            di, dj = divmod(k, pw)
            tap = xp[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]
            better = tap > best                               # strictly: ties keep the first
            best = np.where(better, tap, best)
            where = np.where(better, k, where)
        return best, (x.shape, where)

    def backward(self, params, cache, G):
        shape, where = cache
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        N, H, W, C = shape
        (Ho, Wo), ((top, bottom), (left, right)) = self.geometry(H, W)
        dxp = np.zeros((N, top + H + bottom, left + W + right, C), dtype=G.dtype)
        for k in range(ph * pw):
            di, dj = divmod(k, pw)
            dxp[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :] += G * (where == k)
        return {}, dxp[:, top:top + H, left:left + W, :].copy()   # a pad is never a maximum


class AveragePooling2D(Window2D):
    """Average pooling over (ph, pw) windows, NHWC.

        x (N, H, W, C)  ->  y (N, Ho, Wo, C)      (sizes as MaxPool2D; 'same' pads zeros)

    Forward:   y[n, i, j, c] = (1 / count[i, j]) * sum over the window of
                               xp[n, i*sh + di, j*sw + dj, c]
               count[i, j]: the REAL elements in window (i, j), ph * pw away from a border
               (TensorFlow's 'same'; torch's count_include_pad=True would use ph * pw always)
    Backward:  every element of a window gets G[n, i, j, c] / count[i, j], added up where
               windows overlap; the share of a pad is dropped."""

    declaration = L.AveragePooling2D

    def forward(self, params, x):
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        N, H, W, C = x.shape
        (Ho, Wo), border = self.geometry(H, W)
        count = real_count(H, W, self.pool_size, (sh, sw), border, (Ho, Wo))
        xp = pad_image(x, border, 0)
        total = np.zeros((N, Ho, Wo, C), dtype=x.dtype)
        for di in range(ph):
            for dj in range(pw):
                total += xp[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]
        count = count[None, :, :, None].astype(x.dtype)
        return total / count, (x.shape, count)

    def backward(self, params, cache, G):
        shape, count = cache
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        N, H, W, C = shape
        _, Ho, Wo, _ = G.shape
        _, ((top, bottom), (left, right)) = self.geometry(H, W)
        dxp = np.zeros((N, top + H + bottom, left + W + right, C), dtype=G.dtype)
        share = G / count
        for di in range(ph):
            for dj in range(pw):
                dxp[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :] += share
        return {}, dxp[:, top:top + H, left:left + W, :].copy()


class _As2D:
    """A 1-D pool as the 2-D one on (N, L, 1, C) with a (k, 1) window and (s, 1) strides."""

    def _as_2d(self):
        k = self.pool_size
        s = self.strides or k
        return dict(pool_size=(k, 1), strides=(s, 1), padding=self.padding)

    def forward(self, params, x):
        y, cache = self.pool2d(**self._as_2d()).forward(params, x[:, :, None, :])
        return y[:, :, 0, :], cache

    def backward(self, params, cache, G):
        grads, dx = self.pool2d(**self._as_2d()).backward(params, cache, G[:, :, None, :])
        return grads, dx[:, :, 0, :]


class MaxPooling1D(_As2D, Layer):
    """Max pooling along the length axis of a 1-D map (or a sequence), channels_last.

        x (N, L, C)  ->  y (N, Lo, C);   'valid': Lo = floor((L - k) / s) + 1, 'same': ceil(L / s)

    Forward:   y[n, i, c] = max_{d < k} xp[n, i*s + d, c]   (xp: -inf padded for 'same')
    Backward:  G[n, i, c] to the window's FIRST maximum, added up where windows overlap.
    Written as MaxPool2D on x[:, :, None, :] with a (k, 1) window."""

    declaration = L.MaxPooling1D
    pool2d = MaxPool2D
    pool_size = 2
    strides = None
    padding = "valid"


class AveragePooling1D(_As2D, Layer):
    """Average pooling along the length axis, channels_last.

        x (N, L, C)  ->  y (N, Lo, C)

    Forward:   y[n, i, c] = (1 / count[i]) * sum_{d < k} xp[n, i*s + d, c]
               count[i]: the real (not padded) elements of window i
    Backward:  dL/dx[n, i*s + d, c] += G[n, i, c] / count[i].
    Written as AveragePooling2D on x[:, :, None, :] with a (k, 1) window."""

    declaration = L.AveragePooling1D
    pool2d = AveragePooling2D
    pool_size = 2
    strides = None
    padding = "valid"


# --- global pools ----------------------------------------------------------------------------
def positions(x):
    """(N, H, W, C) or (N, L, C) -> (N, P, C): every spatial position on one axis."""
    return x.reshape(x.shape[0], -1, x.shape[-1])


class GlobalMaxPooling2D(Layer):
    """The maximum over all positions of each channel.

        x (N, H, W, C)  ->  y (N, C)          (GlobalMaxPooling1D: x (N, L, C))

    Forward:   y[n, c] = max_p x[n, p, c]           p runs over the P = H*W positions
    Backward:  ties = "split" (TensorFlow's reduce_max, torch's amax):
                   dL/dx[n, p, c] = G[n, c] / m[n, c] at each of the m[n, c] maxima, else 0
               ties = "first" (torch's max(dim), AdaptiveMaxPool2d(1), max_pool2d over the
               whole map): all of G[n, c] to the FIRST maximum in row-major order.
    The declared layer is "split" (Keras'); ``GlobalMaxPoolingFirstMax`` is the other rule,
    kept for the declared difference and the tests that show it."""

    declaration = L.GlobalMaxPooling2D
    ties = "split"

    def forward(self, params, x):
        xs = positions(x)                                   # (N, P, C)
        y = xs.max(axis=1)                                  # (N, C)
        return y, (x.shape, xs == y[:, None, :])

    def backward(self, params, cache, G):
        shape, is_max = cache                               # is_max (N, P, C)
        if self.ties == "split":
            dx = is_max * (G / is_max.sum(axis=1))[:, None, :]
        else:                                               # the first maximum only
            first = np.argmax(is_max, axis=1)               # (N, C): argmax gives the first
            dx = np.zeros(is_max.shape, dtype=G.dtype)
            np.put_along_axis(dx, first[:, None, :], G[:, None, :], axis=1)
        return {}, dx.astype(G.dtype, copy=False).reshape(shape)


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    """GlobalMaxPooling2D over the L positions of x (N, L, C): the same code."""

    declaration = L.GlobalMaxPooling1D


class GlobalMaxPoolingFirstMax(GlobalMaxPooling2D):
    """The other tie rule (torch's AdaptiveMaxPool2d(1) / max(dim)): not crossframe's
    GlobalMaxPooling (no declaration); the tests use it to show the declared difference."""

    declaration = None
    ties = "first"


class GlobalAveragePooling2D(Layer):
    """The mean over all positions of each channel.

        x (N, H, W, C)  ->  y (N, C)          (GlobalAveragePooling1D: x (N, L, C))

    Forward:   y[n, c] = (1 / P) sum_p x[n, p, c]        P = H*W positions
    Backward:  dL/dx[n, p, c] = G[n, c] / P"""

    declaration = L.GlobalAveragePooling2D

    def forward(self, params, x):
        xs = positions(x)
        return xs.sum(axis=1) / xs.shape[1], x.shape

    def backward(self, params, shape, G):
        P = int(np.prod(shape[1:-1]))
        dx = np.broadcast_to((G / P)[:, None, :], (shape[0], P, shape[-1]))
        return {}, dx.reshape(shape).copy()


class GlobalAveragePooling1D(GlobalAveragePooling2D):
    """GlobalAveragePooling2D over the L positions of x (N, L, C): the same code."""

    declaration = L.GlobalAveragePooling1D
