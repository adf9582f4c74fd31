"""The transposed convolution: Conv2DTranspose (keras.layers.Conv2DTranspose /
torch.nn.ConvTranspose2d), the known porting trap.

Canonical layout (Keras', channels_last): images ``(N, H, W, C)``, kernel
``W (kh, kw, filters, C_in)`` -- Keras stores a transposed kernel with the OUTPUT channels
before the input ones, the reverse of Conv2D's ``(kh, kw, C_in, C_out)`` -- and bias
``b (filters,)``. torch holds images NCHW and ``ConvTranspose2d.weight`` as
``(C_in, filters, kh, kw)``, also the reverse of ``nn.Conv2d``'s ``(C_out, C_in, kh, kw)``. Both
libraries swap, so the map is ``transpose(3, 2, 0, 1)``, Conv2D's map, and no kernel is flipped:
both compute the adjoint (the input gradient) of the cross-correlation with the same kernel.

Shape legend (one spatial axis; H and W each follow it): I input length, k kernel length,
s stride, op output_padding, O output length, ``full = (I - 1) s + k`` the length of the
uncropped transposed convolution (every input pixel times every kernel tap, scattered).

The output length (Keras, keras/src/backend/common/backend_utils.py,
``_get_output_shape_given_tf_padding``)::

    padding="valid":  O = (I - 1) s + k + op,     op = max(k, s) - k when None
    padding="same":   O = I s                      when op is None
                      O = (I - 1) s + k % 2 + op   otherwise

and the crop (TensorFlow's conv2d_backprop_input with that output size: the forward Conv2D's
'same' pads of an O-long input)::

    before = 0 ("valid"),   before = max(full - O, 0) // 2 ("same")
    y[o] = full[before + o]  for o < O  (a position past ``full`` is 0, plus the bias)
    after = full - before - O              (negative: that many zero rows appended)

So Keras crops the odd extra row at the END (bottom/right). torch's ``padding=p`` crops p rows
from BOTH ends of ``full`` and ``output_padding`` gives back rows at the end only, so torch
reproduces Keras with ``padding=before, output_padding=max(before - after, 0)`` and, where
``after = before + 1`` (Keras' 'same' with ``full - O`` positive and odd: k - s odd with
k > s, e.g. a 3x3 kernel at stride 2 or 2x2 at stride 1), one more row cut off the end by hand
(``torch_port``).
All three amounts depend on k, s and op only, not on the input size.
"""
from __future__ import annotations

import numbers

from ..difference import Difference
from ..errors import InputError
from ..geometry import PADDINGS, shape_text
from ..mapping import Entry, Identity, Transpose
from .base import Flow, LayerDecl, Option, ParamSpec, boolean, integer, size2

TORCH_KERNEL = Transpose((3, 2, 0, 1))  # (kh, kw, filters, C_in) -> (C_in, filters, kh, kw)
TORCH_K_WHY = ("nn.ConvTranspose2d stores weight (C_in, C_out, kh, kw); Keras' kernel is "
               "(kh, kw, C_out, C_in): transpose(3, 2, 0, 1), no flip")
KERAS_K_WHY = "Conv2DTranspose stores kernel (kh, kw, filters, C_in): the canonical layout"


# --- geometry of one axis (the one definition every implementation reads) --------------------
def output_length(size: int, kernel: int, stride: int, padding: str,
                  output_padding: int | None) -> int:
    """Keras' output length O along one axis (module docstring).

    >>> output_length(4, 3, 2, "same", None), output_length(4, 3, 2, "valid", None)
    (8, 9)
    >>> output_length(4, 1, 3, "valid", None), output_length(4, 4, 2, "same", 1)
    (12, 7)
    """
    if padding == "valid":
        op = max(kernel, stride) - kernel if output_padding is None else output_padding
        return (size - 1) * stride + kernel + op
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + kernel % 2 + output_padding


