"""Conv2D and Flatten: the image layers (the pools are in ``layers.pooling``).

Canonical layout (Keras', channels_last): images ``(N, H, W, C)``, a convolution kernel
``W (kh, kw, C_in, C_out)``, bias ``b (C_out,)``, and a Flatten orders the features
``(h*W + w)*C + c``. PyTorch differs in all three, and every difference is one declared entry:
images ``(N, C, H, W)`` (the model's input and output entries), ``weight (C_out, C_in, kh, kw)``
(``Transpose((3, 2, 0, 1))``), and ``nn.Flatten`` of NCHW orders the features
``(c*H + h)*W + w`` (the Dense after it has its rows permuted, ``layers.dense``).

Output sizes and pads follow Keras' rule (``crossframe.geometry``); torch has no strided
``padding="same"``, so its implementation pads explicitly with the same amounts.
"""
from __future__ import annotations

from ..difference import Difference
from ..errors import InputError
from ..geometry import PADDINGS, output_size, pads, shape_text
from ..mapping import Entry, Identity, Transpose
from .base import Flow, LayerDecl, Option, ParamSpec, boolean, integer, size2

TORCH_KERNEL = Transpose((3, 2, 0, 1))  # (kh, kw, I, O) -> (O, I, kh, kw)
TORCH_K_WHY = "nn.Conv2d stores weight (C_out, C_in, kh, kw)"
KERAS_K_WHY = "Conv2D stores kernel (kh, kw, C_in, C_out): the canonical layout"

PADDING_NOTES = (
    "padding='same' (Keras/TF rule): output ceil(n / stride); pad_total = max((out - 1) * "
    "stride + k - n, 0); pad_top = pad_total // 2 and the odd extra row/column goes to the "
    "BOTTOM/RIGHT. At 8x8, 3x3, stride 2: top 0 bottom 1, left 0 right 1. The usual torch port "
    "padding=k//2 pads top 1 bottom 1 there: the same output shape, different numbers.",
    "torch refuses padding='same' when stride > 1, so torch_impl pads explicitly with F.pad "
    "(left, right, top, bottom) where the pads are asymmetric, and passes padding=(top, left) "
    "to nn.Conv2d where they are symmetric.",
    "Kernel layout: canonical/Keras (kh, kw, C_in, C_out) -> torch (C_out, C_in, kh, kw) is "
    "transpose(3, 2, 0, 1); transpose(3, 2, 1, 0) also gives a 4-D tensor of the right shape "
    "when kh = kw, but with every kernel mirrored across its diagonal: a silent bug that only "
    "the numbers catch.",
)


def _hw(size) -> str:
    return shape_text(size)


class Window:
    """Shared by convolutions and pools: the output size and the pads along H and W."""

    @staticmethod
    def geometry(flow: Flow, window, strides, padding, where: str, fix: str):
        """((Ho, Wo), ((top, bottom), (left, right))) or an InputError naming ``where``."""
        H, W = flow.shape[:2]
        try:
            out = tuple(output_size(n, k, s, padding) for n, k, s in zip((H, W), window,
                                                                          strides))
        except ValueError:
            raise InputError(f"{where}: a {_hw(window)} window does not fit its {_hw((H, W))} "
                             f"input with padding='{padding}'", fix) from None
        return out, tuple(pads(n, k, s, padding) for n, k, s in zip((H, W), window, strides))


