"""Conv2D, Conv1D and Flatten: the convolutions (the pools are in ``layers.pooling``).

Canonical layout (Keras', channels_last): images ``(N, H, W, C)`` and 1-D feature maps
``(N, L, C)``; a kernel ``W (kh, kw, C_in/groups, C_out)`` or ``W (k, C_in/groups, C_out)``,
bias ``b (C_out,)``; a Flatten orders the features ``(h*W + w)*C + c`` or ``l*C + c``. PyTorch
differs in all three, and every difference is one declared entry: maps ``(N, C, H, W)`` /
``(N, C, L)`` (the model's input and output entries; a Conv1D reading a batch-first sequence
``(N, T, D)`` transposes it to NCL itself), ``weight (C_out, C_in/groups, kh, kw)``
(``Transpose((3, 2, 0, 1))``) or ``(C_out, C_in/groups, k)`` (``Transpose((2, 1, 0))``), and
``nn.Flatten`` of a channels-first map orders the features ``(c*H + h)*W + w`` or ``c*L + l``
(the Dense after it has its rows permuted, ``layers.dense``).

Output sizes and pads follow Keras' rule (``crossframe.geometry``), with a dilated kernel read
as its span ``(k - 1)*d + 1``; torch has no strided ``padding="same"`` and no ``"causal"``, so
its implementation pads explicitly with the same amounts.

Groups (``groups=G``): input channels split into G equal blocks, output channels too; output
block g sees input block g only, through kernel slice ``W[..., g*O/G:(g+1)*O/G]`` (Keras) =
``weight[g*O/G:(g+1)*O/G]`` (torch). Both libraries order the blocks the same way, so the kernel
mapping is the plain transpose; ``groups == C_in`` is a depthwise convolution.
"""
from __future__ import annotations

from ..difference import Difference
from ..errors import InputError
from ..geometry import PADDINGS, PADDINGS_1D, effective, output_size, pads, shape_text, single
from ..mapping import Entry, Identity, Transpose
from .base import Flow, LayerDecl, Option, ParamSpec, boolean, integer, size2

TORCH_KERNEL = Transpose((3, 2, 0, 1))  # (kh, kw, I, O) -> (O, I, kh, kw)
TORCH_K_WHY = "nn.Conv2d stores weight (C_out, C_in/groups, kh, kw)"
KERAS_K_WHY = "Conv2D stores kernel (kh, kw, C_in/groups, C_out): the canonical layout"
TORCH_KERNEL_1D = Transpose((2, 1, 0))  # (k, I, O) -> (O, I, k)
TORCH_K1_WHY = "nn.Conv1d stores weight (C_out, C_in/groups, k)"
KERAS_K1_WHY = "Conv1D stores kernel (k, C_in/groups, C_out): the canonical layout"

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
DILATION_NOTE = (
    "dilation_rate d: tap t of the kernel reads input position i*stride + t*d, so a k-tap "
    "kernel spans (k-1)*d + 1 positions, and 'same' pads for that span by the same rule (odd "
    "extra zero after). torch's own padding='same' (stride 1 only) pads d*(k-1) in total, "
    "half before and the odd one after: Keras' amounts; the port padding=k//2 forgets d and "
    "gives a shorter output. Keras refuses strides > 1 together with dilation_rate > 1 (torch "
    "allows it): crossframe refuses it too.")
GROUPS_NOTE = (
    "groups G: Keras' kernel (..., C_in/G, C_out) and torch's weight (C_out, C_in/G, ...) are "
    "the same transpose as without groups; output channels [g*C_out/G, (g+1)*C_out/G) see "
    "input channels [g*C_in/G, (g+1)*C_in/G) only, in both libraries (block g to block g). "
    "groups = C_in is depthwise; Keras' DepthwiseConv2D stores the same numbers as "
    "(kh, kw, C_in, multiplier) instead, output channel c*multiplier + m.")
CAUSAL_NOTE = (
    "padding='causal' (Conv1D only): (k-1)*d zeros on the LEFT and none on the right, so "
    "output t sees inputs t-(k-1)*d .. t and never a later one; output length ceil(L / "
    "stride). torch has no causal padding: F.pad(x, ((k-1)*d, 0)) then padding=0 (or "
    "padding=(k-1)*d on both sides and the last (k-1)*d outputs cut off).")


