"""Conv presets: the lone layers ``conv2d``, ``maxpool2d``, ``flatten``, ``flatten_dense`` (random
input, random upstream gradient) and the model ``convnet`` (digits, softmax CE).

Each is a Sequential of declared layers (crossframe/layers/conv.py says the layouts: NHWC images,
kernels (kh, kw, C_in, C_out), Flatten in (h, w, c) order, and what torch does instead).
"""
from __future__ import annotations

import numpy as np

from .. import data
from ..bench import Benchmark
from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..layers.base import Option, boolean, integer, size2
from ..layers.conv import PADDING_NOTES
from ..sequential import Sequential
from ..spec import Batch, Spec, register
from ..training.recipes import Recipe

IMAGE_OPTIONS = (
    Option("height", 9, "input height H", integer(1)),
    Option("width", 8, "input width W", integer(1)),
    Option("channels", 3, "input channels C", integer(1)),
)


def _image(o) -> tuple[int, int, int]:
    return (o["height"], o["width"], o["channels"])


def _image_batch(relu_channels: bool = False):
    """Random NHWC input and a random upstream gradient of the output's shape."""
    def batch(o, model, dtype, seed, batch_size):

        x = data.random_input((batch_size, *_image(o)), seed, "x", dtype)
        if relu_channels:  # every other channel after a ReLU: exact zeros, so ties in a window
            x[..., ::2] = np.maximum(x[..., ::2], 0)
        (shape,) = model.outputs.values()
        return Batch({"x": x}, None,
                     {"output": data.upstream((batch_size, *shape), seed, "output", dtype)})
    return batch


def _conv_infer(prefix: str, filters: str = "filters"):
    def infer(shapes):
        W = shapes.get(f"{prefix}.W", ())
        if len(W) != 4:
            return {}
        out = {"kernel_size": W[:2], filters: W[3]}
        if prefix == "conv":
            out.update(channels=W[2], use_bias=f"{prefix}.b" in shapes)
        return out
    return infer


# --- conv2d ----------------------------------------------------------------------------------
def _conv2d(o):
    return Sequential([Conv2D(filters=o["filters"], kernel_size=o["kernel_size"],
                              strides=o["strides"], padding=o["padding"],
                              dilation_rate=o["dilation_rate"], groups=o["groups"],
                              use_bias=o["use_bias"])], _image(o))


register(Spec(
    name="conv2d", kind="layer", family="conv",
    summary="one Conv2D (cross-correlation), NHWC; strides, valid/same padding with Keras' rule, "
            "dilation, groups",
    model=_conv2d, infer=_conv_infer("conv"), default_batch_size=4, layer="conv2d",
    options=IMAGE_OPTIONS + (
        Option("filters", 4, "output channels (filters)", integer(1)),
        Option("kernel_size", (3, 3), "kernel size: 3, or height x width as 3x2", size2,
               aliases=("kernel",)),
        Option("strides", (2, 2), "stride: 2, or 2x1", size2, aliases=("stride",)),
        Option("padding", "same", "'valid' (no zeros) or 'same' (Keras' rule)", str,
               ("valid", "same")),
        Option("dilation_rate", (1, 1), "gap between kernel taps: 1, or 2x1 (strides must then "
               "be 1)", size2, aliases=("dilation",)),
        Option("groups", 1, "channel groups: block g of the inputs to block g of the filters "
               "(groups = channels: depthwise)", integer(1)),
        Option("use_bias", True, "use a bias", boolean, aliases=("bias",)),
    ),
    notes=PADDING_NOTES + (
        "Defaults (9x8 input, 3x3 kernel, stride 2, same) pad the height symmetrically and the "
        "width only on the right, so one check exercises both cases.",
    ),
))


# --- maxpool2d -------------------------------------------------------------------------------
def _maxpool(o):
    return Sequential([MaxPool2D(pool_size=o["pool_size"], strides=o["strides"],
                                 padding=o["padding"])], _image(o))


register(Spec(
    name="maxpool2d", kind="layer", family="conv",
    summary="one MaxPool2D, NHWC, floor (valid) or Keras' 'same' padding; ties send the gradient "
            "to the first maximum",
    model=_maxpool, batch=_image_batch(relu_channels=True), default_batch_size=4,
    layer="maxpool2d",
    options=(Option("height", 7, "input height H", integer(1)),
             Option("width", 9, "input width W", integer(1)),
             Option("channels", 3, "input channels C", integer(1)),
             Option("pool_size", (2, 2), "window size: 2, or 2x3", size2, aliases=("pool",)),
             Option("strides", None, "stride (default: the window size)", size2,
                    aliases=("stride",)),
             Option("padding", "valid", "'valid' (floor) or 'same' (Keras' rule: -inf pads, the "
                    "odd one bottom/right)", str, ("valid", "same"))),
    notes=("The default 7x9 input with a 2x2 window drops row 6 and column 8 (floor).",
           "The default batch has every other channel passed through a ReLU so that ties "
           "occur."),
))


