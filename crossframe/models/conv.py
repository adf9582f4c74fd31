"""Conv family specs: the lone layers ``conv2d``, ``maxpool2d``, ``flatten``, ``flatten_dense``
(random input, random upstream gradient) and the model ``convnet`` (digits, softmax CE).

Canonical layout (Keras', channels_last):
    images            x (N, H, W, C)                     NHWC
    conv kernel       conv.W (kh, kw, C_in, C_out)       bias conv.b (C_out,)
    Flatten           feature (h*W + w)*C + c            rows of the following Dense kernel
PyTorch differs in all three, and every difference is one declared ``Entry`` below:
    images            (N, C, H, W)                       Transpose((0, 3, 1, 2))
    conv weight       (C_out, C_in, kh, kw)              Transpose((3, 2, 0, 1))
    nn.Flatten        feature (c*H + h)*W + w            Permute the Dense rows, then transpose
and torch has no ``padding="same"`` for strided convolutions, so it pads explicitly with the
amounts of Keras' rule (``crossframe.scratch.conv.same_padding``: the odd extra row and
column of zeros go bottom/right). The geometry of every layer is computed once, here, by
``conv_plan`` / ``convnet_plan``; ``describe`` prints the pads for the actual sizes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import data
from ..bench import Benchmark
from ..errors import InputError
from ..mapping import Chain, Entry, Identity, Mapping, Permute, Transpose, identity_mapping
from ..scratch.conv import PADDINGS, same_padding
from ..spec import (FRAMEWORKS, Batch, Difference, Option, ParamSpec, Spec, parse_bool,
                    register)

# --- the reasons, written once ---------------------------------------------------------------
SCRATCH_WHY = "scratch computes in the canonical layout"
TORCH_X_WHY = "torch image layers (Conv2d, MaxPool2d, Flatten) take NCHW"
TORCH_OUT_WHY = "torch returns NCHW; mapped back to NHWC"
TORCH_K_WHY = "nn.Conv2d stores weight (C_out, C_in, kh, kw)"
TORCH_FLAT_WHY = ("nn.Linear stores weight (out, in), and nn.Flatten of NCHW orders its "
                  "inputs (c, h, w)")
KERAS_X_WHY = "Keras image layers take NHWC (channels_last): the canonical layout"
KERAS_K_WHY = "Conv2D stores kernel (kh, kw, C_in, C_out): the canonical layout"
KERAS_FLAT_WHY = "Flatten of NHWC orders its inputs (h, w, c): the canonical rows"
SAME_LAYOUT = "same layout"
NCHW = Transpose((0, 3, 1, 2))  # NHWC -> NCHW
TORCH_KERNEL = Transpose((3, 2, 0, 1))  # (kh, kw, I, O) -> (O, I, kh, kw)


# --- option types ----------------------------------------------------------------------------
def _size(text):
    """"3" -> 3, "3x2" or "3,2" -> "3x2": a square or a (height, width) size (``pair`` reads
    either, and a tuple too)."""
    h, w = _parts(text)
    return h if h == w and "x" not in str(text) and "," not in str(text) else f"{h}x{w}"


def _parts(value) -> tuple[int, int]:
    if isinstance(value, str):
        parts = [int(p) for p in value.replace("x", ",").split(",")]
        if len(parts) not in (1, 2):
            raise ValueError(value)
        return (parts[0], parts[-1])
    if np.isscalar(value):
        return int(value), int(value)
    h, w = value
    return int(h), int(w)


_size.__name__ = "size (e.g. 3 or 3x2)"




def pair(value) -> tuple[int, int]:
    """A size as (height, width): ``3`` -> (3, 3); ``"3x2"`` or ``(3, 2)`` -> (3, 2)."""
    return _parts(value)


def _positive(o: dict, names) -> None:
    for name in names:
        value = o[name]
        if value is None:
            continue
        if not all(v >= 1 for v in pair(value)):
            raise InputError(f"--{name} {value} must be at least 1", f"pass e.g. --{name} 2")


def _hw(size) -> str:
    h, w = pair(size)
    return f"{h}x{w}"


# --- geometry: every layer's sizes and pads, computed once ------------------------------------
@dataclass(frozen=True)
class ConvGeometry:
    """One convolution: input (H, W, C_in) -> output (Ho, Wo, C_out), Keras' padding rule."""

    name: str
    size: tuple[int, int]  # (H, W)
    channels: int
    filters: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: str
    bias: bool = True

    @property
    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) zeros added to the input."""
        if self.padding == "valid":
            return (0, 0), (0, 0)
        return tuple(same_padding(n, k, s) for n, k, s in zip(self.size, self.kernel,
                                                              self.stride))  # type: ignore

    @property
    def out(self) -> tuple[int, int]:
        (top, bottom), (left, right) = self.pads
        H, W = self.size[0] + top + bottom, self.size[1] + left + right
        return ((H - self.kernel[0]) // self.stride[0] + 1,
                (W - self.kernel[1]) // self.stride[1] + 1)

    @property
    def symmetric(self) -> bool:
        (top, bottom), (left, right) = self.pads
        return top == bottom and left == right

    def padding_text(self) -> str:
        """e.g. "same, stride 2, 8x8 input, 3x3 kernel: pad top 0 bottom 1, left 0 right 1"."""
        (top, bottom), (left, right) = self.pads
        stride = self.stride[0] if self.stride[0] == self.stride[1] else _hw(self.stride)
        return (f"{self.padding}, stride {stride}, {_hw(self.size)} input, "
                f"{_hw(self.kernel)} kernel: pad top {top} bottom {bottom}, "
                f"left {left} right {right} -> {_hw(self.out)} output")

    def torch_text(self) -> str:
        (top, bottom), (left, right) = self.pads
        if self.symmetric:
            return f"nn.Conv2d(stride={self.stride}, padding={(top, left)})"
        return (f"F.pad(x, (left, right, top, bottom) = {(left, right, top, bottom)}) then "
                f"nn.Conv2d(stride={self.stride}, padding=0)")

    def params(self, prefix: str) -> list[ParamSpec]:
        kh, kw = self.kernel
        out = [ParamSpec(f"{prefix}.W", (kh, kw, self.channels, self.filters), "weight",
                         kh * kw * self.channels, "kernel (kh, kw, I, O)")]
        if self.bias:
            out.append(ParamSpec(f"{prefix}.b", (self.filters,), "bias", doc="bias (O,)"))
        return out


def conv_geometry(name: str, size, channels: int, filters: int, kernel, stride, padding: str,
                  bias: bool = True,
                  fix: str = "use --padding same, a smaller --kernel, or a larger --height/--width",
                  ) -> ConvGeometry:
    """A ConvGeometry, or an InputError naming the layer when a "valid" kernel does not fit."""
    g = ConvGeometry(name, pair(size), channels, filters, pair(kernel), pair(stride), padding,
                     bias)
    if padding == "valid" and (g.kernel[0] > g.size[0] or g.kernel[1] > g.size[1]):
        raise InputError(f"{name}: a {_hw(g.kernel)} kernel does not fit its {_hw(g.size)} "
                         "input with padding 'valid'", fix)
    return g


@dataclass(frozen=True)
class PoolGeometry:
    """Max pooling, "valid" (floor): input (H, W, C) -> (Ho, Wo, C)."""

    name: str
    size: tuple[int, int]
    channels: int
    pool: tuple[int, int]
    stride: tuple[int, int]

    @property
    def out(self) -> tuple[int, int]:
        return tuple((n - p) // s + 1 for n, p, s in zip(self.size, self.pool,  # type: ignore
                                                         self.stride))

    def dropped(self) -> tuple[int, int]:
        """Rows and columns at the bottom/right that fall in no window (floor semantics)."""
        used = [(o - 1) * s + p for o, p, s in zip(self.out, self.pool, self.stride)]
        return self.size[0] - used[0], self.size[1] - used[1]


def pool_geometry(name: str, size, channels: int, pool, stride,
                  fix: str = "use a smaller --pool or a larger --height/--width") -> PoolGeometry:
    """A PoolGeometry (stride None: the window size), or an InputError when no window fits."""
    g = PoolGeometry(name, pair(size), channels, pair(pool),
                     pair(pool if stride is None else stride))
    if g.pool[0] > g.size[0] or g.pool[1] > g.size[1]:
        raise InputError(f"{name}: a {_hw(g.pool)} window does not fit its {_hw(g.size)} input",
                         fix)
    return g


def flatten_order(H: int, W: int, C: int) -> tuple[int, ...]:
    """``index[f]`` = the canonical (NHWC) feature at torch's (NCHW) feature ``f``.

    torch's feature f = (c*H + h)*W + w is Keras' feature (h*W + w)*C + c, so a torch tensor
    along the flattened axis is ``canonical.take(index)``; the adjoint puts it back.
    """
    return tuple(int(i) for i in np.arange(H * W * C).reshape(H, W, C).transpose(2, 0, 1).ravel())


def flatten_permute(H: int, W: int, C: int, axis: int, what: str) -> Permute:
    return Permute(flatten_order(H, W, C), axis,
                   f"{what} (H,W,C) = ({H},{W},{C}) order -> (C,H,W) order")


def torch_dense_after_flatten(canonical: str, framework: str, H: int, W: int, C: int) -> Entry:
    """The Dense kernel after a Flatten: torch rows in (c, h, w) order, then transposed."""
    return Entry(canonical, framework,
                 Chain((flatten_permute(H, W, C, 0, "rows"), Transpose((1, 0)))), TORCH_FLAT_WHY)


def without_flatten_permutation(mapping: Mapping) -> Mapping:
    """The same mapping with every Permute dropped from its parameter transforms: what a port
    that forgets Flatten's order does (used by DIFFERENCES and the can-fail tests)."""
    def strip(t):
        if isinstance(t, Chain):
            steps = tuple(s for s in t.steps if not isinstance(s, Permute))
            return steps[0] if len(steps) == 1 else Chain(steps)
        return t
    return replace(mapping, params=tuple(replace(e, transform=strip(e.transform))
                                         for e in mapping.params))