def _hw(size) -> str:
    """3x2 for a 2-D size; "3-step" for a 1-D one (a window or a length)."""
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    return f"{size[0]}-step" if len(size) == 1 else shape_text(size)


class Window:
    """Shared by convolutions and pools: the output size and the pads along each spatial axis
    (H and W of an image, L of a 1-D map: as many as ``window`` has entries)."""

    @staticmethod
    def geometry(flow: Flow, window, strides, padding, where: str, fix: str, dilation=None):
        """((Ho, Wo), ((top, bottom), (left, right))) for a 2-D ``window``, ((Lo,),
        ((left, right),)) for a 1-D one, or an InputError naming ``where``."""
        window, strides = tuple(window), tuple(strides)
        dilation = tuple(dilation) if dilation is not None else (1,) * len(window)
        sizes = tuple(flow.shape[:len(window)])
        try:
            out = tuple(output_size(n, k, s, padding, d)
                        for n, k, s, d in zip(sizes, window, strides, dilation))
        except ValueError:
            span = "" if set(dilation) == {1} else (
                f" with dilation_rate {'x'.join(map(str, dilation))} (it spans "
                f"{'x'.join(str(effective(k, d)) for k, d in zip(window, dilation))})")
            raise InputError(f"{where}: a {_hw(window)} window{span} does not fit its "
                             f"{_hw(sizes)} input with padding='{padding}'", fix) from None
        return out, tuple(pads(n, k, s, padding, d)
                          for n, k, s, d in zip(sizes, window, strides, dilation))


def size1(value):
    """A 1-D window, stride or dilation: 3, "3" or (3,) -> 3."""
    return single(value)


size1.__name__ = "size (e.g. 3)"


def _options(size, padding_choices, padding_help):
    """The options of a convolution, in Keras' order (data_format aside)."""
    return (
        Option("filters", None, "output channels C_out (inferred from the kernel)", integer(1)),
        Option("kernel_size", None, "window: " + ("3, or 3x2" if size is size2 else "3")
               + " (inferred from the kernel)", size, aliases=("kernel",)),
        Option("strides", (1, 1) if size is size2 else 1,
               "step: " + ("1, or 2x1" if size is size2 else "1, 2, ..."), size,
               aliases=("stride",)),
        Option("padding", "valid", padding_help, str, padding_choices),
        Option("dilation_rate", (1, 1) if size is size2 else 1,
               "gap between kernel taps: 1 (adjacent), 2, ...; strides must then be 1", size,
               aliases=("dilation",)),
        Option("groups", 1, "split C_in and C_out into this many blocks, block g to block g "
               "(C_in: depthwise)", integer(1)),
        Option("use_bias", True, "add a bias b (C_out,)", boolean, aliases=("bias",)),
    )


def _axes(value) -> tuple:
    return tuple(value) if isinstance(value, tuple) else (value,)


