"""``sequential``: the model a user states, from the command line or Python.

    crossframe check sequential --input 28x28x3 --loss softmax_ce \\
        --layers "conv2d(filters=8, kernel_size=3, strides=2, padding=same); relu; \\
                  maxpool2d(pool_size=2); flatten; dense(units=10)"

The syntax of ``--layers`` is crossframe.sequential's; ``--loss`` is a loss name with optional
arguments (``softmax_ce(from_logits=false)``) and ``--reduction`` mean or sum
(crossframe/losses.py). The batch is random: x standard normal, a target of the loss' kind
(values, labels, 0/1), or with ``--loss upstream`` a random upstream gradient on each output.
"""
from __future__ import annotations

from .. import data
from ..layers.base import Option, integer, text
from ..sequential import Sequential
from ..spec import Batch, Spec, register


def _model(o):
    return Sequential.parse(o["layers"], o["input"], o["loss"], reduction=o["reduction"],
                            shapes=o.get("_shapes"))


register(Spec(
    name="sequential", kind="model", family="composed",
    summary="your model: --layers \"dense(units=32); tanh; dense(units=1)\" --input 8 --loss mae",
    model=_model, default_batch_size=8,
    options=(Option("layers", "dense(units=8); tanh; dense(units=3)",
                    "layers separated by ';', each name or name(option=value, ...)", text),
             Option("input", "6", "per-sample input shape: 64, 8x16 (steps x features) or "
                    "28x28x3 (NHWC)", text),
             Option("loss", "mse", "mse, mae, softmax_ce, binary_ce (optionally with "
                    "(from_logits=false, reduction=sum)), or upstream: a random upstream "
                    "gradient on every output and no target", text),
             Option("reduction", None, "mean or sum (default: mean, or what --loss says)",
                    text, ("mean", "sum"))),
))


# --- Conv1D -> Flatten -> Dense regression on the generated series ---------------------------
def _conv1d_regression(o):
    from ..layers import Conv1D, Dense, Flatten, ReLU

    return Sequential([Conv1D(filters=o["filters"], kernel_size=o["kernel_size"],
                              padding="causal"), ReLU(), Flatten(), Dense(units=1)],
                      (data.SERIES_STEPS, 1), "mse", output="prediction")


def _series_batch(o, model, dtype, seed, batch_size):
    X, y = data.series()
    rows = data.sample_rows(len(X), batch_size, seed)
    return Batch({"x": X[rows].astype(dtype)}, y[rows].astype(dtype))


register(Spec(
    name="conv1d_regression", kind="model", family="composed",
    summary="Conv1D(causal) -> ReLU -> Flatten -> Dense(1) + MSE on a generated series (24 "
            "steps -> the next value)",
    model=_conv1d_regression, batch=_series_batch, dataset="series", default_batch_size=32,
    options=(Option("filters", 8, "Conv1D filters C", integer(1)),
             Option("kernel_size", 5, "Conv1D window k", integer(1))),
    notes=("torch's nn.Conv1d returns (N, C, L) and nn.Flatten orders its features (c, l); "
           "Keras' (l, c): the Dense kernel's rows are permuted between them (the declared "
           "torch entry of dense.W), the port most often got wrong.",
           "The data set is generated (crossframe.data.series): sums of two noisy sines, the "
           "target the value after the window."),
))