def _conv_entries(fw: str, g: ConvGeometry, prefix: str) -> list[Entry]:
    """Kernel and bias of one convolution in ``fw``'s names and layout."""
    if fw == "torch":
        out = [Entry(f"{prefix}.W", f"{prefix}.weight", TORCH_KERNEL, TORCH_K_WHY)]
        bias = f"{prefix}.bias"
    else:
        out = [Entry(f"{prefix}.W", f"{prefix}/kernel", Identity(), KERAS_K_WHY)]
        bias = f"{prefix}/bias"
    if g.bias:
        out.append(Entry(f"{prefix}.b", bias, Identity(), SAME_LAYOUT))
    return out


def _x_entry(fw: str) -> tuple[Entry, ...]:
    if fw == "torch":
        return (Entry("x", "x", NCHW, TORCH_X_WHY),)
    if fw == "keras":
        return (Entry("x", "x", Identity(), KERAS_X_WHY),)
    return ()


def _conv_how(fw: str, g: ConvGeometry) -> str:
    """How ``fw`` gets the pads of ``g``."""
    if fw == "torch":
        return g.torch_text()
    if fw == "keras":
        return ("Conv2D(padding='same'): TF computes these pads at run time"
                if g.padding == "same" else "Conv2D(padding='valid')")
    return ("zero border by same_padding(), then im2col + one GEMM" if g.padding == "same"
            else "im2col + one GEMM")


