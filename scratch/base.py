"""The protocol every scratch layer follows — the textbook ones, the fast ones, and a learner's.

A layer is a small class whose options (Keras' names: ``strides``, ``padding``, ...) are given to
its constructor and whose parameters are handed to every call, CS231n style:

    forward(params, x)          -> (y, cache)       cache: whatever backward needs
    backward(params, cache, dy) -> (grads, dx)      grads: {name: dL/d(param)}, dx = dL/dx

``params`` is ``{"W": array, "b": array}`` under the local names ``crossframe describe LAYER``
prints (``W``, ``b``; ``W_x``, ``W_h``, ``b`` for a recurrent layer). Backward uses what forward
cached and never recomputes it. A recurrent layer takes and returns its states as tuples:

    forward(params, x, h0[, c0])                     -> ((h_seq, h_last[, c_last]), cache)
    backward(params, cache, (dh_seq, dh_last[, dc_last])) -> (grads, (dx, dh0[, dc0]))

The bookkeeping is not the layer's job: the model runner (``crossframe.scratch.model``) checks
on every call that ``y`` has the shape the declaration promised, that each gradient has the shape
and dtype of what it is the gradient of, and names the layer and this file when one does not.

Shape legend (per module docstrings): N batch, F features, U units, H/W height and width,
C channels, T time steps, D inputs per step, H hidden units.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

Array = np.ndarray


class Layer:
    """A scratch layer: options on construction, parameters on every call.

    Subclasses set ``declaration`` (the crossframe.layers object they implement) and write
    ``forward`` and ``backward``; the constructor keeps every option as an attribute
    (``self.strides``), so a layer reads its options by name."""

    declaration: ClassVar[Any] = None

    def __init__(self, **options) -> None:
        for key, value in options.items():
            setattr(self, key, value)

    def forward(self, params: dict[str, Array], x: Array, *states: Array):
        raise NotImplementedError

    def backward(self, params: dict[str, Array], cache, dy):
        raise NotImplementedError