class Conv2D(LayerDecl, Window):
    name, title, family, stem = "conv2d", "Conv2D", "conv", "conv"
    keras, torch = "keras.layers.Conv2D", "torch.nn.Conv2d"
    aliases = ("Conv2D", "conv")
    layouts = ("image",)
    example = ((6, 5, 2), {"filters": 3, "kernel_size": (3, 2), "strides": (2, 1),
                           "padding": "same"})
    bilinear = True
    options = (
        Option("filters", None, "output channels C_out (inferred from the kernel)", integer(1)),
        Option("kernel_size", None, "window kh x kw: 3, or 3x2 (inferred from the kernel)",
               size2, aliases=("kernel",)),
        Option("strides", (1, 1), "step sh x sw: 1, or 2x1", size2, aliases=("stride",)),
        Option("padding", "valid", "'valid' (no zeros) or 'same' (Keras' rule, odd zero "
               "bottom/right)", str, PADDINGS),
        Option("use_bias", True, "add a bias b (C_out,)", boolean, aliases=("bias",)),
    )
    equations = (
        "y[n,i,j,o] = b[o] + sum_{di,dj,c} xp[n, i*sh+di, j*sw+dj, c] W[di,dj,c,o]\n"
        "    xp = x zero-padded (Keras' rule); x (N, H, W, C_in), W (kh, kw, C_in, C_out)\n"
        "dL/dW[di,dj] = sum_{n,i,j} xp[n, i*sh+di, j*sw+dj]^T G[n,i,j]       G = dL/dy\n"
        "dL/db = sum_{n,i,j} G[n,i,j]\n"
        "dL/dxp[n, i*sh+di, j*sw+dj] += G[n,i,j] W[di,dj]^T, then the padding is cut off")
    notes = PADDING_NOTES

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        for key in ("filters", "kernel_size"):
            if opts[key] is None:
                raise InputError(f"{where}: Conv2D needs {key}",
                                 "e.g. conv2d(filters=8, kernel_size=3)")
        self.geometry(flow, opts["kernel_size"], opts["strides"], opts["padding"], where,
                      "use padding=same, a smaller kernel_size or a larger input")

    def infer(self, shapes, flow):
        out = {"use_bias": "b" in shapes}
        if len(shapes.get("W", ())) == 4:
            kh, kw, _, filters = shapes["W"]
            out.update(kernel_size=(kh, kw), filters=filters)
        return out

    def output(self, opts, flow):
        (Ho, Wo), _ = self.geometry(flow, opts["kernel_size"], opts["strides"], opts["padding"],
                                    self.name, "")
        return Flow((Ho, Wo, opts["filters"]), "image")

    def params(self, opts, flow):
        (kh, kw), C, O = opts["kernel_size"], flow.features, opts["filters"]
        out = [ParamSpec("W", (kh, kw, C, O), "weight", kh * kw * C,
                         "kernel (kh, kw, C_in, C_out)")]
        if opts["use_bias"]:
            out.append(ParamSpec("b", (O,), "bias", doc="bias (C_out,)"))
        return out

    def torch_params(self, cfg):
        out = [Entry(cfg.p("W"), f"{cfg.name}.weight", TORCH_KERNEL, TORCH_K_WHY)]
        if cfg.has("b"):
            out.append(Entry(cfg.p("b"), f"{cfg.name}.bias", Identity(), "same layout"))
        return out

    def keras_params(self, cfg):
        out = [Entry(cfg.p("W"), f"{cfg.name}/kernel", Identity(), KERAS_K_WHY)]
        if cfg.has("b"):
            out.append(Entry(cfg.p("b"), f"{cfg.name}/bias", Identity(), "same layout"))
        return out

    def pads_of(self, cfg):
        o = cfg.opts
        return self.geometry(cfg.flow_in, o["kernel_size"], o["strides"], o["padding"],
                             cfg.name, "")[1]

    def padding_text(self, cfg) -> str:
        """e.g. "same, stride 2, 8x8 input, 3x3 kernel: pad top 0 bottom 1, left 0 right 1
        -> 4x4 output"."""
        o = cfg.opts
        (top, bottom), (left, right) = self.pads_of(cfg)
        sh, sw = o["strides"]
        stride = sh if sh == sw else _hw(o["strides"])
        return (f"{o['padding']}, stride {stride}, {_hw(cfg.flow_in.shape[:2])} input, "
                f"{_hw(o['kernel_size'])} kernel: pad top {top} bottom {bottom}, left {left} "
                f"right {right} -> {_hw(cfg.flow_out.shape[:2])} output")

    def torch_code(self, cfg):
        o = cfg.opts
        (top, bottom), (left, right) = self.pads_of(cfg)
        bias = "" if o["use_bias"] else ", bias=False"
        head = (f"nn.Conv2d({cfg.flow_in.features}, {o['filters']}, "
                f"kernel_size={o['kernel_size']}, stride={o['strides']}")
        if top == bottom and left == right:
            return f"{head}, padding={(top, left)}{bias})"
        return f"{head}, padding=0{bias})"

    def torch_forward(self, cfg):
        (top, bottom), (left, right) = self.pads_of(cfg)
        if top == bottom and left == right:
            return [f"x = self.{cfg.name}(x)"]
        return [f"x = F.pad(x, {(left, right, top, bottom)})  # (left, right, top, bottom): "
                "Keras' 'same', the odd zero bottom/right", f"x = self.{cfg.name}(x)"]

    def keras_code(self, cfg):
        o = cfg.opts
        bias = "" if o["use_bias"] else ", use_bias=False"
        return (f"layers.Conv2D({o['filters']}, {o['kernel_size']}, strides={o['strides']}, "
                f"padding='{o['padding']}'{bias})")

    def formula(self, cfg, framework):
        text = self.padding_text(cfg)
        (top, bottom), (left, right) = self.pads_of(cfg)
        how = {"scratch": "zero border by Keras' rule, then one product per kernel offset",
               "keras": "Conv2D(padding=...): TensorFlow computes these pads at run time",
               "torch": ("nn.Conv2d's symmetric padding" if top == bottom and left == right
                         else "F.pad with these amounts, then nn.Conv2d(padding=0)")}
        return f"{text}: {how[framework]}"


