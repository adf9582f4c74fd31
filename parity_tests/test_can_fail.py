"""The suite can fail: deliberately wrong mappings and backward passes must be reported.

A parity suite that cannot fail proves nothing. Each case below breaks one thing a port or a
hand-written layer typically gets wrong and asserts that ``compare`` names the broken tensor.
"""
import dataclasses

import numpy as np

from crossframe.mapping import Entry, Identity, Mapping, Transpose
from crossframe.runner import prepare, run, with_mapping
from crossframe.scratch.dense import Dense
from crossframe.testing import assert_results_differ, scratch_model_with

SQUARE = {"hidden": "16,16"}  # dense2.W is 16x16, so a transposed kernel still fits


def _with_mapping(case, framework, mapping):
    return with_mapping(case, framework, lambda good: mapping)


def test_keras_kernel_loaded_transposed_is_caught():
    case = prepare("mlp", dtype="float64", options=SQUARE)
    good = case.mapping("keras")
    wrong = Mapping("keras", tuple(
        Entry(e.canonical, e.framework, Transpose((1, 0)), "deliberately wrong")
        if e.canonical == "dense2.W" else e for e in good.params))
    bad = run(_with_mapping(case, "keras", wrong), "keras")
    assert_results_differ(run(case, "scratch"), bad, "float64", "out:logits")
    assert_results_differ(run(case, "torch"), bad, "float64", "grad:dense2.W")


def test_torch_weight_loaded_without_transpose_is_caught():
    case = prepare("mlp", dtype="float64", options=SQUARE)
    good = case.mapping("torch")
    wrong = Mapping("torch", tuple(
        Entry(e.canonical, e.framework, Identity(), "forgot the transpose")
        if e.canonical == "dense2.W" else e for e in good.params))
    bad = run(_with_mapping(case, "torch", wrong), "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "grad:dense1.W")


class DenseBiasNotSummed(Dense):
    """The classic slip: the bias gradient taken from one sample instead of the batch sum."""

    def backward(self, params, x, G):
        grads, dx = super().backward(params, x, G)
        grads["b"] = G[0].copy()
        return grads, dx


def test_bias_gradient_not_summed_over_batch_is_caught():
    case = prepare("mlp", dtype="float64")
    bad = run(case, "scratch", model=scratch_model_with(case, "dense2", DenseBiasNotSummed))
    assert_results_differ(bad, run(case, "torch"), "float64", "grad:dense2.b")


def test_weights_really_reach_the_frameworks():
    # Same batch, different seeds for the weights: outputs must differ, so a loader that
    # ignored the canonical weights (keeping the framework's own init) could not pass.
    a = prepare("mlp", dtype="float64", seed=0)
    b = dataclasses.replace(a, weights=prepare("mlp", dtype="float64", seed=1).weights)
    ya, yb = (run(c, "keras").outputs["logits"] for c in (a, b))
    assert not np.allclose(ya, yb)


def test_layernorm_with_the_other_librarys_epsilon_is_caught():
    keras_default = prepare("layernorm", dtype="float64")              # epsilon 1e-3
    torch_default = prepare("layernorm", dtype="float64", options={"epsilon": 1e-5})
    assert keras_default.weights.keys() == torch_default.weights.keys()
    for name in keras_default.weights:
        np.testing.assert_array_equal(keras_default.weights[name], torch_default.weights[name])
    bad = run(torch_default, "torch")
    assert_results_differ(run(keras_default, "keras"), bad, "float64", "out:output")
    assert_results_differ(run(keras_default, "scratch"), bad, "float64", "grad:x")


def test_layernorm_gamma_and_beta_loaded_into_each_other_are_caught():
    case = prepare("layernorm", dtype="float64", options={"input": "6"})
    good = case.mapping("torch")
    swap = {"layernorm.weight": "layernorm.bias", "layernorm.bias": "layernorm.weight"}
    wrong = Mapping("torch", tuple(dataclasses.replace(e, framework=swap[e.framework])
                                   for e in good.params))
    bad = run(_with_mapping(case, "torch", wrong), "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "out:output")
