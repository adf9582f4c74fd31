"""The one tolerance table, and the error measure it bounds.

Error measure
-------------
For two tensors ``a`` and ``b`` of the same shape, ``compare`` reports

    max_abs = max_i |a_i - b_i|
    max_rel = max_i |a_i - b_i| / max(max_j |a_j|, max_j |b_j|, TINY)

``max_rel`` is the *normwise* (infinity-norm) relative error: the worst element error measured
against the scale of the tensor, not of that element. Element-wise relative error is undefined
where a value is 0 and meaningless where a value is the result of cancellation (a gradient entry
of 1e-17 that should be 3e-17 is not a bug); the normwise form is the standard measure of
numerical linear algebra (Higham, *Accuracy and Stability of Numerical Algorithms*, ch. 1) and
is what a float format can promise: a handful of units in the last place of the largest entry.
``TINY`` only guards the all-zero tensor, where ``max_rel`` then equals ``max_abs / TINY``.

Sums of random-signed terms are measured against a larger scale. A sum is accurate relative
to the sum of its |terms| (Higham, ch. 4: error <= (n - 1) eps sum|x_i|), not to its value,
which can be close to 0 by cancellation. Two kinds of tensor are such sums:

- the loss of a lone-layer check, ``L = sum(G * y)`` with a random-signed upstream ``G``
  (measured: a conv2d check with sum|G*y| = 585 and L = 0.03, where float32's correct rounding
  differs by 3e-4 of L);
- every output and gradient of a lone *bilinear* layer (``Sequential.bilinear``: dense,
  conv2d, flatten_dense), e.g. ``y = x W + b`` (measured: a flatten_dense float32 output of
  0.0104 built from terms summing to 5.07 in absolute value, seed 2188: scratch and Keras
  differ by 1.3e-5 of the value and 2.6e-8 of the terms) or ``db = sum_n G[n]`` (measured: a
  conv2d bias gradient of 4.5e-4 out of sum|G| = 3.49,
  where torch and Keras, each off by a quarter ulp of its partial sums, differ by 1.3e-4 of
  the value and 8.5e-9 of the terms). Their sums of |terms| come from the same layer run on
  absolute values (``crossframe.runner.Case.sum_of_terms``); the largest entry's is the scale.

For those tensors ``compare`` divides ``max_abs`` by ``max(terms, max|a|, max|b|)``
(``Result.terms``). It can only be larger than the tensor's own scale, so a wrong formula
still shows: a transposed kernel or a bias left unsummed errs by O(1) of the terms. Every
other tensor (MSE or cross-entropy losses: sums of one sign; gradients through a
non-linearity or a model) keeps the plain measure.

The table
---------
Keyed by ``(dtype, device)``; a test never loosens its own tolerance, it looks its bound up here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = 1e-300


@dataclass(frozen=True)
class Tolerance:
    rel: float
    why: str


TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("float64", "cpu"): Tolerance(
        1e-12,
        "float64 has eps = 2.2e-16; the three libraries sum in different orders (BLAS blocking, "
        "autograd accumulation), and error grows about like eps * sqrt(terms) per reduction, "
        "terms <= 1e4 here and up to 100 chained time steps in BPTT. Measured worst over every "
        "registered model and layer, all pairs (and T=100): 1.5e-15; 1e-12 keeps over two "
        "orders of headroom for other seeds and sizes while any wrong formula, permuted gate or "
        "dropped term gives >= 1e-3.",
    ),
    ("float32", "cpu"): Tolerance(
        1e-5,
        "float32 has eps = 1.2e-7; the same reordering argument gives ~1e-6 after long reductions "
        "and 100-step BPTT (measured worst: 1.3e-6 over every registered spec, the SimpleRNN "
        "classifier's textbook scratch summing its steps' gradients one by one; 1.1e-6 for a "
        "100-step SimpleRNN), so 1e-5 (about 80 ulps of the largest entry) leaves headroom while "
        "a transposed or permuted tensor still errs by O(1).",
    ),
    ("float64", "cuda"): Tolerance(
        1e-12,
        "cuBLAS/cuDNN in float64 reorder sums like CPU BLAS; same argument as float64 on CPU.",
    ),
    ("float32", "cuda"): Tolerance(
        1e-5,
        "float32 on the GPU with TF32 switched off (torch.backends.*.allow_tf32 = False); with "
        "TF32 on, results move by ~5e-4 relative and this bound would rightly fail.",
    ),
}

# Bounds that are not a dtype-vs-dtype parity comparison.
FINITE_DIFFERENCE = Tolerance(
    1e-6,
    "central differences in float64 with step h = 1e-6 relative: truncation error O(h^2) plus "
    "rounding O(eps / h) ~ 1e-10 in the function, i.e. ~1e-7 relative in the derivative at worst "
    "for smooth models; ReLU kinks are avoided by the random data. Bounds scratch's backward "
    "independently of any framework.",
)

# A library against crossframe's copy of the same rule, float64, element-wise (the tests of
# declared differences and of the real layers, parity_tests/test_{dropout,embedding,
# normalization}.py).
SAME_OPERATIONS = Tolerance(
    1e-15,
    "the same operations in the same order on the same float64 inputs (x * keep / (1 - rate); "
    "Keras' sparse Adam step against scratch's Keras variant; torch's running_var against the "
    "unbiased rule): equal but for a last-bit rounding, ~5 ulps at most.",
)
HAND_WRITTEN = Tolerance(
    1e-14,
    "a library against the formula written out in the test in another summation order (a "
    "table's rows summed occurrence by occurrence; a moving mean and variance from np.var): a "
    "few tens of ulps for sums of <= 100 terms, float64.",
)
CANCELLATION = Tolerance(
    1e-9,
    "a small difference of two float64 values of order 1 (torch's running_var minus Keras', "
    "~1e-4): each carries ~1e-16 absolute error, so the difference is known to ~1e-12 of "
    "itself; 1e-9 leaves headroom while a wrong factor (M instead of M - 1) errs by >= 1e-2.",
)

ROUNDED_ZERO = Tolerance(
    4.0,
    "in ulps of the scale of the operands: a result that is 0 in exact arithmetic (a softmax "
    "over one feature has dL/dx = p (G - G p) with p = 1) is rounding noise of at most a few "
    "ulps of the upstream gradient G in each library; |result| <= 4 eps(dtype) max|G|.",
)
ORTHONORMAL = Tolerance(
    1e-12,
    "W^T W = I for a float64 orthogonal initialiser (Householder QR): measured ~1e-15 at "
    "H <= 64; 1e-12 leaves headroom while an orthogonalisation per gate block misses by > 0.5.",
)
LIBRARY_MODEL = Tolerance(
    1e-12,
    "crossframe's forward (scratch, torch) against the same model built with plain torch "
    "outside crossframe, elementwise (rtol; atol 1e-3 of it for entries near 0), float64: "
    "different kernels and summation orders, a few hundred ulps at most.",
)
TRAJECTORY = {
    "float64": Tolerance(
        1e-10,
        "K optimizer steps feed each step's rounding (gradients agree to ~1e-15) through the "
        "weights into the next gradient. Measured (crossframe train MODEL --check): linear and "
        "mlp, all nine optimizers, 20 steps: worst 9.2e-15 (mlp, rmsprop_momentum); no growth "
        "to 500 steps (mlp; sgd, momentum, adam, rmsprop <= 1.3e-15). 1e-10 (the issue's bound) "
        "sits four orders above that and below what a slip costs on mlp: Keras' learning rate "
        "left in float32 moves sgd by 9e-11 after 1 step and 9e-10 after 20; Adagrad's eps "
        "placement 6e-9 after 20; Adam's eps placement 3e-3.",
    ),
    "float32": Tolerance(
        1e-4,
        "float32 trajectories drift by per-step rounding amplified by the optimizer. Measured: "
        "20 steps, linear and mlp, all nine optimizers: worst 2.9e-6 (mlp, rmsprop_momentum); "
        "Adam divides by sqrt(v) where v is tiny and grows the drift to 4.5e-5 by 500 steps "
        "(mlp). 1e-4 bounds 20 steps with a 30x margin; it is not a bound for long runs.",
    ),
}

DTYPES = ("float64", "float32")


def tolerance(dtype: str, device: str = "cpu") -> Tolerance:
    """The bound for comparing two results computed in ``dtype`` on ``device``."""
    return TOLERANCES[(str(np.dtype(dtype)), device)]


def errors(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max_abs, max_rel) as defined in this module's docstring, computed in float64."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    if a64.size == 0:
        return 0.0, 0.0
    max_abs = float(np.max(np.abs(a64 - b64)))
    scale = max(float(np.max(np.abs(a64))), float(np.max(np.abs(b64))), TINY)
    return max_abs, max_abs / scale


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """The normwise relative error ``max_rel`` (see the module docstring)."""
    return errors(a, b)[1]