def _formula(fw: str, layers) -> str:
    """Each layer's geometry for the actual sizes, in order, on one line: the pads every conv
    gets (and how ``fw`` applies them), the rows and columns a pool's floor leaves unused."""
    parts = []
    for g in layers:
        if isinstance(g, ConvGeometry):
            parts.append(f"{g.name} {g.padding_text()}: {_conv_how(fw, g)}")
            continue
        rows, cols = g.dropped()
        floor = f" (floor: last {rows} row(s), {cols} column(s) unused)" if rows or cols else ""
        stride = g.stride[0] if g.stride[0] == g.stride[1] else _hw(g.stride)
        parts.append(f"{g.name} {_hw(g.pool)} stride {stride}: {_hw(g.size)} -> "
                     f"{_hw(g.out)}{floor}")
    return "; ".join(parts)


def _builders(fn: str) -> dict[str, str]:
    return {fw: f"crossframe.{pkg}.conv:{fn}" for fw, pkg in
            (("scratch", "scratch"), ("torch", "torch_impl"), ("keras", "keras_impl"))}


IMAGE_OPTIONS = (
    Option("height", 9, "input height H", int),
    Option("width", 8, "input width W", int),
    Option("channels", 3, "input channels C", int),
)

PADDING_NOTES = (
    "padding='same' (Keras/TF rule): output ceil(n / stride); pad_total = max((out - 1) * "
    "stride + k - n, 0); pad_top = pad_total // 2 and the odd extra row/column goes to the "
    "BOTTOM/RIGHT. Example: " + conv_geometry("conv", 8, 1, 1, 3, 2, "same").padding_text()
    + " (Keras puts the odd extra row bottom/right). The usual torch port padding=k//2 pads "
    "top 1 bottom 1 there: same output shape, different numbers (see `crossframe report`, "
    "differences).",
    "torch refuses padding='same' when stride > 1, so torch_impl pads explicitly with F.pad "
    "(left, right, top, bottom) where the pads are asymmetric, and passes padding=(top, left) "
    "to nn.Conv2d where they are symmetric.",
    "Kernel layout: canonical/Keras (kh, kw, C_in, C_out) -> torch (C_out, C_in, kh, kw) is "
    "transpose(3, 2, 0, 1); transpose(3, 2, 1, 0) also gives a 4-D tensor of the right shape "
    "when kh = kw, but with every kernel mirrored across its diagonal: a silent bug that only "
    "the numbers catch.",
)