def crop(size: int, kernel: int, stride: int, padding: str,
         output_padding: int | None) -> tuple[int, int]:
    """(before, after): rows Keras cuts off the start and the end of the full transposed
    convolution, ``full = (size - 1) * stride + kernel`` long; ``after`` < 0 means that many
    zero rows appended (valid with output_padding, or a stride larger than the kernel).

    >>> crop(4, 3, 2, "same", None), crop(4, 4, 2, "same", None), crop(4, 5, 2, "same", None)
    ((0, 1), (1, 1), (1, 2))
    >>> crop(4, 2, 3, "same", None), crop(4, 3, 2, "valid", 1), crop(4, 4, 2, "same", 1)
    ((0, -1), (0, -1), (1, 2))
    """
    full = (size - 1) * stride + kernel
    out = output_length(size, kernel, stride, padding, output_padding)
    before = 0 if padding == "valid" else max(full - out, 0) // 2
    return before, full - before - out


def torch_port(kernel: int, stride: int, padding: str,
               output_padding: int | None) -> tuple[int, int, int]:
    """(padding, output_padding, cut) for nn.ConvTranspose2d along one axis, then ``cut`` (0 or
    1) more rows off the end by hand: together Keras' numbers. Independent of the input size.

    >>> torch_port(3, 2, "same", None), torch_port(4, 2, "same", None)
    ((0, 0, 1), (1, 0, 0))
    >>> torch_port(3, 1, "same", None), torch_port(2, 3, "valid", None)
    ((1, 0, 0), (0, 1, 0))
    >>> torch_port(1, 2, "same", None), torch_port(4, 2, "same", 1)
    ((0, 1, 0), (1, 0, 1))
    """
    before, after = crop(1, kernel, stride, padding, output_padding)
    return before, max(before - after, 0), max(after - before, 0)


def _port(cfg) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """((ph, pw), (oph, opw), (cut_h, cut_w)): the torch port of this layer."""
    o = cfg.opts
    ops = o["output_padding"] or (None, None)
    axes = [torch_port(k, s, o["padding"], op)
            for k, s, op in zip(o["kernel_size"], o["strides"], ops)]
    return tuple(tuple(a[i] for a in axes) for i in range(3))