class Conv(LayerDecl, Window):
    """What Conv2D and Conv1D share: options, validation, parameters and their mappings. A
    subclass sets its rank (``axes``: the names of its spatial axes), the torch kernel
    transform and the layout it returns."""

    family, stem = "conv", "conv"
    bilinear = True
    axes: tuple[str, ...] = ()
    out_layout = ""
    torch_kernel = TORCH_KERNEL
    torch_why = keras_why = ""

    def window(self, opts):
        """(kernel, strides, dilation) as tuples, one entry per spatial axis."""
        return (_axes(opts["kernel_size"]), _axes(opts["strides"]), _axes(opts["dilation_rate"]))

    def _geometry(self, opts, flow, where, fix=""):
        kernel, strides, dilation = self.window(opts)
        return self.geometry(flow, kernel, strides, opts["padding"], where, fix, dilation)

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        example = f"e.g. {self.name}(filters=8, kernel_size=3)"
        for key in ("filters", "kernel_size"):
            if opts[key] is None:
                raise InputError(f"{where}: {self.title} needs {key}", example)
        _, strides, dilation = self.window(opts)
        if max(strides) > 1 and max(dilation) > 1:
            raise InputError(f"{where}: strides={_hw(strides)} with dilation_rate="
                             f"{_hw(dilation)}: Keras refuses strides > 1 together with "
                             "dilation_rate > 1", "use strides=1 or dilation_rate=1")
        G, C, O = opts["groups"], flow.features, opts["filters"]
        if C % G or O % G:
            which = " and ".join(f"{name} {n}" for name, n in (("input channels", C),
                                                                 ("filters", O)) if n % G)
            raise InputError(f"{where}: groups={G} does not divide the {which}",
                             "choose groups dividing both the input channels and filters "
                             f"(groups=1, or groups={C} for depthwise when filters is a "
                             f"multiple of {C})")
        self._geometry(opts, flow, where, "use padding=same, a smaller kernel_size or "
                       "dilation_rate, or a larger input")

    def infer(self, shapes, flow):
        out = {"use_bias": "b" in shapes}
        W = shapes.get("W", ())
        if len(W) == len(self.axes) + 2:
            k = tuple(W[:len(self.axes)])
            out.update(kernel_size=k if len(k) > 1 else k[0], filters=W[-1])
            if W[-2] and flow.features % W[-2] == 0 and flow.features != W[-2]:
                out["groups"] = flow.features // W[-2]
        return out

    def output(self, opts, flow):
        out, _ = self._geometry(opts, flow, self.name)
        return Flow((*out, opts["filters"]), self.out_layout)

    def params(self, opts, flow):
        kernel, _, _ = self.window(opts)
        C_g, O = flow.features // opts["groups"], opts["filters"]
        fan_in = C_g
        for k in kernel:
            fan_in *= k
        names = ", ".join(("kh", "kw") if len(kernel) == 2 else ("k",))
        per = "C_in" if opts["groups"] == 1 else "C_in/groups"
        out = [ParamSpec("W", (*kernel, C_g, O), "weight", fan_in,
                         f"kernel ({names}, {per}, C_out)")]
        if opts["use_bias"]:
            out.append(ParamSpec("b", (O,), "bias", doc="bias (C_out,)"))
        return out

    def torch_params(self, cfg):
        out = [Entry(cfg.p("W"), f"{cfg.name}.weight", self.torch_kernel, self.torch_why)]
        if cfg.has("b"):
            out.append(Entry(cfg.p("b"), f"{cfg.name}.bias", Identity(), "same layout"))
        return out

    def keras_params(self, cfg):
        out = [Entry(cfg.p("W"), f"{cfg.name}/kernel", Identity(), self.keras_why)]
        if cfg.has("b"):
            out.append(Entry(cfg.p("b"), f"{cfg.name}/bias", Identity(), "same layout"))
        return out

    def pads_of(self, cfg):
        """One (before, after) per spatial axis, Keras' amounts for this input."""
        return self._geometry(cfg.opts, cfg.flow_in, cfg.name)[1]

    def _extras(self, cfg, torch: bool) -> str:
        """The dilation/groups/bias arguments, only where they differ from the defaults."""
        o = cfg.opts
        _, _, dilation = self.window(o)
        text = ""
        if max(dilation) > 1:
            value = o["dilation_rate"]
            text += f", dilation={value}" if torch else f", dilation_rate={value}"
        if o["groups"] > 1:
            text += f", groups={o['groups']}"
        if not o["use_bias"]:
            text += ", bias=False" if torch else ", use_bias=False"
        return text

    def keras_code(self, cfg):
        o = cfg.opts
        return (f"layers.{self.title}({o['filters']}, {o['kernel_size']}, "
                f"strides={o['strides']}, padding='{o['padding']}'{self._extras(cfg, False)})")


