"""Dense (with its activation) and the activations as layers: ReLU, sigmoid, tanh, Softmax,
GELU, ELU, SELU, LeakyReLU, the two hard sigmoids, SiLU, Softplus (crossframe/activations.py
holds the table they read: names, both libraries' spellings, the maths).

Canonical layout (Keras'): kernel ``W (F_in, units)``, bias ``b (units,)``, ``y = x W + b`` on
the last axis. PyTorch's ``nn.Linear`` stores ``weight (units, F_in)`` and computes
``x @ weight.T + bias``: the mapping transposes, and after a Flatten of an NCHW image it also
permutes the rows (torch sees the features in (c, h, w) order).
"""
from __future__ import annotations

import math

from .. import activations as A
from ..mapping import Chain, Entry, Identity, Permute, Transpose
from ..difference import Difference
from .base import (Flow, LayerDecl, Option, ParamSpec, boolean, flatten_order, flatten_text,
                   integer, number)
from ..keras_backends import on_tensorflow

TORCH_W_WHY = "nn.Linear stores weight (out, in) and computes x @ weight.T"
TORCH_FLAT_WHY = ("nn.Linear stores weight (out, in), and the Flatten before it ordered its "
                  "inputs (c, h, w) from NCHW or (c, l) from NCL: rows permuted, then "
                  "transposed")
KERAS_W_WHY = "layers.Dense stores kernel (in, out) and computes x @ kernel"
SAME_LAYOUT = "same layout"


class Dense(LayerDecl):
    mask = "passes"                      # Keras' Dense hands a mask on unchanged
    name, title, family, stem = "dense", "Dense", "dense", "dense"
    keras, torch = "keras.layers.Dense", "torch.nn.Linear"
    aliases = ("linear", "fully_connected")
    example = ((5,), {"units": 4})
    bilinear = True
    options = (
        Option("units", None, "output units U (inferred from the kernel when weights are given)",
               integer(1)),
        Option("activation", "linear", "f applied to x W + b, by its Keras name, with the Keras "
               "function's defaults (leaky_relu slope 0.2, gelu exact, elu alpha 1; "
               "hard_sigmoid is Keras 3's, hard_sigmoid_keras2 Keras 2's)", A.parse),
        Option("use_bias", True, "add a bias b (U,)", boolean, aliases=("bias",)),
    )
    equations = (
        "z = x W + b    y = f(z)        x (N, F), W (F, U), b (U,), y (N, U); f = activation\n"
        "Gz = G * f'(z)  (softmax: p (G - sum(G p)))      G = dL/dy (N, U); linear: Gz = G\n"
        "dL/dx = Gz W^T   dL/dW = x^T Gz   dL/db = sum_n Gz[n]\n"
        "On a sequence (N, T, F) or an image (N, H, W, F) it acts on the last axis, the same "
        "W at every step or pixel (dL/dW and dL/db then also sum over them).")
    notes = (
        "torch's nn.Linear stores weight (out, in) = the transpose of Keras' kernel (in, out); "
        "a square kernel loaded without the transpose has the right shape and wrong numbers.",
        "dL/db sums the upstream gradient over the batch (and over steps or pixels).",
        "Keras' Dense(units, activation=NAME) applies the activation inside the layer; torch's "
        "nn.Linear has none: a port applies it in forward (here in the same module, so the "
        "state_dict keys stay dense.weight / dense.bias; an nn.Sequential(nn.Linear, act) "
        "would name them dense.0.weight). A port that drops it computes a linear layer.",
        "activation='leaky_relu' in Keras is keras.activations.leaky_relu, slope 0.2 (not the "
        "LeakyReLU layer's 0.3, not torch's 0.01); 'gelu' is the exact erf form (torch's "
        "approximate='none'); 'hard_sigmoid' is Keras 3's relu6(x + 3) / 6 (torch's "
        "F.hardsigmoid), not Keras 2's clip(0.2 x + 0.5, 0, 1) (hard_sigmoid_keras2 here).",
    )

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        if opts["units"] is None:
            from ..errors import InputError
            raise InputError(f"{where}: Dense needs units", "e.g. dense(units=10)")

    def infer(self, shapes, flow):
        out = {}
        if "W" in shapes and len(shapes["W"]) == 2:
            out["units"] = shapes["W"][1]
        out["use_bias"] = "b" in shapes
        return out

    def output(self, opts, flow):
        return Flow(flow.shape[:-1] + (opts["units"],), flow.layout)

    def params(self, opts, flow):
        F, U = flow.features, opts["units"]
        out = [ParamSpec("W", (F, U), "weight", F, "kernel (in, out)")]
        if opts["use_bias"]:
            out.append(ParamSpec("b", (U,), "bias", doc="bias (out,)"))
        return out

    def torch_params(self, cfg):
        image = cfg.flow_in.flattened
        if image is None:
            weight = Entry(cfg.p("W"), f"{cfg.name}.weight", Transpose((1, 0)), TORCH_W_WHY)
        else:
            rows = Permute(flatten_order(*image), 0, "rows " + flatten_text(image))
            weight = Entry(cfg.p("W"), f"{cfg.name}.weight", Chain((rows, Transpose((1, 0)))),
                           TORCH_FLAT_WHY)
        out = [weight]
        if cfg.has("b"):
            out.append(Entry(cfg.p("b"), f"{cfg.name}.bias", Identity(), SAME_LAYOUT))
        return out

    def keras_params(self, cfg):
        out = [Entry(cfg.p("W"), f"{cfg.name}/kernel", Identity(), KERAS_W_WHY)]
        if cfg.has("b"):
            out.append(Entry(cfg.p("b"), f"{cfg.name}/bias", Identity(), SAME_LAYOUT))
        return out

    def torch_code(self, cfg):
        bias = "" if cfg.opts["use_bias"] else ", bias=False"
        return f"nn.Linear({cfg.flow_in.features}, {cfg.opts['units']}{bias})"

    def torch_forward(self, cfg):
        spec = A.get(cfg.opts["activation"])
        act = [] if spec.name == "linear" else [f"x = {spec.torch_functional()}"]
        if cfg.flow_in.channels_first:   # Linear acts on the last axis: NCHW's is W, NCL's L
            if not act:
                return [f"x = self.{cfg.name}(x.movedim(1, -1)).movedim(-1, 1)  # on the "
                        "channels"]
            return [f"x = self.{cfg.name}(x.movedim(1, -1))  # on the channels", *act,
                    "x = x.movedim(-1, 1)"]
        return [f"x = self.{cfg.name}(x)", *act]

    def keras_code(self, cfg):
        bias = "" if cfg.opts["use_bias"] else ", use_bias=False"
        spec = A.get(cfg.opts["activation"])
        if spec.name == "linear":
            act = ""
        elif spec.keras_name is None:
            act = f", activation=lambda x: {spec.keras_code()}"
        else:
            act = f", activation={spec.keras_name!r}"
        return f"layers.Dense({cfg.opts['units']}{act}{bias})"

    def formula(self, cfg, framework):
        spec = A.get(cfg.opts["activation"])
        linear = {"scratch": "x @ W + b", "torch": "x @ weight.T + bias",
                  "keras": "x @ kernel + bias"}[framework]
        if spec.name == "linear":
            return f"y = {linear}"
        act = {"scratch": f"{spec.name}(z)", "torch": spec.torch_functional(x="z"),
               "keras": spec.keras_code(x="z")}[framework]
        return f"z = {linear}; y = {act}"