# --- conv2d ----------------------------------------------------------------------------------
def conv2d_geometry(o) -> ConvGeometry:
    return conv_geometry("conv", (o["height"], o["width"]), o["channels"], o["filters"],
                         o["kernel"], o["stride"], o["padding"], o["bias"])


def _conv2d_validate(o):
    _positive(o, ("height", "width", "channels", "filters", "kernel", "stride"))
    conv2d_geometry(o)


def _conv2d_params(o):
    return conv2d_geometry(o).params("conv")


def _image_batch(out_shape, relu_channels: bool = False):
    """Random NHWC input and a random upstream gradient of the output's shape."""
    def batch(o, dtype, seed, batch_size):
        x = data.random_input((batch_size, o["height"], o["width"], o["channels"]), seed, "x",
                              dtype)
        if relu_channels:  # every other channel after a ReLU: exact zeros, so ties in a window
            x[..., ::2] = np.maximum(x[..., ::2], 0)
        shape = (batch_size, *out_shape(o))
        return Batch({"x": x}, None, {"output": data.upstream(shape, seed, "output", dtype)})
    return batch


def _conv2d_out(o):
    return (*conv2d_geometry(o).out, o["filters"])


def _layer_mapping(fw: str, params, layers=(), output: Entry | None = None):
    """A lone layer's mapping: its parameters, the NHWC input, and (torch) its output layout."""
    formula = _formula(fw, layers)
    if fw == "scratch":
        return Mapping(fw, tuple(params), formula=formula)
    outputs = (output,) if fw == "torch" and output is not None else ()
    return Mapping(fw, tuple(params), _x_entry(fw), outputs, formula)


def _conv2d_entries(fw, o):
    g = conv2d_geometry(o)
    if fw == "scratch":
        return identity_mapping(fw, [p.name for p in g.params("conv")], SCRATCH_WHY).params
    return _conv_entries(fw, g, "conv")


NCHW_OUTPUT = Entry("output", "output", NCHW, TORCH_OUT_WHY)

register(Spec(
    name="conv2d", kind="layer", family="conv",
    summary="one Conv2D (cross-correlation), NHWC; strides, valid/same padding with Keras' rule",
    bilinear=True,  # every gradient is a sum of products (crossframe.run.Case.sum_of_terms)
    loss="upstream", params=_conv2d_params, batch=_image_batch(_conv2d_out),
    mappings={fw: (lambda o, fw=fw: _layer_mapping(fw, _conv2d_entries(fw, o),
                                                   layers=[conv2d_geometry(o)],
                                                   output=NCHW_OUTPUT)) for fw in FRAMEWORKS},
    builders=_builders("build_conv2d"),
    options=IMAGE_OPTIONS + (
        Option("filters", 4, "output channels (filters)", int),
        Option("kernel", 3, "kernel size: 3, or height x width as 3x2", _size),
        Option("stride", 2, "stride: 2, or 2x1", _size),
        Option("padding", "same", "'valid' (no zeros) or 'same' (Keras' rule)", str, PADDINGS),
        Option("bias", True, "use a bias", parse_bool, (True, False)),
    ),
    default_batch_size=4, validate=_conv2d_validate,
    notes=PADDING_NOTES + (
        "Backward: dW = cols^T dY (im2col columns), db = sum of dY over n, h, w, dx = the "
        "column gradients dY W^T added back onto the padded image (col2im), padding cut off.",
        "Defaults (9x8 input, 3x3 kernel, stride 2, same) pad the height symmetrically and the "
        "width only on the right, so one check exercises both cases.",
    ),
))


