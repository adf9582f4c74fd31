"""Dense and the element-wise activations (ReLU, sigmoid, tanh) and Softmax.

Canonical layout (Keras'): kernel ``W (F_in, units)``, bias ``b (units,)``, ``y = x W + b`` on
the last axis. PyTorch's ``nn.Linear`` stores ``weight (units, F_in)`` and computes
``x @ weight.T + bias``: the mapping transposes, and after a Flatten of an NCHW image it also
permutes the rows (torch sees the features in (c, h, w) order).
"""
from __future__ import annotations

from ..mapping import Chain, Entry, Identity, Permute, Transpose
from ..difference import Difference
from .base import Flow, LayerDecl, Option, ParamSpec, boolean, flatten_order, integer, number

TORCH_W_WHY = "nn.Linear stores weight (out, in) and computes x @ weight.T"
TORCH_FLAT_WHY = ("nn.Linear stores weight (out, in), and the Flatten before it ordered its "
                  "inputs (c, h, w) from NCHW: rows permuted, then transposed")
KERAS_W_WHY = "layers.Dense stores kernel (in, out) and computes x @ kernel"
SAME_LAYOUT = "same layout"


class Dense(LayerDecl):
    name, title, family, stem = "dense", "Dense", "dense", "dense"
    keras, torch = "keras.layers.Dense", "torch.nn.Linear"
    aliases = ("linear", "fully_connected")
    example = ((5,), {"units": 4})
    bilinear = True
    options = (
        Option("units", None, "output units U (inferred from the kernel when weights are given)",
               integer(1)),
        Option("use_bias", True, "add a bias b (U,)", boolean, aliases=("bias",)),
    )
    equations = (
        "y = x W + b                    x (N, F), W (F, U), b (U,), y (N, U)\n"
        "dL/dx = G W^T   dL/dW = x^T G   dL/db = sum_n G[n]      G = dL/dy (N, U)\n"
        "On a sequence (N, T, F) or an image (N, H, W, F) it acts on the last axis, the same "
        "W at every step or pixel (dL/dW and dL/db then also sum over them).")
    notes = (
        "torch's nn.Linear stores weight (out, in) = the transpose of Keras' kernel (in, out); "
        "a square kernel loaded without the transpose has the right shape and wrong numbers.",
        "dL/db sums the upstream gradient over the batch (and over steps or pixels).",
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
            rows = Permute(flatten_order(*image), 0,
                           "rows (H,W,C) = ({},{},{}) order -> (C,H,W) order".format(*image))
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
        if cfg.flow_in.layout == "image":   # Linear acts on the last axis: NCHW's is W
            return [f"x = self.{cfg.name}(x.movedim(1, -1)).movedim(-1, 1)  # on the channels"]
        return [f"x = self.{cfg.name}(x)"]

    def keras_code(self, cfg):
        bias = "" if cfg.opts["use_bias"] else ", use_bias=False"
        return f"layers.Dense({cfg.opts['units']}{bias})"

    def formula(self, cfg, framework):
        return {"scratch": "y = x @ W + b", "torch": "y = x @ weight.T + bias",
                "keras": "y = x @ kernel + bias"}[framework]


# --- element-wise activations ----------------------------------------------------------------
class Activation(LayerDecl):
    """No parameters, output shape = input shape, any layout (torch keeps its own layout)."""

    family = "dense"
    function = ""   # the Keras activation name

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
        return "nn.Softmax(dim=1)" if cfg.flow_in.layout == "image" else "nn.Softmax(dim=-1)"

    def keras_code(self, cfg):
        return "layers.Softmax()"


# --- normalization over the last axis --------------------------------------------------------
KERAS_EPSILON, TORCH_EPSILON = 1e-3, 1e-5       # the two libraries' defaults


class LayerNormalization(LayerDecl):
    """Ba, Kiros & Hinton, "Layer Normalization" (2016), over the last axis only (Keras'
    default axis=-1; torch's ``nn.LayerNorm(normalized_shape=F)``)."""

    name, title, family, stem = "layernorm", "LayerNormalization", "dense", "layernorm"
    keras, torch = "keras.layers.LayerNormalization", "torch.nn.LayerNorm"
    aliases = ("layer_norm", "LayerNorm")
    example = ((4, 3, 5), {})     # an image: torch normalizes dim=-1 of NCHW unless moved
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
        if cfg.flow_in.layout == "image":
            return [f"x = self.{cfg.name}(x.movedim(1, -1)).movedim(-1, 1)  # on the channels"]
        return [f"x = self.{cfg.name}(x)"]

    def keras_code(self, cfg):
        return f"layers.LayerNormalization(epsilon={cfg.opts['epsilon']:g})"

    def formula(self, cfg, framework):
        return {"scratch": "y = gamma * (x - mu) / sqrt(var + epsilon) + beta",
                "torch": "y = weight * (x - mean) / sqrt(var + eps) + bias",
                "keras": "y = gamma * (x - mean) * rsqrt(variance + epsilon) + beta"}[framework]


def _epsilon_defaults() -> float:
    """LayerNormalization with each library's default epsilon (torch 1e-5, Keras 1e-3), same
    weights and batch: relative difference of the outputs."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    keras = prepare("layernorm", options={"epsilon": KERAS_EPSILON})
    torch = prepare("layernorm", options={"epsilon": TORCH_EPSILON})
    return rel_error(run(torch, "torch").outputs["output"], run(keras, "keras").outputs["output"])


DIFFERENCES = (
    Difference(
        "LayerNormalization epsilon default",
        torch="nn.LayerNorm(F) uses eps=1e-5",
        keras="layers.LayerNormalization() uses epsilon=1e-3",
        agree_when="the port states it: nn.LayerNorm(F, eps=1e-3), or "
                   "LayerNormalization(epsilon=1e-5)",
        measure=_epsilon_defaults,
    ),
)


# one object per kind of layer (what implementations name and users call: Dense(units=10))
Dense, ReLU, Sigmoid, Tanh, Softmax = Dense(), ReLU(), Sigmoid(), Tanh(), Softmax()
LayerNormalization = LayerNormalization()