# --- element-wise activations ----------------------------------------------------------------
class Activation(LayerDecl):
    """No parameters, output shape = input shape, any layout (torch keeps its own layout)."""

    family = "dense"
    function = ""   # the Keras activation name
    mask = "passes"  # element-wise: Keras hands a mask on unchanged (Softmax: not modelled)

    def torch_code(self, cfg):
        return f"nn.{self.torch.rsplit('.', 1)[1]}()"

    def keras_code(self, cfg):
        return f"layers.Activation('{self.function}')"


class ReLU(Activation):
    name, title, stem, function = "relu", "ReLU", "relu", "relu"
    keras, torch = "keras.layers.ReLU", "torch.nn.ReLU"
    example = ((6,), {})
    aliases = ("ReLU",)
    equations = ("y = max(x, 0)        dL/dx = G [x > 0]\n"
                 "At exactly x = 0 the derivative is taken as 0 (the strict inequality), in "
                 "scratch, torch (threshold_backward) and TensorFlow (ReluGrad: y > 0).")

    def keras_code(self, cfg):
        return "layers.ReLU()"


class Sigmoid(Activation):
    name, title, stem, function = "sigmoid", "Sigmoid", "sigmoid", "sigmoid"
    keras, torch = "keras.layers.Activation('sigmoid')", "torch.nn.Sigmoid"
    example = ((6,), {})
    equations = ("y = 1 / (1 + exp(-x))     dL/dx = G y (1 - y)\n"
                 "Evaluated through exp(-|x|) <= 1, so x = +-300 neither overflows nor loses "
                 "the tiny tail.")


class Tanh(Activation):
    name, title, stem, function = "tanh", "Tanh", "tanh", "tanh"
    keras, torch = "keras.layers.Activation('tanh')", "torch.nn.Tanh"
    example = ((6,), {})
    equations = "y = tanh(x)     dL/dx = G (1 - y^2)"


class Softmax(Activation):
    name, title, stem, function = "softmax", "Softmax", "softmax", "softmax"
    mask = "refuses"
    keras, torch = "keras.layers.Softmax", "torch.nn.Softmax"
    example = ((4, 3, 5), {})   # an image: torch's softmax runs over dim=1, Keras' over axis -1
    equations = (
        "p = exp(z - max z) / sum exp(z - max z)      over the last axis (features / channels)\n"
        "dL/dz = p * (G - sum(G * p))                 G = dL/dp")
    notes = ("torch's nn.Softmax needs the axis: dim=-1 for features, dim=1 for the channels "
             "of an NCHW image (Keras' axis=-1 is the channels of NHWC).",
             "Keras' cross-entropy with from_logits=False, given the output of a Keras softmax "
             "(TensorFlow backend), reads the logits the softmax recorded (_keras_logits) and "
             "computes from them: the probabilities are never clipped or logged.")

    def torch_code(self, cfg):
        return "nn.Softmax(dim=1)" if cfg.flow_in.channels_first else "nn.Softmax(dim=-1)"

    def keras_code(self, cfg):
        return "layers.Softmax()"


class TableActivation(Activation):
    """An activation layer read from the table (crossframe/activations.py): its options (Keras'
    names), both libraries' spellings and its maths come from the entry ``spec_name``."""

    spec_name = ""
    example = ((2, 7), {})      # a sequence: 14 values per sample, most of them inside the kinks

    @property
    def spec(self) -> A.ActivationSpec:
        return A.get(self.spec_name)

    @property
    def equations(self) -> str:  # type: ignore[override]
        s = self.spec
        if not s.elementwise:
            return f"{s.formula}\n{s.derivative_text}"
        return f"{s.formula}\ndL/dx = G * f'(x),  f'(x) = {s.derivative_text}"

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.spec.notes

    def torch_code(self, cfg):
        return self.spec.torch_code(cfg.opts)

    def keras_code(self, cfg):
        s = self.spec
        if s.keras_name is not None and cfg.opts == s.resolve():
            return f"layers.Activation({s.keras_name!r})"
        return f"layers.Activation(lambda x: {s.keras_code(cfg.opts)})"

    def formula(self, cfg, framework):
        s = self.spec
        return {"scratch": f"y = {s.name}(x)  ({s.formula})",
                "torch": f"y = {s.torch_functional(cfg.opts)}",
                "keras": f"y = {s.keras_code(cfg.opts)}"}[framework]