class Conv2D(Conv):
    name, title = "conv2d", "Conv2D"
    keras, torch = "keras.layers.Conv2D", "torch.nn.Conv2d"
    aliases = ("Conv2D", "conv")
    layouts = ("image",)
    axes = ("H", "W")
    out_layout = "image"
    torch_kernel, torch_why, keras_why = TORCH_KERNEL, TORCH_K_WHY, KERAS_K_WHY
    example = ((6, 5, 2), {"filters": 3, "kernel_size": (3, 2), "strides": (2, 1),
                           "padding": "same"})
    options = _options(size2, PADDINGS, "'valid' (no zeros) or 'same' (Keras' rule, odd zero "
                       "bottom/right)")
    equations = (
        "y[n,i,j,o] = b[o] + sum_{di,dj,c} xp[n, i*sh + di*dh, j*sw + dj*dw, g(o)*C_g + c] "
        "W[di,dj,c,o]\n"
        "    xp = x zero-padded (Keras' rule); x (N, H, W, C_in), W (kh, kw, C_g, C_out),\n"
        "    (dh, dw) = dilation_rate, C_g = C_in/groups, g(o) = o // (C_out/groups)\n"
        "dL/dW[di,dj] = sum_{n,i,j} xp[n, i*sh+di*dh, j*sw+dj*dw]^T G[n,i,j] (per group)   "
        "G = dL/dy\n"
        "dL/db = sum_{n,i,j} G[n,i,j]\n"
        "dL/dxp[n, i*sh+di*dh, j*sw+dj*dw] += G[n,i,j] W[di,dj]^T (per group), then the "
        "padding is cut off")
    notes = PADDING_NOTES + (DILATION_NOTE, GROUPS_NOTE)

    def padding_text(self, cfg) -> str:
        """e.g. "same, stride 2, 8x8 input, 3x3 kernel: pad top 0 bottom 1, left 0 right 1
        -> 4x4 output"."""
        o = cfg.opts
        (top, bottom), (left, right) = self.pads_of(cfg)
        sh, sw = o["strides"]
        stride = sh if sh == sw else _hw(o["strides"])
        dh, dw = o["dilation_rate"]
        dilation = "" if (dh, dw) == (1, 1) else \
            f", dilation {dh if dh == dw else _hw((dh, dw))}"
        return (f"{o['padding']}, stride {stride}{dilation}, {_hw(cfg.flow_in.shape[:2])} "
                f"input, {_hw(o['kernel_size'])} kernel: pad top {top} bottom {bottom}, left "
                f"{left} right {right} -> {_hw(cfg.flow_out.shape[:2])} output")

    def torch_code(self, cfg):
        o = cfg.opts
        (top, bottom), (left, right) = self.pads_of(cfg)
        head = (f"nn.Conv2d({cfg.flow_in.features}, {o['filters']}, "
                f"kernel_size={o['kernel_size']}, stride={o['strides']}")
        padding = (top, left) if top == bottom and left == right else 0
        return f"{head}, padding={padding}{self._extras(cfg, True)})"

    def torch_forward(self, cfg):
        (top, bottom), (left, right) = self.pads_of(cfg)
        if top == bottom and left == right:
            return [f"x = self.{cfg.name}(x)"]
        return [f"x = F.pad(x, {(left, right, top, bottom)})  # (left, right, top, bottom): "
                "Keras' 'same', the odd zero bottom/right", f"x = self.{cfg.name}(x)"]

    def formula(self, cfg, framework):
        text = self.padding_text(cfg)
        (top, bottom), (left, right) = self.pads_of(cfg)
        how = {"scratch": "zero border by Keras' rule, then one product per kernel offset"
                          + (" and group" if cfg.opts["groups"] > 1 else ""),
               "keras": "Conv2D(padding=...): TensorFlow computes these pads at run time",
               "torch": ("nn.Conv2d's symmetric padding" if top == bottom and left == right
                         else "F.pad with these amounts, then nn.Conv2d(padding=0)")}
        return f"{text}: {how[framework]}"


