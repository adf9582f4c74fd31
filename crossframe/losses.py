"""The losses, declared once: formula, reduction, what each library calls it, and the target.

    Loss("softmax_ce")                                    from logits, mean over the batch
    Loss("softmax_ce", from_logits=False)                 the model ends in a softmax
    Loss("mae", reduction="sum")
    parse_loss("softmax_ce(from_logits=false, reduction=sum)")

Reductions, exactly (M = number of elements of the prediction, N = batch size):

- ``mean``: mse / mae / binary_ce: the mean over all M elements; softmax_ce: the mean over the
  N samples (and steps). torch ``reduction="mean"``; Keras ``"sum_over_batch_size"`` (the mean
  of its per-sample losses, each a mean over the last axis: the same number).
- ``sum``: the sum over all M elements (softmax_ce: over the samples), torch's
  ``reduction="sum"``. Keras' ``reduction="sum"`` sums its per-sample losses, which are means
  over the last axis: it is torch's sum divided by the size of the last axis (1 for a
  regression head, 8 for a per-step prediction of 8 pixels). crossframe's Keras side multiplies
  that factor back and the difference is declared (``DIFFERENCES``).
- ``upstream``: the lone-layer check ``L = sum_k <G_k, y_k>`` with random upstream gradients
  ``G_k`` (never all ones), so dL/dy_k = G_k; no reduction.

``from_logits=False`` takes probabilities: softmax_ce ``-mean log p[y]`` (torch
``F.nll_loss(torch.log(p), y)``), binary_ce ``-mean(y log p + (1-y) log(1-p))`` (torch
``F.binary_cross_entropy``). Keras on TensorFlow, handed the output of its own softmax or
sigmoid, recovers the logits the activation recorded and computes from those: the same
function, computed without taking the log of a probability.
"""
from __future__ import annotations

from dataclasses import dataclass

from .difference import Difference
from .errors import InputError, did_you_mean
from .keras_backends import on_tensorflow

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class LossDecl:
    name: str
    title: str
    target: str          # "values" (same shape as the prediction), "labels" (ints), "binary"
    equations: str
    torch: str           # the torch call, with {reduction}
    keras: str           # the Keras call, with {reduction} and {from_logits}
    probabilities: str = ""   # what from_logits=False means, "" when it has no such option


DECLARATIONS = {d.name: d for d in (
    LossDecl("mse", "mean squared error", "values",
             "L = reduce((pred - y)^2);  dL/dpred = 2 (pred - y) / M  (mean)  or  2 (pred - y) "
             "(sum)",
             "F.mse_loss(pred, y, reduction='{reduction}')",
             "keras.losses.MeanSquaredError(reduction='{keras_reduction}', dtype=dtype)"),
    LossDecl("mae", "mean absolute error", "values",
             "L = reduce(|pred - y|);  dL/dpred = sign(pred - y) / M  (mean; 0 at a tie, as torch "
             "and TensorFlow)",
             "F.l1_loss(pred, y, reduction='{reduction}')",
             "keras.losses.MeanAbsoluteError(reduction='{keras_reduction}', dtype=dtype)"),
    LossDecl("softmax_ce", "softmax cross-entropy", "labels",
             "from logits z: log p = z - max z - log sum exp(z - max z);  L = -reduce_n log "
             "p[n, y_n];  dL/dz = (softmax(z) - onehot(y)) / N  (mean)",
             "F.cross_entropy(pred, y, reduction='{reduction}')",
             "keras.losses.SparseCategoricalCrossentropy(from_logits={from_logits}, "
             "reduction='{keras_reduction}', dtype=dtype)",
             probabilities="L = -reduce_n log p[n, y_n] on the model's softmax output; torch "
                           "F.nll_loss(torch.log(p), y)"),
    LossDecl("binary_ce", "binary cross-entropy", "binary",
             "from logits z: L = reduce(max(z, 0) - z y + log(1 + exp(-|z|)));  dL/dz = "
             "(sigmoid(z) - y) / M  (mean)",
             "F.binary_cross_entropy_with_logits(pred, y, reduction='{reduction}')",
             "keras.losses.BinaryCrossentropy(from_logits={from_logits}, "
             "reduction='{keras_reduction}', dtype=dtype)",
             probabilities="L = -reduce(y log p + (1 - y) log(1 - p)) on the model's sigmoid "
                           "output; torch F.binary_cross_entropy(p, y) (which clamps each log at "
                           "-100)"),
    LossDecl("upstream", "upstream gradient (lone-layer check)", "",
             "L = sum_k <G_k, y_k> with random G_k, so dL/dy_k = G_k",
             "sum((G * y).sum() for each output)", "sum of tf.reduce_sum(G * y) over outputs"),
)}


