"""The framework-neutral optimizer config and its translation to torch.optim and keras.optimizers,
declared as data (like the weight mapping in ``crossframe.mapping``).

One ``OptimizerDecl`` per crossframe optimizer name says: which scratch class, torch class and
Keras class implement it; each hyper-parameter (``Setting``) under its crossframe name with
crossframe's value, and under each library's argument name with that library's default; the
update rule each library computes; and which settings make the two agree. The builders
(``*/optimizers.py::build``) apply these rows; ``crossframe train --table`` and
``translation_table()`` print the very same rows, so the documentation cannot drift from the
code. The declared library defaults are checked against the installed sources
(``inspect.signature``) by parity_tests/test_optimizers.py.

crossframe passes the *same values* to both libraries (never each library's own default), so a
trajectory difference can only come from a formula, and each formula difference is declared
here and measured by ``crossframe train MODEL --check``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, did_you_mean


@dataclass(frozen=True)
class Setting:
    """One hyper-parameter: crossframe's name and value, each library's argument and default.

    ``torch`` may name one entry of a tuple argument: ``"betas[0]"``.
    """

    name: str
    value: Any
    torch: str | None
    torch_default: Any
    keras: str | None
    keras_default: Any
    doc: str = ""
    by_hand_text: str = "none: by hand"  # what stands for a missing (None) argument

    def argument(self, library: str) -> str:
        """``eps``-style text for the table: the library's argument, or how the value reaches
        a library that has no argument for it."""
        arg = getattr(self, library)
        return arg if arg is not None else self.by_hand_text


@dataclass(frozen=True)
class OptimizerDecl:
    """One crossframe optimizer: who implements it, its settings, each library's update rule."""

    name: str
    summary: str
    scratch: str  # class in crossframe.scratch.optimizers
    torch: str  # class in torch.optim
    keras: str  # class in keras.optimizers
    settings: tuple[Setting, ...]
    torch_rule: str
    keras_rule: str
    agree_when: str
    same_formula: bool  # the same update rule from the same values (up to rounding)
    torch_fixed: dict = field(default_factory=dict)  # arguments not exposed as settings
    keras_fixed: dict = field(default_factory=dict)


# --- the settings, reused across optimizers --------------------------------------------------
def _lr(value, torch_default, keras_default):
    return Setting("lr", value, "lr", torch_default, "learning_rate", keras_default,
                   "learning rate")


def _momentum(value, torch_default, keras_default):
    return Setting("momentum", value, "momentum", torch_default, "momentum", keras_default,
                   "momentum coefficient mu")


BETA1 = Setting("beta1", 0.9, "betas[0]", 0.9, "beta_1", 0.9, "decay of the mean of g")
BETA2 = Setting("beta2", 0.999, "betas[1]", 0.999, "beta_2", 0.999, "decay of the mean of g^2")
ADAM_EPS = Setting("eps", 1e-7, "eps", 1e-8, "epsilon", 1e-7,
                   "torch: added to sqrt(v_hat); keras: added to sqrt(v) (epsilon hat)")
RMS_RHO = Setting("rho", 0.9, "alpha", 0.99, "rho", 0.9, "decay of the mean of g^2")
RMS_AGREE = ("eps=0 (then both divide by the same root); with eps > 0 never exactly, and not "
             "by a little: where v << eps Keras divides by ~sqrt(eps) (3.2e-4 for 1e-7) where "
             "torch divides by ~sqrt(v), so a gradient of 1e-5 (a digit pixel that is nearly "
             "always blank) takes a ~100x smaller step in Keras")
RMS_EPS = Setting("eps", 1e-7, "eps", 1e-8, "epsilon", 1e-7,
                  "torch: sqrt(v) + eps; keras: sqrt(v + eps)")


AMSGRAD = Setting("amsgrad", False, "amsgrad", False, "amsgrad", False,
                  "divide by the running maximum of v (Reddi et al. 2018), in both libraries")


def _coupled(torch_default=0):
    return Setting("coupled_weight_decay", 0.0, "weight_decay", torch_default, None, None,
                   "L2 in the gradient: g <- g + wd p (see the notes)",
                   "none: g + wd p by hand")