class Conv1D(Conv):
    name, title = "conv1d", "Conv1D"
    keras, torch = "keras.layers.Conv1D", "torch.nn.Conv1d"
    aliases = ("Conv1D", "Conv1d")
    stem = "conv"
    layouts = ("sequence", "signal")
    axes = ("L",)
    out_layout = "signal"
    torch_kernel, torch_why, keras_why = TORCH_KERNEL_1D, TORCH_K1_WHY, KERAS_K1_WHY
    # groups stay 1 here: verify's second case grows every size by one (4 -> 5 channels)
    example = ((9, 4), {"filters": 6, "kernel_size": 3, "padding": "causal",
                        "dilation_rate": 2})
    options = _options(size1, PADDINGS_1D, "'valid' (no zeros), 'same' (Keras' rule, odd zero "
                       "right) or 'causal' ((k-1)*dilation zeros on the left)")
    equations = (
        "y[n,i,o] = b[o] + sum_{t,c} xp[n, i*s + t*d, g(o)*C_g + c] W[t,c,o]\n"
        "    xp = x zero-padded: 'same' Keras' rule, 'causal' (k-1)*d zeros on the left;\n"
        "    x (N, L, C_in), W (k, C_g, C_out), C_g = C_in/groups, g(o) = o // (C_out/groups)\n"
        "dL/dW[t] = sum_{n,i} xp[n, i*s + t*d]^T G[n,i] (per group)        G = dL/dy\n"
        "dL/db = sum_{n,i} G[n,i]\n"
        "dL/dxp[n, i*s + t*d] += G[n,i] W[t]^T (per group), then the padding is cut off")
    notes = (
        "Kernel layout: canonical/Keras (k, C_in/groups, C_out) -> torch (C_out, C_in/groups, "
        "k) is transpose(2, 1, 0). Loaded untransposed it has the right shape whenever "
        "k = C_out: a silent bug only the numbers catch.",
        "Maps: Keras (N, L, C) channels_last, torch (N, C, L). A sequence input (N, T, D) is "
        "the same array in both; torch_impl's Conv1D transposes it to (N, D, T) itself "
        "(x.transpose(1, 2)), and returns NCL. A Flatten after it orders torch's features "
        "(c, l), Keras' (l, c): the Dense after it has its rows permuted.",
        CAUSAL_NOTE,
        "padding='same': the Keras rule of Conv2D along L (odd extra zero on the right).",
        DILATION_NOTE,
        GROUPS_NOTE,
    )

    def wrong_layout_fix(self, flow):
        if flow.layout == "image":
            return "use conv2d on an image, or give a (T, D) input"
        return "give a (T, D) input: Conv1D slides along T over D channels"

    def padding_text(self, cfg) -> str:
        """e.g. "causal, stride 1, dilation 2, length 9, kernel 3: pad left 4 right 0 ->
        length 9"."""
        o = cfg.opts
        ((left, right),) = self.pads_of(cfg)
        dilation = "" if o["dilation_rate"] == 1 else f", dilation {o['dilation_rate']}"
        return (f"{o['padding']}, stride {o['strides']}{dilation}, length "
                f"{cfg.flow_in.shape[0]}, kernel {o['kernel_size']}: pad left {left} right "
                f"{right} -> length {cfg.flow_out.shape[0]}")

    def torch_code(self, cfg):
        o = cfg.opts
        ((left, right),) = self.pads_of(cfg)
        padding = left if left == right else 0
        return (f"nn.Conv1d({cfg.flow_in.features}, {o['filters']}, "
                f"kernel_size={o['kernel_size']}, stride={o['strides']}, padding={padding}"
                f"{self._extras(cfg, True)})")

    def torch_forward(self, cfg):
        ((left, right),) = self.pads_of(cfg)
        lines = []
        if cfg.flow_in.layout == "sequence":
            lines.append("x = x.transpose(1, 2)  # (N, T, D) -> (N, D, T): nn.Conv1d reads "
                         "channels first")
        if left != right:
            why = ("causal: (k-1)*dilation zeros on the left only" if cfg.opts["padding"] ==
                   "causal" else "Keras' 'same', the odd zero on the right")
            lines.append(f"x = F.pad(x, {(left, right)})  # (left, right): {why}")
        return lines + [f"x = self.{cfg.name}(x)"]

    def formula(self, cfg, framework):
        text = self.padding_text(cfg)
        ((left, right),) = self.pads_of(cfg)
        how = {"scratch": "zero border, then one product per kernel tap"
                          + (" and group" if cfg.opts["groups"] > 1 else ""),
               "keras": ("Conv1D(padding='causal'): Keras pads the left itself, then 'valid'"
                         if cfg.opts["padding"] == "causal" else
                         "Conv1D(padding=...): TensorFlow computes these pads at run time"),
               "torch": ("nn.Conv1d's symmetric padding" if left == right
                         else "F.pad with these amounts, then nn.Conv1d(padding=0)")}
        if framework == "torch" and cfg.flow_in.layout == "sequence":
            how["torch"] = "x.transpose(1, 2) to NCL, " + how["torch"]
        return f"{text}: {how[framework]}"


