"""The scratch convolution family against torch.nn.functional, and against central finite
differences (independent of any framework): the textbook layers (scratch/conv.py) and the fast
Conv2D (scratch/fast/conv.py), through the scratch protocol (scratch/base.py).

Canonical layout is Keras': x (N, H, W, C), kernel (kh, kw, C_in, C_out). The torch reference
permutes to NCHW / (C_out, C_in, kh, kw) and pads explicitly with ``F.pad`` for "same", because
torch has no strided ``padding="same"``; every result is permuted back before comparison.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from crossframe.geometry import PADDINGS, output_size, pair, same_padding
from crossframe.gradcheck import central_difference
from crossframe.scratch import conv as textbook
from crossframe.scratch.conv import Flatten
from crossframe.scratch.pooling import MaxPool2D
from crossframe.scratch.fast import conv as fast
from crossframe.tolerances import FINITE_DIFFERENCE, rel_error, tolerance

# -- helpers -----------------------------------------------------------------------------------
def assert_match(got: dict, want: dict, bound: float, pair: str) -> None:
    """Same tensor names, then per tensor: shape, dtype, values (the failure names the tensor)."""
    assert sorted(got) == sorted(want), f"{pair}: tensors {sorted(got)} vs {sorted(want)}"
    for name in want:
        where = f"{pair} {name}"
        a, b = got[name], want[name]
        assert a.shape == b.shape, f"{where}: shape {a.shape} vs {b.shape}"
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} vs {b.dtype}"
        err = rel_error(a, b)
        assert err <= bound, f"{where}: relative error {err:.3g} > {bound:g}"


def conv_data(rng, image, kernel, c_in, c_out, bias, dtype, n=2):
    """x (n, H, W, C_in), W (kh, kw, C_in, C_out) random and asymmetric, b distinct non-zero."""
    x = rng.standard_normal((n, *image, c_in)).astype(dtype)
    W = rng.standard_normal((*kernel, c_in, c_out)).astype(dtype)
    b = (0.5 * np.arange(1, c_out + 1) + 0.1 * rng.random(c_out)).astype(dtype) if bias else None
    return x, W, b


IMPLS = {"textbook": textbook, "fast": fast}


def conv_forward(impl, x, W, b, stride, padding, dilation=1, groups=1):
    params = {"W": W} if b is None else {"W": W, "b": b}
    op = IMPLS[impl].Conv2D(strides=pair(stride), padding=padding, dilation_rate=pair(dilation),
                            groups=groups)
    y, cache = op.forward(params, x)
    return op, params, y, cache


def scratch_conv(x, W, b, stride, padding, dY, impl="textbook", dilation=1, groups=1) -> dict:
    op, params, y, cache = conv_forward(impl, x, W, b, stride, padding, dilation, groups)
    grads, dx = op.backward(params, cache, dY)
    return {"y": y, "dx": dx, **{f"d{name}": g for name, g in grads.items()}}


def torch_conv(x, W, b, stride, padding, dY, dilation=1, groups=1) -> dict:
    """The same convolution with torch autograd, results mapped back to NHWC / (kh,kw,I,O)."""
    H, W_in = x.shape[1:3]
    kh, kw = W.shape[:2]
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = pair(dilation)
    # contiguous leaves: torch 2.13's CPU slow_conv2d backward raises "grad_weight must be
    # contiguous" for some permuted (non-contiguous) weights, e.g. (kh, kw, I, O) = (1, 2, 2, 1)
    x_t = torch.tensor(x).permute(0, 3, 1, 2).contiguous().requires_grad_()
    W_t = torch.tensor(W).permute(3, 2, 0, 1).contiguous().requires_grad_()
    b_t = None if b is None else torch.tensor(b).requires_grad_()
    if padding == "same":
        (top, bottom), (left, right) = (same_padding(H, kh, sh, dh),
                                        same_padding(W_in, kw, sw, dw))
        x_in = F.pad(x_t, (left, right, top, bottom))
    else:
        x_in = x_t
    y_t = F.conv2d(x_in, W_t, b_t, stride=(sh, sw), dilation=(dh, dw), groups=groups)
    y_t.backward(torch.tensor(dY).permute(0, 3, 1, 2))
    out = {
        "y": y_t.detach().permute(0, 2, 3, 1).numpy(),
        "dx": x_t.grad.permute(0, 2, 3, 1).numpy(),
        "dW": W_t.grad.permute(2, 3, 1, 0).numpy(),
    }
    if b is not None:
        out["db"] = b_t.grad.numpy()
    return out


def conv_output_shape(x, W, stride, padding, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = pair(dilation)
    Ho = output_size(x.shape[1], W.shape[0], sh, padding, dh)
    Wo = output_size(x.shape[2], W.shape[1], sw, padding, dw)
    return (x.shape[0], Ho, Wo, W.shape[3])


def scratch_pool(x, pool, stride, dY) -> dict:
    op = MaxPool2D(pool_size=pair(pool), strides=None if stride is None else pair(stride))
    y, cache = op.forward({}, x)
    return {"y": y, "dx": op.backward({}, cache, dY)[1]}


def torch_pool(x, pool, stride, dY) -> dict:
    x_t = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_()
    y_t = F.max_pool2d(x_t, pool, stride=pool if stride is None else stride)
    y_t.backward(torch.tensor(dY).permute(0, 3, 1, 2))
    return {
        "y": y_t.detach().permute(0, 2, 3, 1).numpy(),
        "dx": x_t.grad.permute(0, 2, 3, 1).numpy(),
    }


def pool_output_shape(x, pool, stride):
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    stride = pool if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    N, H, W, C = x.shape
    return (N, output_size(H, ph, sh, "valid"), output_size(W, pw, sw, "valid"), C)


def case_id(kernel, stride, padding, bias) -> str:
    """e.g. k3x2-s2-same-bias, k3x3-s2x1-valid-nobias"""
    s = f"s{stride}" if isinstance(stride, int) else f"s{stride[0]}x{stride[1]}"
    return f"k{kernel[0]}x{kernel[1]}-{s}-{padding}-{'bias' if bias else 'nobias'}"


# -- Conv2D against torch ----------------------------------------------------------------------
def _conv_cases():
    kernels = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (2, 3), (5, 2)]
    geometries = [(k, s) for k in kernels for s in (1, 2)]
    geometries += [((2, 2), 3), ((1, 1), 3), ((3, 3), (2, 1))]  # stride > kernel; a stride pair
    return [
        pytest.param(k, s, pad, bias, id=case_id(k, s, pad, bias))
        for k, s in geometries
        for pad in PADDINGS
        for bias in (True, False)
    ]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel, stride, padding, bias", _conv_cases())
def test_conv2d_matches_torch(kernel, stride, padding, bias, dtype, impl):
    rng = np.random.default_rng(0)
    x, W, b = conv_data(rng, (9, 11), kernel, c_in=3, c_out=4, bias=bias, dtype=dtype)
    dY = rng.standard_normal(conv_output_shape(x, W, stride, padding)).astype(dtype)
    got = scratch_conv(x, W, b, stride, padding, dY, impl)
    want = torch_conv(x, W, b, stride, padding, dY)
    assert_match(got, want, tolerance(dtype).rel, f"conv2d scratch vs torch {dtype}")


@settings(deadline=None, database=None)  # examples: the conftest profile (100; 1000 thorough)
@given(
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    padding=st.sampled_from(PADDINGS),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    H=st.integers(1, 10),
    W_in=st.integers(1, 10),
    bias=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    impl=st.sampled_from(sorted(IMPLS)),
)
def test_conv2d_matches_torch_property(kh, kw, sh, sw, padding, c_in, c_out, H, W_in, bias, seed,
                                       impl):
    # "valid" needs the kernel to fit; "same" works for any size, even 1x1 images
    image = (H, W_in) if padding == "same" else (max(H, kh), max(W_in, kw))
    rng = np.random.default_rng(seed)
    x, W, b = conv_data(rng, image, (kh, kw), c_in, c_out, bias, "float64")
    dY = rng.standard_normal(conv_output_shape(x, W, (sh, sw), padding))
    got = scratch_conv(x, W, b, (sh, sw), padding, dY, impl)
    want = torch_conv(x, W, b, (sh, sw), padding, dY)
    assert_match(got, want, tolerance("float64").rel, f"conv2d {impl} vs torch float64 (property)")


# -- Conv2D against finite differences (no framework involved) ---------------------------------
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "kernel, stride, padding",
    [
        pytest.param((3, 2), 1, "valid", id="k3x2-s1-valid"),
        pytest.param((3, 2), 2, "same", id="k3x2-s2-same"),
        pytest.param((2, 2), 3, "same", id="k2x2-s3-same"),
    ],
)
def test_conv2d_backward_matches_finite_differences(kernel, stride, padding, impl):
    rng = np.random.default_rng(1)
    x, W, b = conv_data(rng, (5, 6), kernel, c_in=2, c_out=3, bias=True, dtype="float64")
    dY = rng.standard_normal(conv_output_shape(x, W, stride, padding))

    def loss():  # L = sum(y * dY), so dL/dy = dY
        return float(np.sum(conv_forward(impl, x, W, b, stride, padding)[2] * dY))

    analytic = scratch_conv(x, W, b, stride, padding, dY, impl)
    numeric = {name: central_difference(loss, a) for name, a in {"dx": x, "dW": W, "db": b}.items()}
    assert_match(
        {name: analytic[name] for name in numeric}, numeric, FINITE_DIFFERENCE.rel,
        "conv2d backward vs finite differences",
    )


# -- Conv2D dilation and groups against torch ---------------------------------------------------
DILATED_GROUPED = [
    pytest.param((3, 3), 1, 2, 1, "valid", id="k3-d2-valid"),
    pytest.param((3, 2), 1, (2, 3), 1, "same", id="k3x2-d2x3-same-odd-zero-after"),
    pytest.param((2, 2), 1, 3, 1, "same", id="k2-d3-same-span4"),
    pytest.param((3, 3), 1, 1, 2, "same", id="groups2"),
    pytest.param((2, 3), 2, 1, 2, "same", id="groups2-s2"),
    pytest.param((3, 3), 1, 1, 4, "valid", id="depthwise"),
    pytest.param((3, 3), 1, 2, 4, "same", id="depthwise-d2-same"),
    pytest.param((2, 2), 1, 2, 2, "valid", id="groups2-d2-valid"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel, stride, dilation, groups, padding", DILATED_GROUPED)
def test_conv2d_dilation_and_groups_match_torch(kernel, stride, dilation, groups, padding, dtype,
                                                 impl):
    rng = np.random.default_rng(13)
    c_in, c_out = 4, 8
    x, W, b = conv_data(rng, (9, 10), kernel, c_in // groups, c_out, bias=True, dtype=dtype)
    x = rng.standard_normal((2, 9, 10, c_in)).astype(dtype)
    dY = rng.standard_normal(conv_output_shape(x, W, stride, padding, dilation)).astype(dtype)
    got = scratch_conv(x, W, b, stride, padding, dY, impl, dilation, groups)
    want = torch_conv(x, W, b, stride, padding, dY, dilation, groups)
    assert_match(got, want, tolerance(dtype).rel, f"conv2d {impl} vs torch {dtype}")


@pytest.mark.parametrize("kernel, stride, dilation, groups, padding", DILATED_GROUPED)
def test_fast_conv2d_equals_textbook_with_dilation_and_groups(kernel, stride, dilation, groups,
                                                              padding):
    # the fast twin hands these options to the textbook layer: pinned equal in float64
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 9, 10, 4))
    W = rng.standard_normal((*kernel, 4 // groups, 8))
    b = rng.standard_normal(8)
    dY = rng.standard_normal(conv_output_shape(x, W, stride, padding, dilation))
    fast_out = scratch_conv(x, W, b, stride, padding, dY, "fast", dilation, groups)
    slow_out = scratch_conv(x, W, b, stride, padding, dY, "textbook", dilation, groups)
    assert_match(fast_out, slow_out, tolerance("float64").rel, "fast vs textbook float64")


@pytest.mark.parametrize("kernel, dilation, groups", [
    pytest.param((3, 2), (2, 3), 2, id="k3x2-d2x3-g2"),
    pytest.param((2, 2), (3, 1), 4, id="k2-d3x1-depthwise"),
])
def test_conv2d_dilation_and_groups_backward_match_finite_differences(kernel, dilation, groups):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 6, 7, 4))
    W = rng.standard_normal((*kernel, 4 // groups, 4))
    b = 0.5 + rng.random(4)
    dY = rng.standard_normal(conv_output_shape(x, W, 1, "same", dilation))

    def loss():
        return float(np.sum(conv_forward("textbook", x, W, b, 1, "same", dilation,
                                         groups)[2] * dY))

    analytic = scratch_conv(x, W, b, 1, "same", dY, "textbook", dilation, groups)
    numeric = {name: central_difference(loss, a) for name, a in {"dx": x, "dW": W, "db": b}.items()}
    assert_match({name: analytic[name] for name in numeric}, numeric, FINITE_DIFFERENCE.rel,
                 "conv2d dilation/groups backward vs finite differences")


@pytest.mark.parametrize("image, kernel, dilation", [
    pytest.param((9, 8), (2, 3), (3, 2), id="9x8-k2x3-d3x2"),
    pytest.param((7, 7), (3, 3), (2, 2), id="7x7-k3-d2"),
    pytest.param((5, 6), (4, 2), (1, 3), id="5x6-k4x2-d1x3"),
])
def test_same_padding_with_dilation_matches_tensorflow(image, kernel, dilation):
    # TensorFlow pads the dilated kernel's span (k-1)*d + 1 by its 'same' rule, odd zero after
    from crossframe.keras_impl.backend import tf
    rng = np.random.default_rng(16)
    x, W, b = conv_data(rng, image, kernel, c_in=2, c_out=3, bias=True, dtype="float64")
    y_tf = tf.nn.conv2d(x, W, strides=1, padding="SAME", dilations=(1, *dilation, 1)).numpy() + b
    for impl in IMPLS:
        y = conv_forward(impl, x, W, b, 1, "same", dilation)[2]
        assert rel_error(y, y_tf) <= tolerance("float64").rel, impl


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kernel, dilation", [
    pytest.param((2, 4), (3, 1), id="k2x4-d3x1-odd-totals"),
    pytest.param((3, 3), (2, 2), id="k3-d2-even-totals"),
])
def test_torch_padding_same_with_dilation_is_keras_at_stride_1(kernel, dilation):
    # torch's own padding="same" (stride 1 only) pads d*(k-1) in total, the odd zero after:
    # Keras' amounts (the claim in layers/conv.py DILATION_NOTE)
    rng = np.random.default_rng(17)
    x, W, b = conv_data(rng, (7, 8), kernel, c_in=2, c_out=3, bias=True, dtype="float64")
    x_t, W_t = torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(W).permute(3, 2, 0, 1)
    y_torch = F.conv2d(x_t, W_t, torch.tensor(b), padding="same", dilation=dilation)
    y_scratch = conv_forward("textbook", x, W, b, 1, "same", dilation)[2]
    assert rel_error(y_scratch, y_torch.permute(0, 2, 3, 1).numpy()) <= tolerance("float64").rel


# -- Conv1D against torch ----------------------------------------------------------------------
def scratch_conv1d(x, W, b, stride, padding, dilation, groups, dY) -> dict:
    params = {"W": W} if b is None else {"W": W, "b": b}
    op = textbook.Conv1D(strides=stride, padding=padding, dilation_rate=dilation, groups=groups)
    y, cache = op.forward(params, x)
    grads, dx = op.backward(params, cache, dY)
    return {"y": y, "dx": dx, **{f"d{name}": g for name, g in grads.items()}}


def torch_conv1d(x, W, b, stride, padding, dilation, groups, dY) -> dict:
    """torch autograd on NCL with Keras' pads made explicit ("causal": all on the left)."""
    from crossframe.geometry import pads
    x_t = torch.tensor(x).permute(0, 2, 1).contiguous().requires_grad_()
    W_t = torch.tensor(W).permute(2, 1, 0).contiguous().requires_grad_()
    b_t = None if b is None else torch.tensor(b).requires_grad_()
    left, right = pads(x.shape[1], W.shape[0], stride, padding, dilation)
    y_t = F.conv1d(F.pad(x_t, (left, right)), W_t, b_t, stride=stride, dilation=dilation,
                   groups=groups)
    y_t.backward(torch.tensor(dY).permute(0, 2, 1))
    out = {"y": y_t.detach().permute(0, 2, 1).numpy(), "dx": x_t.grad.permute(0, 2, 1).numpy(),
           "dW": W_t.grad.permute(2, 1, 0).numpy()}
    if b is not None:
        out["db"] = b_t.grad.numpy()
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("k, stride, dilation, groups, padding, bias", [
    pytest.param(3, 1, 1, 1, "valid", True, id="k3-valid"),
    pytest.param(4, 1, 1, 1, "same", True, id="k4-same"),
    pytest.param(3, 2, 1, 1, "causal", False, id="k3-s2-causal-nobias"),
    pytest.param(3, 1, 3, 1, "causal", True, id="k3-d3-causal"),
    pytest.param(2, 1, 2, 2, "same", True, id="k2-d2-g2-same"),
    pytest.param(3, 1, 1, 4, "valid", True, id="depthwise"),
])
def test_conv1d_matches_torch(k, stride, dilation, groups, padding, bias, dtype):
    rng = np.random.default_rng(18)
    x = rng.standard_normal((2, 11, 4)).astype(dtype)
    W = rng.standard_normal((k, 4 // groups, 8)).astype(dtype)
    b = (0.5 * np.arange(1, 9) + 0.1 * rng.random(8)).astype(dtype) if bias else None
    Lo = output_size(11, k, stride, padding, dilation)
    dY = rng.standard_normal((2, Lo, 8)).astype(dtype)
    got = scratch_conv1d(x, W, b, stride, padding, dilation, groups, dY)
    want = torch_conv1d(x, W, b, stride, padding, dilation, groups, dY)
    assert_match(got, want, tolerance(dtype).rel, f"conv1d scratch vs torch {dtype}")


@settings(deadline=None, database=None)
@given(k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same", "causal"]), groups=st.sampled_from([1, 2, 3]),
       length=st.integers(1, 12), bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_conv1d_matches_torch_property(k, s, d, padding, groups, length, bias, seed):
    if padding == "valid":
        length = max(length, (k - 1) * d + 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, length, 2 * groups))
    W = rng.standard_normal((k, 2, 2 * groups))
    b = rng.standard_normal(2 * groups) if bias else None
    dY = rng.standard_normal((2, output_size(length, k, s, padding, d), 2 * groups))
    got = scratch_conv1d(x, W, b, s, padding, d, groups, dY)
    want = torch_conv1d(x, W, b, s, padding, d, groups, dY)
    assert_match(got, want, tolerance("float64").rel, "conv1d scratch vs torch (property)")


def test_conv1d_backward_matches_finite_differences():
    rng = np.random.default_rng(19)
    x = rng.standard_normal((2, 9, 4))
    W = rng.standard_normal((3, 2, 4))
    b = 0.5 + rng.random(4)
    op = textbook.Conv1D(strides=1, padding="causal", dilation_rate=2, groups=2)
    dY = rng.standard_normal((2, 9, 4))

    def loss():
        return float(np.sum(op.forward({"W": W, "b": b}, x)[0] * dY))

    analytic = scratch_conv1d(x, W, b, 1, "causal", 2, 2, dY)
    numeric = {name: central_difference(loss, a) for name, a in {"dx": x, "dW": W, "db": b}.items()}
    assert_match({name: analytic[name] for name in numeric}, numeric, FINITE_DIFFERENCE.rel,
                 "conv1d backward vs finite differences")


def test_group_blocks_pair_block_g_with_block_g():
    from crossframe.scratch.conv import group_blocks
    assert group_blocks(6, 4, 2) == [(slice(0, 3), slice(0, 2)), (slice(3, 6), slice(2, 4))]
    assert group_blocks(3, 3, 1) == [(slice(0, 3), slice(0, 3))]


# -- padding rule ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "size, kernel, stride, expected",
    [
        pytest.param(28, 3, 1, (1, 1), id="odd-kernel-symmetric"),
        pytest.param(28, 4, 1, (1, 2), id="even-kernel-extra-after"),
        pytest.param(28, 3, 2, (0, 1), id="stride2-all-after"),
        pytest.param(27, 3, 2, (1, 1), id="stride2-odd-size"),
        pytest.param(5, 2, 3, (0, 0), id="stride-larger-than-kernel"),
        pytest.param(1, 5, 1, (2, 2), id="kernel-larger-than-image"),
    ],
)
def test_same_padding_rule(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected
    assert output_size(size, kernel, stride, "same") == -(-size // stride)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize(
    "kernel", [pytest.param((4, 4), id="k4x4"), pytest.param((2, 3), id="k2x3")]
)
def test_torch_padding_same_agrees_at_stride_1(kernel):
    # torch's own padding="same" (stride 1 only) also puts the odd extra zero after (bottom/right)
    rng = np.random.default_rng(2)
    x, W, b = conv_data(rng, (7, 8), kernel, c_in=2, c_out=3, bias=True, dtype="float64")
    x_t, W_t = torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(W).permute(3, 2, 0, 1)
    y_torch = F.conv2d(x_t, W_t, torch.tensor(b), padding="same")
    y_scratch = conv_forward("textbook", x, W, b, 1, "same")[2]
    assert rel_error(y_scratch, y_torch.permute(0, 2, 3, 1).numpy()) <= tolerance("float64").rel


# -- MaxPool2D ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "pool, stride, image",
    [
        pytest.param(2, None, (8, 6), id="p2-dividing"),
        pytest.param(2, None, (7, 7), id="p2-7x7-drops-last-row-col"),
        pytest.param(3, None, (7, 8), id="p3-non-dividing"),
        pytest.param(3, 2, (7, 9), id="p3-s2-overlapping"),
        pytest.param(3, 1, (5, 6), id="p3-s1-overlapping"),
        pytest.param(2, 3, (8, 7), id="p2-s3-gaps"),
        pytest.param((2, 3), (1, 2), (6, 7), id="p2x3-s1x2"),
    ],
)
def test_maxpool2d_matches_torch(pool, stride, image, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, *image, 3)).astype(dtype)
    dY = rng.standard_normal(pool_output_shape(x, pool, stride)).astype(dtype)
    got = scratch_pool(x, pool, stride, dY)
    want = torch_pool(x, pool, stride, dY)
    assert_match(got, want, tolerance(dtype).rel, f"maxpool scratch vs torch {dtype}")