class GELU(TableActivation):
    name, title, stem, spec_name = "gelu", "GELU", "gelu", "gelu"
    keras, torch = "keras.layers.Activation('gelu')", "torch.nn.GELU"
    options = (A.APPROXIMATE,)


class ELU(TableActivation):
    name, title, stem, spec_name = "elu", "ELU", "elu", "elu"
    keras, torch = "keras.layers.ELU", "torch.nn.ELU"
    options = (A.ALPHA,)

    def keras_code(self, cfg):
        return f"layers.ELU(alpha={cfg.opts['alpha']!r})"


class SELU(TableActivation):
    name, title, stem, spec_name = "selu", "SELU", "selu", "selu"
    keras, torch = "keras.layers.Activation('selu')", "torch.nn.SELU"


class LeakyReLU(TableActivation):
    """The Keras *layer*'s default slope, 0.3 (keras.activations.leaky_relu has 0.2, torch
    0.01): a declared difference."""

    name, title, stem, spec_name = "leaky_relu", "LeakyReLU", "leaky_relu", "leaky_relu"
    keras, torch = "keras.layers.LeakyReLU", "torch.nn.LeakyReLU"
    aliases = ("leakyrelu",)
    options = (Option("negative_slope", A.LEAKY_SLOPE_KERAS_LAYER, "the slope for x <= 0 "
                      "(Keras' LeakyReLU layer: 0.3; keras.activations.leaky_relu: 0.2; torch: "
                      "0.01); Keras 2 called it alpha", number(0.0), aliases=("alpha",)),)

    def keras_code(self, cfg):
        return f"layers.LeakyReLU(negative_slope={cfg.opts['negative_slope']!r})"


class HardSigmoid(TableActivation):
    name, title, stem, spec_name = "hard_sigmoid", "HardSigmoid", "hard_sigmoid", "hard_sigmoid"
    keras, torch = "keras.layers.Activation('hard_sigmoid')", "torch.nn.Hardsigmoid"
    aliases = ("hardsigmoid", "hard_sigmoid_keras3")
    example = ((2, 7), {})


class HardSigmoidKeras2(TableActivation):
    name, title, stem = "hard_sigmoid_keras2", "HardSigmoidKeras2", "hard_sigmoid_keras2"
    spec_name = "hard_sigmoid_keras2"
    keras = "keras.layers.Activation(lambda x: keras.ops.clip(0.2 * x + 0.5, 0, 1))"
    torch = "torch.clamp(0.2 * x + 0.5, 0, 1) (no module)"
    aliases = ("hard_sigmoid_old",)

    def torch_code(self, cfg):
        return "nn.Identity()  # Keras 2's hard_sigmoid has no torch module: see forward"

    def torch_forward(self, cfg):
        return [f"x = torch.clamp(0.2 * self.{cfg.name}(x) + 0.5, 0.0, 1.0)  # Keras 2's "
                "hard_sigmoid"]


class SiLU(TableActivation):
    name, title, stem, spec_name = "silu", "SiLU", "silu", "silu"
    keras, torch = "keras.layers.Activation('silu')", "torch.nn.SiLU"
    aliases = ("swish",)


class Softplus(TableActivation):
    name, title, stem, spec_name = "softplus", "Softplus", "softplus", "softplus"
    keras, torch = "keras.layers.Activation('softplus')", "torch.nn.Softplus"


# --- normalization over the last axis --------------------------------------------------------
KERAS_EPSILON, TORCH_EPSILON = 1e-3, 1e-5       # the two libraries' defaults


class LayerNormalization(LayerDecl):
    """Ba, Kiros & Hinton, "Layer Normalization" (2016), over the last axis only (Keras'
    default axis=-1; torch's ``nn.LayerNorm(normalized_shape=F)``)."""

    name, title, family, stem = "layernorm", "LayerNormalization", "dense", "layernorm"
    keras, torch = "keras.layers.LayerNormalization", "torch.nn.LayerNorm"
    aliases = ("layer_norm", "LayerNorm")
    example = ((4, 3, 5), {})     # an image: torch normalizes dim=-1 of NCHW unless moved
    torch_defaults = {"epsilon": TORCH_EPSILON}
    options = (
        Option("epsilon", KERAS_EPSILON, "added to the variance (Keras' default 1e-3; torch's "
               "nn.LayerNorm defaults to eps=1e-5)", number(0.0, open_min=True), aliases=("eps",)),
    )
    equations = (
        "mu = mean_f x[..., f]     var = mean_f (x - mu)^2      (biased: divided by F)\n"
        "xhat = (x - mu) / sqrt(var + epsilon)      y = gamma * xhat + beta\n"
        "dL/dgamma = sum over rows of G * xhat     dL/dbeta = sum over rows of G\n"
        "dxhat = G * gamma\n"
        "dL/dx = (dxhat - mean_f dxhat - xhat * mean_f(dxhat * xhat)) / sqrt(var + epsilon)")
    notes = (
        "Keras' epsilon defaults to 1e-3, torch's eps to 1e-5: a port that keeps each "
        "library's default computes a different layer (see the declared difference).",
        "Both use the biased variance (divided by F), as the paper does.",
        "torch's nn.LayerNorm normalizes the trailing dimension(s): on an NCHW image that is W, "
        "not the channels; the channels are moved last and back (as for Dense).",
    )

    def output(self, opts, flow):
        return flow

    def params(self, opts, flow):
        F = flow.features
        return [ParamSpec("gamma", (F,), "weight", 1, "scale (F,)"),
                ParamSpec("beta", (F,), "bias", doc="offset (F,)")]

    def torch_params(self, cfg):
        return [Entry(cfg.p("gamma"), f"{cfg.name}.weight", Identity(), SAME_LAYOUT),
                Entry(cfg.p("beta"), f"{cfg.name}.bias", Identity(), SAME_LAYOUT)]

    def keras_params(self, cfg):
        return [Entry(cfg.p("gamma"), f"{cfg.name}/gamma", Identity(), SAME_LAYOUT),
                Entry(cfg.p("beta"), f"{cfg.name}/beta", Identity(), SAME_LAYOUT)]

    def torch_code(self, cfg):
        return f"nn.LayerNorm({cfg.flow_in.features}, eps={cfg.opts['epsilon']:g})"

    def torch_forward(self, cfg):
        if cfg.flow_in.channels_first:
            return [f"x = self.{cfg.name}(x.movedim(1, -1)).movedim(-1, 1)  # on the channels"]
        return [f"x = self.{cfg.name}(x)"]

    def keras_code(self, cfg):
        return f"layers.LayerNormalization(epsilon={cfg.opts['epsilon']:g})"

    def formula(self, cfg, framework):
        return {"scratch": "y = gamma * (x - mu) / sqrt(var + epsilon) + beta",
                "torch": "y = weight * (x - mean) / sqrt(var + eps) + bias",
                "keras": "y = gamma * (x - mean) * rsqrt(variance + epsilon) + beta"}[framework]


