"""The pooling family three-way: MaxPool2D, AveragePooling2D, MaxPooling1D, AveragePooling1D
(valid and same) and GlobalMax/GlobalAveragePooling 1D and 2D.

- An option grid (pool sizes square and not, larger and smaller than the stride, valid and
  same, odd and even sizes, 1-D and 2-D, global) and a property test drawing from the same
  options: every tensor, every pair (scratch~torch, scratch~keras, torch~keras), both dtypes.
- What the libraries do at a 'same' border and at ties, pinned with hand-computed numbers in
  all three: a border average divides by the REAL elements (TensorFlow), max-pool ties send
  the gradient to the first maximum (1-D and 'same' too), a global max splits it evenly among
  tied maxima (tf.reduce_max and torch's amax).
- The suite can fail: count_include_pad at the border, the odd pad on the wrong side, a 1-D
  pool over the channel axis, a global max sending tied gradients to the first maximum — each
  reported on the tensor it corrupts.
- Composed with other layers through Sequential.parse and the runner; finite differences;
  describe's printed torch code run and compared with Keras; bad options are one-line
  InputErrors.
"""
import dataclasses
from functools import lru_cache

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from crossframe.data import rng_for
from crossframe.describe import describe
from crossframe.errors import InputError
from crossframe.gradcheck import numerical_gradients
from crossframe.layers.pooling import DIFFERENCES
from crossframe.result import failures
from crossframe.runner import check, prepare, run, run_all
from crossframe.scratch import pooling as scratch_pooling
from crossframe.sequential import NCHW, Sequential
from crossframe.spec import FRAMEWORKS, Batch, get
from crossframe.testing import assert_results_differ, assert_results_match, scratch_model_with
from crossframe.tolerances import (DTYPES, FINITE_DIFFERENCE, SAME_OPERATIONS, rel_error,
                                   tolerance)


# --- helpers ------------------------------------------------------------------------------------
def model(layers: str, input_shape: str, loss: str = "upstream") -> Sequential:
    return Sequential.parse(layers, input_shape, loss)


def case_of(layers: str, input_shape: str, dtype: str = "float64", seed: int = 0,
            batch_size: int = 3, loss: str = "upstream"):
    return prepare(model(layers, input_shape, loss), dtype=dtype, seed=seed,
                   batch_size=batch_size)


def with_input(case, x: np.ndarray):
    """The case with its input replaced (same upstream gradient / target)."""
    b = case.batch
    return dataclasses.replace(case, batch=Batch({"x": x.astype(case.dtype)}, b.target,
                                                 b.upstream))


def with_upstream(case, G: np.ndarray):
    b = case.batch
    return dataclasses.replace(case, batch=Batch(b.inputs, b.target,
                                                 {"output": G.astype(case.dtype)}))


def mismatches(case) -> str:
    """'' when every tensor of every pair is within tolerance, else the failing lines."""
    return "; ".join(failures(check(case)))


@lru_cache(maxsize=None)
def results(layers: str, input_shape: str, dtype: str):
    return run_all(case_of(layers, input_shape, dtype))


# --- the option grid, all three pairs, both dtypes ------------------------------------------------
def _grid():
    out = []
    windows2d = [  # (pool_size, strides): non-square, pool > stride, stride > pool, default
        ("3x2", "2x1"), ("2", "2"), ("3", "2"), ("2x3", "3x2"), ("2", "3"), ("4x3", "1"),
        ("1", "2")]
    for op in ("maxpool2d", "averagepool2d"):
        for pool, stride in windows2d:
            for padding in ("valid", "same"):
                for size in ("7x8x2", "8x5x3"):                    # odd and even sizes
                    out.append((f"{op}(pool_size={pool}, strides={stride}, "
                                f"padding={padding})", size))
    windows1d = [(2, 2), (3, 2), (3, 1), (2, 3), (4, 3), (5, 2), (1, 2)]
    for op in ("maxpool1d", "averagepool1d"):
        for pool, stride in windows1d:
            for padding in ("valid", "same"):
                for size in ("9x3", "8x2"):
                    out.append((f"{op}(pool_size={pool}, strides={stride}, "
                                f"padding={padding})", size))
        # a signal input (the output of a first 1-D pool: torch holds it NCL already)
        out.append((f"maxpool1d(pool_size=2, strides=1); {op}(pool_size=3, strides=2, "
                    "padding=same)", "9x3"))
    for op in ("globalmaxpool2d", "globalaveragepool2d"):
        out += [(op, "5x4x3"), (op, "1x1x2"), (op, "6x7x1")]
    for op in ("globalmaxpool1d", "globalaveragepool1d"):
        out += [(op, "7x3"), (op, "1x4"),
                (f"maxpool1d(pool_size=3, strides=2, padding=same); {op}", "8x3")]  # signal
    return out