@pytest.mark.parametrize(
    "window, first_max",
    [
        pytest.param([[0.0, 0.0], [0.0, 0.0]], (0, 0), id="all-zero-after-relu"),
        pytest.param([[1.0, 3.0], [3.0, 2.0]], (0, 1), id="tie-row0-before-row1"),
        pytest.param([[1.0, 2.0], [3.0, 3.0]], (1, 0), id="tie-within-row1"),
        pytest.param([[5.0, 1.0], [1.0, 5.0]], (0, 0), id="tie-on-diagonal"),
    ],
)
def test_maxpool2d_tie_sends_gradient_to_first_max_in_row_major_order(window, first_max):
    # Edge case: equal values in a window (typically zeros after a ReLU). The whole gradient
    # goes to ONE element, the first maximum in row-major window order -- torch's choice too.
    x = np.array(window).reshape(1, 2, 2, 1)
    dY = np.full((1, 1, 1, 1), 7.0)
    expected = np.zeros_like(x)
    expected[0, first_max[0], first_max[1], 0] = 7.0
    assert np.array_equal(scratch_pool(x, 2, None, dY)["dx"], expected)
    assert np.array_equal(torch_pool(x, 2, None, dY)["dx"], expected)


def test_maxpool2d_ties_in_overlapping_windows():
    # Edge case: all zeros, pool 3 stride 1 on 4x4 -> four overlapping windows whose first
    # elements are their top-left corners (0,0), (0,1), (1,0), (1,1): each corner receives
    # exactly its own window's gradient, although (1,1) lies in all four windows.
    x = np.zeros((1, 4, 4, 1))
    dY = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    expected = np.zeros_like(x)
    expected[0, :2, :2, 0] = [[1.0, 2.0], [3.0, 4.0]]
    assert np.array_equal(scratch_pool(x, 3, 1, dY)["dx"], expected)


