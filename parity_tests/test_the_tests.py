"""Tests that notice when the tests are weakened.

Each test here fails under one realistic weakening of the suite's own machinery, found by
mutation (a change made by hand to a copy of the code and the whole suite run):

- a bound of the tolerance table loosened (float64 1e-12 -> 1e-8 left the whole suite green):
  an error just above each documented bound must be a mismatch, just below it must pass;
- ``compare`` accepting a dtype mismatch on one side only;
- the finite-difference helper checking one coordinate per tensor instead of its sample;
- the Dense transpose dropped from the declaration, which a non-square kernel only "caught"
  because torch refused the shape: a square kernel must be caught by the numbers.

The bounds are the documented contract (README: float64 to 1e-12, float32 to 1e-5), written
here on purpose and not read from crossframe.tolerances: reading them would follow a loosening.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crossframe.gradcheck import central_difference, numerical_gradients
from crossframe.layers import dense as dense_declarations
from crossframe.mapping import Identity
from crossframe.result import Result, compare, compare_arrays
from crossframe.runner import check, prepare
from crossframe.testing import scratch_model_with
from crossframe.tolerances import FINITE_DIFFERENCE, TRAJECTORY, errors
from crossframe.training.trajectory import _compare

DOCUMENTED = {"float64": 1e-12, "float32": 1e-5}


@pytest.mark.parametrize("dtype", DOCUMENTED)
@pytest.mark.parametrize("factor, ok", [(1.5, False), (0.5, True)])
def test_an_error_just_above_a_bound_is_a_mismatch_and_just_below_is_not(dtype, factor, ok):
    bound = DOCUMENTED[dtype]
    a = np.array([1.0, -0.5, 0.25], dtype=dtype)
    b = a.copy()
    b[0] = np.asarray(1.0 + factor * bound, dtype=dtype)   # representable: eps32 = 1.2e-7
    rel = errors(a, b)[1]
    assert 0.9 * factor * bound < rel < 1.1 * factor * bound
    assert bool(compare_arrays(a, b, dtype)["ok"].all()) is ok


@pytest.mark.parametrize("dtype, bound", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("factor, ok", [(1.5, False), (0.5, True)])
def test_the_trajectory_bounds_are_the_documented_ones(dtype, bound, factor, ok):
    assert TRAJECTORY[dtype].rel == bound
    a = np.array([2.0, 1.0], dtype=dtype)
    b = np.array([2.0 * (1 + factor * bound), 1.0], dtype=dtype)
    assert _compare(a, b, None, dtype, TRAJECTORY[dtype].rel)["ok"] is ok


def test_the_finite_difference_bound_is_the_documented_one():
    assert FINITE_DIFFERENCE.rel == 1e-6


@pytest.mark.parametrize("side", ["first", "second"])
def test_compare_refuses_a_dtype_mismatch_on_either_side(side):
    good, wrong = np.ones(3), np.ones(3, dtype=np.float32)
    a, b = (wrong, good) if side == "first" else (good, wrong)
    ra = Result("a", {"y": a}, np.asarray(1.0), {})
    rb = Result("b", {"y": b}, np.asarray(1.0), {})
    row = compare(ra, rb, "float64").set_index("tensor").loc["out:y"]
    assert not row["ok"] and "dtype" in row["note"]


def test_central_difference_is_right_for_a_known_gradient():
    w = np.array([[0.3, -1.2], [2.0, 0.7]])
    estimate = central_difference(lambda: float(np.sum(w ** 3)), w)
    np.testing.assert_allclose(estimate, 3 * w ** 2, rtol=1e-8)


def test_finite_differences_sample_every_coordinate_of_a_small_tensor():
    case = prepare("dense", options={"features": 3, "units": 2}, batch_size=2)
    sample = numerical_gradients(case)
    assert all(len(sample[k][0]) == case.weights[k].size for k in ("dense1.W", "dense1.b"))
    big = numerical_gradients(prepare("dense", options={"features": 12, "units": 7}), 10)
    assert len(big["dense1.W"][0]) == 10


@pytest.mark.parametrize("index", [0, 3, 5])
def test_finite_differences_find_one_wrong_coordinate(index):
    from crossframe.scratch.dense import Dense

    class OneWrong(Dense):
        def backward(self, params, x, G):
            grads, dx = super().backward(params, x, G)
            grads["W"] = grads["W"].copy()
            grads["W"].flat[index] += 1e-3
            return grads, dx

    case = prepare("dense", options={"features": 3, "units": 2}, batch_size=2)
    model = scratch_model_with(case, "dense1", OneWrong)
    import crossframe.frameworks as fw
    original = fw.build
    fw.build = lambda framework, m, dtype: model
    try:
        analytic, numeric = numerical_gradients(case)["dense1.W"]
    finally:
        fw.build = original
    wrong = np.abs(analytic - numeric) > FINITE_DIFFERENCE.rel * np.max(np.abs(numeric))
    assert wrong.sum() == 1


def test_a_square_kernel_without_its_transpose_is_caught_by_the_numbers(monkeypatch):
    # features = units: the untransposed kernel has the right shape, so torch loads it; only
    # the numbers can tell, and they must
    case = prepare("dense", options={"features": 7, "units": 7})
    assert check(case)["ok"].all()
    good = dense_declarations.Dense.torch_params

    def untransposed(cfg):
        return [dataclasses.replace(e, transform=Identity()) if e.framework.endswith("weight")
                else e for e in good(cfg)]
    monkeypatch.setattr(dense_declarations.Dense, "torch_params", untransposed)
    broken = prepare("dense", options={"features": 7, "units": 7})
    table = check(broken)
    bad = set(table[~table["ok"]]["tensor"])
    assert {"out:output", "grad:dense1.W"} <= bad