def _decoupled(value=0.0, torch=None, torch_default=None, keras_default=None,
               by_hand_text="none: p.mul_(1 - lr wd) by hand"):
    return Setting("weight_decay", value, torch, torch_default, "weight_decay", keras_default,
                   "decoupled: p <- p - lr wd p before the update (see the notes)",
                   by_hand_text)


WEIGHT_DECAY = (_coupled(), _decoupled())
# torch's Adam and NAdam decouple their one weight_decay argument on request
WEIGHT_DECAY_FLAGGED = (_coupled(), _decoupled(
    by_hand_text="weight_decay + decoupled_weight_decay=True"))


def _centered(value):
    return Setting("centered", value, "centered", False, "centered", False,
                   "divide by the root of the variance of g, not of its mean square")


SGD_RULE_TORCH = "b <- mu b + g (b_1 = g);  p <- p - lr b"
SGD_RULE_KERAS = "v <- mu v - lr g (v_0 = 0);  p <- p + v"
ADAM_RULE_TORCH = ("m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;  "
                   "p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)")
ADAM_RULE_KERAS = ("m, v as torch;  alpha = lr sqrt(1-b2^t)/(1-b1^t);  "
                   "p <- p - alpha m / (sqrt(v) + eps)")
ADAM_AGREE = ("never exactly with eps > 0: Keras' eps acts as torch's eps/sqrt(1-b2^t), which "
              "changes every step (x31.6 at t=1 with b2=0.999); eps=0 gives the same formula "
              "(but 0/0 where a gradient is exactly 0, e.g. a dead ReLU unit)")
MOMENTUM_AGREE = ("always while lr is constant (then v = -lr b). Under a schedule torch "
                  "rescales the whole velocity, old gradients included, by the new lr and Keras "
                  "only the new gradient: after lr -> lr' at step T, step t >= T differs by "
                  "(lr' - lr) sum_(s<T) mu^(t-s) g_s")
NESTEROV_AGREE = ("always while lr is constant (then v = -lr b). Under a schedule, as for "
                  "momentum, with the gap mu (lr' - lr) sum_(s<T) mu^(t-s) g_s at step t >= T")

ADAMAX_AGREE = ("eps=0 (then both divide by max(b2 u, |g|)); with eps > 0 torch's eps enters "
                "the running maximum (and so every later step) and Keras' only the divisor")
NADAM_AGREE = ("one formula once torch's momentum_decay is 1 (crossframe fixes it): Keras' "
               "schedule is mu_t = b1 (1 - 0.5 * 0.96^t), torch's b1 (1 - 0.5 * 0.96^(t psi)) "
               "with psi = momentum_decay, default 0.004 (a 250x slower warm-up). Not to the "
               "last bit in float64: Keras' update takes ops.cast(0.96, float64), which on "
               "TensorFlow rounds 0.96 through float32 (~1e-8 relative on the step; on JAX and "
               "torch Keras casts it exactly: keras-jax and keras-torch are ~7e-11 from Keras "
               "on TensorFlow after one step on linear, and each is checked against scratch "
               "with its own backend's cast, scratch[keras-jax]); and torch keeps mu_product "
               "in torch.get_default_dtype() (float32 unless set: crossframe steps torch's "
               "optimizers with the default dtype set to the model's)")