@dataclass(frozen=True)
class Loss:
    """A loss as a model uses it: which one, from logits or probabilities, how it reduces."""

    name: str = "upstream"
    from_logits: bool = True
    reduction: str = "mean"

    def __post_init__(self):
        if self.name not in DECLARATIONS:
            raise InputError(f"unknown loss '{self.name}'", did_you_mean(self.name, DECLARATIONS))
        if self.reduction not in REDUCTIONS:
            raise InputError(f"unknown reduction '{self.reduction}'",
                             f"choose one of: {', '.join(REDUCTIONS)}")
        if not self.from_logits and not self.decl.probabilities:
            raise InputError(f"{self.name} has no from_logits option",
                             "only softmax_ce and binary_ce take probabilities")

    @property
    def decl(self) -> LossDecl:
        return DECLARATIONS[self.name]

    @property
    def upstream(self) -> bool:
        return self.name == "upstream"

    def text(self) -> str:
        """``softmax_ce(from_logits=false, reduction=sum)``, only the non-defaults."""
        args = ([] if self.from_logits else ["from_logits=false"]) + (
            [] if self.reduction == "mean" else [f"reduction={self.reduction}"])
        return self.name + (f"({', '.join(args)})" if args else "")

    def torch_code(self, steps: bool = False) -> str:
        """The torch call on ``pred`` and ``y``; ``steps``: a prediction (N, T, K), whose
        classes torch's cross-entropies want on axis 1."""
        red = self.reduction
        if not self.from_logits:
            code = {"softmax_ce": f"F.nll_loss(torch.log(pred), y, reduction='{red}')",
                    "binary_ce": f"F.binary_cross_entropy(pred, y, reduction='{red}')"
                    }[self.name]
        else:
            code = self.decl.torch.format(reduction=red)
        if steps and self.name == "softmax_ce":
            code = code.replace("(pred, y", "(pred.movedim(-1, 1), y").replace(
                "(torch.log(pred), y", "(torch.log(pred).movedim(-1, 1), y")
        return code

    def keras_code(self) -> str:
        keras_reduction = "sum_over_batch_size" if self.reduction == "mean" else "sum"
        return self.decl.keras.format(reduction=self.reduction, keras_reduction=keras_reduction,
                                      from_logits=self.from_logits)

    def keras_lines(self) -> list[str]:
        """``loss_fn = ...`` in Keras, torch's reduction included: Keras' "sum" adds per-sample
        means over the last axis, so for the element-wise losses it is multiplied back."""
        if self.reduction == "sum" and self.name != "softmax_ce":
            return [f"keras_sum = {self.keras_code()}",
                    "# Keras' 'sum' adds per-sample MEANS over the last axis: times its size, "
                    "torch's sum",
                    "loss_fn = lambda y, pred: keras_sum(y, pred) * pred.shape[-1]"]
        return [f"loss_fn = {self.keras_code()}"]


def parse_loss(text, reduction: str | None = None, from_logits=None) -> Loss:
    """``"mae"``, ``"softmax_ce(from_logits=false, reduction=sum)"`` or a Loss; ``reduction`` and
    ``from_logits`` given separately (the CLI's ``--reduction``) override the text."""
    from .layers.base import boolean
    from .sequential import parse_call

    if isinstance(text, Loss):
        loss = text
    else:
        name, kwargs = parse_call(str(text), "--loss")
        unknown = set(kwargs) - {"from_logits", "reduction"}
        if unknown:
            raise InputError(f"--loss {text}: unknown argument(s) {', '.join(sorted(unknown))}",
                             "a loss takes from_logits and reduction")
        try:
            fl = boolean(kwargs.get("from_logits", True))
        except ValueError as err:
            raise InputError(f"--loss {text}: {err}", "from_logits=true or false") from None
        loss = Loss(name.lower(), fl, str(kwargs.get("reduction", "mean")))
    if reduction is not None and not isinstance(text, Loss) and "reduction" in str(text) \
            and reduction != loss.reduction:
        raise InputError(f"--loss {text} and --reduction {reduction} disagree",
                         "give the reduction once")
    if reduction is not None or from_logits is not None:
        fl = loss.from_logits if from_logits is None else boolean(from_logits)
        loss = Loss(loss.name, fl, loss.reduction if reduction is None else reduction)
    return loss


# --- where the libraries differ (crossframe.difference.Difference) ---------------------------
@on_tensorflow
def _keras_loss_default_dtype() -> float:
    """Softmax CE of float64 logits: Keras' default loss dtype (floatx = float32) vs float64."""
    import numpy as np

    from . import data
    from .keras_impl.backend import keras
    from .tolerances import rel_error

    logits = data.rng_for(0, "difference", "loss-dtype").standard_normal((32, 10)) * 3
    labels = data.digits()[1][:32]
    default = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    explicit = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    return rel_error(np.asarray(default(labels, logits)), np.asarray(explicit(labels, logits)))


