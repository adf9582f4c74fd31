"""Activations, forward and backward side by side: the textbook formulas as NumPy.

Shapes: any. Every function returns an array with the shape and dtype of its input ``x``.
For each activation ``f`` there is its derivative ``f_grad(x, y, ...)`` = dy/dx elementwise,
given the input ``x`` and the output ``y = f(x)`` (whichever the formula reads more simply
from: sigmoid' = y (1 - y) reads the output, gelu' reads the input), so backward never
recomputes the forward pass: dL/dx = G * f_grad(x, y). Softmax is not elementwise: its
backward is the vector-Jacobian product ``softmax_vjp(y, G)``.

At a kink a derivative does not exist; each function says which side it takes, and that side
is the one PyTorch 2.13 and TensorFlow 2.21 take (measured: parity_tests/test_activations.py
pins each). None of them overflows or warns at x = +-300 (or +-800): exponentials are taken of
non-positive numbers only.

The table crossframe/activations.py names these functions for each activation, with its Keras
and torch spelling; the layer classes at the bottom are the lone layers (``relu``, ``gelu``,
...) the parity matrix checks.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc   # scipy comes with scikit-learn, a dependency

from crossframe import layers as L

from .base import Layer


def _dtype(a, x):
    return np.asarray(a).astype(x.dtype, copy=False)


# --- relu, linear ----------------------------------------------------------------------------
def relu(x):
    """max(x, 0) (Nair & Hinton, ICML 2010)."""
    return np.maximum(x, 0, dtype=x.dtype)


def relu_grad(x, y):
    """[x > 0]. At exactly 0 the derivative is taken as 0 (the strict inequality), as torch
    (threshold_backward) and TensorFlow (ReluGrad: y > 0) both do."""
    return _dtype(x > 0, x)


def linear(x):
    """The identity (Keras' activation "linear", what Dense computes with no activation)."""
    return x


def linear_grad(x, y):
    return np.ones_like(x)


# --- sigmoid, tanh ---------------------------------------------------------------------------
def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), through e = exp(-|x|) <= 1, which never overflows:

        x >= 0:  1 / (1 + e)        x < 0:  e / (1 + e)

    Both branches are accurate to the last bits, including the tiny tail for x << 0 that the
    shortcut (1 + tanh(x/2)) / 2 rounds to 0. x = +-300 is fine, with no warning."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_grad(x, y):
    """sigma'(x) = sigma(x) (1 - sigma(x)) = y (1 - y) (Goodfellow, Bengio & Courville, *Deep
    Learning*, eq. 3.33 ff.); finite everywhere, 0 in the saturated tails."""
    return y * (1 - y)


def tanh(x):
    """tanh(x); np.tanh saturates to +-1 without overflow."""
    return np.tanh(x)


def tanh_grad(x, y):
    """tanh'(x) = 1 - tanh(x)^2 = 1 - y^2."""
    return 1 - y * y