DECLARATIONS: dict[str, OptimizerDecl] = {d.name: d for d in (
    OptimizerDecl(
        "sgd", "plain gradient descent", "SGD", "SGD", "SGD",
        (_lr(0.01, 1e-3, 0.01),) + WEIGHT_DECAY,
        "p <- p - lr g", "p <- p - lr g",
        "always (only the default lr differs: torch 1e-3, keras 0.01)", True),
    OptimizerDecl(
        "momentum", "SGD with heavy-ball momentum", "Momentum", "SGD", "SGD",
        (_lr(0.01, 1e-3, 0.01), _momentum(0.9, 0.0, 0.0)) + WEIGHT_DECAY,
        SGD_RULE_TORCH + "  (a velocity of gradients)",
        SGD_RULE_KERAS + "  (a velocity of updates)",
        MOMENTUM_AGREE, True),
    OptimizerDecl(
        "nesterov", "SGD with Nesterov momentum", "Nesterov", "SGD", "SGD",
        (_lr(0.01, 1e-3, 0.01), _momentum(0.9, 0.0, 0.0)) + WEIGHT_DECAY,
        "b <- mu b + g;  p <- p - lr (g + mu b)",
        "v <- mu v - lr g;  p <- p + mu v - lr g",
        NESTEROV_AGREE, True,
        torch_fixed={"nesterov": True}, keras_fixed={"nesterov": True}),
    OptimizerDecl(
        "rmsprop", "RMSprop", "RMSprop", "RMSprop", "RMSprop",
        (_lr(1e-3, 1e-2, 1e-3), RMS_RHO, RMS_EPS, _momentum(0.0, 0.0, 0.0), _centered(False))
        + WEIGHT_DECAY,
        "v <- rho v + (1-rho) g^2;  p <- p - lr g / (sqrt(v) + eps)",
        "v <- rho v + (1-rho) g^2;  p <- p - lr g / sqrt(v + eps)",
        RMS_AGREE, False),
    OptimizerDecl(
        "rmsprop_momentum", "RMSprop with momentum", "RMSprop", "RMSprop", "RMSprop",
        (_lr(1e-3, 1e-2, 1e-3), RMS_RHO, RMS_EPS, _momentum(0.9, 0.0, 0.0), _centered(False))
        + WEIGHT_DECAY,
        "v as rmsprop;  b <- mu b + g / (sqrt(v) + eps);  p <- p - lr b",
        "v as rmsprop;  b <- mu b + lr g / sqrt(v + eps);  p <- p - b",
        "a constant lr (torch's b is a velocity of gradients, Keras' of updates) and, as for "
        "rmsprop, " + RMS_AGREE, False),
    OptimizerDecl(
        "rmsprop_centered", "centered RMSprop", "RMSprop", "RMSprop", "RMSprop",
        (_lr(1e-3, 1e-2, 1e-3), RMS_RHO, RMS_EPS, _momentum(0.0, 0.0, 0.0), _centered(True))
        + WEIGHT_DECAY,
        "v as rmsprop;  a <- rho a + (1-rho) g;  p <- p - lr g / (sqrt(v - a^2) + eps)",
        "v as rmsprop;  a <- rho a + (1-rho) g;  p <- p - lr g / sqrt(v - a^2 + eps)",
        RMS_AGREE, False),
    OptimizerDecl(
        "adam", "Adam", "Adam", "Adam", "Adam",
        (_lr(1e-3, 1e-3, 1e-3), BETA1, BETA2, ADAM_EPS, AMSGRAD) + WEIGHT_DECAY_FLAGGED,
        ADAM_RULE_TORCH + "  (amsgrad: max(v_max, v) for v)",
        ADAM_RULE_KERAS + "  (amsgrad: as torch)", ADAM_AGREE, False),
    OptimizerDecl(
        "adamw", "Adam with decoupled weight decay", "Adam", "AdamW", "AdamW",
        (_lr(1e-3, 1e-3, 1e-3), BETA1, BETA2, ADAM_EPS, AMSGRAD,
         _decoupled(0.01, "weight_decay", 1e-2, 0.004)),
        "p <- p (1 - lr wd);  then Adam (torch)", "p <- p - p wd lr;  then Adam (keras)",
        "as Adam; the decay itself is the same formula (defaults differ: 1e-2 vs 4e-3)", False),
    OptimizerDecl(
        "adagrad", "Adagrad", "Adagrad", "Adagrad", "Adagrad",
        (_lr(0.01, 1e-2, 1e-3),
         Setting("eps", 1e-7, "eps", 1e-10, "epsilon", 1e-7,
                 "torch: sqrt(s) + eps; keras: sqrt(s + eps)"),
         Setting("initial_accumulator", 0.1, "initial_accumulator_value", 0.0,
                 "initial_accumulator_value", 0.1, "starting value of s")) + WEIGHT_DECAY,
        "s <- s + g^2;  p <- p - lr g / (sqrt(s) + eps)",
        "s <- s + g^2;  p <- p - lr g / sqrt(s + eps)",
        "eps=0 and the same initial accumulator (torch's default 0, Keras' 0.1: with 0 and eps=0 "
        "a zero gradient gives 0/0); torch's lr_decay must stay 0 (Keras has none)", False),
    OptimizerDecl(
        "adamax", "Adamax (Adam with the infinity norm)", "Adamax", "Adamax", "Adamax",
        (_lr(2e-3, 2e-3, 1e-3), BETA1, BETA2,
         Setting("eps", 1e-7, "eps", 1e-8, "epsilon", 1e-7,
                 "torch: inside the running maximum, max(b2 u, |g| + eps); keras: added to the "
                 "divisor, u + eps")) + WEIGHT_DECAY,
        "m <- b1 m + (1-b1) g;  u <- max(b2 u, |g| + eps);  p <- p - lr/(1-b1^t) * m / u",
        "m as torch;  u <- max(b2 u, |g|);  p <- p - lr m / ((1-b1^t) (u + eps))",
        ADAMAX_AGREE, False),
    OptimizerDecl(
        "nadam", "Nadam (Adam with Nesterov momentum, Dozat 2016)", "Nadam", "NAdam", "Nadam",
        (_lr(2e-3, 2e-3, 1e-3), BETA1, BETA2,
         Setting("eps", 1e-7, "eps", 1e-8, "epsilon", 1e-7,
                 "added to sqrt(v_hat) in both")) + WEIGHT_DECAY_FLAGGED,
        "mu_t = b1 (1 - 0.5 * 0.96^(t psi)), psi = momentum_decay;  m, v as Adam;  "
        "p <- p - lr (1-mu_t)/(1-prod mu) g/d - lr mu_(t+1)/(1-prod mu * mu_(t+1)) m/d, "
        "d = sqrt(v/(1-b2^t)) + eps",
        "mu_t = b1 (1 - 0.5 * 0.96^t);  the same update",
        NADAM_AGREE, False, torch_fixed={"momentum_decay": 1.0}),
    OptimizerDecl(
        "adadelta", "Adadelta (Zeiler 2012)", "Adadelta", "Adadelta", "Adadelta",
        (_lr(1.0, 1.0, 1e-3),
         Setting("rho", 0.95, "rho", 0.9, "rho", 0.95, "decay of both running averages"),
         Setting("eps", 1e-6, "eps", 1e-6, "epsilon", 1e-7, "inside both roots, in both"))
        + WEIGHT_DECAY,
        "v <- rho v + (1-rho) g^2;  d = sqrt(u + eps)/sqrt(v + eps) g;  "
        "u <- rho u + (1-rho) d^2;  p <- p - lr d",
        "the same update (defaults differ: lr 1.0 vs 0.001, rho 0.9 vs 0.95, eps 1e-6 vs 1e-7)",
        "always", True),
)}


