"""Masking from scratch: mark the padded steps, zero them, and hand the mask on.

Shapes: N batch, T time steps, D features; x (N, T, D), mask m (N, T) bool (True at a real
step). Mirrors keras/src/layers/core/masking.py (Keras 3.15):

    m[n, t] = any_d(x[n, t, d] != mask_value)        y = x * m        dL/dx = G * m

The mask itself travels with the model (crossframe.scratch.model): ``compute_mask`` gives it to
the recurrent layers after, which keep their state at masked steps.
"""
from __future__ import annotations

from crossframe import layers as L

from .base import Layer


class Masking(Layer):
    declaration = L.Masking
    mask_value = 0.0

    def compute_mask(self, x):
        """m (N, T): True where some feature differs from mask_value."""
        return (x != self.mask_value).any(axis=-1)

    def forward(self, params, x):
        m = self.compute_mask(x)[..., None].astype(x.dtype)       # (N, T, 1)
        return x * m, m

    def backward(self, params, m, G):
        return {}, G * m
