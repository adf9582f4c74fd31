"""The activations a port meets, as one table: name, Keras spelling, torch spelling, the maths.

Each entry (``ActivationSpec``) says, for one activation:

- ``name``: crossframe's name (what ``Dense(activation=NAME)``, a recurrent layer's
  ``activation=`` / ``recurrent_activation=`` and the lone layer kind accept);
- its options under Keras' names (``alpha``, ``negative_slope``, ``approximate``), with the
  defaults of Keras' *activation function* ``keras.activations.NAME`` (what the string
  ``activation="NAME"`` means in Keras; a Keras *layer* may default differently: LeakyReLU);
- the Keras spelling (``keras_code``: ``keras.activations.gelu(x, approximate=False)``; the
  string Keras' ``activation=`` takes, ``keras_name``) and a callable on Keras tensors
  (``keras_fn``);
- the torch spelling: a callable on a tensor (``torch_fn``), the module for generated code
  (``torch_code``: ``nn.GELU(approximate='none')``) and its functional form
  (``torch_functional``: ``F.gelu(x, approximate='none')``);
- the scratch maths (scratch/activations.py: the textbook formula with its source):
  ``forward(opts)`` -> f(x), ``derivative(opts)`` -> dy/dx as a function of (x, y)
  elementwise (None for softmax), ``vjp(opts)`` -> (x, y, G) -> dL/dx for every entry.

This module imports neither torch nor TensorFlow nor the scratch package at import time: each
is imported when a callable for it is asked for.

    from crossframe import activations as A
    spec = A.get("gelu")
    opts = spec.resolve({"approximate": True})
    f, df = spec.forward(opts), spec.derivative(opts)        # NumPy
    spec.torch_fn(opts)(t); spec.keras_fn(opts)(k)            # the libraries
    spec.torch_code(opts)   # "nn.GELU(approximate='tanh')"

Where a library's own op is not exact in float64, ``torch_fn`` / ``keras_fn`` compute the same
formula with ops that are, and say so (the library's own op is pinned by a test):
torch's ``F.hardsigmoid`` backward multiplies by a float32 1/6 in float64 (3e-8 relative), so
``torch_fn`` is ``F.relu6(x + 3) / 6``; TensorFlow's LeakyRelu keeps ``alpha`` as a float32
attribute, so Keras' ``leaky_relu`` in float64 uses float32(0.3) = 0.30000001192..., and
``keras_fn`` is ``ops.where(x > 0, x, negative_slope * x)`` (the same gradient at 0);
``tf.nn.gelu`` casts its constants (1/sqrt 2, 0.044715) through float32 tensors (1e-9 off in
float64), so ``keras_fn`` writes GELU with ``keras.ops.erf`` / ``keras.ops.tanh``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import InputError, did_you_mean
from .layers.base import Option, boolean, number, resolve_options

# the Keras defaults that differ from torch's (declared differences: crossframe/layers/dense.py)
LEAKY_SLOPE_KERAS_FUNCTION = 0.2    # keras.activations.leaky_relu, Dense(activation=...)
LEAKY_SLOPE_KERAS_LAYER = 0.3       # keras.layers.LeakyReLU()
LEAKY_SLOPE_TORCH = 0.01            # torch.nn.LeakyReLU(), F.leaky_relu


def _scratch():
    """scratch/activations.py, found by name as crossframe.frameworks finds every
    implementation (the hub never imports an implementation package statically)."""
    import importlib

    from .frameworks import PACKAGES

    return importlib.import_module(f"{PACKAGES['scratch']}.activations")


def _torch():
    import torch

    return torch


def _keras():
    from .keras_impl.backend import keras

    return keras


@dataclass(frozen=True)
class ActivationSpec:
    """One activation: its names, options, the two libraries' spellings and the maths.

    ``math``: the scratch function's name in scratch/activations.py (``f`` and ``f_grad``).
    ``keras_call`` / ``torch_call`` / ``torch_module``: format strings over the options
    (``torch_module`` may also use ``torch_approximate``, torch's string for ``approximate``).
    ``keras_impl`` / ``torch_impl``: (opts) -> a callable on that library's tensors."""

    name: str
    title: str
    math: str
    formula: str
    derivative_text: str
    keras_name: str | None
    keras_call: str
    torch_module: str
    torch_call: str
    keras_impl: Callable[[dict], Callable]
    torch_impl: Callable[[dict], Callable]
    options: tuple[Option, ...] = ()
    elementwise: bool = True
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    # -- options -----------------------------------------------------------------------------
    def resolve(self, given: dict | None = None, owner: str = "") -> dict:
        """The options (Keras' names) with this activation's defaults, parsed and checked."""
        return resolve_options(self.options, given, owner or self.name)

    def _names(self, opts: dict | None, x: str = "x") -> dict:
        o = self.resolve(opts)
        words = {"x": x, **{k: repr(v) for k, v in o.items()}}
        if "approximate" in o:
            words["torch_approximate"] = repr("tanh" if o["approximate"] else "none")
        return words

    # -- the spellings -----------------------------------------------------------------------
    def keras_code(self, opts: dict | None = None, x: str = "x") -> str:
        """``keras.activations.gelu(x, approximate=False)``: how Keras writes it on ``x``."""
        return self.keras_call.format(**self._names(opts, x))

    def torch_code(self, opts: dict | None = None) -> str:
        """``nn.GELU(approximate='none')``: the torch module for generated code."""
        return self.torch_module.format(**self._names(opts))

    def torch_functional(self, opts: dict | None = None, x: str = "x") -> str:
        """``F.gelu(x, approximate='none')``: the functional torch spelling on ``x``."""
        return self.torch_call.format(**self._names(opts, x))

    def keras_fn(self, opts: dict | None = None) -> Callable:
        """A callable on Keras (TensorFlow) tensors computing it (exact in float64)."""
        return self.keras_impl(self.resolve(opts))

    def torch_fn(self, opts: dict | None = None) -> Callable:
        """A callable on torch tensors computing it (exact in float64)."""
        return self.torch_impl(self.resolve(opts))

    # -- the scratch maths -------------------------------------------------------------------
    def forward(self, opts: dict | None = None) -> Callable:
        """f(x) -> y in NumPy (scratch/activations.py)."""
        o = self.resolve(opts)
        fn = getattr(_scratch(), self.math)
        return (lambda x: fn(x, **o)) if o else fn

    def derivative(self, opts: dict | None = None) -> Callable | None:
        """(x, y) -> dy/dx elementwise in NumPy; None for softmax (use ``vjp``)."""
        if not self.elementwise:
            return None
        o = self.resolve(opts)
        fn = getattr(_scratch(), self.math + "_grad")
        return (lambda x, y: fn(x, y, **o)) if o else fn

    def vjp(self, opts: dict | None = None) -> Callable:
        """(x, y, G) -> dL/dx = G * f'(x) (softmax: the Jacobian product on the last axis)."""
        if not self.elementwise:
            fn = getattr(_scratch(), self.math + "_vjp")
            return lambda x, y, G: fn(y, G)
        d = self.derivative(opts)
        return lambda x, y, G: G * d(x, y)


# --- the library callables (lazy imports inside) ---------------------------------------------
def _k(name: str, **fixed):
    def make(o):
        fn = getattr(_keras().activations, name)
        kwargs = {**o, **fixed}
        return (lambda x: fn(x, **kwargs)) if kwargs else fn
    return make


def _t(name: str, rename: dict | None = None, **fixed):
    def make(o):
        fn = getattr(_torch().nn.functional, name)
        kwargs = {(rename or {}).get(k, k): v for k, v in o.items()}
        kwargs.update(fixed)
        return (lambda t: fn(t, **kwargs)) if kwargs else fn
    return make


def _keras_leaky(o):
    ops, slope = _keras().ops, o["negative_slope"]
    # not keras.activations.leaky_relu: TensorFlow's LeakyRelu holds alpha in float32. A
    # Python float times a tensor is converted in the tensor's dtype (ops.cast(0.2, float64)
    # would go through a float32 tensor first).
    return lambda x: ops.where(x > 0, x, x * slope)


def _keras_gelu(o):
    ops = _keras().ops
    if o["approximate"]:
        c, k = 0.044715, math.sqrt(2 / math.pi)
        return lambda x: 0.5 * x * (1 + ops.tanh(k * (x + c * x * x * x)))
    # not keras.activations.gelu: tf.nn.gelu casts its constants (1/sqrt 2, 0.044715) from
    # float32 tensors, 1e-9 off in float64; this is torch's exact form in keras.ops
    return lambda x: 0.5 * x * (1 + ops.erf(x * (1 / math.sqrt(2))))


def _torch_gelu(o):
    F = _torch().nn.functional
    approximate = "tanh" if o["approximate"] else "none"
    return lambda t: F.gelu(t, approximate=approximate)


def _torch_hard_sigmoid(o):
    F = _torch().nn.functional
    # not F.hardsigmoid: its float64 backward multiplies by float32(1/6)
    return lambda t: F.relu6(t + 3) / 6


def _torch_hard_sigmoid_keras2(o):
    torch = _torch()
    return lambda t: torch.clamp(0.2 * t + 0.5, 0.0, 1.0)


def _keras_hard_sigmoid_keras2(o):
    ops = _keras().ops
    return lambda x: ops.clip(0.2 * x + 0.5, 0.0, 1.0)


def _torch_softmax(o):
    torch = _torch()
    return lambda t: torch.softmax(t, dim=-1)


def _torch_softplus(o):
    # torch's default: x itself above threshold=20 (a declared difference)
    F = _torch().nn.functional
    return lambda t: F.softplus(t)


ALPHA = Option("alpha", 1.0, "ELU's value for x -> -inf is -alpha (Keras and torch both "
               "call it alpha, default 1.0)", number(0.0))
SLOPE = Option("negative_slope", LEAKY_SLOPE_KERAS_FUNCTION,
               "the slope for x <= 0 (keras.activations.leaky_relu: 0.2; the Keras layer "
               "LeakyReLU: 0.3; torch: 0.01)", number(0.0), aliases=("alpha",))
APPROXIMATE = Option("approximate", False, "the tanh approximation (Keras approximate=True "
                     "is torch approximate='tanh'; False is torch's 'none', the exact erf "
                     "form)", boolean)

TABLE: tuple[ActivationSpec, ...] = (
    ActivationSpec(
        "linear", "Linear", "linear", "y = x", "1", "linear", "keras.activations.linear({x})",
        "nn.Identity()", "{x}", lambda o: (lambda x: x), lambda o: (lambda t: t),
        notes=("Keras' Dense(activation=None) is 'linear': no activation.",)),
    ActivationSpec(
        "relu", "ReLU", "relu", "y = max(x, 0)", "[x > 0] (0 at x = 0 in all three)", "relu",
        "keras.activations.relu({x})", "nn.ReLU()", "F.relu({x})", _k("relu"), _t("relu")),
    ActivationSpec(
        "sigmoid", "Sigmoid", "sigmoid", "y = 1 / (1 + exp(-x))", "y (1 - y)", "sigmoid",
        "keras.activations.sigmoid({x})", "nn.Sigmoid()", "torch.sigmoid({x})", _k("sigmoid"),
        lambda o: _torch().sigmoid),
    ActivationSpec(
        "tanh", "Tanh", "tanh", "y = tanh(x)", "1 - y^2", "tanh", "keras.activations.tanh({x})",
        "nn.Tanh()", "torch.tanh({x})", _k("tanh"), lambda o: _torch().tanh),
    ActivationSpec(
        "softmax", "Softmax", "softmax", "p = exp(z - max z) / sum exp(z - max z) over the "
        "last axis", "dL/dz = p (G - sum(G p))  (a vector-Jacobian product, not elementwise)",
        "softmax", "keras.activations.softmax({x}, axis=-1)", "nn.Softmax(dim=-1)",
        "torch.softmax({x}, dim=-1)", _k("softmax"), _torch_softmax, elementwise=False),
    ActivationSpec(
        "gelu", "GELU", "gelu", "exact: y = x Phi(x) = x/2 (1 + erf(x / sqrt 2));  tanh: "
        "y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        "exact: Phi(x) + x phi(x);  tanh: see scratch/activations.py gelu_grad", "gelu",
        "keras.activations.gelu({x}, approximate={approximate})",
        "nn.GELU(approximate={torch_approximate})",
        "F.gelu({x}, approximate={torch_approximate})", _keras_gelu, _torch_gelu,
        options=(APPROXIMATE,),
        notes=("torch names the two forms approximate='none' (exact, the default) and "
               "'tanh'; Keras approximate=False (exact) and True. keras.activations.gelu and "
               "Activation('gelu') default to the exact form, as torch does; keras.ops.gelu "
               "defaults to approximate=True (a declared difference).",
               "TensorFlow's tf.nn.gelu casts its constants through float32 tensors, so Keras' "
               "gelu in float64 is ~1e-9 off the formula; crossframe's Keras side writes it "
               "in keras.ops (exact).")),
    ActivationSpec(
        "elu", "ELU", "elu", "y = x (x > 0);  alpha (exp(x) - 1) (x <= 0)",
        "1 (x > 0);  alpha exp(x) = y + alpha (x <= 0; at 0: alpha, in all three)", "elu",
        "keras.activations.elu({x}, alpha={alpha})", "nn.ELU(alpha={alpha})",
        "F.elu({x}, alpha={alpha})", _k("elu"), _t("elu"), options=(ALPHA,)),
    ActivationSpec(
        "selu", "SELU", "selu", "y = scale * elu(x, alpha), alpha = 1.67326..., scale = "
        "1.05070...", "scale (x > 0);  scale alpha exp(x) (x <= 0; at 0: torch and scratch "
        "scale alpha, TensorFlow scale)", "selu", "keras.activations.selu({x})", "nn.SELU()",
        "F.selu({x})", _k("selu"), _t("selu")),
    ActivationSpec(
        "leaky_relu", "LeakyReLU", "leaky_relu", "y = x (x > 0);  negative_slope x (x <= 0)",
        "1 (x > 0);  negative_slope (x <= 0; at 0: negative_slope, in all three)",
        "leaky_relu", "keras.activations.leaky_relu({x}, negative_slope={negative_slope})",
        "nn.LeakyReLU(negative_slope={negative_slope})",
        "F.leaky_relu({x}, negative_slope={negative_slope})", _keras_leaky, _t("leaky_relu"),
        options=(SLOPE,), aliases=("leakyrelu",),
        notes=("Default slopes differ: torch 0.01, keras.layers.LeakyReLU 0.3, "
               "keras.activations.leaky_relu (and Dense(activation='leaky_relu')) 0.2: say it "
               "in both.",
               "TensorFlow's LeakyRelu keeps alpha in float32: Keras' leaky_relu in float64 "
               "uses float32(slope) (0.3 -> 0.30000001192...); crossframe's Keras side computes "
               "where(x > 0, x, slope * x) in the tensor's dtype.")),
    ActivationSpec(
        "hard_sigmoid", "HardSigmoid", "hard_sigmoid",
        "Keras 3 and torch: y = relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)",
        "1/6 (-3 < x < 3), else 0 (at the kinks -3 and 3: 0, in all three)", "hard_sigmoid",
        "keras.activations.hard_sigmoid({x})", "nn.Hardsigmoid()", "F.hardsigmoid({x})",
        _k("hard_sigmoid"), _torch_hard_sigmoid, aliases=("hardsigmoid", "hard_sigmoid_keras3"),
        notes=("This is Keras 3's (and torch's) hard sigmoid. Keras 2 computed clip(0.2 x + "
               "0.5, 0, 1): that one is hard_sigmoid_keras2.",
               "torch's F.hardsigmoid backward multiplies by float32(1/6) in float64; "
               "crossframe's torch side computes F.relu6(x + 3) / 6 (same forward, exact "
               "gradient); so does its Keras side on the torch backend, where "
               "keras.activations.hard_sigmoid is F.hardsigmoid (keras_impl/dense.py).")),
    ActivationSpec(
        "hard_sigmoid_keras2", "HardSigmoidKeras2", "hard_sigmoid_keras2",
        "Keras 2: y = clip(0.2 x + 0.5, 0, 1)",
        "0.2 (-2.5 <= x <= 2.5), else 0 (at the kinks: 0.2, the clip's gradient in both)",
        None, "keras.ops.clip(0.2 * {x} + 0.5, 0.0, 1.0)",
        "nn.Identity()  # Keras 2's hard_sigmoid, no torch module: forward clamps 0.2 x + 0.5",
        "torch.clamp(0.2 * {x} + 0.5, 0.0, 1.0)", _keras_hard_sigmoid_keras2,
        _torch_hard_sigmoid_keras2, aliases=("hard_sigmoid_old",),
        notes=("Keras 2's hard_sigmoid (keras/backend.py, 2.x), which old checkpoints and "
               "tutorials assume (LSTM recurrent_activation='hard_sigmoid' was the Keras 2 "
               "default). Neither Keras 3 nor torch has it built in: both write the clip.",)),
    ActivationSpec(
        "silu", "SiLU", "silu", "y = x sigmoid(x)", "s (1 + x (1 - s)), s = sigmoid(x)",
        "silu", "keras.activations.silu({x})", "nn.SiLU()", "F.silu({x})", _k("silu"),
        _t("silu"), aliases=("swish",)),
    ActivationSpec(
        "softplus", "Softplus", "softplus", "y = log(1 + exp(x))", "sigmoid(x)", "softplus",
        "keras.activations.softplus({x})", "nn.Softplus()", "F.softplus({x})", _k("softplus"),
        _torch_softplus,
        notes=("torch's nn.Softplus() returns x itself above threshold=20 (relative error "
               "~exp(-x)/x there, 1e-10 at x = 20); Keras computes log1p(exp(x)) exactly.",)),
)

_BY_NAME = {a.name: a for a in TABLE}
_ALIASES = {alias: a for a in TABLE for alias in (a.name, a.title.lower(), *a.aliases)}


def names() -> tuple[str, ...]:
    """Every activation's crossframe name, in table order."""
    return tuple(a.name for a in TABLE)


def get(name: Any) -> ActivationSpec:
    """The activation called ``name`` (any case; ``None`` is "linear", as in Keras)."""
    key = "linear" if name is None else str(name).strip().lower()
    spec = _ALIASES.get(key)
    if spec is None:
        raise InputError(f"unknown activation '{name}'",
                         did_you_mean(str(name), _BY_NAME) + f" (one of: {', '.join(names())})")
    return spec


def parse(value) -> str:
    """An Option parser: an activation name -> its crossframe name (ValueError if unknown)."""
    key = "linear" if value is None else str(value).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"unknown activation; one of {', '.join(names())}")
    return _ALIASES[key].name


parse.__name__ = "an activation name"