# --- options --------------------------------------------------------------------------------
def output_padding_pair(value):
    """None ("none"), or one size per axis allowing 0: 1 -> (1, 1); "1x0" or (1, 0) -> (1, 0).
    Raises ``ValueError`` otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().strip("()[]").strip()
        if text.lower() in ("none", ""):
            return None
        parts = [p.strip() for p in text.replace("x", ",").split(",")]
        if len(parts) not in (1, 2) or not all(p.lstrip("+").isdigit() for p in parts):
            raise ValueError(f"{value!r} is not none or a size (e.g. 1 or 1x0)")
        value = tuple(int(p) for p in parts)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),)
    if not (isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{value!r} is not none or a size (e.g. 1 or 1x0)")
    if min(value) < 0:
        raise ValueError(f"{value!r} must be at least 0")
    return int(value[0]), int(value[-1])


output_padding_pair.__name__ = "none, or a size per axis >= 0 (e.g. 1 or 1x0)"


class Conv2DTranspose(LayerDecl):
    name, title, family, stem = "conv2dtranspose", "Conv2DTranspose", "conv_transpose", "convt"
    keras, torch = "keras.layers.Conv2DTranspose", "torch.nn.ConvTranspose2d"
    aliases = ("conv2d_transpose", "ConvTranspose2d", "convtranspose2d", "deconv2d",
               "conv_transpose2d")
    layouts = ("image",)
    example = ((4, 5, 2), {"filters": 3, "kernel_size": (3, 2), "strides": (2, 3),
                           "padding": "same"})
    bilinear = True
    options = (
        Option("filters", None, "output channels (inferred from the kernel)", integer(1)),
        Option("kernel_size", None, "window kh x kw: 3, or 3x2 (inferred from the kernel)",
               size2, aliases=("kernel",)),
        Option("strides", (1, 1), "step sh x sw: 2, or 2x1 (the upsampling factor)", size2,
               aliases=("stride",)),
        Option("padding", "valid", "'valid' (output (I-1)s + max(k, s)) or 'same' (output I s; "
               "the odd crop at the bottom/right)", str, PADDINGS),
        Option("output_padding", None, "none, or rows/columns per axis (< strides) that set the "
               "output length: (I-1)s + k + op (valid), (I-1)s + k%2 + op (same)",
               output_padding_pair),
        Option("use_bias", True, "add a bias b (filters,)", boolean, aliases=("bias",)),
    )
    equations = (
        "full[n, i*sh+di, j*sw+dj, :] += W[di,dj] x[n,i,j]          (the adjoint of Conv2D:\n"
        "    x (N, H, W, C_in), W (kh, kw, F, C_in): each input pixel times each tap, scattered)\n"
        "y[n,o,p] = full[n, top+o, left+p] + b      (Keras' crop: top = max(full - Ho, 0)//2 "
        "for 'same', 0 for 'valid'; past the end: 0)\n"
        "Gf = G placed at [top : top+Ho, left : left+Wo] of a zero (N, full_h, full_w, F)\n"
        "dL/dx[n,i,j] = sum_{di,dj} W[di,dj]^T Gf[n, i*sh+di, j*sw+dj]   (a strided Conv2D of Gf)\n"
        "dL/dW[di,dj] = sum_{n,i,j} Gf[n, i*sh+di, j*sw+dj] x[n,i,j]^T    dL/db = sum G")
    notes = (
        "Kernel: Keras (kh, kw, filters, C_in) -> torch ConvTranspose2d.weight (C_in, filters, "
        "kh, kw) is transpose(3, 2, 0, 1), Conv2D's map (both libraries put the channel axes of "
        "a transposed kernel the other way round), and no spatial flip: both are the input "
        "gradient of a cross-correlation with the same kernel. A port that reads Keras' kernel "
        "as Conv2D's (kh, kw, C_in, C_out) and writes transpose(2, 3, 0, 1) fits whenever "
        "C_in == filters, and is wrong.",
        "Output length per axis (Keras' rule): valid (I-1)s + k + op, op = max(k, s) - k when "
        "None (so a stride larger than the kernel appends s - k rows that hold only the "
        "bias; torch's default output_padding=0 does not); same I*s, or (I-1)s + k%2 + op with "
        "output_padding.",
        "padding='same' crops full - O rows of the full (I-1)s + k output, floor half at the "
        "top/left and the odd one at the BOTTOM/RIGHT. torch's padding=p crops p at both ends "
        "and output_padding gives rows back at the end only: the port is padding = Keras' top "
        "crop, output_padding = top - bottom crop when >= 0, else one more row cut off the end "
        "by hand (3x3 kernel, stride 2: padding=0, then x[:, :, :-1, :-1]; 4x4 kernel, stride 2: "
        "padding=1; 5x5 kernel, stride 2: padding=1, then x[:, :, :-1, :-1]; 1x1 kernel, "
        "stride 2: padding=0, output_padding=1). Wherever k - s (k - k%2 - op with "
        "output_padding) is positive and odd, torch's two arguments cannot say it: the cut is "
        "needed.",
        "The usual port of Keras' 'same' at stride 2, ConvTranspose2d(k, 2, padding=k//2, "
        "output_padding=1), has Keras' output shape for an odd k and numbers shifted by one row "
        "and column (for k=3 Keras crops top 0 bottom 1, the port 1 and 0). Keras' own torch "
        "backend converts this case to exactly that port (keras/src/backend/common/"
        "backend_utils.py, _convert_conv_transpose_padding_args_from_keras_to_torch, which "
        "warns of 'inconsistencies across backends' there).",
        "Keras refuses output_padding >= strides, and TensorFlow refuses 'same' with an even "
        "kernel and output_padding 0 on that axis (the output would be one row too short for "
        "'same' to give back the input). dilation_rate is not offered: TensorFlow's CPU kernel "
        "refuses dilation > 1 for a transposed convolution.",
    )

    # -- options ------------------------------------------------------------------------------
    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        for key in ("filters", "kernel_size"):
            if opts[key] is None:
                raise InputError(f"{where}: Conv2DTranspose needs {key}",
                                 "e.g. conv2dtranspose(filters=8, kernel_size=3, strides=2)")
        op = opts["output_padding"]
        if op is None:
            return
        for axis, (p, s, k) in enumerate(zip(op, opts["strides"], opts["kernel_size"])):
            name = ("height", "width")[axis]
            if p >= s:
                raise InputError(f"{where}: output_padding {shape_text(op)} must be smaller "
                                 f"than strides {shape_text(opts['strides'])} ({name}: {p} >= "
                                 f"{s}), as Keras requires",
                                 "use output_padding below the stride, or none")
            if opts["padding"] == "same" and k % 2 + p == 0:
                raise InputError(f"{where}: padding='same' with an even kernel ({name} {k}) "
                                 "and output_padding 0 gives an output TensorFlow refuses "
                                 "(one row too short)",
                                 "use output_padding >= 1 on that axis, or none")

    def infer(self, shapes, flow):
        out = {"use_bias": "b" in shapes}
        if len(shapes.get("W", ())) == 4:
            kh, kw, filters, _ = shapes["W"]
            out.update(kernel_size=(kh, kw), filters=filters)
        return out

    # -- shapes and parameters -----------------------------------------------------------------
    def sizes(self, opts, flow) -> tuple[int, int]:
        ops = opts["output_padding"] or (None, None)
        return tuple(output_length(n, k, s, opts["padding"], op) for n, k, s, op in
                     zip(flow.shape[:2], opts["kernel_size"], opts["strides"], ops))

    def crops(self, opts, flow) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) Keras cuts off the full transposed convolution."""
        ops = opts["output_padding"] or (None, None)
        return tuple(crop(n, k, s, opts["padding"], op) for n, k, s, op in
                     zip(flow.shape[:2], opts["kernel_size"], opts["strides"], ops))

    def output(self, opts, flow):
        return Flow((*self.sizes(opts, flow), opts["filters"]), "image")

    def params(self, opts, flow):
        (kh, kw), C, F = opts["kernel_size"], flow.features, opts["filters"]
        out = [ParamSpec("W", (kh, kw, F, C), "weight", kh * kw * C,
                         "kernel (kh, kw, filters, C_in)")]
        if opts["use_bias"]:
            out.append(ParamSpec("b", (F,), "bias", doc="bias (filters,)"))
        return out

    # -- the mappings ---------------------------------------------------------------------------
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

    # -- the equivalent code --------------------------------------------------------------------
    def torch_code(self, cfg):
        o = cfg.opts
        padding, output_padding, _ = _port(cfg)
        bias = "" if o["use_bias"] else ", bias=False"
        return (f"nn.ConvTranspose2d({cfg.flow_in.features}, {o['filters']}, "
                f"kernel_size={o['kernel_size']}, stride={o['strides']}, padding={padding}, "
                f"output_padding={output_padding}{bias})")

    def torch_forward(self, cfg):
        _, _, (cut_h, cut_w) = _port(cfg)
        lines = [f"x = self.{cfg.name}(x)"]
        if cut_h or cut_w:
            rows = ":-1" if cut_h else ":"
            cols = ":-1" if cut_w else ":"
            lines.append(f"x = x[:, :, {rows}, {cols}]  # Keras' 'same' crops the odd row/column "
                         "at the bottom/right; torch's padding crops both ends alike")
        return lines

    def keras_code(self, cfg):
        o = cfg.opts
        extra = "" if o["output_padding"] is None else f", output_padding={o['output_padding']}"
        bias = "" if o["use_bias"] else ", use_bias=False"
        return (f"layers.Conv2DTranspose({o['filters']}, {o['kernel_size']}, "
                f"strides={o['strides']}, padding='{o['padding']}'{extra}{bias})")

    def crop_text(self, cfg) -> str:
        """e.g. "same, stride 2, 4x4 input, 3x3 kernel: full 9x9, crop top 0 bottom 1, left 0
        right 1 -> 8x8 output" (a negative crop: zero rows appended)."""
        o = cfg.opts
        (top, bottom), (left, right) = self.crops(o, cfg.flow_in)
        (kh, kw), (sh, sw) = o["kernel_size"], o["strides"]
        H, W = cfg.flow_in.shape[:2]
        full = ((H - 1) * sh + kh, (W - 1) * sw + kw)
        stride = sh if sh == sw else shape_text(o["strides"])
        op = "" if o["output_padding"] is None else \
            f", output_padding {shape_text(o['output_padding'])}"
        def side(name, n, what):
            return f"{name} {n}" if n >= 0 else f"{name} {n} ({-n} zero {what} added)"

        return (f"{o['padding']}, stride {stride}{op}, {shape_text((H, W))} input, "
                f"{shape_text(o['kernel_size'])} kernel: full {shape_text(full)}, crop top {top} "
                f"{side('bottom', bottom, 'rows' if bottom < -1 else 'row')}, left {left} "
                f"{side('right', right, 'columns' if right < -1 else 'column')} -> "
                f"{shape_text(cfg.flow_out.shape[:2])} output")

    def formula(self, cfg, framework):
        padding, output_padding, cut = _port(cfg)
        how = {"scratch": "scatter every input pixel times every tap, then Keras' crop",
               "keras": "Conv2DTranspose: TensorFlow's conv2d_backprop_input for that output",
               "torch": (f"ConvTranspose2d(padding={padding}, output_padding={output_padding})"
                         + (f", then {cut} more cut off the end (rows, columns)" if any(cut)
                            else ""))}
        return f"{self.crop_text(cfg)}: {how[framework]}"


