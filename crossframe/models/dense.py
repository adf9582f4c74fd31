"""Dense family specs: ``linear`` (diabetes, MSE), ``mlp`` (digits, softmax CE), and the lone
layers ``dense``, ``relu``, ``sigmoid``, ``tanh`` (random input, random upstream gradient).

Canonical layout: kernel ``dense{i}.W`` (in, out), bias ``dense{i}.b`` (out,) — Keras' layout.
"""
from __future__ import annotations

from .. import data
from ..bench import Benchmark
from ..mapping import Entry, Identity, Mapping, Transpose, identity_mapping
from ..spec import Batch, Difference, Option, ParamSpec, Spec, parse_bool, register

SCRATCH_WHY = "scratch computes in the canonical layout"
TORCH_W_WHY = "nn.Linear stores weight (out, in) and computes x @ weight.T"
KERAS_W_WHY = "layers.Dense stores kernel (in, out) and computes x @ kernel"


def _sizes(text) -> list[int]:
    sizes = [int(s) for s in str(text).split(",") if s.strip()]
    if not sizes or min(sizes) < 1:
        raise ValueError(text)
    return sizes


def dense_params(sizes, bias=True) -> list[ParamSpec]:
    out = []
    for i in range(1, len(sizes)):
        out.append(ParamSpec(f"dense{i}.W", (sizes[i - 1], sizes[i]), "weight", sizes[i - 1],
                             "kernel (in, out)"))
        if bias:
            out.append(ParamSpec(f"dense{i}.b", (sizes[i],), "bias", doc="bias (out,)"))
    return out


def torch_dense_mapping(params: list[ParamSpec]) -> Mapping:
    entries = []
    for p in params:
        layer, _, kind = p.name.rpartition(".")
        if kind == "W":
            entries.append(Entry(p.name, f"{layer}.weight", Transpose((1, 0)), TORCH_W_WHY))
        else:
            entries.append(Entry(p.name, f"{layer}.bias", Identity(), "same layout"))
    return Mapping("torch", tuple(entries))


def keras_dense_mapping(params: list[ParamSpec]) -> Mapping:
    entries = []
    for p in params:
        layer, _, kind = p.name.rpartition(".")
        name = "kernel" if kind == "W" else "bias"
        entries.append(Entry(p.name, f"{layer}/{name}", Identity(),
                             KERAS_W_WHY if kind == "W" else "same layout"))
    return Mapping("keras", tuple(entries))


def _mappings(params_of):
    return {
        "scratch": lambda o: identity_mapping("scratch", [p.name for p in params_of(o)],
                                              SCRATCH_WHY),
        "torch": lambda o: torch_dense_mapping(params_of(o)),
        "keras": lambda o: keras_dense_mapping(params_of(o)),
    }


def _builders(fn):
    return {fw: f"crossframe.{pkg}.dense:{fn}" for fw, pkg in
            (("scratch", "scratch"), ("torch", "torch_impl"), ("keras", "keras_impl"))}


# --- linear regression on diabetes -----------------------------------------------------------
def _linear_params(o):
    return dense_params([o["features"], 1])


def _linear_batch(o, dtype, seed, batch_size):
    X, y = data.diabetes()
    rows = data.sample_rows(len(X), batch_size, seed)
    return Batch({"x": X[rows].astype(dtype)}, y[rows, None].astype(dtype))


register(Spec(
    name="linear", kind="model", family="dense",
    summary="linear regression: Dense(1) + MSE on scikit-learn's diabetes (10 features)",
    loss="mse", params=_linear_params, batch=_linear_batch,
    mappings=_mappings(_linear_params), builders=_builders("build_linear"),
    options=(Option("features", 10, "input features (diabetes has 10)", int, (10,)),),
    dataset="diabetes", default_batch_size=32,
    notes=("MSE is the mean over all elements in all three (torch reduction='mean'; Keras "
           "MeanSquaredError = mean over the last axis, then sum_over_batch_size).",
           "Keras losses compute in floatx (float32) unless given dtype=: crossframe passes "
           "the model's dtype, or a float64 model would get a float32 loss."),
))


# --- MLP classifier on digits ----------------------------------------------------------------
def _mlp_sizes(o) -> list[int]:
    return [64] + _sizes(o["hidden"]) + [10]


def _mlp_params(o):
    return dense_params(_mlp_sizes(o))


def _mlp_batch(o, dtype, seed, batch_size):
    X, y = data.digits()
    rows = data.sample_rows(len(X), batch_size, seed)
    return Batch({"x": X[rows].astype(dtype)}, y[rows])