# --- maxpool2d -------------------------------------------------------------------------------
def _pool_geometry(o) -> PoolGeometry:
    return pool_geometry("pool", (o["height"], o["width"]), o["channels"], o["pool"],
                         o["stride"])


def _pool_validate(o):
    _positive(o, ("height", "width", "channels", "pool", "stride"))
    if o["stride"] is None:
        o["stride"] = o["pool"]
    _pool_geometry(o)


register(Spec(
    name="maxpool2d", kind="layer", family="conv",
    summary="one MaxPool2D, NHWC, floor (valid) semantics; ties send the gradient to the first "
            "maximum",
    loss="upstream", params=lambda o: [],
    batch=_image_batch(lambda o: (*_pool_geometry(o).out, o["channels"]), relu_channels=True),
    mappings={fw: (lambda o, fw=fw: _layer_mapping(fw, (), layers=[_pool_geometry(o)],
                                                   output=NCHW_OUTPUT)) for fw in FRAMEWORKS},
    builders=_builders("build_maxpool2d"),
    options=(Option("height", 7, "input height H", int),
             Option("width", 9, "input width W", int),
             Option("channels", 3, "input channels C", int),
             Option("pool", 2, "window size: 2, or 2x3", _size),
             Option("stride", None, "stride (default: the window size)", _size)),
    default_batch_size=4, validate=_pool_validate,
    notes=(
        "Floor semantics (torch ceil_mode=False, Keras padding='valid'): Ho = floor((H - ph) / "
        "sh) + 1; rows and columns at the bottom/right that do not fill a window are unused "
        "and get a zero gradient. The default 7x9 input with a 2x2 window drops row 6 and "
        "column 8.",
        "Ties (ReLU zeros make them common): the whole gradient of a window goes to its FIRST "
        "maximum in row-major window order, in scratch (argmax), torch and TensorFlow. The "
        "default batch has every other channel passed through a ReLU so that ties occur.",
    ),
))


# --- flatten and flatten_dense ---------------------------------------------------------------
FLAT_OPTIONS = (Option("height", 3, "input height H", int),
                Option("width", 4, "input width W", int),
                Option("channels", 5, "input channels C", int))


def _flat_validate(o):
    _positive(o, [name for name in ("height", "width", "channels", "units") if name in o])


def _flat_size(o) -> int:
    return o["height"] * o["width"] * o["channels"]


def _flat_output(o) -> Entry:
    return Entry("output", "output",
                 flatten_permute(o["height"], o["width"], o["channels"], 1, "features"),
                 "nn.Flatten of NCHW orders the features (c, h, w)")


register(Spec(
    name="flatten", kind="layer", family="conv",
    summary="Flatten alone: NHWC (N, H, W, C) -> (N, H*W*C), features in (h, w, c) order",
    loss="upstream", params=lambda o: [], batch=_image_batch(lambda o: (_flat_size(o),)),
    mappings={fw: (lambda o, fw=fw: _layer_mapping(fw, (), output=_flat_output(o)))
              for fw in FRAMEWORKS},
    builders=_builders("build_flatten"),
    options=FLAT_OPTIONS, default_batch_size=4, validate=_flat_validate,
    notes=("Keras flattens NHWC: feature (h*W + w)*C + c. torch flattens NCHW: feature "
           "(c*H + h)*W + w. Same numbers, different order: the torch output is a permutation "
           "of the canonical one (the declared output entry), and a Dense after it needs its "
           "rows permuted (see flatten_dense).",),
))


def _flat_dense_params(o):
    n, u = _flat_size(o), o["units"]
    out = [ParamSpec("dense.W", (n, u), "weight", n, "kernel (in, out), rows in (h, w, c) order")]
    if o["bias"]:
        out.append(ParamSpec("dense.b", (u,), "bias", doc="bias (out,)"))
    return out