# one object per kind of layer (what implementations name and users call)
Conv2DTranspose = Conv2DTranspose()


# --- where the libraries differ ---------------------------------------------------------------
def _port_vs_keras(kernel: int, output_padding, port_padding: int, port_output_padding: int,
                   height: int = 5, width: int = 4) -> float:
    """Keras' Conv2DTranspose(kernel, strides=2, padding='same', output_padding) against the
    hand port F.conv_transpose2d(padding=port_padding, output_padding=port_output_padding), on
    the same canonical weights and input; the shapes agree, so the number is the values'."""
    import torch
    import torch.nn.functional as F

    from ..runner import prepare, run
    from ..tolerances import rel_error

    case = prepare("conv2dtranspose", options={
        "input": f"{height}x{width}x2", "filters": 3, "kernel_size": kernel, "strides": 2,
        "padding": "same", "output_padding": output_padding})
    keras_out = run(case, "keras").outputs["output"]
    NCHW = Transpose((0, 3, 1, 2))
    x = torch.from_numpy(NCHW.forward(case.batch.inputs["x"]))
    w = torch.from_numpy(TORCH_KERNEL.forward(case.weights["convt.W"]))
    port = F.conv_transpose2d(x, w, torch.from_numpy(case.weights["convt.b"]), stride=2,
                              padding=port_padding, output_padding=port_output_padding)
    return rel_error(NCHW.adjoint(port.numpy(), None), keras_out)