def test_maxpool2d_overlapping_windows_accumulate():
    # Edge case: one element that is the maximum of all four overlapping windows receives the
    # sum of their gradients (1 + 2 + 3 + 4).
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 1, 0] = 1.0
    dY = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    expected = np.zeros_like(x)
    expected[0, 1, 1, 0] = 10.0
    assert np.array_equal(scratch_pool(x, 3, 1, dY)["dx"], expected)


@pytest.mark.parametrize(
    "pool, stride",
    [
        pytest.param(2, None, id="p2"),
        pytest.param(3, 1, id="p3-s1"),
        pytest.param(3, 2, id="p3-s2"),
    ],
)
def test_maxpool2d_relu_ties_match_torch(pool, stride):
    # about half the inputs are exactly 0, so most windows of the sparse regions hold ties
    rng = np.random.default_rng(5)
    x = np.maximum(rng.standard_normal((2, 7, 7, 3)), 0.0)
    dY = rng.standard_normal(pool_output_shape(x, pool, stride))
    got = scratch_pool(x, pool, stride, dY)
    want = torch_pool(x, pool, stride, dY)
    assert_match(got, want, tolerance("float64").rel, "maxpool ties scratch vs torch")


def test_maxpool2d_non_dividing_size_drops_last_row_and_column():
    # Edge case: 7x7 with pool 2 -> 3x3 (floor); row 6 and column 6 are in no window.
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 7, 7, 3))
    dY = rng.standard_normal((2, 3, 3, 3))
    got = scratch_pool(x, 2, None, dY)
    assert got["y"].shape == (2, 3, 3, 3)
    assert not got["dx"][:, 6, :, :].any() and not got["dx"][:, :, 6, :].any()
    assert np.array_equal(got["y"], x[:, :6, :6].reshape(2, 3, 2, 3, 2, 3).max(axis=(2, 4)))