class Flatten(LayerDecl):
    name, title, family, stem = "flatten", "Flatten", "conv", "flatten"
    keras, torch = "keras.layers.Flatten", "torch.nn.Flatten"
    example = ((3, 2, 4), {})
    aliases = ("Flatten",)
    equations = ("y = x.reshape(N, -1)     dL/dx = G.reshape(x.shape)\n"
                 "Keras flattens NHWC: feature (h*W + w)*C + c; torch flattens NCHW: feature "
                 "(c*H + h)*W + w. The same numbers in a different order.\n"
                 "A 1-D map: Keras NLC, feature l*C + c; torch NCL, feature c*L + l.")
    notes = ("Keras flattens NHWC, torch NCHW: the torch output is a permutation of the "
             "canonical one, and a Dense after it needs its rows permuted (the declared torch "
             "entry of its kernel). Without the permutation the shapes still fit and only the "
             "numbers are wrong.",
             "The same after a Conv1D: Keras flattens (N, L, C) in (l, c) order, torch "
             "(N, C, L) in (c, l) order; the Dense rows are permuted (L,C) -> (C,L).")

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
Conv2D, Conv1D, Flatten = Conv2D(), Conv1D(), Flatten()


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


def _causal_as_same_port() -> float:
    """Keras' Conv1D(padding='causal') vs the port nn.Conv1d(padding='same') (torch has no
    'causal'; 'same' keeps the length), on the same canonical weights and input: 12 steps,
    3 taps, dilation 2."""
    import torch
    import torch.nn.functional as F

    from ..runner import prepare, run
    from ..tolerances import rel_error

    case = prepare("conv1d", options={"input": "12x2", "filters": 3, "kernel_size": 3,
                                      "padding": "causal", "dilation_rate": 2, "groups": 1})
    keras_out = run(case, "keras").outputs["output"]
    NCL = Transpose((0, 2, 1))
    x = torch.from_numpy(NCL.forward(case.batch.inputs["x"]))
    w = torch.from_numpy(TORCH_KERNEL_1D.forward(case.weights["conv.W"]))
    port = F.conv1d(x, w, torch.from_numpy(case.weights["conv.b"]), padding="same", dilation=2)
    return rel_error(NCL.adjoint(port.numpy(), None), keras_out)


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
        measure=_symmetric_padding_port, layers=('conv2d',),
    ),
    Difference(
        "Flatten order before a Dense",
        torch="nn.Flatten of NCHW: feature (c*H + h)*W + w",
        keras="Flatten of NHWC: feature (h*W + w)*C + c",
        agree_when="the Dense kernel rows are permuted (H,W,C) -> (C,H,W) when weights move "
                   "between them (the declared torch entry of dense.W: permute, then transpose)",
        measure=_flatten_without_permutation, layers=('flatten', 'dense'),
    ),
    Difference(
        "padding 'causal' (Conv1D)",
        torch="no padding='causal'; nn.Conv1d(padding='same') keeps the length but centres "
              "the window: output t sees x[t - (k-1)*d/2 .. t + (k-1)*d/2], the future too",
        keras="Conv1D(padding='causal') pads (k-1)*d zeros on the left only: output t sees "
              "x[t - (k-1)*d .. t]",
        agree_when="torch pads F.pad(x, ((k-1)*d, 0)) then padding=0 (crossframe's "
                   "torch_impl.conv does), or padding=(k-1)*d and the last (k-1)*d outputs "
                   "cut off",
        measure=_causal_as_same_port, layers=('conv1d',),
    ),
)
