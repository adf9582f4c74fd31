"""The two base classes every scratch layer builds on.

An ``Operation`` is one differentiable step. Its ``forward`` caches the inputs and the output;
its ``backward`` receives the gradient of the loss with respect to that output and returns the
gradient with respect to each input, using only what forward cached (never recomputing it).
The base class does the bookkeeping and the checks, so a subclass writes only the maths:

    _output(*inputs)      -> output                 (forward)
    _backward(grad_out)   -> grad of each input     (backward; sets self.grads for parameters)

Checks made on every call, so a wrong layer fails loudly where it is wrong:
- the upstream gradient has the shape and dtype of the output it belongs to;
- each input gradient has the shape and dtype of its input;
- each parameter gradient has the shape and dtype of its parameter.
A float32 layer therefore cannot silently compute (or return) float64, and vice versa.

Inputs and outputs may be a single array or a tuple of arrays (a recurrent layer takes
``(x, h0)`` and returns ``(h_seq, h_last)``); gradients mirror the same structure.
"""
from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray


def _check_like(kind: str, where: str, got: Any, want: Any) -> None:
    """Assert that ``got`` mirrors ``want``: same tuple structure, shapes and dtypes."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), (
            f"{where}: {kind} should be a tuple of {len(want)} arrays, got {type(got).__name__}"
        )
        for i, (g, w) in enumerate(zip(got, want)):
            _check_like(f"{kind}[{i}]", where, g, w)
        return
    if want is None:  # an optional input (e.g. no initial state) has no gradient
        assert got is None, f"{where}: {kind} should be None for an absent input"
        return
    assert isinstance(got, np.ndarray), f"{where}: {kind} is {type(got).__name__}, not ndarray"
    assert got.shape == want.shape, f"{where}: {kind} has shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"{where}: {kind} has dtype {got.dtype}, expected {want.dtype}"


class Operation:
    """One differentiable step: forward caches, backward checks shapes and dtypes."""

    def __init__(self) -> None:
        self.inputs: tuple | None = None
        self.output: Any = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *inputs: Array) -> Any:
        """Run the op and cache what backward needs."""
        self.inputs = inputs
        self.output = self._output(*inputs)
        return self.output

    def backward(self, grad_out: Any) -> Any:
        """Given dL/d(output), return dL/d(input) (a tuple when forward took several inputs)."""
        assert self.inputs is not None, f"{self.name}: backward called before forward"
        _check_like("upstream gradient", self.name, grad_out, self.output)
        grad_in = self._backward(grad_out)
        want = self.inputs[0] if len(self.inputs) == 1 else tuple(self.inputs)
        _check_like("input gradient", self.name, grad_in, want)
        return grad_in

    # -- to be written by each subclass -------------------------------------------------------
    def _output(self, *inputs: Array) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward(self, grad_out: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class ParamOperation(Operation):
    """An operation with parameters.

    ``params`` maps a local parameter name (``"W"``, ``"b"``) to its array; ``_backward`` must
    fill ``grads`` with the same names. The base class checks that every parameter received a
    gradient of its own shape and dtype.
    """

    def __init__(self, params: dict[str, Array]) -> None:
        super().__init__()
        self.params: dict[str, Array] = params
        self.grads: dict[str, Array] = {}

    def backward(self, grad_out: Any) -> Any:
        self.grads = {}
        grad_in = super().backward(grad_out)
        assert set(self.grads) == set(self.params), (
            f"{self.name}: gradients for {sorted(self.grads)}, parameters {sorted(self.params)}"
        )
        for key, p in self.params.items():
            _check_like(f"gradient of {key}", self.name, self.grads[key], p)
        return grad_in