class BatchNormalization(LayerDecl):
    """Ioffe & Szegedy, "Batch Normalization" (2015), Algorithm 1, over the last axis (the
    features, or the channels of NHWC), as keras/src/layers/normalization/batch_normalization.py
    and torch.nn.BatchNorm1d / BatchNorm2d compute it, in training and in inference."""

    name, title, family, stem = "batchnorm", "BatchNormalization", "dense", "batchnorm"
    keras, torch = "keras.layers.BatchNormalization", "torch.nn.BatchNorm1d / BatchNorm2d"
    aliases = ("batch_norm", "BatchNorm", "BatchNorm1d", "BatchNorm2d")
    example = ((4, 3, 5), {})     # an image: statistics per channel over N, H and W
    mode_dependent = True
    centers = True
    torch_defaults = {"momentum": 0.9, "epsilon": TORCH_EPSILON}     # torch's momentum 0.1
    options = (
        Option("momentum", 0.99, "Keras' momentum: moving = momentum * moving + (1 - momentum) "
               "* batch; torch's momentum is 1 minus this (0.1 there = 0.9 here)",
               number(0.0, 1.0)),
        Option("epsilon", KERAS_EPSILON, "added to the variance (Keras' default 1e-3; torch's "
               "nn.BatchNorm defaults to eps=1e-5)", number(0.0, open_min=True), aliases=("eps",)),
        Option("center", True, "learn an offset beta (C,)", boolean),
        Option("scale", True, "learn a scale gamma (C,)", boolean),
    )
    equations = (
        "training: mu = mean over rows of x    var = mean over rows (x - mu)^2   (rows: every "
        "axis but the last)\n"
        "xhat = (x - mu) / sqrt(var + epsilon)      y = gamma * xhat + beta\n"
        "moving_mean = momentum * moving_mean + (1 - momentum) * mu\n"
        "moving_variance = momentum * moving_variance + (1 - momentum) * var   (Keras: biased; "
        "torch: var * M/(M-1))\n"
        "dL/dx = (dxhat - mean_rows dxhat - xhat * mean_rows(dxhat * xhat)) / sqrt(var + "
        "epsilon),  dxhat = G * gamma\n"
        "inference: xhat = (x - moving_mean) / sqrt(moving_variance + epsilon), no update, "
        "dL/dx = G * gamma / sqrt(moving_variance + epsilon)\n"
        "dL/dgamma = sum over rows of G * xhat     dL/dbeta = sum over rows of G")
    notes = (
        "torch's momentum is the weight of the NEW batch (default 0.1); Keras' is the weight of "
        "the OLD moving value (default 0.99): torch momentum m = Keras 1 - m.",
        "Default epsilon: Keras 1e-3, torch 1e-5.",
        "Parameter order and names: Keras gamma, beta, moving_mean, moving_variance; torch "
        "weight, bias, running_mean, running_var (+ num_batches_tracked, unused when momentum is "
        "set).",
        "The moving variance is updated with the biased batch variance in Keras and the "
        "unbiased one (times M/(M-1), M = rows per channel) in torch: after a training step "
        "they differ by torch's momentum (1 - Keras' momentum) * var / (M - 1) (a declared "
        "difference); the forward "
        "pass normalizes with the biased variance in both. crossframe's torch layer keeps a "
        "second buffer following Keras' rule, and compares that.",
        "torch's nn.BatchNorm has one switch, affine, for both gamma and beta: center and scale "
        "must be equal there.",
        "In training, a bias just before it is subtracted again with the batch mean: its "
        "gradient is exactly 0 in theory and rounding noise in every library (no two agree). "
        "Give that Dense use_bias=False, as the usual Keras and torch models do.",
    )

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        if opts["center"] != opts["scale"]:
            from ..errors import InputError
            raise InputError(f"{where}: center={str(opts['center']).lower()} with "
                             f"scale={str(opts['scale']).lower()} has no torch layer "
                             "(nn.BatchNorm's affine switches both)",
                             "give center and scale the same value")

    def check_batch(self, cfg, batch_size: int, mode: str) -> None:
        """Training normalizes with the batch's own statistics: one value per channel has no
        variance (torch refuses it; Keras outputs beta)."""
        rows = batch_size * math.prod(cfg.flow_in.shape[:-1])
        if mode == "train" and rows < 2:
            from ..errors import InputError
            raise InputError(f"{cfg.where()}: in training a batch of {batch_size} gives one value "
                             "per channel, which has no variance (torch refuses it)",
                             "raise --batch-size to 2 or more, or use --mode eval")

    def output(self, opts, flow):
        return flow

    def params(self, opts, flow):
        C = flow.features
        out = []
        if opts["scale"]:
            out.append(ParamSpec("gamma", (C,), "weight", 1, "scale (C,)"))
        if opts["center"]:
            out.append(ParamSpec("beta", (C,), "bias", doc="offset (C,)"))
        out += [ParamSpec("moving_mean", (C,), "bias", doc="running mean (C,)", role="state"),
                ParamSpec("moving_variance", (C,), "positive", doc="running variance (C,)",
                          role="state")]
        return out

    def torch_params(self, cfg):
        names = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                 "moving_variance": "running_var"}
        return [Entry(p.name, f"{cfg.name}.{names[p.name.split('.', 1)[1]]}", Identity(),
                      SAME_LAYOUT) for p in cfg.params]

    def torch_states(self, cfg):
        return [Entry(cfg.p("moving_mean"), f"{cfg.name}.running_mean", Identity(),
                      SAME_LAYOUT),
                Entry(cfg.p("moving_variance"), f"{cfg.name}.running_var_biased", Identity(),
                      "nn.BatchNorm's running_var moves with the unbiased variance (a declared "
                      "difference); compared here: a buffer beside it following Keras' rule")]

    def keras_params(self, cfg):
        return [Entry(p.name, f"{cfg.name}/{p.name.split('.', 1)[1]}", Identity(), SAME_LAYOUT)
                for p in cfg.params]

    def torch_code(self, cfg):
        kind = "BatchNorm2d" if cfg.flow_in.layout == "image" else "BatchNorm1d"
        affine = "" if cfg.opts["scale"] else ", affine=False"
        return (f"nn.{kind}({cfg.flow_in.features}, eps={cfg.opts['epsilon']:g}, "
                f"momentum={1 - cfg.opts['momentum']:g}{affine})")

    def torch_forward(self, cfg):
        if cfg.flow_in.layout == "sequence":     # BatchNorm1d takes (N, C, L)
            return [f"x = self.{cfg.name}(x.transpose(1, 2)).transpose(1, 2)"]
        return [f"x = self.{cfg.name}(x)"]

    def keras_code(self, cfg):
        o = cfg.opts
        extra = "" if o["scale"] else ", center=False, scale=False"
        return (f"layers.BatchNormalization(momentum={o['momentum']:g}, "
                f"epsilon={o['epsilon']:g}{extra})")

    def formula(self, cfg, framework):
        return {"scratch": "y = gamma * (x - mu) / sqrt(var + epsilon) + beta",
                "torch": "y = weight * (x - mean) / sqrt(var + eps) + bias; running_var with "
                         "the unbiased var",
                "keras": "y = gamma * (x - mean) * rsqrt(variance + epsilon) + beta"}[framework]


