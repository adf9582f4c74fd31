"""BatchNormalization and LayerNormalization: every layout, mode and dtype in all three; the
running statistics compared like any tensor; the declared differences (momentum convention,
epsilon defaults, the unbiased running variance in torch) tested as differences; and the
mapping facts a port gets wrong, each shown to be caught."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crossframe import frameworks
from crossframe.runner import check, prepare, run, with_mapping
from crossframe.scratch.normalization import BatchNormalization
from crossframe.testing import assert_results_differ, scratch_model_with
from crossframe.tolerances import (CANCELLATION, HAND_WRITTEN, SAME_OPERATIONS, rel_error,
                                   tolerance)

LAYOUTS = {"flat": "6", "sequence": "5x4", "image": "4x3x5"}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_agrees_in_all_three(layout, mode, dtype):
    case = prepare("batchnorm", dtype=dtype, mode=mode, options={"input": LAYOUTS[layout]})
    table = check(case)
    assert table["ok"].all(), table[~table["ok"]].to_string()
    states = table[table["kind"] == "state"]
    assert set(states["tensor"]) == {"state:batchnorm.moving_mean",
                                     "state:batchnorm.moving_variance"}
    assert len(states) == 6                               # both tensors, every pair


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layernorm_agrees_in_all_three(layout, dtype):
    case = prepare("layernorm", dtype=dtype, options={"input": LAYOUTS[layout]})
    table = check(case)
    assert table["ok"].all(), table[~table["ok"]].to_string()


def test_batchnorm_without_gamma_and_beta_agrees():
    case = prepare("batchnorm", options={"center": "false", "scale": "false"})
    assert [p.name for p in case.model.params()] == ["batchnorm.moving_mean",
                                                      "batchnorm.moving_variance"]
    assert check(case)["ok"].all()


def test_training_moves_the_statistics_and_inference_leaves_them():
    for mode, moved in (("train", True), ("eval", False)):
        case = prepare("batchnorm", mode=mode)
        for fw in ("scratch", "torch", "keras"):
            state = run(case, fw).state
            for name in ("batchnorm.moving_mean", "batchnorm.moving_variance"):
                same = np.array_equal(state[name], case.weights[name])
                assert same != moved, (mode, fw, name)


def test_the_statistics_follow_keras_formula_computed_here():
    """moving = momentum * moving + (1 - momentum) * batch, the biased variance, over N*H*W."""
    case = prepare("batchnorm", options={"momentum": "0.7"})
    x, w = case.batch.inputs["x"], case.weights
    rows = x.reshape(-1, x.shape[-1])
    mean, var = rows.mean(axis=0), rows.var(axis=0)
    state = run(case, "keras").state
    np.testing.assert_allclose(state["batchnorm.moving_mean"],
                               0.7 * w["batchnorm.moving_mean"] + 0.3 * mean,
                               rtol=HAND_WRITTEN.rel)
    np.testing.assert_allclose(state["batchnorm.moving_variance"],
                               0.7 * w["batchnorm.moving_variance"] + 0.3 * var,
                               rtol=HAND_WRITTEN.rel)


# --- the declared difference: torch's running variance ---------------------------------------
def _torch_raw(case):
    model = frameworks.build("torch", case.model, case.dtype)
    run(case, "torch", model=model)
    return model.batchnorm.running_var.detach().numpy()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_torch_running_var_is_the_unbiased_rule_and_keras_the_biased(layout):
    case = prepare("batchnorm", options={"input": LAYOUTS[layout]})
    layer = BatchNormalization(momentum=0.99, epsilon=1e-3)
    params = {"gamma": case.weights["batchnorm.gamma"], "beta": case.weights["batchnorm.beta"],
              "moving_mean": case.weights["batchnorm.moving_mean"],
              "moving_variance": case.weights["batchnorm.moving_variance"]}
    _, cache = layer.forward(params, case.batch.inputs["x"], training=True)
    unbiased = layer.updated_state(params, cache, unbiased_variance=True)["moving_variance"]
    biased = layer.updated_state(params, cache)["moving_variance"]
    raw = _torch_raw(case)
    assert rel_error(raw, unbiased) <= SAME_OPERATIONS.rel
    keras = run(case, "keras").state["batchnorm.moving_variance"]
    assert rel_error(keras, biased) <= SAME_OPERATIONS.rel
    # the size of the difference: (1 - momentum) var / (M - 1), M rows per channel
    M = case.batch.inputs["x"].reshape(-1, 5 if layout == "image" else
                                       case.batch.inputs["x"].shape[-1]).shape[0]
    var = case.batch.inputs["x"].reshape(M, -1).var(axis=0)
    np.testing.assert_allclose(raw - keras, 0.01 * var / (M - 1), rtol=CANCELLATION.rel)
    assert rel_error(raw, keras) > tolerance("float64").rel


# --- what a port gets wrong, each caught -------------------------------------------------------
def test_momentum_copied_by_its_number_is_caught():
    keras = prepare("batchnorm")                                      # Keras momentum 0.99
    copied = prepare("batchnorm", options={"momentum": "0.01"})       # torch momentum 0.99
    assert_results_differ(run(keras, "keras"), run(copied, "torch"), "float64",
                          "state:batchnorm.moving_mean")


def test_epsilon_from_the_other_library_is_caught():
    keras = prepare("batchnorm", mode="eval")
    torch_default = prepare("batchnorm", mode="eval", options={"epsilon": "1e-5"})
    assert_results_differ(run(keras, "keras"), run(torch_default, "torch"), "float64",
                          "out:output")


class NotUpdated(BatchNormalization):
    """Running statistics never updated in training (a forgotten assignment)."""

    def updated_state(self, params, cache, training=True, unbiased_variance=False):
        return {"moving_mean": params["moving_mean"],
                "moving_variance": params["moving_variance"]}


def test_running_statistics_not_updated_are_caught():
    case = prepare("batchnorm")
    bad = run(case, "scratch", model=scratch_model_with(case, "batchnorm", NotUpdated))
    assert_results_differ(bad, run(case, "torch"), "float64", "state:batchnorm.moving_mean")
    assert_results_differ(bad, run(case, "keras"), "float64",
                          "state:batchnorm.moving_variance")


class BatchStatisticsInInference(BatchNormalization):
    """Inference normalizing with the batch's statistics (training=True forgotten)."""

    def forward(self, params, x, training=True):
        return super().forward(params, x, training=True)


