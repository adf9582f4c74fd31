"""crossframe.bench_limits: FLOP counts and traced products against counts derived by hand.

Structure and counts only; no timing is a pass/fail condition (the machine is shared). The
expected FLOPs below are derived from the layers' formulas, 2 FLOPs per multiply-add:

Dense, x (N, D), W (D, H):  forward y = x W                         2 N D H
                            backward dW = x^T G, dx = G W^T         2 N D H each
    (db = sum of G is a reduction: not counted; torch computes dx since x requires grad)

LSTM, x (N, T, D), h0, c0 (N, H), W_x (D, 4H), W_h (H, 4H), per step t (torch, as written):
    forward   x_t W_x^T: 2 N D 4H,   h_{t-1} W_h^T: 2 N H 4H
    backward  dx_t, dW_x: 2 N D 4H each;   dh_{t-1}, dW_h: 2 N H 4H each
  scratch-fast (scratch/fast/recurrent.py) makes the same products with the bias as the weight
  of a constant-1 input row (the "bias trick"): the input projection contracts over D + 1, and
  the one weight-gradient GEMM [X1; h_prev] dA^T over (D + 1) + H, so it counts 2 N 4H per
  step more in each: trace = torch + 2 * (2 T N 4H).
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from crossframe import bench_limits as bl
from crossframe import frameworks
from crossframe.errors import InputError
from crossframe.runner import prepare


def _step(case, fw="scratch-fast"):
    """A loaded model's forward + backward closure, as bench._timings builds it."""
    mapping = case.mapping(fw)
    b = case.batch
    model = frameworks.build(fw, case.model, case.dtype)
    model.load(mapping.params_to_framework(case.weights))
    return frameworks.engine(fw).make_step(
        model, mapping.inputs_to_framework(b.inputs), b.target,
        mapping.upstream_to_framework(b.upstream), case.model.loss, case.dtype), model


# -- model_flops ------------------------------------------------------------------------------
def test_dense_flops_are_the_textbook_count():
    N, D, H = 5, 7, 3
    case = prepare("dense", dtype="float32", batch_size=N,
                   options={"features": D, "units": H})
    assert bl.model_flops(case) == {"forward": 2 * N * D * H, "backward": 4 * N * D * H}


LSTM = dict(N=2, T=5, D=3, H=4)


@pytest.fixture(scope="module")
def lstm_case():
    n = LSTM
    return prepare("lstm_layer", dtype="float64", batch_size=n["N"],
                   options={"features": n["D"], "units": n["H"], "steps": n["T"]})


def test_lstm_flops_counted_by_torch_in_float64(lstm_case):
    """FlopCounterMode sees nn.LSTM's products in float64 (in float32 torch runs oneDNN's
    fused kernel and counts 0)."""
    N, T, D, H = LSTM.values()
    assert bl.model_flops(lstm_case) == {"forward": 2 * T * N * 4 * H * (D + H),
                                         "backward": 2 * T * N * 4 * H * (2 * D + 2 * H)}


# -- trace_products ---------------------------------------------------------------------------
def test_lstm_products_traced_from_scratch_fast(lstm_case):
    N, T, D, H = LSTM.values()
    step, model = _step(lstm_case)
    reference = step()
    products = bl.trace_products(step)
    # one input projection, T recurrent products forward, T backward, dW, dx
    assert len(products) == 2 * T + 3
    assert {p.dtype for p in products} == {"float64"}
    first = products[0]
    assert (first.a_shape, first.b_shape, first.out_shape) == ((4 * H, D + 1), (T, D + 1, N),
                                                               (T, 4 * H, N))
    forward_loop = products[1:T + 1]
    assert all((p.a_shape, p.b_shape) == ((4 * H, H), (H, N)) for p in forward_loop)
    assert len({p.a_id for p in forward_loop}) == 1        # one W_h read at every step
    assert len({p.out_id for p in forward_loop}) == T      # each step writes its own block
    assert all(p.out_strides is not None for p in products[:2 * T + 1])   # out= arrays
    projection = 2 * T * N * 4 * H * (D + 1)
    recurrent = 2 * T * N * 4 * H * H
    weight_grads = 2 * T * N * 4 * H * (D + 1 + H)
    input_grad = 2 * T * N * 4 * H * D
    expected = projection + recurrent + recurrent + weight_grads + input_grad
    assert bl.product_flops(products) == expected
    torch_counts = bl.model_flops(lstm_case)
    bias_trick = 2 * (2 * T * N * 4 * H)
    assert bl.product_flops(products) == sum(torch_counts.values()) + bias_trick
    # the traced call computed the same numbers, and the modules are themselves again
    again = step()
    for name in reference[0]:
        assert np.array_equal(reference[0][name], again[0][name])
    from crossframe.scratch.fast import recurrent

    assert recurrent.np is np and "_crossframe_bench_matmul_" not in vars(recurrent)
    assert bl.trace_products(lambda: None) == []