def _rate(value) -> float:
    out = number(0.0, 1.0)(value)
    if out >= 1.0:
        raise ValueError("1 drops everything: the rate must be below 1")
    return out


_rate.__name__ = "a number from 0 up to (not including) 1"


class Dropout(LayerDecl):
    """Srivastava et al., "Dropout" (JMLR 2014), in its inverted form (the scaling at training
    time), as torch.nn.Dropout and keras.layers.Dropout compute it."""

    name, title, family, stem = "dropout", "Dropout", "dense", "dropout"
    keras, torch = "keras.layers.Dropout", "torch.nn.Dropout"
    example = ((4, 3, 5), {"rate": 0.4})
    mode_dependent = True
    options = (
        Option("rate", 0.5, "probability of DROPPING a value, in both libraries (torch calls it "
               "p)", _rate, aliases=("p",)),
        Option("seed", 0, "seed of the shared mask (crossframe.data.dropout_mask)", integer(0)),
    )
    equations = (
        "training:  y = x * mask / (1 - rate)      mask[...] = 1 with probability 1 - rate\n"
        "           dL/dx = G * mask / (1 - rate)\n"
        "inference: y = x, dL/dx = G   (no mask, no scaling)\n"
        "the mask all three share: crossframe.data.dropout_mask(seed, x.shape, rate, dtype)")
    notes = (
        "rate (Keras) and p (torch) are both the probability of dropping; the kept values are "
        "scaled by 1/(1 - rate) in training (inverted dropout), nothing happens in inference.",
        "For parity all three apply one mask drawn from the seed in the canonical layout (each "
        "library's own RNG draws a different one): crossframe's torch and Keras Dropout are "
        "x * mask / (1 - rate) with that mask, in the library's ops. The real nn.Dropout and "
        "keras.layers.Dropout are tested statistically: the drop fraction, the scaling, "
        "identity in inference (parity_tests/test_dropout.py).",
    )

    def output(self, opts, flow):
        return flow

    def torch_code(self, cfg):
        return f"nn.Dropout(p={cfg.opts['rate']:g})"

    def keras_code(self, cfg):
        return f"layers.Dropout({cfg.opts['rate']:g})"

    def formula(self, cfg, framework):
        return "y = x * mask / (1 - rate) in training; y = x in inference"