# --- softmax (not elementwise) ---------------------------------------------------------------
def softmax(z, axis: int = -1):
    """p = exp(z - max z) / sum exp(z - max z) over ``axis`` (Bridle 1990; shifting by the max
    changes nothing mathematically and keeps every exponent <= 0)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_vjp(p, G, axis: int = -1):
    """dL/dz = p * (G - sum(G * p)): the Jacobian diag(p) - p p^T applied to G = dL/dp."""
    return p * (G - (G * p).sum(axis=axis, keepdims=True))


# --- gelu ------------------------------------------------------------------------------------
GELU_C = 0.044715                      # Hendrycks & Gimpel, "Gaussian Error Linear Units"
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def gelu(x, approximate: bool = False):
    """GELU (Hendrycks & Gimpel 2016, arXiv:1606.08415, section 2):

        exact (approximate=False):  x Phi(x) = x/2 erfc(-x / sqrt 2)
        tanh (approximate=True):    x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))

    erfc(-x/sqrt 2) is 1 + erf(x/sqrt 2) without its cancellation for x << 0 (TensorFlow's
    tf.nn.gelu writes it so; torch writes 1 + erf, equal to within rounding)."""
    if approximate:
        return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + GELU_C * x ** 3)))
    return _dtype(0.5 * x * erfc(-x / math.sqrt(2)), x)


def gelu_grad(x, y, approximate: bool = False):
    """exact: Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi) (0 for |x| >~ 40, no
    warning);  tanh: with u = sqrt(2/pi) (x + 0.044715 x^3), t = tanh u:
    1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    if approximate:
        t = np.tanh(SQRT_2_OVER_PI * (x + GELU_C * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x)
    Phi = 0.5 * erfc(-x / math.sqrt(2))
    phi = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return _dtype(Phi + x * phi, x)


# --- elu, selu -------------------------------------------------------------------------------
def elu(x, alpha: float = 1.0):
    """ELU (Clevert, Unterthiner & Hochreiter 2015, arXiv:1511.07289, eq. 15):
    x for x > 0, alpha (exp(x) - 1) for x <= 0 (expm1 of min(x, 0): no overflow, no loss)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def elu_grad(x, y, alpha: float = 1.0):
    """1 for x > 0, alpha exp(x) = y + alpha for x <= 0. At exactly 0 it is alpha (the x <= 0
    side): torch's elu_backward and Keras' tf.where(x > 0, elu, alpha * elu) both take it."""
    return np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype, copy=False)


SELU_ALPHA = 1.6732632423543772848170429916717   # Klambauer et al. 2017, eq. 14 (and torch's)
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """SELU (Klambauer et al., "Self-Normalizing Neural Networks" 2017, eq. 2):
    scale * elu(x, alpha) with the paper's fixed alpha and scale."""
    return (SELU_SCALE * elu(x, SELU_ALPHA)).astype(x.dtype, copy=False)


def selu_grad(x, y):
    """scale for x > 0, scale alpha exp(x) for x <= 0. At exactly 0 it is scale * alpha, the
    side torch takes (as for elu); TensorFlow's SeluGrad takes scale there (a declared
    difference: crossframe/layers/dense.py)."""
    return (SELU_SCALE * elu_grad(x, y, SELU_ALPHA)).astype(x.dtype, copy=False)


# --- leaky relu ------------------------------------------------------------------------------
def leaky_relu(x, negative_slope: float = 0.2):
    """x for x > 0, negative_slope * x otherwise (Maas, Hannun & Ng, ICML 2013 workshop)."""
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)


def leaky_relu_grad(x, y, negative_slope: float = 0.2):
    """1 for x > 0, negative_slope for x <= 0. At exactly 0 it is negative_slope: torch's
    leaky_relu_backward (x > 0 ? g : g * slope) and TensorFlow's LeakyReluGrad (x > 0) agree."""
    return np.where(x > 0, 1, negative_slope).astype(x.dtype, copy=False)


# --- hard sigmoid: Keras 3 / torch, and Keras 2 ----------------------------------------------
def hard_sigmoid(x):
    """Keras 3 and torch (nn.Hardsigmoid): relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1) (Howard et
    al., "Searching for MobileNetV3" 2019, eq. 2 ff.; keras/src/backend/tensorflow/nn.py)."""
    return np.clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6


def hard_sigmoid_grad(x, y):
    """1/6 for -3 < x < 3, else 0. At the kinks x = -3 and x = 3 it is 0: torch's
    hardsigmoid_backward and TensorFlow's Relu6Grad (0 < x + 3 < 6) are both strict."""
    u = x + 3
    return np.where((u > 0) & (u < 6), 1 / 6, 0).astype(x.dtype, copy=False)


def hard_sigmoid_keras2(x):
    """Keras 2 (keras/backend.py hard_sigmoid, 2.x): clip(0.2 x + 0.5, 0, 1), the slope of
    Courbariaux et al.'s BinaryConnect (2015). Old checkpoints and tutorials (an LSTM's
    recurrent_activation='hard_sigmoid') assume this one, not Keras 3's."""
    return np.clip(0.2 * x + 0.5, 0, 1).astype(x.dtype, copy=False)


def hard_sigmoid_keras2_grad(x, y):
    """0.2 for 0 <= 0.2 x + 0.5 <= 1 (-2.5 <= x <= 2.5), else 0. At the kinks it is 0.2: the
    clip passes the gradient at its bounds in TensorFlow (ClipByValue) and torch (clamp)."""
    u = 0.2 * x + 0.5
    return np.where((u >= 0) & (u <= 1), 0.2, 0).astype(x.dtype, copy=False)


