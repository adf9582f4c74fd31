"""The convolution family in Keras 3: Conv2D, MaxPooling2D, Flatten, and the ``convnet`` model.

Keras' layout is the canonical one (channels_last): x (N, H, W, C), ``Conv2D.kernel``
(kh, kw, C_in, C_out), ``Flatten`` of (N, H, W, C) orders the features (h, w, c). Keras'
``padding="same"`` is TensorFlow's: the odd extra row/column of zeros goes bottom/right; TF
computes the amounts at run time from the input size. ``MaxPooling2D(padding="valid")`` drops
the rows and columns that do not fill a window (floor), as torch's ``ceil_mode=False``.

Every layer gets ``dtype=`` explicitly; functional models take and return dicts so the engine
can name inputs and outputs.
"""
from __future__ import annotations

from crossframe.models.conv import conv2d_geometry, convnet_plan, pair

from .backend import keras


def _conv(g, dtype, name):
    """A Conv2D of a ``crossframe.models.conv.ConvGeometry``."""
    return keras.layers.Conv2D(g.filters, g.kernel, strides=g.stride, padding=g.padding,
                               use_bias=g.bias, dtype=dtype, name=name)


def _pool(pool, stride, dtype, name):
    return keras.layers.MaxPooling2D(pair(pool), pair(pool if stride is None else stride),
                                     padding="valid", dtype=dtype, name=name)


def _image(opts, dtype):
    return keras.Input(shape=(opts["height"], opts["width"], opts["channels"]), dtype=dtype,
                       name="x")


def _model(x, name, y):
    return keras.Model(inputs={"x": x}, outputs={name: y})


def build_conv2d(opts, dtype):
    x = _image(opts, dtype)
    return _model(x, "output", _conv(conv2d_geometry(opts), dtype, "conv")(x))


def build_maxpool2d(opts, dtype):
    x = _image(opts, dtype)
    return _model(x, "output", _pool(opts["pool"], opts["stride"], dtype, "pool")(x))


def build_flatten(opts, dtype):
    x = _image(opts, dtype)
    return _model(x, "output", keras.layers.Flatten(dtype=dtype, name="flatten")(x))


def build_flatten_dense(opts, dtype):
    x = _image(opts, dtype)
    h = keras.layers.Flatten(dtype=dtype, name="flatten")(x)
    y = keras.layers.Dense(opts["units"], use_bias=opts["bias"], dtype=dtype, name="dense")(h)
    return _model(x, "output", y)


def build_convnet(opts, dtype):
    """conv1 -> relu1 -> pool1 -> conv2 -> relu2 -> pool2 -> flatten -> dense (logits)."""
    plan = convnet_plan(opts)
    x = keras.Input(shape=(8, 8, 1), dtype=dtype, name="x")
    h = _conv(plan.conv1, dtype, "conv1")(x)
    h = keras.layers.ReLU(dtype=dtype, name="relu1")(h)
    h = _pool(plan.pool1.pool, plan.pool1.stride, dtype, "pool1")(h)
    h = _conv(plan.conv2, dtype, "conv2")(h)
    h = keras.layers.ReLU(dtype=dtype, name="relu2")(h)
    h = _pool(plan.pool2.pool, plan.pool2.stride, dtype, "pool2")(h)
    h = keras.layers.Flatten(dtype=dtype, name="flatten")(h)
    logits = keras.layers.Dense(plan.units, dtype=dtype, name="dense")(h)
    return _model(x, "logits", logits)