class Embedding(LayerDecl):
    """A table lookup: integer ids -> rows of a (V, E) table (keras.layers.Embedding,
    torch.nn.Embedding)."""

    name, title, family, stem = "embedding", "Embedding", "dense", "embedding"
    keras, torch = "keras.layers.Embedding", "torch.nn.Embedding"
    example = ((6,), {"input_dim": 5, "output_dim": 3})   # 4 x 6 ids from 5: rows repeat
    takes_ids = True
    options = (
        Option("input_dim", None, "V, the vocabulary size: ids are in [0, V) (inferred from the "
               "table)", integer(1), aliases=("num_embeddings",)),
        Option("output_dim", None, "E, the vector size (inferred from the table)", integer(1),
               aliases=("embedding_dim",)),
        Option("mask_zero", False, "id 0 is padding: the layers after skip those steps (Keras "
               "mask_zero=True; torch: the recurrent layer packs with lengths = (x != 0).sum(1))",
               boolean),
    )
    equations = (
        "y[n, t] = embeddings[x[n, t]]        x (N, T) integer ids in [0, V), y (N, T, E)\n"
        "dL/dembeddings[v] = sum of G[n, t] over every (n, t) with x[n, t] = v   (a row hit "
        "several times adds up; a row never hit gets 0)\n"
        "no dL/dx: the ids are integers")
    notes = (
        "torch's weight (V, E) is Keras' embeddings (V, E): the same layout, no transpose.",
        "torch's padding_idx: that row is read like any other but never receives a gradient "
        "(and nn.Embedding initializes it to zeros). Keras has no such option: a port of a "
        "padding_idx model keeps that row frozen by hand (a declared difference).",
        "Keras' mask_zero=True does not touch the table or its gradient: it passes a mask to "
        "the layers after it (an LSTM then skips the padded steps); torch has no masks, a port "
        "packs the sequences (pack_padded_sequence) instead.",
        "An integer input has no gradient: the comparison has no grad:x, in any library.",
    )

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        from ..errors import InputError
        for key in ("input_dim", "output_dim"):
            if opts[key] is None:
                raise InputError(f"{where}: Embedding needs {key}",
                                 "e.g. embedding(input_dim=1000, output_dim=64)")
        if len(flow.shape) != 1:
            raise InputError(f"{where}: Embedding takes a sequence of ids (T,), got "
                             f"{flow.text()}", "give --input T, e.g. --input 20")

    def infer(self, shapes, flow):
        if "embeddings" in shapes and len(shapes["embeddings"]) == 2:
            return dict(zip(("input_dim", "output_dim"), shapes["embeddings"]))
        return {}

    def output(self, opts, flow):
        return Flow((flow.shape[0], opts["output_dim"]), "sequence")

    def params(self, opts, flow):
        return [ParamSpec("embeddings", (opts["input_dim"], opts["output_dim"]), "weight", 1,
                          "the table (V, E), one row per id")]

    def produces_mask(self, opts) -> bool:
        """With mask_zero: m = (x != 0), handed to the layers after (crossframe.layers.masking)."""
        return bool(opts.get("mask_zero"))

    def torch_params(self, cfg):
        return [Entry(cfg.p("embeddings"), f"{cfg.name}.weight", Identity(), SAME_LAYOUT)]

    def keras_params(self, cfg):
        return [Entry(cfg.p("embeddings"), f"{cfg.name}/embeddings", Identity(), SAME_LAYOUT)]

    def torch_code(self, cfg):
        return f"nn.Embedding({cfg.opts['input_dim']}, {cfg.opts['output_dim']})"

    def torch_forward(self, cfg):
        mask = ["mask = x != 0  # mask_zero: id 0 is padding"] if cfg.opts.get("mask_zero") else []
        return mask + [f"x = self.{cfg.name}(x)"]

    def keras_code(self, cfg):
        zero = ", mask_zero=True" if cfg.opts.get("mask_zero") else ""
        return f"layers.Embedding({cfg.opts['input_dim']}, {cfg.opts['output_dim']}{zero})"

    def formula(self, cfg, framework):
        masked = cfg.opts.get("mask_zero")
        return {"scratch": "y = embeddings[x]" + ("; mask m = (x != 0)" if masked else ""),
                "torch": "y = weight[x]" + ("; lengths = (x != 0).sum(1) for packing"
                                            if masked else ""),
                "keras": "y = embeddings[x]" + ("; mask_zero: m = (x != 0) attached to y"
                                                if masked else "")}[framework]


@on_tensorflow
def _padding_idx_row() -> float:
    """nn.Embedding(padding_idx=0) against Keras' Embedding on the same table and ids that hit
    row 0: the relative difference of the table's gradient (row 0 is 0 in torch only)."""
    import numpy as np
    import torch

    from ..keras_impl.backend import keras
    from ..tolerances import rel_error

    rng = np.random.default_rng(0)
    table = rng.standard_normal((5, 3))
    ids = np.array([[0, 1, 0, 2], [3, 0, 4, 1]])
    up = rng.standard_normal((2, 4, 3))
    t = torch.nn.Embedding(5, 3, padding_idx=0).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(table))
    (t(torch.from_numpy(ids)) * torch.from_numpy(up)).sum().backward()
    import tensorflow as tf

    k = keras.layers.Embedding(5, 3, dtype="float64")
    k.build((None, 4))
    k.embeddings.assign(table)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(k(ids) * up)
    dk = tf.convert_to_tensor(tape.gradient(value, k.embeddings))
    return rel_error(t.weight.grad.numpy(), dk.numpy())


def _torch_running_var() -> float:
    """BatchNormalization after one training step: torch's running_var (the unbiased batch
    variance) against Keras' moving_variance (the biased one), same weights and batch."""
    from .. import frameworks
    from ..runner import prepare, run
    from ..tolerances import rel_error

    case = prepare("batchnorm")
    torch_model = frameworks.build("torch", case.model, case.dtype)
    run(case, "torch", model=torch_model)
    raw = torch_model.batchnorm.running_var.detach().numpy()
    return rel_error(raw, run(case, "keras").state["batchnorm.moving_variance"])