@dataclass(frozen=True)
class OptimizerConfig:
    """A crossframe optimizer name and a value for every one of its settings."""

    name: str
    values: dict

    @property
    def declaration(self) -> OptimizerDecl:
        return DECLARATIONS[self.name]

    def describe(self) -> str:
        """``adam (lr=0.001 beta1=0.9 beta2=0.999 eps=1e-07 amsgrad=False)``; a weight decay
        only when it is not zero."""
        settings = " ".join(f"{k}={setting_text(v)}" for k, v in self.values.items()
                            if v or k not in ("weight_decay", "coupled_weight_decay"))
        return f"{self.name} ({settings})"

    def scratch_kwargs(self) -> dict:
        """The scratch classes take the crossframe names."""
        return dict(self.values)

    def torch_kwargs(self) -> dict:
        return _translate(self.declaration, self.values, "torch")

    def keras_kwargs(self) -> dict:
        return _translate(self.declaration, self.values, "keras")

    def by_hand(self, library: str) -> dict:
        """What ``library``'s trainer applies itself (see ``by_hand``)."""
        return by_hand(self.declaration, self.values, library)


# torch classes that take weight_decay as decoupled with decoupled_weight_decay=True
TORCH_DECOUPLED_FLAG = ("Adam", "NAdam")


