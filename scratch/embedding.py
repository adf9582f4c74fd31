"""The embedding table: integer ids -> rows.

Shapes: N batch, T ids per sample, V vocabulary, E vector size. x (N, T) integer ids in
[0, V), embeddings (V, E), y (N, T, E). Keras' keras.layers.Embedding and torch's
nn.Embedding hold the same (V, E) table.
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L

from .base import Layer


class Embedding(Layer):
    """y[n, t] = embeddings[x[n, t]].

    Backward, with G = dL/dy (N, T, E):
        dL/dembeddings[v] = sum of G[n, t] over every (n, t) with x[n, t] = v     (V, E)
    np.add.at adds every occurrence: a plain ``d[x] += G`` would keep only the last one
    when an id repeats. No dL/dx: the ids are integers (dx is None)."""

    declaration = L.Embedding
    mask_zero = False

    def compute_mask(self, x):
        """With mask_zero, m = (x != 0) (N, T): id 0 is padding (Keras' mask_zero=True);
        the table lookup itself is unchanged."""
        return (x != 0) if self.mask_zero else None

    def forward(self, params, x):
        return params["embeddings"][x], x

    def backward(self, params, x, G):
        d = np.zeros_like(params["embeddings"])
        np.add.at(d, x, G)
        # what Keras' adaptive optimizers square: each occurrence's slice, then the sum
        # (crossframe/scratch/optimizers.py, Optimizer.square)
        self.squares = {"embeddings": np.zeros_like(d)}
        np.add.at(self.squares["embeddings"], x, G * G)
        return {"embeddings": d}, None