def _momentum_copied() -> float:
    """BatchNormalization's momentum copied by its number, Keras' 0.99 given to torch (which
    then keeps 1% of the old running mean): moving_mean after one training step, relative."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    keras = prepare("batchnorm")
    torch = prepare("batchnorm", options={"momentum": 1 - 0.99})   # torch momentum = 0.99
    return rel_error(run(torch, "torch").state["batchnorm.moving_mean"],
                     run(keras, "keras").state["batchnorm.moving_mean"])


def _epsilon_defaults() -> float:
    """LayerNormalization with each library's default epsilon (torch 1e-5, Keras 1e-3), same
    weights and batch: relative difference of the outputs."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    keras = prepare("layernorm", options={"epsilon": KERAS_EPSILON})
    torch = prepare("layernorm", options={"epsilon": TORCH_EPSILON})
    return rel_error(run(torch, "torch").outputs["output"], run(keras, "keras").outputs["output"])


def _lone(name: str, framework: str, **options):
    """The output of the lone check ``name`` with ``options`` in ``framework`` (float64)."""
    from ..runner import prepare, run

    return run(prepare(name, options=options), framework).outputs["output"]


def _leaky_default_slopes() -> float:
    """LeakyReLU with each library's default slope, torch 0.01 and the Keras layer's 0.3, on
    the same batch: relative difference of the outputs."""
    from ..tolerances import rel_error

    return rel_error(_lone("leaky_relu", "torch", negative_slope=A.LEAKY_SLOPE_TORCH),
                     _lone("leaky_relu", "keras", negative_slope=A.LEAKY_SLOPE_KERAS_LAYER))


def _gelu_other_form() -> float:
    """GELU's two forms on the same batch: torch approximate='tanh' against Keras
    approximate=False (the flag a port misreads), relative difference of the outputs."""
    from ..tolerances import rel_error

    return rel_error(_lone("gelu", "torch", approximate=True),
                     _lone("gelu", "keras", approximate=False))


def _hard_sigmoid_versions() -> float:
    """Keras 2's clip(0.2 x + 0.5, 0, 1) (Keras) against Keras 3's / torch's relu6(x + 3) / 6
    (torch), same batch: relative difference of the outputs."""
    from ..tolerances import rel_error

    return rel_error(_lone("hard_sigmoid", "torch"), _lone("hard_sigmoid_keras2", "keras"))


def _library_grads(torch_fn, keras_fn, x):
    """dy/dx of torch_fn and keras_fn (summed outputs) at the float64 points x."""
    import numpy as np
    import torch

    from ..keras_impl.backend import tf

    t = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    torch_fn(t).sum().backward()
    k = tf.constant(np.asarray(x, dtype=np.float64))
    with tf.GradientTape() as tape:
        tape.watch(k)
        value = tf.reduce_sum(keras_fn(k))
    return t.grad.numpy(), tape.gradient(value, k).numpy()


@on_tensorflow
def _selu_at_zero() -> float:
    """SELU's derivative at exactly x = 0: torch's (scale alpha) over TensorFlow's (scale),
    minus 1."""
    import torch

    from ..keras_impl.backend import keras

    dt, dk = _library_grads(torch.nn.functional.selu, keras.activations.selu, [0.0])
    return float(abs(dt[0] / dk[0] - 1))


@on_tensorflow
def _softplus_threshold() -> float:
    """nn.Softplus() (threshold=20) against Keras' softplus at x = 20.5 .. 30: relative
    difference of the outputs."""
    import numpy as np
    import torch

    from ..keras_impl.backend import keras
    from ..tolerances import rel_error

    x = np.linspace(20.5, 30.0, 8)
    return rel_error(torch.nn.Softplus()(torch.tensor(x)).numpy(),
                     np.asarray(keras.activations.softplus(x)))