# --- flatten and flatten_dense ---------------------------------------------------------------
FLAT_OPTIONS = (Option("height", 3, "input height H", integer(1)),
                Option("width", 4, "input width W", integer(1)),
                Option("channels", 5, "input channels C", integer(1)))

register(Spec(
    name="flatten", kind="layer", family="conv",
    summary="Flatten alone: NHWC (N, H, W, C) -> (N, H*W*C), features in (h, w, c) order",
    model=lambda o: Sequential([Flatten()], _image(o)), default_batch_size=4, layer="flatten",
    options=FLAT_OPTIONS,
))


def _flatten_dense(o):
    return Sequential([Flatten(), Dense(units=o["units"], use_bias=o["use_bias"])], _image(o))


def _flatten_dense_infer(shapes):
    W = shapes.get("dense.W", ())
    return {"units": W[1], "use_bias": "dense.b" in shapes} if len(W) == 2 else {}


register(Spec(
    name="flatten_dense", kind="layer", family="conv",
    summary="Flatten + Dense: the Dense rows need a permutation between NHWC (Keras) and NCHW "
            "(torch)",
    model=_flatten_dense, infer=_flatten_dense_infer, default_batch_size=4,
    options=FLAT_OPTIONS + (Option("units", 6, "output units", integer(1)),
                            Option("use_bias", True, "use a bias", boolean, aliases=("bias",))),
))


# --- convnet on digits -----------------------------------------------------------------------
def _convnet(o):
    conv = dict(kernel_size=o["kernel_size"], strides=o["strides"], padding=o["padding"])
    return Sequential([
        Conv2D(filters=o["filters1"], **conv), ReLU(), MaxPool2D(pool_size=o["pool_size"]),
        Conv2D(filters=o["filters2"], **conv), ReLU(), MaxPool2D(pool_size=o["pool_size"]),
        Flatten(), Dense(units=10),
    ], (8, 8, 1), "softmax_ce", output="logits")


def digits_images(dtype: str, rows) -> np.ndarray:
    """scikit-learn's digits as NHWC images: x (N, 8, 8, 1) = pixels / 16."""
    X, _ = data.digits()
    return X[rows].reshape(-1, 8, 8, 1).astype(dtype)


def _convnet_batch(o, model, dtype, seed, batch_size):
    X, y = data.digits()
    rows = data.sample_rows(len(X), batch_size, seed)
    return Batch({"x": digits_images(dtype, rows)}, y[rows])


def _convnet_infer(shapes):
    out = {}
    for i in (1, 2):
        W = shapes.get(f"conv{i}.W", ())
        if len(W) == 4:
            out.update({"kernel_size": W[:2], f"filters{i}": W[3]})
    return out


register(Spec(
    name="convnet", kind="model", family="conv",
    summary="ConvNet: Conv-ReLU-MaxPool-Conv-ReLU-MaxPool-Flatten-Dense + softmax CE on digits "
            "(8x8x1 -> 10)",
    model=_convnet, batch=_convnet_batch, infer=_convnet_infer, dataset="digits",
    default_batch_size=32,
    options=(Option("filters1", 4, "filters of conv1", integer(1)),
             Option("filters2", 8, "filters of conv2", integer(1)),
             Option("kernel_size", (3, 3), "kernel size of both convs: 3, or 3x2", size2,
                    aliases=("kernel",)),
             Option("strides", (1, 1), "stride of both convs: 1, or 2x1", size2,
                    aliases=("stride",)),
             Option("padding", "same", "padding of both convs", str, ("valid", "same")),
             Option("pool_size", (2, 2), "max-pool window (= its stride): 2, or 2x1", size2,
                    aliases=("pool",))),
    notes=(
        "Digits' background is exactly 0, so conv1 outputs equal its bias there and the max "
        "pools see exact ties: all three send the gradient to the first maximum.",
        "Images: x (N, 8, 8, 1) = pixels / 16 (NHWC); torch gets them as (N, 1, 8, 8).",
    ),
))


# --- benchmark workloads (crossframe bench) --------------------------------------------------
BENCHMARKS = (
    Benchmark("conv2d", "conv2d", 64,
              {"height": 28, "width": 28, "channels": 8, "filters": 16, "kernel_size": 3,
               "strides": 1, "padding": "same"},
              "conv 3x3 8->16 28x28 N=64 same", target=1.5),
)


# --- the report's training runs (crossframe.training.recipes) ---------------------------------
TRAINING = (
    Recipe("convnet", epochs=8, lr=0.01, options={"filters1": 8, "filters2": 16},
           why="test accuracy 0.10 -> 0.98; the preset's 4 and 8 filters (kept small for the "
               "gradient checks) stay under 0.95 in 15 epochs"),
)