def test_batch_statistics_used_in_inference_are_caught():
    case = prepare("batchnorm", mode="eval")
    bad = run(case, "scratch", model=scratch_model_with(case, "batchnorm",
                                                       BatchStatisticsInInference))
    assert_results_differ(bad, run(case, "keras"), "float64", "out:output")


@pytest.mark.parametrize("swap", [("running_mean", "running_var"), ("weight", "bias")])
def test_statistics_or_affine_loaded_into_each_other_are_caught(swap):
    case = prepare("batchnorm", mode="eval")
    a, b = (f"batchnorm.{n}" for n in swap)
    good = case.mapping("torch")
    other = {a: b, b: a}
    wrong = dataclasses.replace(good, params=tuple(
        dataclasses.replace(e, framework=other.get(e.framework, e.framework))
        for e in good.params))
    bad = run(with_mapping(case, "torch", lambda m: wrong), "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "out:output")


def test_torch_reads_back_its_num_batches_tracked_nowhere():
    case = prepare("batchnorm")
    assert set(run(case, "torch").state) == {"batchnorm.moving_mean",
                                             "batchnorm.moving_variance"}


def test_the_check_says_which_running_variance_torch_is_compared_by():
    table = check(prepare("batchnorm"))
    rows = table[table["tensor"] == "state:batchnorm.moving_variance"]
    notes = dict(zip(rows["pair"], rows["note"]))
    assert "unbiased variance" in notes["scratch~torch"] and "Keras' rule" in notes["torch~keras"]
    assert notes["scratch~keras"] == ""
    eval_rows = check(prepare("batchnorm", mode="eval"))
    assert (eval_rows["note"] == "").all()
