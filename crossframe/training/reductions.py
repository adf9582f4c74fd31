"""Loss reductions measured: the factor mean / sum / Keras' sum_over_batch_size put on every
gradient, and what that does to the learning rate.

Every parameter gradient is linear in dL/d(prediction) (the chain rule), so a reduction that
scales dL/d(prediction) by c scales every gradient by the same c. Relative to torch's
``reduction="mean"`` (the mean over every element of the loss):

=========================================  ==========================================
call                                       factor on every gradient
=========================================  ==========================================
torch ``reduction="mean"``                 1
torch ``reduction="sum"``                  M, the number of loss elements: N x F for
                                           mse / mae / binary_ce on (N, F), N for
                                           cross_entropy on (N, C) logits
Keras ``reduction="sum_over_batch_size"``  1 (the default: per-sample losses, each a mean
                                           over the last axis, summed, / N)
Keras ``reduction="sum"``                  N (the per-sample means summed: torch's sum / F)
=========================================  ==========================================

So a run with a sum reduction matches a mean run under SGD (and momentum) only with
``lr / c``; under Adam, RMSprop, Adagrad (which divide by a root of the squared gradient) the
step is unchanged up to eps: c g / (sqrt(c^2 v) + eps) = g / (sqrt(v) + eps / c).

``reduction_table(model)`` measures each factor with the real libraries on the model's own
output shape and batch (shape legend: N the batch, F or C the width of the prediction).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..keras_backends import on_tensorflow

COLUMNS = ["library", "reduction", "call", "factor", "formula", "sgd_lr_for_the_mean_run",
           "adam_first_step_ratio"]


def _torch_grad(loss, pred: np.ndarray, target, reduction: str) -> np.ndarray:
    import torch

    from ..torch_impl.losses import compute

    p = torch.from_numpy(pred.copy()).requires_grad_()
    value = compute(_with(loss, reduction), {"y": p},
                    torch.from_numpy(np.ascontiguousarray(target)), {})
    value.backward()
    return p.grad.numpy()


@on_tensorflow
def _keras_grad(loss, pred: np.ndarray, target, reduction: str) -> np.ndarray:
    """Plain Keras, as a user writes it: the loss class with ``reduction`` (no crossframe
    correction)."""
    from ..keras_impl.backend import keras, tf
    from ..keras_impl.losses import CLASSES

    kwargs = {"reduction": reduction, "dtype": str(pred.dtype)}
    if loss.name in ("softmax_ce", "binary_ce"):
        kwargs["from_logits"] = loss.from_logits
    p = tf.constant(pred)
    with tf.GradientTape() as tape:
        tape.watch(p)
        value = getattr(keras.losses, CLASSES[loss.name])(**kwargs)(tf.constant(target), p)
    return tape.gradient(value, p).numpy()


def _with(loss, reduction: str):
    from dataclasses import replace

    return replace(loss, reduction=reduction)


def _factor(g: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """c with g = c reference, and the worst relative departure from one scalar c."""
    mask = np.abs(reference) > 0
    ratios = g[mask] / reference[mask]
    c = float(np.median(ratios))
    return c, float(np.max(np.abs(ratios / c - 1.0), initial=0.0))


def _adam_ratio(g: np.ndarray, c: float, lr: float = 1e-3, eps: float = 1e-7) -> float:
    """The first real torch.optim.Adam step (lr 1e-3, eps 1e-7) on gradient c g over the step
    on g, the median over the entries: 1 up to eps / (c |g|)."""
    import torch

    steps = []
    for scale in (1.0, c):
        p = torch.nn.Parameter(torch.zeros(g.size, dtype=torch.float64))
        opt = torch.optim.Adam([p], lr=lr, eps=eps)
        p.grad = torch.from_numpy(scale * g.reshape(-1).astype(np.float64))
        opt.step()
        steps.append(p.detach().numpy().copy())
    mask = np.abs(steps[0]) > 0
    return float(np.median(steps[1][mask] / steps[0][mask]))


def reduction_table(model: str = "mlp", dtype: str = "float64", seed: int = 0,
                    options: dict | None = None) -> pd.DataFrame:
    """One row per (library, reduction) for ``model``'s loss on its own prediction (N, F) and
    batch: the measured factor on every gradient relative to torch's mean (``factor``; the
    dL/d(prediction) of each call divided by torch mean's, one scalar to the last bits — a
    ValueError if not), the ``formula`` it should be, the SGD learning rate that makes a run
    with this reduction follow a mean run at lr 1 (1 / factor), and the ratio of a first
    real torch.optim.Adam step (lr 1e-3, eps 1e-7) with this gradient to one with the mean's,
    the median over the entries (~1: Adam divides the scale out, up to eps). Raises
    InputError for a model without a loss."""
    from ..errors import InputError
    from ..runner import prepare

    case = prepare(model, dtype=dtype, seed=seed, options=options)
    loss = case.model.loss
    if loss.upstream:
        raise InputError(f"{model} has no loss (a lone-layer check): no reduction to measure",
                         "pick a model from `crossframe list`")
    from .. import frameworks

    outputs = frameworks.build("scratch", case.model, dtype).forward(**case.batch.inputs)
    (pred,) = outputs.values()
    pred = np.asarray(pred, dtype=dtype)
    target = case.batch.target
    per_sample = pred.size // pred.shape[-1]  # the loss elements Keras sums: all but the last
    elements = per_sample if loss.name == "softmax_ce" else pred.size
    torch_call = loss.decl.torch

    def keras_call(reduction):
        return loss.decl.keras.format(keras_reduction=reduction, from_logits=loss.from_logits)

    cases = [
        ("torch", "mean", torch_call.format(reduction="mean"), "1"),
        ("torch", "sum", torch_call.format(reduction="sum"),
         f"{elements} (the loss elements)"),
        ("keras", "sum_over_batch_size", keras_call("sum_over_batch_size"), "1"),
        ("keras", "sum", keras_call("sum"),
         f"{per_sample} (per-sample losses" + (")" if loss.name == "softmax_ce" else
                                               ", each a mean over the last axis)")),
    ]
    grads = {("torch", r): _torch_grad(loss, pred, target, r) for r in ("mean", "sum")}
    grads.update({("keras", r): _keras_grad(loss, pred, target, r)
                  for r in ("sum_over_batch_size", "sum")})
    reference = grads[("torch", "mean")]
    rows = []
    for library, reduction, call, formula in cases:
        c, spread = _factor(grads[(library, reduction)], reference)
        if spread > 1e-12:
            raise ValueError(f"{library} {reduction}: not one factor on the gradient "
                             f"(spread {spread:.2e})")
        rows.append(dict(library=library, reduction=reduction, call=call, factor=c,
                         formula=formula, sgd_lr_for_the_mean_run=1.0 / c,
                         adam_first_step_ratio=_adam_ratio(reference, c)))
    return pd.DataFrame(rows, columns=COLUMNS)
