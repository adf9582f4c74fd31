"""Canonical weights and batches: seeded, random, and built so that no bug can hide.

- Weights are drawn in float64 and then cast, so the float32 weights are the rounded float64
  ones. Each parameter has its own generator seeded by (seed, name), so adding a parameter to
  a model never changes the others.
- "weight" parameters: normal(0, 1/sqrt(fan_in)) — asymmetric, every gate block different.
- "bias" parameters: uniform magnitude in [0.1, 0.5] with random signs — non-zero and distinct,
  so a bias dropped, doubled, or not summed over the batch changes the result.
- Upstream gradients (for checking a lone layer): standard normal, never all ones, so a
  transposed or permuted output cannot pass.
- Data sets ship with scikit-learn (no download): ``load_digits`` (8x8 images, 10 classes) and
  ``load_diabetes`` (10 features, a real-valued target).
"""
from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

from .layers.base import ParamSpec


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends on the seed and on the names only."""
    return np.random.default_rng([int(seed)] + [zlib.crc32(n.encode()) for n in names])


def dropout_mask(seed: int, shape: tuple[int, ...], rate: float, dtype: str) -> np.ndarray:
    """The keep-mask a Dropout layer applies in training, canonical layout (N, ..., F): 1 where
    a uniform draw is >= ``rate`` (kept, probability 1 - rate), else 0. Drawn from the layer's
    ``seed`` and the shape only, so scratch, torch and Keras apply the same array (their own
    RNGs never agree); the real nn.Dropout and keras.layers.Dropout are checked statistically
    instead (parity_tests/test_dropout.py)."""
    u = rng_for(seed, "dropout", "x".join(map(str, shape))).random(tuple(shape))
    return (u >= rate).astype(dtype)


def init_param(p: ParamSpec, seed: int, dtype: str) -> np.ndarray:
    rng = rng_for(seed, "param", p.name)
    if p.init == "ones":
        return np.ones(p.shape, dtype=dtype)
    if p.init == "zeros":
        return np.zeros(p.shape, dtype=dtype)
    if p.init == "positive":  # a variance-like state: uniform in [0.5, 1.5]
        return rng.uniform(0.5, 1.5, size=p.shape).astype(dtype)
    if p.init == "bias":
        a = rng.uniform(0.1, 0.5, size=p.shape) * rng.choice([-1.0, 1.0], size=p.shape)
    else:
        fan_in = p.fan_in or (p.shape[0] if len(p.shape) else 1)
        a = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=p.shape)
    return a.astype(dtype)


def init_weights(params: list[ParamSpec], seed: int, dtype: str) -> dict[str, np.ndarray]:
    """The canonical weights of a model: {name: array} in canonical layout."""
    return {p.name: init_param(p, seed, dtype) for p in params}


def upstream(shape: tuple[int, ...], seed: int, name: str, dtype: str) -> np.ndarray:
    """A random upstream gradient dL/d(output) for checking a lone layer."""
    return rng_for(seed, "upstream", name).standard_normal(shape).astype(dtype)


def random_input(shape: tuple[int, ...], seed: int, name: str, dtype: str) -> np.ndarray:
    return rng_for(seed, "input", name).standard_normal(shape).astype(dtype)


@lru_cache(maxsize=None)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: X (1797, 64) in [0, 1] (pixels / 16), y (1797,) int64 labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float64), d.target.astype(np.int64)


@lru_cache(maxsize=None)
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes: X (442, 10) as shipped (centred, scaled), y (442,) standardised.

    The target (disease progression, 25..346) is standardised to mean 0, std 1 so that the MSE
    is O(1) and float32 keeps its digits; metrics in the original units multiply back by std.
    """
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    y = d.target.astype(np.float64)
    return d.data.astype(np.float64), (y - y.mean()) / y.std()


def diabetes_target_std() -> float:
    from sklearn.datasets import load_diabetes

    return float(load_diabetes().target.std())


TOKENS_VOCABULARY, TOKENS_STEPS, TOKENS_CLASSES, TOKENS_ROWS = 16, 12, 3, 1500


@lru_cache(maxsize=None)
def tokens() -> tuple[np.ndarray, np.ndarray]:
    """A token data set generated here, the same on every machine (numpy's PCG64 from seed 0,
    no download): X (1500, 12) ids in [0, 16), y (1500,) in {0, 1, 2}.

    Each sequence is filler ids 4..15 with one to three marker ids (1, 2, 3) at random
    steps; the label is the LAST marker minus one. A bag of words cannot tell which marker
    came last: the model must read in order (an Embedding -> LSTM classifier does)."""
    rng = np.random.default_rng(0)
    X = rng.integers(4, TOKENS_VOCABULARY, size=(TOKENS_ROWS, TOKENS_STEPS))
    y = np.empty(TOKENS_ROWS, dtype=np.int64)
    for i in range(TOKENS_ROWS):
        k = rng.integers(1, 4)
        steps = np.sort(rng.choice(TOKENS_STEPS, size=k, replace=False))
        X[i, steps] = rng.integers(1, 4, size=k)
        y[i] = X[i, steps[-1]] - 1
    return X.astype(np.int64), y


SERIES_STEPS, SERIES_ROWS = 24, 1000


@lru_cache(maxsize=None)
def series() -> tuple[np.ndarray, np.ndarray]:
    """A univariate time series generated here, the same on every machine (numpy's PCG64 from
    seed 0, no download): X (1000, 24, 1) windows, y (1000, 1) the value after each window.

    Each row is its own signal, a sum of two sines with random periods (6..16 and 20..40
    steps), phases and amplitudes, plus Gaussian noise of std 0.05: the next value follows
    from the window's shape, which a Conv1D -> Flatten -> Dense regression can learn."""
    rng = np.random.default_rng(0)
    t = np.arange(SERIES_STEPS + 1, dtype=np.float64)
    period = np.stack([rng.uniform(6, 16, SERIES_ROWS), rng.uniform(20, 40, SERIES_ROWS)], 1)
    phase = rng.uniform(0, 2 * np.pi, size=(SERIES_ROWS, 2))
    amplitude = np.stack([np.ones(SERIES_ROWS), rng.uniform(0.3, 0.8, SERIES_ROWS)], 1)
    waves = amplitude[:, :, None] * np.sin(2 * np.pi * t / period[:, :, None]
                                           + phase[:, :, None])
    signal = waves.sum(axis=1) + rng.normal(0, 0.05, size=(SERIES_ROWS, SERIES_STEPS + 1))
    return signal[:, :SERIES_STEPS, None].copy(), signal[:, SERIES_STEPS:].copy()


DATASETS = {"digits": digits, "diabetes": diabetes, "tokens": tokens, "series": series}


def dataset_rows(name: str) -> int:
    """Rows of a data set ("digits": 1797, "diabetes": 442, "tokens": 1500, "series": 1000)."""
    return len(DATASETS[name]()[0])


def sample_rows(n_total: int, batch_size: int, seed: int) -> np.ndarray:
    """A seeded choice of ``batch_size`` distinct rows of a data set."""
    return rng_for(seed, "rows").choice(n_total, size=min(batch_size, n_total), replace=False)


def train_test_split(n_total: int, seed: int, test_fraction: float = 0.2):
    """Seeded train/test row indices."""
    order = rng_for(seed, "split").permutation(n_total)
    n_test = int(round(n_total * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])