def test_conv_products_traced_from_scratch_fast():
    """Forward [cols 1] @ [W; b], dW = [cols 1]^T dY, and the column gradients W dY_grid^T over
    the whole padded grid (scratch/fast/conv.py): 'same' 3x3 on 5x5 pads to 7x7."""
    N, S, C, F, k = 2, 5, 2, 3, 3
    case = prepare("conv2d", dtype="float32", batch_size=N,
                   options={"height": S, "width": S, "channels": C, "filters": F,
                            "kernel_size": k, "strides": 1, "padding": "same"})
    step, _ = _step(case)
    products = bl.trace_products(step)
    K, P, L = k * k * C, N * S * S, N * (S + 2) * (S + 2)
    assert [(p.a_shape, p.b_shape) for p in products] == [
        ((P, K + 1), (K + 1, F)), ((K + 1, P), (P, F)), ((K, F), (F, L))]
    assert [(p.a_layout, p.b_layout) for p in products] == [("C", "C"), ("T", "C"), ("C", "T")]
    assert bl.product_flops(products) == 2 * P * (K + 1) * F * 2 + 2 * K * F * L


def _products_of_every_kind(a, b, c):
    y = a.T @ b                       # (3, 4) transposed view x (4, 2)
    np.matmul(a.T, b, out=c)
    np.dot(c, b.T)
    np.einsum("ij,jk->ik", a.T, b)
    np.tensordot(a, b, axes=([0], [0]))
    return y * 2.0                    # a scalar product: elementwise, not recorded


def test_trace_records_every_kind_with_layout():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    c = np.empty((3, 2))
    here = sys.modules[__name__]
    products = bl.trace_products(lambda: _products_of_every_kind(a, b, c), modules=[here])
    assert [p.op for p in products] == ["matmul", "matmul", "dot", "einsum", "tensordot"]
    assert [p.a_layout for p in products] == ["T", "T", "C", "T", "C"]
    assert [p.out_layout for p in products] == ["new", "C", "new", "new", "new"]
    assert [p.k for p in products] == [4, 4, 2, 4, 4]
    assert [p.flops for p in products] == [2 * 3 * 2 * 4, 48, 2 * 3 * 4 * 2, 48, 48]
    assert products[0].where.endswith(f"{__name__.rsplit('.', 1)[-1]}.py:"
                                      f"{_products_of_every_kind.__code__.co_firstlineno + 1}")
    assert here.np is np


# -- gemm_peak and floor_ms -------------------------------------------------------------------
def test_gemm_peak_is_a_positive_rate():
    for dtype in ("float32", "float64"):
        peak = bl.gemm_peak(dtype, n=64, repeats=3, warmup=1)
        assert math.isfinite(peak) and peak > 0


def test_floor_replays_the_traced_products(lstm_case):
    step, _ = _step(lstm_case)
    products = bl.trace_products(step)
    median, low = bl.floor_ms(products, repeats=3, warmup=1)
    assert 0 < low <= median and math.isfinite(median)


def test_operand_keeps_the_recorded_layout():
    rng = np.random.default_rng(0)
    for shape, strides in (((3, 4), (4, 1)), ((3, 4), (1, 3)), ((3, 4), (6, 1)),
                           ((2, 3, 4), (12, 4, 1)), ((3, 4), (1, 5))):
        a = bl._operand(shape, strides, np.dtype("float32"), rng)
        assert a.shape == shape and tuple(s // 4 for s in a.strides) == strides
    assert bl._layout((3, 4), (6, 1)) == "C(ld=6)" and bl._layout((3, 4), (1, 5)) == "T(ld=5)"


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="float16"):
        bl.gemm_peak("float16")
    with pytest.raises(InputError, match="n=0"):
        bl.gemm_peak("float32", n=0)
    with pytest.raises(InputError, match="no products"):
        bl.floor_ms([])