def _translate(decl: OptimizerDecl, values: dict, library: str) -> dict:
    """{crossframe name: value} -> the library's keyword arguments, following the rows. A
    setting the library has no argument for (``None``) is left to ``by_hand``; a zero weight
    decay is not passed to Keras (its default None skips the step)."""
    kwargs = dict(getattr(decl, f"{library}_fixed"))
    for s in decl.settings:
        arg = getattr(s, library)
        if arg is None:
            continue
        name, _, index = arg.partition("[")
        if index:  # "betas[1]": one entry of a tuple argument
            i = int(index.rstrip("]"))
            entries = list(kwargs.get(name, ()))
            entries += [None] * (i + 1 - len(entries))
            entries[i] = values[s.name]
            kwargs[name] = tuple(entries)
        else:
            kwargs[arg] = values[s.name]
    decay = values.get("weight_decay", 0.0)
    if library == "keras" and "weight_decay" in kwargs and not decay:
        kwargs["weight_decay"] = None
    if library == "torch" and decay and decl.torch in TORCH_DECOUPLED_FLAG:
        kwargs.update(weight_decay=decay, decoupled_weight_decay=True)
    return kwargs


def by_hand(decl: OptimizerDecl, values: dict, library: str) -> dict:
    """The settings ``library`` has no argument for, which its trainer applies itself:
    torch: {"weight_decay": wd} (decoupled, p.mul_(1 - lr wd) before step()) where the torch
    class cannot decouple; keras: {"coupled_weight_decay": wd} (g + wd p before
    apply_gradients). Zero values are left out."""
    out = {}
    for s in decl.settings:
        if getattr(s, library) is None and values.get(s.name):
            if library == "torch" and decl.torch in TORCH_DECOUPLED_FLAG:
                continue  # _translate passed it with decoupled_weight_decay=True
            out[s.name] = values[s.name]
    return out


def setting_text(value) -> str:
    """1e-07, 0.9, True: the shortest form of a setting, the same wherever it is printed."""
    return str(value) if isinstance(value, bool) else f"{value:g}"


def make_config(name: str, **overrides) -> OptimizerConfig:
    """The config for a crossframe optimizer name, with settings overridden (None: keep)."""
    if name not in DECLARATIONS:
        raise InputError(f"unknown optimizer '{name}'", did_you_mean(name, DECLARATIONS))
    decl = DECLARATIONS[name]
    values = {s.name: s.value for s in decl.settings}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in values:
            raise InputError(f"optimizer {name} has no setting '{key}'",
                             did_you_mean(key, values))
        if isinstance(values[key], bool):
            values[key] = bool(value)
            continue
        value = float(value)
        flag = "--" + key.replace("_", "-")
        below_one = key in ("beta1", "beta2", "rho")
        if (not math.isfinite(value) or value < 0 or (key == "lr" and value == 0)
                or (below_one and value >= 1) or (key == "momentum" and value > 1)):
            wanted = ("a positive number" if key == "lr" else "a number in [0, 1)" if below_one
                      else "a number in [0, 1]" if key == "momentum" else "a number >= 0")
            raise InputError(f"{flag} {value!r} is not allowed for {name}",
                             f"give {wanted}, e.g. {flag} {values[key]:g}")
        values[key] = value
    if name == "nesterov" and values["momentum"] == 0:
        raise InputError("--momentum 0 is not allowed for nesterov (torch refuses Nesterov "
                         "without momentum)", "give a number in (0, 1], e.g. --momentum 0.9, "
                                              "or use --optimizer sgd")
    if values.get("weight_decay") and values.get("coupled_weight_decay"):
        raise InputError(f"{name}: --weight-decay (decoupled) and --coupled-weight-decay (L2 in "
                         "the gradient) were both given", "give one of them")
    return OptimizerConfig(name, values)


# --- losses, for the table (the code is in */losses.py) --------------------------------------
@dataclass(frozen=True)
class LossDecl:
    name: str
    formula: str
    torch: str
    keras: str
    from_logits: str
    reduction: str


