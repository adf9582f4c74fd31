"""Conv1D three-way, and the Conv1D -> Flatten -> Dense port.

- The option grid (kernel, strides, padding valid/same/causal, dilation_rate, groups, use_bias)
  runs through scratch, torch and Keras, all three pairs, both dtypes, on random asymmetric
  weights, distinct non-zero biases and a random upstream gradient; a hypothesis property test
  draws from the same options (100 examples in CI, more with CROSSFRAME_THOROUGH).
- Inputs: a sequence (T, D) straight from the model input (torch transposes it to NCL itself)
  and a "signal" (L, C) from a Conv1D before it (torch already holds it NCL).
- Mapping facts, each caught when broken: the kernel transpose (k, C_in, C_out) -> (C_out,
  C_in, k) (a shape where the untransposed kernel still fits), causal zeros on the left (a
  torch layer padding the right), the Dense-row permutation after a 1-D Flatten, the groups'
  output blocks in order.
- Causality itself: an output never moves when a later input does, in all three.
- Finite differences check the scratch backward without any framework.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from crossframe import frameworks
from crossframe.describe import describe
from crossframe.errors import InputError
from crossframe.geometry import output_size
from crossframe.gradcheck import numerical_gradients
from crossframe.layers import Conv1D, Dense, Flatten, ReLU
from crossframe.layers.base import flatten_order
from crossframe.layers.conv import DIFFERENCES, TORCH_KERNEL_1D, without_flatten_permutation
from crossframe.mapping import BlockReorder, Chain, Identity
from crossframe.runner import prepare, run
from crossframe.runner import with_mapping as run_with_mapping
from crossframe.sequential import Sequential
from crossframe.spec import Batch, get
from crossframe.testing import assert_conv_property, assert_results_differ, assert_three_way
from crossframe.tolerances import DTYPES, FINITE_DIFFERENCE, rel_error, tolerance
from crossframe.torch_impl.conv import Conv1D as TorchConv1D


# --- helpers ------------------------------------------------------------------------------------
def conv1d_model(length=9, channels=4, filters=6, kernel_size=3, strides=1, padding="valid",
                 dilation_rate=1, groups=1, use_bias=True, head=False) -> Sequential:
    """One Conv1D on a (length, channels) sequence; ``head``: then Flatten and Dense(3)."""
    layers = [Conv1D(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                     dilation_rate=dilation_rate, groups=groups, use_bias=use_bias)]
    if head:
        layers += [Flatten(), Dense(units=3)]
    return Sequential(layers, (length, channels))


@lru_cache(maxsize=None)
def _prepared(key: tuple, dtype: str = "float64", seed: int = 0):
    return prepare(conv1d_model(**dict(key)), dtype=dtype, seed=seed)


def case_for(dtype="float64", seed=0, **options):
    return _prepared(tuple(sorted(options.items())), dtype, seed)


def with_transform(case, canonical: str, transform):
    """The torch mapping with ``canonical`` loaded through a deliberately wrong transform."""
    def rewrite(good):
        wrong = tuple(dataclasses.replace(e, transform=transform, reason="deliberately wrong")
                      if e.canonical == canonical else e for e in good.params)
        return dataclasses.replace(good, params=wrong)
    return run_with_mapping(case, "torch", rewrite)


def with_input(case, x: np.ndarray):
    b = case.batch
    return dataclasses.replace(case, batch=Batch({"x": x.astype(case.dtype)}, b.target,
                                                 b.upstream))


# --- the option grid, three-way -----------------------------------------------------------------
GRID = [
    pytest.param({}, id="k3-valid"),
    pytest.param({"padding": "same"}, id="k3-same"),
    pytest.param({"padding": "causal"}, id="k3-causal"),
    pytest.param({"kernel_size": 4, "padding": "same"}, id="k4-same-odd-zero-right"),
    pytest.param({"kernel_size": 2, "strides": 2, "padding": "same"}, id="k2-s2-same"),
    pytest.param({"kernel_size": 3, "strides": 3, "padding": "causal"}, id="k3-s3-causal"),
    pytest.param({"kernel_size": 1, "strides": 4}, id="k1-s4-stride-over-kernel"),
    pytest.param({"dilation_rate": 2}, id="k3-d2-valid"),
    pytest.param({"kernel_size": 2, "dilation_rate": 3, "padding": "same"},
                 id="k2-d3-same-span4"),
    pytest.param({"dilation_rate": 2, "padding": "causal"}, id="k3-d2-causal"),
    pytest.param({"groups": 2}, id="groups2"),
    pytest.param({"groups": 2, "filters": 2, "padding": "same"}, id="groups2-one-filter-each"),
    pytest.param({"groups": 4, "filters": 8, "padding": "causal"}, id="depthwise-x2"),
    pytest.param({"groups": 2, "dilation_rate": 2, "padding": "causal", "use_bias": False},
                 id="groups2-d2-causal-nobias"),
    pytest.param({"channels": 1, "filters": 1, "kernel_size": 5, "strides": 2},
                 id="one-channel-k5-s2"),
    pytest.param({"length": 1, "padding": "same", "kernel_size": 3}, id="length1-same"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", GRID)
def test_conv1d_option_grid_three_way(options, dtype):
    assert_three_way(case_for(dtype, **options), f"conv1d {options}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_conv1d_flatten_dense_three_way(padding, dtype):
    assert_three_way(case_for(dtype, padding=padding, head=True),
                     f"conv1d({padding}); flatten; dense")


@pytest.mark.parametrize("dtype", DTYPES)
def test_stacked_conv1d_reads_a_signal_three_way(dtype):
    # the second Conv1D reads the first one's (L, C) map, which torch already holds NCL: no
    # transpose there, and the first one's output is never converted in between
    model = Sequential([Conv1D(filters=4, kernel_size=3, padding="causal"), ReLU(),
                        Conv1D(filters=4, kernel_size=2, strides=2, padding="same", groups=2),
                        Flatten(), Dense(units=2)], (10, 3))
    case = prepare(model, dtype=dtype, seed=1)
    assert case.model.layers[2].flow_in.layout == "signal"
    assert_three_way(case, "conv1d; relu; conv1d; flatten; dense")


@pytest.mark.parametrize("dtype", DTYPES)
@given(k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same", "causal"]), groups=st.sampled_from([1, 2, 3]),
       per_group_in=st.integers(1, 2), per_group_out=st.integers(1, 2),
       length=st.integers(1, 12), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv1d_three_way_property(dtype, k, s, d, padding, groups, per_group_in,
                                   per_group_out, length, bias, seed):
    if s > 1:      # Keras (and crossframe) refuse strides > 1 with dilation_rate > 1
        d = 1
    span = (k - 1) * d + 1
    if padding == "valid":
        length = max(length, span)
    model = conv1d_model(length, groups * per_group_in, groups * per_group_out, k, s, padding,
                         d, groups, bias)
    case = prepare(model, dtype=dtype, seed=seed, batch_size=2)
    assert_conv_property(case, groups, f"conv1d k{k} s{s} d{d} {padding} g{groups} L{length}")


# --- causality, in each framework ---------------------------------------------------------------
@pytest.mark.parametrize("framework", frameworks.FRAMEWORKS)
def test_causal_output_never_sees_a_later_input(framework):
    # change only the inputs at steps >= 6: outputs at steps < 6 must not move (bit for bit),
    # and the output at step 6 must (it sees step 6 itself)
    case = case_for(padding="causal", dilation_rate=2, length=12)
    x = case.batch.inputs["x"].copy()
    before = run(case, framework, backward=False).outputs["output"]
    x[:, 6:] += 1.0
    after = run(with_input(case, x), framework, backward=False).outputs["output"]
    assert np.array_equal(before[:, :6], after[:, :6])
    assert not np.allclose(before[:, 6], after[:, 6])


# --- the suite can fail: each mapping fact ------------------------------------------------------
@lru_cache(maxsize=None)
def reference(key: tuple, framework: str):
    return run(_prepared(key), framework)


def ref(framework="keras", **options):
    return reference(tuple(sorted(options.items())), framework)


@pytest.mark.parametrize("tensor", ["out:output", "grad:conv.W", "grad:x"])
def test_conv1d_kernel_not_transposed_is_caught(tensor):
    # kernel_size == filters == 3: the untransposed (k, C_in, C_out) = (3, 4, 3) kernel has
    # torch's shape (C_out, C_in, k), so torch loads it and only the numbers are wrong
    options = {"filters": 3, "kernel_size": 3}
    case = case_for(**options)
    assert TORCH_KERNEL_1D.shape(case.weights["conv.W"].shape) == \
        case.weights["conv.W"].shape
    bad = run(with_transform(case, "conv.W", Identity()), "torch")
    assert_results_differ(ref(**options), bad, "float64", tensor)


class CausalOnTheRight(TorchConv1D):
    """The wrong causal port: the (k-1)*d zeros on the right, so output t sees the future."""

    def pads(self, L_in):
        left, right = super().pads(L_in)
        return right, left


@pytest.mark.parametrize("tensor", ["out:output", "grad:conv.W", "grad:x"])
def test_causal_padding_on_the_wrong_side_is_caught(tensor):
    options = {"padding": "causal", "dilation_rate": 2}
    case = case_for(**options)
    model = frameworks.build("torch", case.model, case.dtype)
    (cfg,) = case.model.layers
    model.conv = CausalOnTheRight(cfg).double()
    assert model.conv.pads(9) == (0, 4)
    assert_results_differ(ref(**options), run(case, "torch", model=model), "float64", tensor)


@pytest.mark.parametrize("tensor", ["out:output", "grad:dense.W", "grad:conv.W"])
def test_flatten_after_conv1d_without_the_row_permutation_is_caught(tensor):
    case = case_for(padding="same", head=True)
    bad = run(with_mapping_of(case, without_flatten_permutation), "torch")
    assert_results_differ(ref(padding="same", head=True), bad, "float64", tensor)


def with_mapping_of(case, rewrite):
    return run_with_mapping(case, "torch", rewrite)


SWAP_GROUPS = BlockReorder(("g0", "g1"), ("g1", "g0"), axis=0)  # torch weight's C_out blocks


@pytest.mark.parametrize("tensor", ["out:output", "grad:conv.W"])
def test_grouped_kernel_blocks_swapped_is_caught(tensor):
    # groups=2: each group's filters have the same shape (C_out/2, C_in/2, k), so loading
    # group 1's filters into group 0's place (and back) fits and only the numbers show it
    options = {"groups": 2}
    case = case_for(**options)
    bad = run(with_transform(case, "conv.W", Chain((TORCH_KERNEL_1D, SWAP_GROUPS))), "torch")
    assert_results_differ(ref(**options), bad, "float64", tensor)


def test_flatten_order_of_a_1d_map_is_torchs_ncl_flatten():
    x = np.arange(2 * 5 * 3).reshape(2, 5, 3)  # (N, L, C)
    torch_flat = torch.flatten(torch.from_numpy(x).permute(0, 2, 1), 1).numpy()
    assert np.array_equal(torch_flat, x.reshape(2, -1)[:, list(flatten_order(5, 3))])
    assert not np.array_equal(torch_flat, x.reshape(2, -1))


# --- finite differences (scratch alone, float64) ------------------------------------------------
@pytest.mark.parametrize("options", [
    pytest.param({"padding": "causal", "dilation_rate": 2, "groups": 2}, id="causal-d2-g2"),
    pytest.param({"kernel_size": 4, "strides": 2, "padding": "same"}, id="k4-s2-same"),
    pytest.param({"kernel_size": 2, "dilation_rate": 3, "padding": "same", "head": True},
                 id="k2-d3-same-flatten-dense"),
])
def test_scratch_conv1d_backward_matches_finite_differences(options):
    case = prepare(conv1d_model(**options), dtype="float64", seed=3, batch_size=3)
    worst = {k: rel_error(a, n) for k, (a, n) in numerical_gradients(case).items()}
    bad = {k: v for k, v in worst.items() if v > FINITE_DIFFERENCE.rel}
    assert not bad, f"conv1d {options}: finite differences disagree with backward: {bad}"


# --- options, validation ------------------------------------------------------------------------
@pytest.mark.parametrize("options, match", [
    pytest.param({"groups": 3}, "groups=3 does not divide the input channels 4 —",
                 id="groups-not-dividing-channels"),
    pytest.param({"groups": 4, "filters": 6}, "groups=4 does not divide the filters 6",
                 id="groups-not-dividing-filters"),
    pytest.param({"strides": 2, "dilation_rate": 2}, "Keras refuses strides > 1 together with "
                 "dilation_rate > 1", id="strides-and-dilation"),
    pytest.param({"kernel_size": 5, "dilation_rate": 3}, r"a 5-step window with dilation_rate 3 "
                 r"\(it spans 13\) does not fit its 9-step input", id="dilated-kernel-too-long"),
    pytest.param({"padding": "full"}, "choose one of: valid, same, causal",
                 id="unknown-padding"),
    pytest.param({"kernel_size": "3x2"}, "kernel_size='3x2' is not valid",
                 id="2d-kernel-size"),
])
def test_bad_conv1d_options_raise_an_input_error_with_a_fix(options, match):
    with pytest.raises(InputError, match=match):
        conv1d_model(**options)


def test_conv1d_on_an_image_is_refused_with_a_fix():
    with pytest.raises(InputError, match="Conv1D takes sequence .* got \\(6, 5, 2\\)"):
        Sequential([Conv1D(filters=2, kernel_size=3)], (6, 5, 2))


def test_causal_padding_is_refused_on_conv2d():
    from crossframe.layers import Conv2D
    with pytest.raises(InputError, match="choose one of: valid, same"):
        Sequential([Conv2D(filters=2, kernel_size=3, padding="causal")], (6, 5, 2))


def test_kernel_size_takes_an_int_or_a_one_tuple():
    for given_size in (3, "3", (3,)):
        model = Sequential([Conv1D(filters=2, kernel_size=given_size)], (9, 4))
        assert model.layers[0].opts["kernel_size"] == 3


# --- sizes, describe, the declared differences --------------------------------------------------
@pytest.mark.parametrize("length, k, s, d, padding, expected", [
    pytest.param(9, 3, 1, 2, "causal", 9, id="causal-keeps-length"),
    pytest.param(10, 3, 3, 1, "causal", 4, id="causal-s3-ceil"),
    pytest.param(9, 3, 1, 2, "valid", 5, id="valid-d2-span5"),
    pytest.param(9, 2, 1, 3, "same", 9, id="same-d3"),
])
def test_output_lengths_are_keras(length, k, s, d, padding, expected):
    from crossframe.keras_impl.backend import keras
    layer = keras.layers.Conv1D(2, k, strides=s, padding=padding, dilation_rate=d)
    assert layer.compute_output_shape((None, length, 3))[1] == expected
    assert output_size(length, k, s, padding, d) == expected


def test_describe_prints_the_transpose_the_causal_pad_and_the_row_permutation():
    spec = get("sequential")
    opts = spec.resolve({"layers": "conv1d(filters=3, kernel_size=3, padding=causal, "
                         "dilation_rate=2); flatten; dense(units=2)", "input": "9x4"})
    info = describe(spec, opts)
    code = info["code"]["torch"]
    assert "x = x.transpose(1, 2)  # (N, T, D) -> (N, D, T)" in code
    assert "x = F.pad(x, (4, 0))  # (left, right): causal" in code
    assert "nn.Conv1d(4, 3, kernel_size=3, stride=1, padding=0, dilation=2)" in code
    assert "padding='causal', dilation_rate=2" in info["code"]["keras"]
    torch_rows = {r["canonical"]: r for r in info["frameworks"]["torch"]["params"]}
    assert torch_rows["conv.W"]["transform"] == "transpose(2, 1, 0)"
    assert "rows (L,C) = (9,3) order -> (C,L) order, then transpose" == \
        torch_rows["dense.W"]["transform"]


def test_conv1d_lone_check_is_registered_from_its_example():
    spec = get("conv1d")
    opts = spec.resolve()
    assert (opts["padding"], opts["dilation_rate"]) == ("causal", 2)


def test_causal_difference_is_declared_and_real():
    (causal,) = [d for d in DIFFERENCES if "causal" in d.topic]
    assert causal.measure() > tolerance("float32").rel
