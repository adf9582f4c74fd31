"""A scratch model: named layers in order, one flat dict of canonical parameter names.

The model protocol every scratch model follows (so the engine can run any of them):
    params   {canonical name: array}       e.g. "dense1.W"
    grads    {canonical name: array}       filled by backward
    load(weights)                          set every parameter (names and shapes checked)
    forward(**inputs) -> {output: array}
    backward({output: dL/d(output)}) -> {input: dL/d(input)}
"""
from __future__ import annotations

import numpy as np

from .base import Operation, ParamOperation


class Model:
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def load(self, weights: dict[str, np.ndarray]) -> None:
        assert set(weights) == set(self.params), (
            f"weights {sorted(weights)} do not match parameters {sorted(self.params)}")
        for name, value in weights.items():
            assert value.shape == self.params[name].shape, f"{name}: {value.shape}"
            self._set(name, value)

    def _set(self, name: str, value: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class Sequential(Model):
    """Layers applied in order; backward runs them in visibly reversed order.

    ``layers`` is a list of (name, op); a ParamOperation's local parameter "W" of layer
    "dense1" is the canonical "dense1.W".
    """

    def __init__(self, layers: list[tuple[str, Operation]], input_name: str = "x",
                 output_name: str = "output") -> None:
        self.layers = layers
        self.input_name, self.output_name = input_name, output_name
        self.grads = {}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{name}.{k}": v for name, op in self.layers
                if isinstance(op, ParamOperation) for k, v in op.params.items()}

    def _set(self, name, value):
        layer, _, key = name.rpartition(".")
        dict(self.layers)[layer].params[key] = value

    def forward(self, **inputs):
        h = inputs[self.input_name]
        for _, op in self.layers:
            h = op.forward(h)
        return {self.output_name: h}

    def backward(self, grad_outputs):
        g = grad_outputs[self.output_name]
        for _, op in reversed(self.layers):
            g = op.backward(g)
        self.grads = {f"{name}.{k}": v for name, op in self.layers
                      if isinstance(op, ParamOperation) for k, v in op.grads.items()}
        return {self.input_name: g}