GRID = _grid()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers, input_shape", GRID, ids=[f"{a}-{b}" for a, b in GRID])
def test_pooling_grid_three_way(layers, input_shape, dtype):
    case = case_of(layers, input_shape, dtype)
    res = run_all(case)
    for a, b in (("scratch", "torch"), ("scratch", "keras"), ("torch", "keras")):
        assert_results_match(res[a], res[b], dtype, f"{layers} {input_shape} {a}~{b}")


OPS2D = ("maxpool2d", "averagepool2d")
OPS1D = ("maxpool1d", "averagepool1d")


@pytest.mark.parametrize("dtype", DTYPES)
@given(op=st.sampled_from(OPS2D + OPS1D + ("globalmaxpool2d", "globalaveragepool2d",
                                           "globalmaxpool1d", "globalaveragepool1d")),
       ph=st.integers(1, 4), pw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       padding=st.sampled_from(("valid", "same")), height=st.integers(1, 8),
       width=st.integers(1, 8), channels=st.integers(1, 3), ties=st.booleans(),
       seed=st.integers(0, 2**16))
def test_pooling_three_way_property(dtype, op, ph, pw, sh, sw, padding, height, width,
                                    channels, ties, seed):
    # "valid" needs the window to fit; "same" fits any size, even 1. Values rounded to halves
    # (``ties``) make tied maxima common, in windows and in global maxima.
    rank = 1 if op.endswith("1d") else 2
    if padding == "valid":
        height, width = max(height, ph), max(width, pw)
    size = f"{height}x{channels}" if rank == 1 else f"{height}x{width}x{channels}"
    if op.startswith("global"):
        layers = op
    elif rank == 1:
        layers = f"{op}(pool_size={ph}, strides={sh}, padding={padding})"
    else:
        layers = f"{op}(pool_size={ph}x{pw}, strides={sh}x{sw}, padding={padding})"
    case = case_of(layers, size, dtype, seed=seed, batch_size=2)
    if ties:
        case = with_input(case, np.round(2 * case.batch.inputs["x"]) / 2)
    assert not mismatches(case), f"{layers} {size} {dtype}: {mismatches(case)}"