def _torch_hardsigmoid_float64() -> float:
    """torch's own F.hardsigmoid backward in float64 against the exact 1/6: relative."""
    import torch

    x = torch.linspace(-2.9, 2.9, 7, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.hardsigmoid(x).sum().backward()
    return float((x.grad * 6 - 1).abs().max())


@on_tensorflow
def _keras_float64_constants() -> float:
    """Keras' own leaky_relu (slope 0.3) and gelu in float64 against the formulas (scratch):
    the larger relative difference of the outputs."""
    import numpy as np

    from ..keras_impl.backend import keras
    from ..tolerances import rel_error

    x = np.linspace(-3.0, 3.0, 13)
    leaky = keras.layers.LeakyReLU(negative_slope=0.3, dtype="float64")(x)
    gelu = keras.activations.gelu(x, approximate=False)
    return max(rel_error(np.asarray(leaky), A.get("leaky_relu").forward(
                   {"negative_slope": 0.3})(x)),
               rel_error(np.asarray(gelu), A.get("gelu").forward()(x)))


DIFFERENCES = (
    Difference(
        "BatchNormalization momentum convention",
        torch="nn.BatchNorm momentum=0.1: running = (1 - 0.1) * running + 0.1 * batch (the "
              "weight of the new batch)",
        keras="BatchNormalization momentum=0.99: moving = 0.99 * moving + 0.01 * batch (the "
              "weight of the old value)",
        agree_when="torch momentum = 1 - Keras momentum (Keras 0.99 is torch 0.01; torch's "
                   "default 0.1 is Keras 0.9)",
        measure=_momentum_copied, layers=('batchnorm',),
    ),
    Difference(
        "BatchNormalization moving variance update",
        torch="running_var moves with the unbiased batch variance, var * M / (M - 1) (M rows "
              "per channel); the output is normalized with the biased one",
        keras="moving_variance moves with the biased batch variance, the one it normalizes with",
        agree_when="never exactly after a training step: they differ by (1 - Keras momentum) * "
                   "var / (M - 1); equal in inference, and in the outputs and gradients of a "
                   "training step. A port moving statistics between them converts with that "
                   "relation (crossframe's torch layer keeps a Keras-rule buffer beside "
                   "running_var)",
        measure=_torch_running_var, layers=('batchnorm',),
    ),
    Difference(
        "Embedding padding_idx",
        torch="nn.Embedding(padding_idx=p): row p is read like any other, gets no gradient, "
              "never trains (and starts at zeros)",
        keras="Embedding has no padding row; mask_zero=True masks id 0 for the later layers "
              "but row 0 still receives its gradient",
        agree_when="no padding_idx (crossframe's Embedding), or the row frozen by hand on the "
                   "Keras side (its gradient zeroed before the update)",
        measure=_padding_idx_row, layers=('embedding',),
    ),
    Difference(
        "LayerNormalization epsilon default",
        torch="nn.LayerNorm(F) uses eps=1e-5",
        keras="layers.LayerNormalization() uses epsilon=1e-3",
        agree_when="the port states it: nn.LayerNorm(F, eps=1e-3), or "
                   "LayerNormalization(epsilon=1e-5)",
        measure=_epsilon_defaults, layers=('layernorm',),
    ),
    Difference(
        "LeakyReLU default slope",
        torch="nn.LeakyReLU() and F.leaky_relu use negative_slope=0.01",
        keras="layers.LeakyReLU() uses negative_slope=0.3 (Keras 2: alpha=0.3); "
              "keras.activations.leaky_relu and Dense(activation='leaky_relu') use 0.2",
        agree_when="the port states the slope: nn.LeakyReLU(0.3) for Keras' layer, 0.2 for "
                   "Keras' activation string, LeakyReLU(negative_slope=0.01) for torch's",
        measure=_leaky_default_slopes, layers=('leaky_relu',),
    ),
    Difference(
        "GELU approximation names",
        torch="nn.GELU(approximate='none') is the exact erf form (the default), "
              "approximate='tanh' the tanh form",
        keras="approximate=False is the exact form (keras.activations.gelu and "
              "Activation('gelu') default to it), approximate=True the tanh form; "
              "keras.ops.gelu defaults to approximate=True",
        agree_when="torch 'none' = Keras False, torch 'tanh' = Keras True (measured: the tanh "
                   "form against the exact one)",
        measure=_gelu_other_form, layers=('gelu',),
    ),
    Difference(
        "hard_sigmoid: Keras 2 against Keras 3 and torch",
        torch="nn.Hardsigmoid: relu6(x + 3) / 6 (slope 1/6 on -3 < x < 3), as Keras 3",
        keras="Keras 2's hard_sigmoid (old checkpoints, LSTM recurrent_activation in old "
              "tutorials): clip(0.2 x + 0.5, 0, 1) (slope 0.2 on -2.5 <= x <= 2.5)",
        agree_when="the port knows which Keras wrote the model: crossframe's hard_sigmoid is "
                   "Keras 3's, hard_sigmoid_keras2 Keras 2's",
        measure=_hard_sigmoid_versions, layers=('hard_sigmoid', 'hard_sigmoid_keras2'),
    ),
    Difference(
        "SELU derivative at exactly 0",
        torch="F.selu backward at x = 0 takes the x <= 0 side: scale * alpha = 1.7581 (as "
              "its elu does; so does crossframe's scratch)",
        keras="TensorFlow's SeluGrad at x = 0 takes the x > 0 side: scale = 1.0507",
        agree_when="x != 0 (random inputs never hit 0 exactly; relu outputs fed to selu can)",
        measure=_selu_at_zero, layers=('selu',),
    ),
    Difference(
        "Softplus above 20",
        torch="nn.Softplus() returns x itself where x > threshold=20 (beta=1)",
        keras="softplus computes log1p(exp(x)) at every x (exact)",
        agree_when="x <= 20, or nn.Softplus(threshold=...) raised (the difference is "
                   "log1p(exp(-x)) ~ exp(-x), about 1e-10 of x at x = 20)",
        measure=_softplus_threshold, layers=('softplus',),
    ),
    Difference(
        "torch's Hardsigmoid backward in float64",
        torch="F.hardsigmoid / nn.Hardsigmoid backward multiplies by float32(1/6) in float64 "
              "(3e-8 relative); the forward is exact",
        keras="hard_sigmoid = relu6(x + 3) / 6 in the tensor's dtype: exact gradient",
        agree_when="float32, or F.relu6(x + 3) / 6 written out (crossframe's torch layer does)",
        measure=_torch_hardsigmoid_float64, layers=('hard_sigmoid',),
    ),
    Difference(
        "Keras' leaky_relu and gelu in float64",
        torch="F.leaky_relu and F.gelu compute in float64 with float64 constants",
        keras="TensorFlow's LeakyRelu keeps negative_slope as a float32 attribute (0.3 -> "
              "0.30000001192...), tf.nn.gelu casts 1/sqrt(2) and 0.044715 through float32 "
              "tensors: ~1e-8 and ~1e-9 relative in float64",
        agree_when="float32, or the formula written in keras.ops (crossframe's Keras layers "
                   "do: where(x > 0, x, slope x); 0.5 x (1 + erf(x / sqrt 2)))",
        measure=_keras_float64_constants, layers=('leaky_relu', 'gelu'),
    ),
)


# one object per kind of layer (what implementations name and users call: Dense(units=10))
Dense, ReLU, Sigmoid, Tanh, Softmax = Dense(), ReLU(), Sigmoid(), Tanh(), Softmax()
GELU, ELU, SELU, LeakyReLU = GELU(), ELU(), SELU(), LeakyReLU()
HardSigmoid, HardSigmoidKeras2, SiLU, Softplus = HardSigmoid(), HardSigmoidKeras2(), SiLU(), \
    Softplus()
LayerNormalization, BatchNormalization = LayerNormalization(), BatchNormalization()
Dropout, Embedding = Dropout(), Embedding()