@on_tensorflow
def _keras_sum_reduction() -> float:
    """MSE of a per-step prediction (N, T, 8): plain Keras reduction='sum' against torch's
    reduction='sum' on the same numbers (Keras sums per-sample means over the last axis)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from . import data
    from .keras_impl.backend import keras
    from .tolerances import rel_error

    rng = data.rng_for(0, "difference", "sum-reduction")
    pred, target = rng.standard_normal((2, 4, 3, 8))
    keras_sum = keras.losses.MeanSquaredError(reduction="sum", dtype="float64")(target, pred)
    torch_sum = F.mse_loss(torch.from_numpy(pred), torch.from_numpy(target), reduction="sum")
    return rel_error(np.asarray(keras_sum), torch_sum.numpy())


@on_tensorflow
def _probabilities_underflow() -> float:
    """float32 softmax cross-entropy of a confident wrong prediction (logit gap 100): torch's
    nll_loss(log(softmax(z))) against Keras' from_logits=False on its own softmax output (which
    reads the logits back): the log of an underflowed probability."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from .keras_impl.backend import keras
    from .tolerances import rel_error

    z = np.array([[0.0, 100.0, 3.0]], dtype="float32")
    y = np.array([0])
    probs = keras.activations.softmax(keras.ops.convert_to_tensor(z))
    keras_value = keras.losses.SparseCategoricalCrossentropy(from_logits=False)(y, probs)
    torch_value = F.nll_loss(torch.log(torch.softmax(torch.from_numpy(z), -1)),
                             torch.from_numpy(y))
    return rel_error(np.asarray(keras_value), torch_value.numpy())


@on_tensorflow
def _probabilities_normalised() -> float:
    """dL/dp of softmax cross-entropy on probabilities p (a tensor, not a Keras softmax's
    output): Keras' -log(p[y] / sum p) against torch's nll_loss(log p), relative difference."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from . import data
    from .keras_impl.backend import keras, tf
    from .tolerances import rel_error

    z = data.rng_for(0, "difference", "normalised").standard_normal((6, 5))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.arange(6) % 5
    tp = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(tp)
        value = keras.losses.SparseCategoricalCrossentropy(dtype="float64")(y, tp)
    keras_grad = tape.gradient(value, tp).numpy()
    pt = torch.from_numpy(p).requires_grad_()
    F.nll_loss(torch.log(pt), torch.from_numpy(y)).backward()
    return rel_error(keras_grad, pt.grad.numpy())


DIFFERENCES = (
    Difference(
        "loss dtype",
        torch="F.cross_entropy(logits, y) computes in the logits' dtype",
        keras="losses.SparseCategoricalCrossentropy() casts predictions to floatx() = float32 "
              "unless dtype= is given",
        agree_when="pass dtype='float64' to the Keras loss (crossframe always does)",
        measure=_keras_loss_default_dtype,
    ),
    Difference(
        "loss reduction 'sum'",
        torch="reduction='sum': the sum over every element",
        keras="reduction='sum': the sum of per-sample losses, each a MEAN over the last axis — "
              "torch's sum divided by the last axis' size (8 here: a per-step prediction of 8 "
              "pixels); 'sum_over_batch_size' equals torch's 'mean'",
        agree_when="the last axis has size 1 (a regression head), or the Keras value is "
                   "multiplied by that size (crossframe's keras_impl.losses does). Measured: "
                   "MSE of a (2, 4, 3, 8) prediction, plain Keras sum vs torch sum",
        measure=_keras_sum_reduction,
    ),
    Difference(
        "cross-entropy from probabilities",
        torch="no from_logits switch: a port on probabilities writes F.nll_loss(torch.log(p), "
              "y), which logs a probability that may have underflowed",
        keras="from_logits=False on the output of a Keras softmax (TensorFlow backend) reads "
              "the logits the softmax recorded and computes from them; on other tensors it "
              "clips p to [1e-7, 1 - 1e-7] first",
        agree_when="the probabilities stay well inside float range (then both are -log p[y]); "
                   "a torch port should take log_softmax of the logits. Measured: float32, "
                   "logit gap 100, relative difference of the loss",
        measure=_probabilities_underflow,
    ),
    Difference(
        "softmax cross-entropy on probabilities: the gradient w.r.t. p",
        torch="F.nll_loss(torch.log(p), y): dL/dp = -onehot(y) / p  (/ N for the mean)",
        keras="from_logits=False on a plain tensor: -log(p[y] / sum(p)), so dL/dp = -onehot(y) "
              "/ p + 1 / sum(p): every entry shifted by 1 (/ N)",
        agree_when="the probabilities come from a softmax: its Jacobian maps the constant "
                   "shift to zero, so every gradient before it (logits, weights, inputs) "
                   "agrees; only dL/dp itself differs. Measured: dL/dp of a (6, 5) batch",
        measure=_probabilities_normalised,
    ),
)