def _flat_dense_entries(fw, o):
    names = [p.name for p in _flat_dense_params(o)]
    if fw == "scratch":
        return identity_mapping(fw, names, SCRATCH_WHY).params
    if fw == "torch":
        out = [torch_dense_after_flatten("dense.W", "dense.weight", o["height"], o["width"],
                                         o["channels"])]
        bias = Entry("dense.b", "dense.bias", Identity(), SAME_LAYOUT)
    else:
        out = [Entry("dense.W", "dense/kernel", Identity(), KERAS_FLAT_WHY)]
        bias = Entry("dense.b", "dense/bias", Identity(), SAME_LAYOUT)
    return out + [bias] if o["bias"] else out


register(Spec(
    name="flatten_dense", kind="layer", family="conv",
    summary="Flatten + Dense: the Dense rows need a permutation between NHWC (Keras) and NCHW "
            "(torch)",
    bilinear=True,  # every gradient is a sum of products (crossframe.run.Case.sum_of_terms)
    loss="upstream", params=_flat_dense_params,
    batch=_image_batch(lambda o: (o["units"],)),
    mappings={fw: (lambda o, fw=fw: _layer_mapping(fw, _flat_dense_entries(fw, o)))
              for fw in FRAMEWORKS},
    builders=_builders("build_flatten_dense"),
    options=FLAT_OPTIONS + (Option("units", 6, "output units", int),
                            Option("bias", True, "use a bias", parse_bool, (True, False))),
    default_batch_size=4, validate=_flat_validate,
    notes=("torch's Linear sees the features in (c, h, w) order, Keras' Dense in (h, w, c) "
           "order: the torch weight is the canonical kernel with its rows permuted "
           "(H,W,C) -> (C,H,W), then transposed to (out, in). Without the permutation the "
           "shapes still fit and only the numbers are wrong (`crossframe report`, "
           "differences).",),
))


# --- convnet on digits -----------------------------------------------------------------------
@dataclass(frozen=True)
class ConvnetPlan:
    conv1: ConvGeometry
    pool1: PoolGeometry
    conv2: ConvGeometry
    pool2: PoolGeometry
    units: int = 10

    @property
    def flat(self) -> tuple[int, int, int]:
        """(H, W, C) into the Flatten."""
        return (*self.pool2.out, self.pool2.channels)

    @property
    def flat_size(self) -> int:
        H, W, C = self.flat
        return H * W * C


def convnet_plan(o) -> ConvnetPlan:
    """conv1 -> relu -> pool1 -> conv2 -> relu -> pool2 -> flatten -> dense (10 logits), sizes
    from the options on 8x8x1 digits; an InputError names the first layer that does not fit."""
    fix = "use --padding same, a smaller --kernel, --stride or --pool"
    conv1 = conv_geometry("conv1", 8, 1, o["filters1"], o["kernel"], o["stride"], o["padding"],
                          fix=fix)
    pool1 = pool_geometry("pool1", conv1.out, conv1.filters, o["pool"], o["pool"], fix)
    conv2 = conv_geometry("conv2", pool1.out, pool1.channels, o["filters2"], o["kernel"],
                          o["stride"], o["padding"], fix=fix)
    pool2 = pool_geometry("pool2", conv2.out, conv2.filters, o["pool"], o["pool"], fix)
    return ConvnetPlan(conv1, pool1, conv2, pool2)


def _convnet_validate(o):
    _positive(o, ("filters1", "filters2", "kernel", "stride", "pool"))
    convnet_plan(o)


def _convnet_params(o):
    plan = convnet_plan(o)
    n = plan.flat_size
    return (plan.conv1.params("conv1") + plan.conv2.params("conv2") + [
        ParamSpec("dense.W", (n, plan.units), "weight", n,
                  "kernel (in, out), rows in (h, w, c) order"),
        ParamSpec("dense.b", (plan.units,), "bias", doc="bias (out,)")])


def _convnet_mapping(fw: str, o) -> Mapping:
    plan = convnet_plan(o)
    formula = _formula(fw, [plan.conv1, plan.pool1, plan.conv2, plan.pool2])
    if fw == "scratch":
        names = [p.name for p in _convnet_params(o)]
        return replace(identity_mapping(fw, names, SCRATCH_WHY), formula=formula)
    params = _conv_entries(fw, plan.conv1, "conv1") + _conv_entries(fw, plan.conv2, "conv2")
    if fw == "torch":
        params += [torch_dense_after_flatten("dense.W", "dense.weight", *plan.flat),
                   Entry("dense.b", "dense.bias", Identity(), SAME_LAYOUT)]
    else:
        params += [Entry("dense.W", "dense/kernel", Identity(), KERAS_FLAT_WHY),
                   Entry("dense.b", "dense/bias", Identity(), SAME_LAYOUT)]
    return Mapping(fw, tuple(params), _x_entry(fw), (), formula)


