"""Dropout: parity with one injected mask, and the real library layers checked statistically.

For parity, scratch, torch and Keras apply the mask crossframe.data.dropout_mask draws (no two
libraries' generators agree). What a porter must know about the real nn.Dropout and
keras.layers.Dropout is then tested on them directly, over 200,000 values: ``rate``/``p`` is the
probability of dropping in both (a two-sided binomial test, scipy.stats.binomtest, at
alpha = 1e-6: a fixed seed makes it deterministic, the alpha says how far off a correct
layer could land by chance), the kept values are scaled by exactly 1 / (1 - rate), and
inference is the identity.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from crossframe.data import dropout_mask
from crossframe.runner import check, prepare, run
from crossframe.scratch.dropout import Dropout
from crossframe.testing import assert_results_differ, scratch_model_with
from crossframe.tolerances import SAME_OPERATIONS

N_VALUES, ALPHA = 200_000, 1e-6


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("shape", ["7", "5x4", "4x3x5"])
def test_dropout_agrees_in_all_three(shape, mode, dtype):
    case = prepare("dropout", dtype=dtype, mode=mode, options={"input": shape})
    table = check(case)
    assert table["ok"].all(), table[~table["ok"]].to_string()


def test_training_drops_and_scales_and_inference_is_the_identity():
    for fw in ("scratch", "torch", "keras"):
        train = prepare("dropout", options={"rate": "0.4"})
        x = train.batch.inputs["x"]
        keep = dropout_mask(0, x.shape, 0.4, "float64")
        np.testing.assert_allclose(run(train, fw).outputs["output"], x * keep / 0.6,
                                   rtol=SAME_OPERATIONS.rel, atol=0)
        assert 0 < keep.mean() < 1
        infer = prepare("dropout", mode="eval", options={"rate": "0.4"})
        np.testing.assert_array_equal(run(infer, fw).outputs["output"], x)


class KeepProbability(Dropout):
    """rate read as the probability of KEEPING (TF1's keep_prob): the other mask."""

    def forward(self, params, x, training=True):
        self.rate = 1 - self.rate
        try:
            return super().forward(params, x, training)
        finally:
            self.rate = 1 - self.rate


class ScaledAtInference(Dropout):
    """The original (non-inverted) dropout: no scaling in training, (1 - rate) at inference."""

    def forward(self, params, x, training=True):
        if not training:
            return x * (1 - self.rate), np.full_like(x, 1 - self.rate)
        y, keep = super().forward(params, x, training)
        return y * (1 - self.rate), keep * (1 - self.rate)


@pytest.mark.parametrize("cls, mode", [(KeepProbability, "train"), (ScaledAtInference, "eval"),
                                       (ScaledAtInference, "train")])
def test_a_dropout_of_another_convention_is_caught(cls, mode):
    case = prepare("dropout", mode=mode, options={"rate": "0.3"})
    bad = run(case, "scratch", model=scratch_model_with(case, "dropout", cls))
    assert_results_differ(bad, run(case, "torch"), "float64", "out:output")
    assert_results_differ(bad, run(case, "keras"), "float64", "grad:x")


# --- the real layers ----------------------------------------------------------------------------
def _check_real(y: np.ndarray, x: np.ndarray, rate: float) -> None:
    dropped = int(np.count_nonzero(y == 0))
    assert scipy.stats.binomtest(dropped, y.size, rate).pvalue > ALPHA, (dropped, y.size, rate)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=SAME_OPERATIONS.rel, atol=0)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_torch_dropout_p_is_the_drop_probability_with_inverted_scaling(rate):
    import torch

    torch.manual_seed(0)
    x = torch.rand(N_VALUES, dtype=torch.float64) + 0.5          # no zeros of its own
    layer = torch.nn.Dropout(p=rate)
    _check_real(layer(x).numpy(), x.numpy(), rate)
    layer.eval()
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_keras_dropout_rate_is_the_drop_probability_with_inverted_scaling(rate):
    from crossframe.keras_impl.backend import keras

    x = np.random.default_rng(0).random(N_VALUES) + 0.5
    layer = keras.layers.Dropout(rate, seed=1, dtype="float64")
    _check_real(np.asarray(layer(x, training=True)), x, rate)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def test_the_statistical_check_can_fail():
    """A layer dropping at 0.5 while claiming 0.45, and one scaling by 1/rate, are refused."""
    x = np.random.default_rng(1).random(N_VALUES) + 0.5
    keep = np.random.default_rng(2).random(N_VALUES) >= 0.5
    with pytest.raises(AssertionError):
        _check_real(x * keep / 0.55, x, 0.45)
    with pytest.raises(AssertionError):
        _check_real(x * keep / 0.5 * 0.5 / 0.45, x, 0.5)