def _naive_same_port() -> float:
    """3x3 kernel, stride 2, 'same': Keras crops top 0 bottom 1; the port padding=1,
    output_padding=1 crops top 1 bottom 0 (both 10x8 from 5x4)."""
    return _port_vs_keras(3, None, 3 // 2, 1)


def _output_padding_copied() -> float:
    """4x4 kernel, stride 2, 'same', output_padding=1: Keras' output (I-1)*2 + 0 + 1 crops top 1
    bottom 2; the port copying output_padding beside padding=k//2 crops 2 and 1 (9x7 both)."""
    return _port_vs_keras(4, 1, 4 // 2, 1)


DIFFERENCES = (
    Difference(
        "Conv2DTranspose padding 'same'",
        torch="ConvTranspose2d(padding=p) crops p rows from BOTH ends of the full (I-1)s + k "
              "output (output_padding gives rows back at the end); the usual port of 'same' at "
              "stride 2, padding=k//2, output_padding=1: 3x3 kernel crops top 1 bottom 0",
        keras="Conv2DTranspose(padding='same') outputs I*s rows: it crops k - s, the floor half "
              "at the top/left and the odd one at the BOTTOM/RIGHT: 3x3 kernel, stride 2: top "
              "0 bottom 1",
        agree_when="padding = Keras' top crop, output_padding = top - bottom crop when >= 0, "
                   "else one more row cut off the end by hand (3x3, stride 2: padding=0, then "
                   "x[:, :, :-1, :-1]; 4x4, stride 2: padding=1, where the usual port is right)",
        measure=_naive_same_port, layers=('conv2dtranspose',),
    ),
    Difference(
        "Conv2DTranspose output_padding",
        torch="ConvTranspose2d(output_padding=op) adds op rows at the end after the symmetric "
              "crop: O = (I-1)s - 2p + k + op",
        keras="Conv2DTranspose(output_padding=op) sets the output length, O = (I-1)s + k%2 + op "
              "under 'same' ((I-1)s + k + op under 'valid'), and the crop follows 'same''s rule "
              "(4x4 kernel, stride 2, op 1: top 1 bottom 2)",
        agree_when="under 'valid' (same op, padding=0); under 'same' only through the port "
                   "(4x4, stride 2, op 1: padding=1, output_padding=0, one row cut off the end)",
        measure=_output_padding_copied, layers=('conv2dtranspose',),
    ),
)