def digits_images(dtype: str, rows) -> np.ndarray:
    """scikit-learn's digits as NHWC images: x (N, 8, 8, 1) = pixels / 16."""
    X, _ = data.digits()
    return X[rows].reshape(-1, 8, 8, 1).astype(dtype)


def _convnet_batch(o, dtype, seed, batch_size):
    X, y = data.digits()
    rows = data.sample_rows(len(X), batch_size, seed)
    return Batch({"x": digits_images(dtype, rows)}, y[rows])


register(Spec(
    name="convnet", kind="model", family="conv",
    summary="ConvNet: Conv-ReLU-MaxPool-Conv-ReLU-MaxPool-Flatten-Dense + softmax CE on digits "
            "(8x8x1 -> 10)",
    loss="softmax_ce", params=_convnet_params, batch=_convnet_batch,
    mappings={fw: (lambda o, fw=fw: _convnet_mapping(fw, o)) for fw in FRAMEWORKS},
    builders=_builders("build_convnet"),
    options=(Option("filters1", 4, "filters of conv1", int),
             Option("filters2", 8, "filters of conv2", int),
             Option("kernel", 3, "kernel size of both convs: 3, or 3x2", _size),
             Option("stride", 1, "stride of both convs: 1, or 2x1", _size),
             Option("padding", "same", "padding of both convs", str, PADDINGS),
             Option("pool", 2, "max-pool window (= its stride): 2, or 2x1", _size)),
    dataset="digits", default_batch_size=32, validate=_convnet_validate,
    notes=PADDING_NOTES + (
        "Flatten: the Dense after pool2 sees (h, w, c)-ordered features in Keras and "
        "(c, h, w)-ordered ones in torch; torch's dense.weight is the canonical kernel with "
        "its rows permuted (H,W,C) -> (C,H,W), then transposed (the torch entry of dense.W).",
        "Digits' background is exactly 0, so conv1 outputs equal its bias there and the max "
        "pools see exact ties: all three send the gradient to the first maximum.",
        "Images: x (N, 8, 8, 1) = pixels / 16 (NHWC); torch gets them as (N, 1, 8, 8).",
    ),
))


# --- benchmark workloads (crossframe bench) --------------------------------------------------

BENCHMARKS = (
    Benchmark("conv2d", "conv2d", 32,
              {"height": 28, "width": 28, "channels": 8, "filters": 16, "kernel": 3,
               "stride": 1, "padding": "same"},
              "conv 3x3 8->16 28x28 N=32 same fwd+bwd", target=1.5),
)


# --- where the libraries differ (crossframe.spec.Difference) ---------------------------------
def _symmetric_padding_port() -> float:
    """Keras' padding='same' at stride 2 vs the usual torch port nn.Conv2d(padding=k//2), on
    the same canonical weights and input (8x8, 3x3 kernel, stride 2: 4x4 outputs both)."""
    import torch
    import torch.nn.functional as F

    from ..run import prepare, run
    from ..tolerances import rel_error

    case = prepare("conv2d", options={"height": 8, "width": 8, "kernel": 3, "stride": 2,
                                      "padding": "same"})
    keras_out = run(case, "keras").outputs["output"]
    x = torch.from_numpy(NCHW.forward(case.batch.inputs["x"]))
    w = torch.from_numpy(TORCH_KERNEL.forward(case.weights["conv.W"]))
    port = F.conv2d(x, w, torch.from_numpy(case.weights["conv.b"]), stride=2, padding=3 // 2)
    return rel_error(NCHW.adjoint(port.numpy(), None), keras_out)


def _flatten_without_permutation() -> float:
    """flatten_dense in torch with the Dense weight only transposed (rows not permuted) vs
    Keras, on the same canonical weights and input."""
    from ..run import prepare, run, with_mapping
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
              "bottom/right: " + conv_geometry("conv", 8, 1, 1, 3, 2, "same").padding_text(),
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