class Flatten(LayerDecl):
    name, title, family, stem = "flatten", "Flatten", "conv", "flatten"
    keras, torch = "keras.layers.Flatten", "torch.nn.Flatten"
    example = ((3, 2, 4), {})
    aliases = ("Flatten",)
    equations = ("y = x.reshape(N, -1)     dL/dx = G.reshape(x.shape)\n"
                 "Keras flattens NHWC: feature (h*W + w)*C + c; torch flattens NCHW: feature "
                 "(c*H + h)*W + w. The same numbers in a different order.")
    notes = ("Keras flattens NHWC, torch NCHW: the torch output is a permutation of the "
             "canonical one, and a Dense after it needs its rows permuted (the declared torch "
             "entry of its kernel). Without the permutation the shapes still fit and only the "
             "numbers are wrong.",)

    def output(self, opts, flow):
        size = 1
        for s in flow.shape:
            size *= s
        if flow.channels_first:       # torch flattens NCHW / NCL: channel first
            return Flow((size,), "flat", tuple(flow.shape))
        return Flow((size,), "flat", flow.flattened)

    def torch_code(self, cfg):
        return "nn.Flatten()"

    def keras_code(self, cfg):
        return "layers.Flatten()"

    def formula(self, cfg, framework):
        if cfg.flow_in.layout == "signal":
            L, C = cfg.flow_in.shape
            return {"torch": f"features in (c, l) order: c*{L} + l",
                    "keras": f"features in (l, c) order: l*{C} + c",
                    "scratch": f"features in (l, c) order: l*{C} + c"}[framework]
        if cfg.flow_in.layout != "image":
            return ""
        H, W, C = cfg.flow_in.shape
        return {"torch": f"features in (c, h, w) order: (c*{H} + h)*{W} + w",
                "keras": f"features in (h, w, c) order: (h*{W} + w)*{C} + c",
                "scratch": f"features in (h, w, c) order: (h*{W} + w)*{C} + c"}[framework]


# one object per kind of layer (what implementations name and users call: Conv2D(filters=8))
Conv2D, Flatten = Conv2D(), Flatten()


def without_flatten_permutation(mapping):
    """The same mapping with every Permute dropped from its parameter transforms: what a port
    that forgets Flatten's order does (used by DIFFERENCES and the can-fail tests)."""
    from dataclasses import replace

    from ..mapping import Chain, Permute

    def strip(t):
        if isinstance(t, Chain):
            steps = tuple(s for s in t.steps if not isinstance(s, Permute))
            return steps[0] if len(steps) == 1 else Chain(steps)
        return t
    return replace(mapping, params=tuple(replace(e, transform=strip(e.transform))
                                         for e in mapping.params))


# --- where the libraries differ (crossframe.spec.Difference) ---------------------------------
def _symmetric_padding_port() -> float:
    """Keras' padding='same' at stride 2 vs the usual torch port nn.Conv2d(padding=k//2), on
    the same canonical weights and input (8x8, 3x3 kernel, stride 2: 4x4 outputs both)."""
    import torch
    import torch.nn.functional as F

    from ..runner import prepare, run
    from ..tolerances import rel_error

    case = prepare("conv2d", options={"height": 8, "width": 8, "kernel_size": 3, "strides": 2,
                                      "padding": "same"})
    keras_out = run(case, "keras").outputs["output"]
    NCHW = Transpose((0, 3, 1, 2))
    x = torch.from_numpy(NCHW.forward(case.batch.inputs["x"]))
    w = torch.from_numpy(TORCH_KERNEL.forward(case.weights["conv.W"]))
    port = F.conv2d(x, w, torch.from_numpy(case.weights["conv.b"]), stride=2, padding=3 // 2)
    return rel_error(NCHW.adjoint(port.numpy(), None), keras_out)


def _flatten_without_permutation() -> float:
    """flatten_dense in torch with the Dense weight only transposed (rows not permuted) vs
    Keras, on the same canonical weights and input."""
    from ..runner import prepare, run, with_mapping
    from ..tolerances import rel_error

    case = prepare("flatten_dense")
    bad = with_mapping(case, "torch", without_flatten_permutation)
    return rel_error(run(bad, "torch").outputs["output"], run(case, "keras").outputs["output"])



DIFFERENCES = (
    Difference(
        "padding 'same' at stride 2",
        torch="no padding='same' when stride > 1; the usual port nn.Conv2d(padding=k//2) pads "
              "symmetrically: 8x8 input, 3x3 kernel, stride 2: top 1 bottom 1, left 1 right 1",
        keras="padding='same' pads max((out-1)*stride + k - n, 0) zeros, the odd one "
              "bottom/right: same, stride 2, 8x8 input, 3x3 kernel: pad top 0 bottom 1, left 0 "
              "right 1 -> 4x4 output",
        agree_when="torch pads explicitly with Keras' amounts, F.pad(x, (left, right, top, "
                   "bottom)) then padding=0 (crossframe's torch_impl.conv does); or stride 1 "
                   "with an odd kernel",
        measure=_symmetric_padding_port,
    ),
    Difference(
        "Flatten order before a Dense",
        torch="nn.Flatten of NCHW: feature (c*H + h)*W + w",
        keras="Flatten of NHWC: feature (h*W + w)*C + c",
        agree_when="the Dense kernel rows are permuted (H,W,C) -> (C,H,W) when weights move "
                   "between them (the declared torch entry of dense.W: permute, then transpose)",
        measure=_flatten_without_permutation,
    ),
)
