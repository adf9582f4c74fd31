"""Dense models in PyTorch: ``linear`` and ``mlp`` (and the lone ``dense`` layer).

``nn.Linear`` stores ``weight`` as (out, in) and computes ``x @ weight.T + bias``; the
canonical kernel is (in, out), so the mapping declares a transpose (crossframe.models.dense).
"""
from __future__ import annotations

from torch import nn

from .engine import DTYPES

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class MLP(nn.Module):
    """dense1 -> act -> dense2 -> act -> ... -> denseK (logits); parameters named
    ``dense{i}.weight`` / ``dense{i}.bias``."""

    def __init__(self, sizes: list[int], activation: str, output: str = "logits",
                 bias: bool = True):
        super().__init__()
        self.output = output
        self.n = len(sizes) - 1
        for i in range(self.n):
            self.add_module(f"dense{i + 1}", nn.Linear(sizes[i], sizes[i + 1], bias=bias))
        self.act = ACTIVATIONS[activation]() if activation else None

    def forward(self, x):
        for i in range(1, self.n + 1):
            x = getattr(self, f"dense{i}")(x)
            if i < self.n and self.act is not None:
                x = self.act(x)
        return {self.output: x}


class Activation(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.act = ACTIVATIONS[name]()

    def forward(self, x):
        return {"output": self.act(x)}


def build_mlp(opts, dtype):
    return MLP(opts["sizes"], opts["activation"]).to(DTYPES[dtype])


def build_linear(opts, dtype):
    return MLP([opts["features"], 1], "", output="prediction").to(DTYPES[dtype])


def build_dense(opts, dtype):
    return MLP([opts["inputs"], opts["units"]], "", output="output",
               bias=opts["bias"]).to(DTYPES[dtype])


def build_activation(opts, dtype):
    return Activation(opts["activation"]).to(DTYPES[dtype])