# --- silu (swish), softplus ------------------------------------------------------------------
def silu(x):
    """x sigma(x) (Elfwing, Uchibe & Doya 2017; "swish" in Ramachandran et al. 2017)."""
    return x * sigmoid(x)


def silu_grad(x, y):
    """sigma(x) (1 + x (1 - sigma(x)))."""
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) (Dugas et al. 2001), exact for every x
    (TensorFlow's). torch's nn.Softplus() returns x itself above threshold=20 (a declared
    difference, ~exp(-x) / x relative)."""
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


def softplus_grad(x, y):
    """sigma(x)."""
    return sigmoid(x)


# --- the lone layers -------------------------------------------------------------------------
class ReLU(Layer):
    """y = max(x, 0);  dL/dx = G [x > 0].

    At exactly x = 0 the derivative is taken as 0 (the strict inequality), which is what
    PyTorch (``threshold_backward``) and TensorFlow (``ReluGrad``: ``y > 0``) both do."""

    declaration = L.ReLU

    def forward(self, params, x):
        return relu(x), x

    def backward(self, params, x, dy):
        return {}, dy * relu_grad(x, None)


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x));  dL/dx = G y (1 - y)."""

    declaration = L.Sigmoid

    def forward(self, params, x):
        y = sigmoid(x)
        return y, y

    def backward(self, params, y, dy):
        return {}, dy * sigmoid_grad(None, y)


class Tanh(Layer):
    """y = tanh(x);  dL/dx = G (1 - y^2)."""

    declaration = L.Tanh

    def forward(self, params, x):
        y = np.tanh(x)
        return y, y

    def backward(self, params, y, dy):
        return {}, dy * tanh_grad(None, y)


class Softmax(Layer):
    """p = exp(z - max z) / sum exp(z - max z) over the last axis;
    dL/dz = p * (G - sum(G * p)) (the Jacobian diag(p) - p p^T applied to G)."""

    declaration = L.Softmax

    def forward(self, params, z):
        p = softmax(z)
        return p, p

    def backward(self, params, p, dp):
        return {}, softmax_vjp(p, dp)


class _FromTable(Layer):
    """y = f(x);  dL/dx = G * f'(x), with f and f' from the table (crossframe/activations.py)
    and the options (Keras' names) as attributes. The cache is (x, y): each derivative reads
    whichever of the two its formula needs."""

    def _spec(self):
        from crossframe import activations as A

        spec = A.get(self.declaration.spec_name)
        opts = {o.name: getattr(self, o.name) for o in self.declaration.options}
        return spec, opts

    def forward(self, params, x):
        spec, opts = self._spec()
        y = spec.forward(opts)(x)
        return y, (x, y)

    def backward(self, params, cache, dy):
        x, y = cache
        spec, opts = self._spec()
        return {}, dy * spec.derivative(opts)(x, y)


class GELU(_FromTable):
    """exact: y = x Phi(x), dy/dx = Phi(x) + x phi(x); tanh: see ``gelu`` / ``gelu_grad``."""

    declaration = L.GELU


class ELU(_FromTable):
    """y = x (x > 0), alpha (exp(x) - 1) (x <= 0);  dy/dx = 1, alpha exp(x)."""

    declaration = L.ELU


class SELU(_FromTable):
    """y = scale elu(x, alpha) with the paper's constants;  dy/dx = scale elu'(x)."""

    declaration = L.SELU


class LeakyReLU(_FromTable):
    """y = x (x > 0), negative_slope x (x <= 0);  dy/dx = 1, negative_slope."""

    declaration = L.LeakyReLU


class HardSigmoid(_FromTable):
    """Keras 3 / torch: y = relu6(x + 3) / 6;  dy/dx = 1/6 on -3 < x < 3."""

    declaration = L.HardSigmoid


class HardSigmoidKeras2(_FromTable):
    """Keras 2: y = clip(0.2 x + 0.5, 0, 1);  dy/dx = 0.2 on -2.5 <= x <= 2.5."""

    declaration = L.HardSigmoidKeras2


class SiLU(_FromTable):
    """y = x sigmoid(x);  dy/dx = s (1 + x (1 - s))."""

    declaration = L.SiLU


class Softplus(_FromTable):
    """y = log(1 + exp(x));  dy/dx = sigmoid(x)."""

    declaration = L.Softplus