def _mlp_validate(o):
    try:
        o["sizes"] = _mlp_sizes(o)
    except ValueError:
        from ..errors import InputError
        raise InputError(f"--hidden {o['hidden']!r} is not a list of sizes",
                         "give positive integers separated by commas, e.g. --hidden 32,16")


register(Spec(
    name="mlp", kind="model", family="dense",
    summary="MLP classifier: Dense-act-...-Dense + softmax cross-entropy on digits (64 -> 10)",
    loss="softmax_ce", params=_mlp_params, batch=_mlp_batch,
    mappings=_mappings(_mlp_params), builders=_builders("build_mlp"),
    options=(Option("hidden", "32,16", "hidden layer sizes, comma-separated"),
             Option("activation", "relu", "hidden activation", str, ("relu", "sigmoid", "tanh"))),
    dataset="digits", default_batch_size=32, validate=_mlp_validate,
    notes=("Softmax cross-entropy from logits, mean over the batch: torch cross_entropy, Keras "
           "SparseCategoricalCrossentropy(from_logits=True) — the softmax lives in the loss, "
           "not the last layer.",
           "ReLU's derivative at exactly 0 is taken as 0 by scratch, torch and TensorFlow."),
))


# --- lone layers -----------------------------------------------------------------------------
def _dense_params(o):
    return dense_params([o["inputs"], o["units"]], o["bias"])


def _layer_batch(out_shape):
    def batch(o, dtype, seed, batch_size):
        x = data.random_input((batch_size, o["inputs"]), seed, "x", dtype)
        if o.get("activation") == "relu":  # exact zeros: which side of the kink is the gradient
            x[:, ::4] = 0
        shape = (batch_size, out_shape(o))
        return Batch({"x": x}, None, {"output": data.upstream(shape, seed, "output", dtype)})
    return batch



register(Spec(
    name="dense", kind="layer", family="dense",
    summary="one Dense layer, y = x W + b, checked with a random upstream gradient",
    bilinear=True,  # every gradient is a sum of products (crossframe.run.Case.sum_of_terms)
    loss="upstream", params=_dense_params, batch=_layer_batch(lambda o: o["units"]),
    mappings=_mappings(_dense_params), builders=_builders("build_dense"),
    options=(Option("inputs", 12, "input features", int),
             Option("units", 7, "output units", int),
             Option("bias", True, "use a bias", parse_bool, (True, False))),
    notes=("dL/db sums the upstream gradient over the batch; dL/dW = x^T G.",),
))

for _act, _why in (("relu", "y = max(x, 0); derivative 0 at exactly x = 0 in all three"),
                   ("sigmoid", "y = 1/(1+exp(-x)); derivative y(1-y)"),
                   ("tanh", "y = tanh(x); derivative 1 - y^2")):
    register(Spec(
        name=_act, kind="layer", family="dense",
        summary=f"{_act} activation alone: {_why}",
        loss="upstream", params=lambda o: [], batch=_layer_batch(lambda o: o["inputs"]),
        mappings={fw: (lambda o, fw=fw: Mapping(fw, ())) for fw in ("scratch", "torch", "keras")},
        builders=_builders("build_activation"),
        options=(Option("inputs", 12, "input features", int),
                 Option("activation", _act, "the activation", str, (_act,))),
    ))


# --- benchmark workloads (crossframe bench) --------------------------------------------------

BENCHMARKS = (
    Benchmark("mlp", "mlp", 128, {"hidden": "256"},
              "MLP 64-256-10, batch 128, fwd+bwd with softmax CE"),
)


# --- where the libraries differ (crossframe.spec.Difference) ---------------------------------
def _keras_loss_default_dtype() -> float:
    """Softmax CE of float64 logits: Keras' default loss dtype (floatx = float32) vs float64."""
    import numpy as np

    from crossframe.keras_impl.backend import keras
    from crossframe.tolerances import rel_error

    case_logits = data.rng_for(0, "difference", "loss-dtype").standard_normal((32, 10)) * 3
    labels = data.digits()[1][:32]
    default = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    explicit = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    return rel_error(np.asarray(default(labels, case_logits)),
                     np.asarray(explicit(labels, case_logits)))



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
        "loss reduction",
        torch="reduction='mean': sum / number of elements (MSE) or of samples (CE)",
        keras="reduction='sum_over_batch_size': the same for these losses",
        agree_when="always, for unweighted MSE and CE; differs once sample weights are used",
        measure=None,
    ),
)
