"""The fully connected layer.

Shapes: N batch, F in features, U out units.  x: (N, F), W: (F, U), b: (U,), y: (N, U).
On a sequence (N, T, F) or an image (N, H, W, F) the same W acts on the last axis.
The canonical layout is Keras' (``kernel (in, out)``, ``y = x W + b``); PyTorch stores the
transpose (``weight (out, in)``) — the mapping declares it (crossframe/layers/dense.py).
"""
from __future__ import annotations

from crossframe import layers as L

from .base import Layer


class Dense(Layer):
    """z = x W + b,  y = f(z)  (f = ``activation``; "linear": y = z).

    Backward, with G = dL/dy (N, U): first through the activation,
        Gz = G * f'(z)         (N, U)   (softmax: Gz = y (G - sum(G y)), its Jacobian product)
    then through the affine map, as for a linear Dense with Gz in place of G:
        dL/dx = Gz W^T         (N, F)
        dL/dW = x^T Gz         (F, U)   — sums over the batch inside the product
        dL/db = sum_n Gz[n]    (U,)     — every sample adds to the bias gradient
    On more axes, x and G are first seen as (rows, F) and (rows, U): the sums run over the
    batch and every step or pixel. f and f' come from the table (crossframe/activations.py,
    formulas in scratch/activations.py); a linear Dense caches only x."""

    declaration = L.Dense
    activation = "linear"

    def _act(self):
        from crossframe import activations as A

        spec = A.get(self.activation)
        return None if spec.name == "linear" else spec

    def forward(self, params, x):
        z = x @ params["W"]
        if "b" in params:
            z = z + params["b"]
        act = self._act()
        if act is None:
            return z, x
        y = act.forward()(z)
        return y, (x, z, y)

    def backward(self, params, cache, G):
        act = self._act()
        if act is None:
            x = cache
        else:
            x, z, y = cache
            G = act.vjp()(z, y, G)        # dL/dz, then the affine map as usual
        W = params["W"]
        x2, G2 = x.reshape(-1, W.shape[0]), G.reshape(-1, W.shape[1])
        grads = {"W": x2.T @ G2}
        if "b" in params:
            grads["b"] = G2.sum(axis=0)
        return grads, G @ W.T