LOSSES: tuple[LossDecl, ...] = (
    LossDecl("mse", "mean((pred - y)^2) over all elements",
             "F.mse_loss(pred, y, reduction='mean')",
             "losses.MeanSquaredError(reduction='sum_over_batch_size', dtype=dtype)",
             "n/a", "torch: mean over all elements; keras: mean over the last axis, then "
                    "sum / batch size — equal for any shape"),
    LossDecl("mae", "mean(|pred - y|) over all elements; gradient sign(pred - y) / M, 0 at a tie",
             "F.l1_loss(pred, y, reduction='mean')",
             "losses.MeanAbsoluteError(reduction='sum_over_batch_size', dtype=dtype)",
             "n/a", "as mse"),
    LossDecl("softmax_ce", "-mean_n log softmax(z_n)[y_n], integer labels",
             "F.cross_entropy(logits, y, reduction='mean')",
             "losses.SparseCategoricalCrossentropy(from_logits=True, "
             "reduction='sum_over_batch_size', dtype=dtype)",
             "torch: always logits; keras: from_logits=True (default False expects "
             "probabilities)", "mean over the batch in both"),
    LossDecl("binary_ce", "mean(max(z,0) - z y + log(1 + exp(-|z|))), y in [0, 1]",
             "F.binary_cross_entropy_with_logits(logits, y, reduction='mean')",
             "losses.BinaryCrossentropy(from_logits=True, reduction='sum_over_batch_size', "
             "dtype=dtype)",
             "torch: the _with_logits function (F.binary_cross_entropy takes probabilities); "
             "keras: from_logits=True (default False)",
             "torch: mean over all elements; keras: mean over the last axis, then sum / batch "
             "size — equal for any shape"),
)


# --- what else differs when the same numbers are handed over ---------------------------------
# the library defaults of the arguments crossframe fixes per optimizer (torch_fixed /
# keras_fixed), checked against the installed signatures by parity_tests/test_optimizers.py
FIXED_DEFAULTS = {("torch", "nesterov"): False, ("keras", "nesterov"): False,
                  ("torch", "momentum_decay"): 0.004}

NOTES: tuple[str, ...] = (
    "crossframe hands both libraries the same values (the 'crossframe' column), never each "
    "library's own default. Those values are one library's default, chosen per setting and "
    "not as advice: Keras' for eps (1e-7), RMSprop's rho, Adagrad's initial accumulator and "
    "Adadelta's rho; torch's for the learning rates of Adagrad, Adamax, Nadam and Adadelta and "
    "for Adadelta's eps. Pass your own as flags; both libraries get them.",
    "Keras keeps learning_rate in a Variable of floatx() (float32 unless set), and its update "
    "steps tf.cast Python-float settings (Adam's beta_1/beta_2 in the bias correction, "
    "weight_decay, Adagrad's initial accumulator) - which converts them to float32 first. In a "
    "float64 model that perturbs lr and the betas by ~1e-8 relative. crossframe therefore gives "
    "Keras NumPy float64 scalars and the learning rate as a callable in float64 runs.",
    "torch keeps every setting as a Python float (double) and applies it in the parameter's "
    "dtype; its per-step scalars (bias corrections) are computed in double.",
    "Weight decay applies to every parameter, biases included, in both libraries unless "
    "excluded (torch: parameter groups; keras: exclude_from_weight_decay).",
    "Weight decay comes in two kinds that the libraries name differently. L2 in the gradient "
    "(crossframe's coupled_weight_decay), g <- g + wd p before the update: torch's weight_decay "
    "argument of every optimizer but AdamW; Keras' optimizers have no such argument (a "
    "keras.regularizers.L2(wd / 2) on every weight has this gradient, and adds wd/2 |p|^2 to "
    "the loss), so crossframe's Keras trainer adds wd p to each gradient before "
    "apply_gradients. Decoupled (crossframe's weight_decay, Loshchilov & Hutter), p <- p - lr "
    "wd p before the update: Keras' weight_decay argument of every optimizer; torch's AdamW, "
    "and Adam and NAdam with decoupled_weight_decay=True; the other torch optimizers have "
    "none, so crossframe's torch trainer runs AdamW's own line, p.mul_(1 - lr wd), before "
    "step(). Under Adam the two differ in kind: L2 is divided by sqrt(v) with the gradient, "
    "the decoupled decay is not.",
)