# --- composed with other layers (Sequential.parse + runner) ---------------------------------------
COMPOSED = [
    pytest.param("conv2d(filters=4, kernel_size=3); maxpool2d(padding=same); "
                 "globalaveragepool2d; dense(units=3)", "9x7x2", "softmax_ce",
                 id="conv-maxpool-same-gap-dense"),
    pytest.param("maxpool1d(pool_size=3, strides=2, padding=same); flatten; dense(units=3)",
                 "9x4", "softmax_ce", id="sequence-maxpool1d-flatten-dense"),
    pytest.param("maxpool1d(pool_size=2); globalmaxpool1d; dense(units=2)", "8x3", "mse",
                 id="sequence-maxpool1d-gmp-dense"),
    pytest.param("dense(units=5); averagepool1d(pool_size=3, strides=2, padding=same); relu; "
                 "globalaveragepool1d; dense(units=2)", "7x3", "mse",
                 id="dense-per-step-avgpool1d-gap1d"),
    pytest.param("conv2d(filters=3, kernel_size=2, padding=same); relu; "
                 "averagepool2d(pool_size=3, strides=2, padding=same); relu; "
                 "globalmaxpool2d; dense(units=3)", "8x7x2", "softmax_ce",
                 id="conv-relu-avgpool-same-relu-gmp-dense"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers, input_shape, loss", COMPOSED)
def test_pools_compose_with_other_layers(layers, input_shape, loss, dtype):
    case = prepare(Sequential.parse(layers, input_shape, loss), dtype=dtype, seed=1,
                   batch_size=4)
    assert not mismatches(case), f"{layers} {dtype}: {mismatches(case)}"


# --- what happens at a 'same' border, three-way, against hand-computed numbers --------------------
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_average_divides_by_the_real_elements(framework):
    # [1, 2, 3, 4, 5], k=3, s=1, same: pads (1, 1); the border windows hold 2 real elements:
    # (1+2)/2 = 1.5 and (4+5)/2 = 4.5 (torch's count_include_pad=True would give 1.0 and 3.0).
    # Backward: x[0] is in windows 0 (count 2) and 1 (count 3): 1/2 + 1/3 with G = 1.
    case = case_of("averagepool1d(pool_size=3, strides=1, padding=same)", "5x1", batch_size=1)
    case = with_upstream(with_input(case, np.arange(1.0, 6.0).reshape(1, 5, 1)),
                         np.ones((1, 5, 1)))
    r = run(case, framework)
    assert np.allclose(r.outputs["output"].ravel(), [1.5, 2.0, 3.0, 4.0, 4.5], rtol=0,
                       atol=SAME_OPERATIONS.rel)
    expected = [1 / 2 + 1 / 3, 1 / 2 + 2 / 3, 1, 2 / 3 + 1 / 2, 1 / 3 + 1 / 2]
    assert np.allclose(r.input_grads["x"].ravel(), expected, rtol=0, atol=SAME_OPERATIONS.rel)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_average_pads_the_odd_one_at_the_bottom_right(framework):
    # 3x3 ones-and-index image, pool 2, stride 2, same: out 2x2, pads (0, 1) both axes, so the
    # bottom-right window holds x[2, 2] alone and the top-left one x[0:2, 0:2].
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    case = case_of("averagepool2d(pool_size=2, strides=2, padding=same)", "3x3x1",
                   batch_size=1)
    r = run(with_input(case, x), framework)
    expected = [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]]
    assert np.allclose(r.outputs["output"][0, :, :, 0], expected, rtol=0, atol=SAME_OPERATIONS.rel)


# --- ties, three-way ------------------------------------------------------------------------------
MAX_TIES_1D = [
    # (x, pool, stride, padding, expected dx), with G = 1, 2, 3 ... per output
    pytest.param([1.0, 3.0, 3.0, 0.0], 4, 4, "valid", [0, 1, 0, 0], id="one-window-tie"),
    pytest.param([2.0] * 5, 3, 2, "same", [1, 2, 0, 3, 0], id="same-all-equal"),
    pytest.param([0.0, 0.0, 0.0], 2, 1, "same", [1, 2, 3], id="same-zeros-last-alone"),
    pytest.param([5.0, 5.0, 1.0, 5.0], 2, 1, "valid", [1, 2, 0, 3], id="overlapping-ties"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("x, pool, stride, padding, expected", MAX_TIES_1D)
def test_maxpool1d_tie_sends_the_gradient_to_the_first_max(x, pool, stride, padding, expected,
                                                          framework):
    n = len(x)
    case = case_of(f"maxpool1d(pool_size={pool}, strides={stride}, padding={padding})",
                   f"{n}x1", batch_size=1)
    Lo = case.model.outputs["output"][0]
    case = with_upstream(with_input(case, np.array(x).reshape(1, n, 1)),
                         np.arange(1.0, Lo + 1).reshape(1, Lo, 1))
    assert np.array_equal(run(case, framework).input_grads["x"].ravel(), expected)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_maxpool2d_same_tie_at_the_border_goes_to_the_first_real_max(framework):
    # all zeros 3x3, pool 2, stride 2, same: pads bottom/right; the -inf pads never win, so
    # each window's gradient lands on its top-left real element
    case = case_of("maxpool2d(pool_size=2, strides=2, padding=same)", "3x3x1", batch_size=1)
    G = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    case = with_upstream(with_input(case, np.zeros((1, 3, 3, 1))), G)
    expected = np.zeros((3, 3))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1, 2, 3, 4
    assert np.array_equal(run(case, framework).input_grads["x"][0, :, :, 0], expected)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("layers, x, expected", [
    pytest.param("globalmaxpool2d", [[1.0, 3.0], [3.0, 2.0]], [[0, 3], [3, 0]], id="2d-two-tied"),
    pytest.param("globalmaxpool1d", [3.0, 1.0, 3.0, 3.0], [2, 0, 2, 2], id="1d-three-tied"),
    pytest.param("globalmaxpool1d", [0.0, 0.0], [3, 3], id="1d-all-zero"),
])
def test_global_max_ties_split_the_gradient_evenly(layers, x, expected, framework):
    # G = 6 for the one channel: m tied maxima get 6 / m each (tf.reduce_max, torch amax)
    x = np.array(x)
    case = case_of(layers, "x".join(map(str, x.shape)) + "x1", batch_size=1)
    case = with_upstream(with_input(case, x.reshape(1, *x.shape, 1)), np.array([[6.0]]))
    dx = run(case, framework).input_grads["x"]
    assert np.array_equal(dx.reshape(x.shape), np.array(expected, dtype=float))


def test_scratch_has_both_global_max_tie_rules_and_the_first_is_torchs_adaptive_pool():
    # the other rule, scratch's GlobalMaxPoolingFirstMax, is what nn.AdaptiveMaxPool2d(1)
    # computes: all of G to the first maximum in row-major order
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    G = np.array([[6.0]])
    first = scratch_pooling.GlobalMaxPoolingFirstMax()
    _, dx_first = first.backward({}, first.forward({}, x)[1], G)
    assert np.array_equal(dx_first.ravel(), [0, 6, 0, 0])
    x_t = torch.from_numpy(NCHW.forward(x)).requires_grad_()
    nn.AdaptiveMaxPool2d(1)(x_t).flatten(1).backward(torch.from_numpy(G))
    assert np.array_equal(NCHW.adjoint(x_t.grad.numpy(), None), dx_first)


# --- the suite can fail ---------------------------------------------------------------------------
class TorchPort(nn.Module):
    """A hand port: one module in place of crossframe's whole torch model."""

    def __init__(self, sequential, fn):
        super().__init__()
        self.sequential, self.fn = sequential, fn

    def forward(self, x):
        return {"output": self.fn(x)}


def port(case, fn):
    return TorchPort(case.model, fn).to(getattr(torch, case.dtype))


def test_average_same_with_count_include_pad_is_caught():
    # the usual port of AveragePooling2D(3, strides=1, padding='same'): nn.AvgPool2d(3, 1,
    # padding=1) divides the border windows by 9, zeros included
    case = case_of("averagepool2d(pool_size=3, strides=1, padding=same)", "6x5x2")
    bad = run(case, "torch", model=port(case, lambda x: F.avg_pool2d(x, 3, 1, padding=1)))
    good = results("averagepool2d(pool_size=3, strides=1, padding=same)", "6x5x2", "float64")
    assert_results_differ(good["keras"], bad, "float64", "out:output")
    assert_results_differ(good["keras"], bad, "float64", "grad:x")


class AverageCountingPads(scratch_pooling.AveragePooling2D):
    """A scratch average dividing every window by ph * pw (torch's count_include_pad=True)."""

    def forward(self, params, x):
        y, (shape, count) = super().forward(params, x)
        (ph, pw) = self.pool_size
        full = np.full_like(count, ph * pw)
        return y * count / full, (shape, full)


@pytest.mark.parametrize("layers, input_shape, cls", [
    pytest.param("averagepool2d(pool_size=3, strides=2, padding=same)", "7x6x2",
                 AverageCountingPads, id="2d"),
    pytest.param("averagepool1d(pool_size=4, strides=3, padding=same)", "8x2",
                 type("Average1DCountingPads", (scratch_pooling.AveragePooling1D,),
                      {"pool2d": AverageCountingPads}), id="1d"),
])
def test_scratch_border_divisor_counting_pads_is_caught(layers, input_shape, cls):
    case = case_of(layers, input_shape)
    bad = run(case, "scratch", model=scratch_model_with(case, "pool", cls))
    good = results(layers, input_shape, "float64")
    assert_results_differ(good["torch"], bad, "float64", "out:output")
    assert_results_differ(good["keras"], bad, "float64", "grad:x")


def _wrong_side(cls):
    """``cls`` with the odd pad before (top/left) instead of after (bottom/right)."""
    def geometry(self, H, W):
        out, border = cls.geometry(self, H, W)
        return out, tuple((after, before) for before, after in border)
    return type(f"{cls.__name__}PaddedTopLeft", (cls,), {"geometry": geometry})


MaxTopLeft = _wrong_side(scratch_pooling.MaxPool2D)
AverageTopLeft = _wrong_side(scratch_pooling.AveragePooling2D)


@pytest.mark.parametrize("layers, input_shape, cls, tensor", [
    pytest.param("maxpool2d(pool_size=3, strides=2, padding=same)", "8x8x2", MaxTopLeft,
                 "out:output", id="maxpool2d-output"),
    pytest.param("maxpool2d(pool_size=2, strides=2, padding=same)", "7x9x2", MaxTopLeft,
                 "grad:x", id="maxpool2d-grad"),
    pytest.param("averagepool2d(pool_size=2, strides=2, padding=same)", "7x9x2",
                 AverageTopLeft, "out:output", id="averagepool2d-output"),
    pytest.param("maxpool1d(pool_size=2, strides=2, padding=same)", "9x2",
                 type("Max1DTopLeft", (scratch_pooling.MaxPooling1D,), {"pool2d": MaxTopLeft}),
                 "grad:x", id="maxpool1d-grad"),
    pytest.param("averagepool1d(pool_size=3, strides=2, padding=same)", "8x2",
                 type("Average1DTopLeft", (scratch_pooling.AveragePooling1D,),
                      {"pool2d": AverageTopLeft}), "out:output", id="averagepool1d-output"),
])
def test_odd_pad_on_the_wrong_side_is_caught(layers, input_shape, cls, tensor):
    # the shapes agree (the pad total is the same); only where the windows start differs
    case = case_of(layers, input_shape)
    bad = run(case, "scratch", model=scratch_model_with(case, "pool", cls))
    assert_results_differ(results(layers, input_shape, "float64")["keras"], bad, "float64",
                          tensor)


def test_torch_port_padding_top_left_is_caught():
    # F.pad(x, (1, 0, 1, 0)) instead of Keras' (0, 1, 0, 1) before nn.MaxPool2d(3, 2) on 8x8
    case = case_of("maxpool2d(pool_size=3, strides=2, padding=same)", "8x8x2")
    bad = run(case, "torch", model=port(
        case, lambda x: F.max_pool2d(F.pad(x, (1, 0, 1, 0), value=float("-inf")), 3, 2)))
    good = results("maxpool2d(pool_size=3, strides=2, padding=same)", "8x8x2", "float64")
    assert_results_differ(good["keras"], bad, "float64", "out:output")


class MaxPool1DOverChannels(scratch_pooling.MaxPooling1D):
    """A 1-D pool along the channel axis of (N, L, C) instead of the length axis."""

    def forward(self, params, x):
        y, cache = super().forward(params, x.transpose(0, 2, 1))
        return y.transpose(0, 2, 1), cache

    def backward(self, params, cache, G):
        grads, dx = super().backward(params, cache, G.transpose(0, 2, 1))
        return grads, dx.transpose(0, 2, 1)


# a square 5x5 input with 'same' and stride 1: pooling either axis keeps the shape (5, 5), so
# only the numbers can show which axis was pooled
OVER_CHANNELS = "maxpool1d(pool_size=3, strides=1, padding=same)"


def test_scratch_1d_pool_over_the_channel_axis_is_caught():
    case = case_of(OVER_CHANNELS, "5x5")
    bad = run(case, "scratch", model=scratch_model_with(case, "pool", MaxPool1DOverChannels))
    good = results(OVER_CHANNELS, "5x5", "float64")
    assert_results_differ(good["keras"], bad, "float64", "out:output")
    assert_results_differ(good["torch"], bad, "float64", "grad:x")


def test_torch_1d_pool_on_an_untransposed_sequence_is_caught():
    # nn.MaxPool1d pools the LAST axis: given the sequence (N, T, D) as it is, it pools the
    # features D, not the steps T
    case = case_of(OVER_CHANNELS, "5x5")
    bad = run(case, "torch", model=port(case, lambda x: F.max_pool1d(x, 3, 1, padding=1)))
    assert_results_differ(results(OVER_CHANNELS, "5x5", "float64")["keras"], bad, "float64",
                          "out:output")


def test_global_max_sending_tied_gradients_to_the_first_max_is_caught():
    # whole-number inputs: many channels' maxima tie (torch's AdaptiveMaxPool2d rule in scratch)
    case = case_of("globalmaxpool2d", "4x4x3", batch_size=4)
    case = with_input(case, np.round(case.batch.inputs["x"]))
    bad = run(case, "scratch", model=scratch_model_with(
        case, "pool", scratch_pooling.GlobalMaxPoolingFirstMax))
    assert_results_differ(run(case, "keras"), bad, "float64", "grad:x")
    assert_results_differ(run(case, "torch"), bad, "float64", "grad:x")


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: d.topic.replace(" ", "-"))
def test_declared_differences_are_real(difference):
    assert difference.measure() > tolerance("float32").rel


# --- finite differences (scratch alone, float64) --------------------------------------------------
def untied(case):
    """The input plus a little noise: no window (or global max) holds two equal values."""
    x = case.batch.inputs["x"]
    return with_input(case, x + 0.01 * rng_for(case.seed, "untie").standard_normal(x.shape))


FD_CASES = [
    ("maxpool2d(pool_size=3x2, strides=2x1, padding=same)", "7x6x2"),
    ("averagepool2d(pool_size=3, strides=2, padding=same)", "8x7x2"),
    ("averagepool2d(pool_size=2x3, strides=2, padding=valid)", "7x9x2"),
    ("maxpool1d(pool_size=3, strides=2, padding=same)", "8x3"),
    ("averagepool1d(pool_size=4, strides=3, padding=same)", "9x2"),
    ("globalmaxpool2d", "4x3x2"), ("globalaveragepool2d", "4x3x2"),
    ("globalmaxpool1d", "6x3"), ("globalaveragepool1d", "6x3"),
    ("conv2d(filters=3, kernel_size=3); maxpool2d(padding=same); globalaveragepool2d; "
     "dense(units=3)", "7x7x2"),
]


@pytest.mark.parametrize("layers, input_shape", FD_CASES, ids=[a for a, _ in FD_CASES])
def test_scratch_backward_matches_finite_differences(layers, input_shape):
    case = untied(case_of(layers, input_shape, seed=3))
    worst = {k: rel_error(a, n) for k, (a, n) in numerical_gradients(case).items()}
    bad = {k: v for k, v in worst.items() if v > FINITE_DIFFERENCE.rel}
    assert not bad, f"{layers}: finite differences disagree with backward: {bad}"


# --- describe: the printed torch code computes what Keras does -----------------------------------
PRINTED = [
    ("averagepool2d(pool_size=3, strides=2, padding=same)", "8x7x2"),      # F.pad + ones-mask
    ("averagepool2d(pool_size=3, strides=1, padding=same)", "6x5x2"),      # count_include_pad
    ("maxpool2d(pool_size=2, strides=2, padding=same)", "7x9x2"),          # F.pad -inf
    ("maxpool1d(pool_size=3, strides=2, padding=same); averagepool1d(pool_size=2, "
     "padding=same); globalmaxpool1d", "9x4"),                              # transpose, signal
    ("globalmaxpool2d", "3x4x2"), ("globalaveragepool1d", "5x3"),
]


@pytest.mark.parametrize("layers, input_shape", PRINTED, ids=[a for a, _ in PRINTED])
def test_printed_torch_code_computes_what_keras_computes(layers, input_shape):
    m = model(layers, input_shape)
    code = m.torch_code()
    namespace: dict = {}
    exec(code.split("loss_fn")[0], namespace)      # noqa: S102 - crossframe's own printed code
    case = prepare(m, batch_size=3)
    x = case.batch.inputs["x"]
    x_t = torch.from_numpy(NCHW.forward(x) if x.ndim == 4 else x)
    y = namespace["model"](x_t).detach().numpy()
    y = y.transpose(0, 2, 3, 1) if y.ndim == 4 else y.transpose(0, 2, 1) if y.ndim == 3 else y
    assert rel_error(y, run(case, "keras").outputs["output"]) <= tolerance("float64").rel


def test_describe_prints_the_pads_and_the_border_divisor():
    spec = get("sequential")
    opts = spec.resolve({"layers": "averagepool2d(pool_size=3, strides=2, padding=same)",
                         "input": "8x7x2", "loss": "mse"})
    info = describe(spec, opts)
    torch_formula = info["frameworks"]["torch"]["formula"]
    assert "pad top 0 bottom 1, left 1 right 1" in torch_formula
    assert "divided by the pooled ones-mask" in torch_formula
    assert "F.pad(x, (1, 1, 0, 1))" in info["code"]["torch"]
    assert "padding='same'" in info["code"]["keras"]
    assert any("REAL elements" in n for n in info["notes"])


def test_describe_prints_amax_for_the_global_max():
    spec = get("globalmaxpool2d")
    info = describe(spec, spec.resolve())
    assert ".amax(dim=2)" in info["code"]["torch"]
    assert "layers.GlobalMaxPooling2D(name='pool')" in info["code"]["keras"]


# --- options and validation -----------------------------------------------------------------------
@pytest.mark.parametrize("layers, input_shape, match", [
    pytest.param("maxpool1d", "4x4x2", "MaxPooling1D takes sequence .* or signal .*"
                 "got \\(4, 4, 2\\)", id="maxpool1d-on-an-image"),
    pytest.param("maxpool2d", "6x3", "MaxPool2D takes image", id="maxpool2d-on-a-sequence"),
    pytest.param("globalmaxpool2d", "6x3", "GlobalMaxPooling2D takes image",
                 id="globalmaxpool2d-on-a-sequence"),
    pytest.param("globalaveragepool1d", "6", "GlobalAveragePooling1D takes sequence",
                 id="globalaveragepool1d-on-flat"),
    pytest.param("averagepool1d(pool_size=5)", "4x3",
                 "a 5-step window does not fit its 4-step input",
                 id="averagepool1d-window-larger-than-input"),
    pytest.param("maxpool1d(padding=causal)", "6x3", "choose one of: valid, same",
                 id="maxpool1d-causal"),
    pytest.param("averagepool2d(pool_size=3, padding=full)", "6x6x1",
                 "choose one of: valid, same", id="averagepool2d-unknown-padding"),
    pytest.param("maxpool1d(strides=0)", "6x3", "strides=0 is not valid", id="stride-0"),
    pytest.param("maxpool1d(pool_size=2x2)", "6x3", "pool_size=.* is not valid",
                 id="maxpool1d-2d-window"),
])
def test_bad_options_raise_an_input_error_with_a_fix(layers, input_shape, match):
    with pytest.raises(InputError, match=match) as err:
        model(layers, input_shape)
    assert err.value.args and "\n" not in str(err.value)


def test_same_lets_a_window_larger_than_the_input_through():
    # Keras' 'same' fits any size: pool 5 on a length-3 input -> one output (the mean of the 3)
    case = case_of("averagepool1d(pool_size=5, padding=same)", "3x1", batch_size=1)
    case = with_input(case, np.array([1.0, 2.0, 6.0]).reshape(1, 3, 1))
    for framework in FRAMEWORKS:
        assert np.allclose(run(case, framework).outputs["output"].ravel(), [3.0], rtol=0,
                           atol=SAME_OPERATIONS.rel)


def test_lone_checks_are_registered_for_the_new_pools():
    names = {"maxpool1d", "averagepool1d", "globalmaxpool1d", "globalmaxpool2d",
             "globalaveragepool1d", "globalaveragepool2d", "averagepool2d"}
    for name in names:
        spec = get(name)
        assert spec.kind == "layer" and spec.layer == name
