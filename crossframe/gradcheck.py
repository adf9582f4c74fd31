"""Central finite differences of scratch's loss: checks a hand-written backward against the
definition of the derivative, independently of any framework.

    dL/dw_i ~ (L(w + h e_i) - L(w - h e_i)) / (2h)

In float64 with h = 1e-6 the truncation error is O(h^2) ~ 1e-12 and the rounding error
O(eps * |L| / h) ~ 1e-10, so the estimate is good to ~1e-7 relative (FINITE_DIFFERENCE in
crossframe.tolerances). A seeded subset of coordinates per tensor keeps it fast on big tensors.
"""
from __future__ import annotations

import numpy as np

from .data import rng_for
from . import frameworks
from .runner import Case


def central_difference(loss, array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """(loss() with array[i] + h  -  loss() with array[i] - h) / 2h for every entry i.

    ``array`` is changed in place and restored entry by entry; ``loss`` reads it. For checking a
    single op whose inputs and parameters are plain arrays.
    """
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        plus = loss()
        array[index] = saved - h
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


def _scratch_loss(case: Case, model, weights, inputs) -> float:
    b = case.batch
    _, value, _, _, _ = frameworks.engine("scratch").run_step(
        model, weights, inputs, b.target, b.upstream, case.model.loss, case.dtype, case.mode,
        backward=False)
    return float(value)


def numerical_gradients(case: Case, coords_per_tensor: int = 24, h: float = 1e-6,
                        framework: str = "scratch"):
    """{tensor: (analytic values, numerical values)} at a seeded subset of coordinates.

    Tensors are every trainable parameter and every input of the case; ``case.dtype`` must be
    float64. ``framework`` "scratch" (the textbook layers) or "scratch-fast"."""
    assert case.dtype == "float64", "finite differences need float64"
    model = frameworks.build(framework, case.model, case.dtype)
    b = case.batch
    weights = {k: v.copy() for k, v in case.weights.items()}
    inputs = {k: v.copy() for k, v in b.inputs.items()}
    _, _, grads, input_grads, _ = frameworks.engine("scratch").run_step(
        model, weights, inputs, b.target, b.upstream, case.model.loss, case.dtype, case.mode)
    analytic = {**grads, **input_grads}
    out = {}
    trainable = {p.name for p in case.model.params("trainable")}
    floats = {k: v for k, v in inputs.items() if v.dtype.kind == "f"}   # not integer ids
    for group in ({k: v for k, v in weights.items() if k in trainable}, floats):
        for name, arr in group.items():
            flat = arr.reshape(-1)
            rng = rng_for(case.seed, "fd", name)
            idx = rng.choice(flat.size, size=min(coords_per_tensor, flat.size), replace=False)
            numeric = np.empty(len(idx))
            for j, i in enumerate(idx):
                keep = flat[i]
                step = h * max(1.0, abs(keep))
                flat[i] = keep + step
                up = _scratch_loss(case, model, weights, inputs)
                flat[i] = keep - step
                down = _scratch_loss(case, model, weights, inputs)
                flat[i] = keep
                numeric[j] = (up - down) / (2 * step)
            out[name] = (analytic[name].reshape(-1)[idx], numeric)
    return out