def test_maxpool2d_backward_matches_finite_differences():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 7, 6, 2))  # distinct values: the max is locally smooth
    dY = rng.standard_normal(pool_output_shape(x, 3, 2))

    def loss():
        return float(np.sum(MaxPool2D(pool_size=(3, 3), strides=(2, 2)).forward({}, x)[0] * dY))

    analytic = {"dx": scratch_pool(x, 3, 2, dY)["dx"]}
    numeric = {"dx": central_difference(loss, x)}
    assert_match(analytic, numeric, FINITE_DIFFERENCE.rel, "maxpool backward vs finite differences")


@settings(deadline=None, database=None)  # examples: the conftest profile (100; 1000 thorough)
@given(
    ph=st.integers(1, 4),
    pw=st.integers(1, 4),
    sh=st.integers(1, 4),
    sw=st.integers(1, 4),
    extra_h=st.integers(0, 6),
    extra_w=st.integers(0, 6),
    channels=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_maxpool2d_matches_torch_property(ph, pw, sh, sw, extra_h, extra_w, channels, seed):
    rng = np.random.default_rng(seed)
    # values rounded to 0.5 steps: many ties, so the tie rule is exercised too
    x = np.round(2 * rng.standard_normal((2, ph + extra_h, pw + extra_w, channels))) / 2
    dY = rng.standard_normal(pool_output_shape(x, (ph, pw), (sh, sw)))
    got = scratch_pool(x, (ph, pw), (sh, sw), dY)
    want = torch_pool(x, (ph, pw), (sh, sw), dY)
    assert_match(got, want, tolerance("float64").rel, "maxpool scratch vs torch float64 (property)")


# -- Flatten -----------------------------------------------------------------------------------
def test_flatten_is_nhwc_order_and_torch_order_is_a_permutation_of_it():
    N, H, W, C = 2, 3, 4, 5
    x = np.random.default_rng(8).standard_normal((N, H, W, C))
    op = Flatten()
    y, shape = op.forward({}, x)
    y_torch = torch.flatten(torch.tensor(x).permute(0, 3, 1, 2), 1).numpy()  # (c*H + h)*W + w
    # Keras feature (h*W + w)*C + c is torch feature (c*H + h)*W + w: a Dense after Flatten
    # needs its input rows permuted between the frameworks
    nhwc_to_nchw = np.arange(C * H * W).reshape(C, H, W).transpose(1, 2, 0).ravel()
    assert np.array_equal(y, x.reshape(N, H * W * C))
    assert not np.array_equal(y, y_torch)
    assert np.array_equal(y, y_torch[:, nhwc_to_nchw])
    dY = np.random.default_rng(9).standard_normal(y.shape)
    assert np.array_equal(op.backward({}, shape, dY)[1], dY.reshape(x.shape))


# -- dtype preservation ------------------------------------------------------------------------
# each layer with a kernel W (3, 3, 2, 4) and a bias b (4,) of the dtype under test
LAYERS = {
    "conv-same-s1-bias": (lambda: textbook.Conv2D(strides=(1, 1), padding="same"), True),
    "conv-same-s2-nobias": (lambda: textbook.Conv2D(strides=(2, 2), padding="same"), False),
    "conv-valid-s3-bias": (lambda: textbook.Conv2D(strides=(3, 3), padding="valid"), True),
    "fast-conv-same-s2-bias": (lambda: fast.Conv2D(strides=(2, 2), padding="same"), True),
    "fast-conv-valid-s1-nobias": (lambda: fast.Conv2D(strides=(1, 1), padding="valid"), False),
    "conv-same-d2-bias": (lambda: textbook.Conv2D(padding="same", dilation_rate=(2, 2)), True),
    "fast-conv-same-d2-bias": (lambda: fast.Conv2D(padding="same", dilation_rate=(2, 2)), True),
    "maxpool-p2": (lambda: MaxPool2D(pool_size=(2, 2)), None),
    "maxpool-p3-s1": (lambda: MaxPool2D(pool_size=(3, 3), strides=(1, 1)), None),
    "flatten": (lambda: Flatten(), None),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_dtype_is_preserved_in_every_output_and_gradient(layer, dtype):
    rng = np.random.default_rng(11)
    make, bias = LAYERS[layer]
    W, b = rng.standard_normal((3, 3, 2, 4)).astype(dtype), rng.standard_normal(4).astype(dtype)
    params = {} if bias is None else ({"W": W, "b": b} if bias else {"W": W})
    op = make()
    x = rng.standard_normal((2, 8, 7, 2)).astype(dtype)
    y, cache = op.forward(params, x)
    grads, dx = op.backward(params, cache, rng.standard_normal(y.shape).astype(dtype))
    dtypes = {"y": y.dtype, "dx": dx.dtype, **{f"d{k}": g.dtype for k, g in grads.items()}}
    assert dtypes == dict.fromkeys(dtypes, np.dtype(dtype))


# -- the "same" rule is TensorFlow's -----------------------------------------------------------
@pytest.mark.parametrize(
    "image, kernel, stride",
    [
        pytest.param((28, 28), (3, 3), (2, 2), id="28x28-k3-s2"),
        pytest.param((7, 9), (4, 2), (1, 3), id="7x9-k4x2-s1x3"),
        pytest.param((5, 6), (2, 2), (3, 3), id="5x6-k2-s3"),
    ],
)
def test_same_padding_matches_tensorflow(image, kernel, stride):
    from crossframe.keras_impl.backend import tf
    rng = np.random.default_rng(12)
    x, W, b = conv_data(rng, image, kernel, c_in=2, c_out=3, bias=True, dtype="float64")
    y_tf = tf.nn.conv2d(x, W, strides=(1, *stride, 1), padding="SAME").numpy() + b
    for impl in IMPLS:
        y = conv_forward(impl, x, W, b, stride, "same")[2]
        assert rel_error(y, y_tf) <= tolerance("float64").rel, impl
