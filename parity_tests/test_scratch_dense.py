"""Scratch's dense family on its own: finite differences, and the edge cases of activations."""
import numpy as np
import pytest
import torch

from crossframe import activations as A
from crossframe import layers as L
from crossframe.gradcheck import numerical_gradients
from crossframe.runner import prepare
from crossframe.scratch.activations import ReLU, Sigmoid, Tanh
from crossframe.scratch.losses import SoftmaxCrossEntropy
from crossframe.sequential import Sequential
from crossframe.tolerances import FINITE_DIFFERENCE, SAME_OPERATIONS, rel_error, tolerance

CASES = [("linear", {}), ("mlp", {}), ("mlp", {"activation": "tanh"}),
         ("mlp", {"activation": "sigmoid", "hidden": "8"}), ("dense", {}),
         ("dense", {"bias": False}), ("sigmoid", {}), ("tanh", {})]


@pytest.mark.parametrize("name,opts", CASES, ids=[f"{n}{o}" for n, o in CASES])
def test_backward_matches_finite_differences(name, opts):
    case = prepare(name, dtype="float64", seed=3, batch_size=5, options=opts)
    worst = {k: rel_error(a, n) for k, (a, n) in numerical_gradients(case).items()}
    bad = {k: v for k, v in worst.items() if v > FINITE_DIFFERENCE.rel}
    assert not bad, f"{name}: finite differences disagree with backward: {bad}"


def test_relu_gradient_at_zero():
    # At exactly x = 0 the ReLU derivative is taken as 0 — the "x > 0" side — by scratch,
    # torch (threshold_backward) and TensorFlow (ReluGrad). Pinned against both libraries.
    from crossframe.keras_impl.backend import tf

    x = np.array([-1.0, 0.0, 0.0, 2.0])
    g = np.array([1.5, 2.5, -3.5, 4.5])
    op = ReLU()
    _, cache = op.forward({}, x)
    _, scratch = op.backward({}, cache, g)
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).backward(torch.tensor(g))
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = tf.nn.relu(tx)
    tf_grad = tape.gradient(y, tx, output_gradients=tf.constant(g)).numpy()
    np.testing.assert_array_equal(scratch, [0.0, 0.0, 0.0, 4.5])
    np.testing.assert_array_equal(t.grad.numpy(), scratch)
    np.testing.assert_array_equal(tf_grad, scratch)


@pytest.mark.parametrize("op", [Sigmoid, Tanh], ids=["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_saturated_activations_stay_finite_and_silent(op, dtype):
    # sigmoid/tanh at ±300: exp(300) overflows float32; the stable forms must not warn.
    x = np.array([-300.0, -30.0, 0.0, 30.0, 300.0], dtype=dtype)
    # underflow to 0 is the correctly rounded answer (sigmoid(-300) in float32), not an error
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        a = op()
        y, cache = a.forward({}, x)
        _, dx = a.backward({}, cache, np.ones_like(x))
    ref = getattr(torch, op.__name__.lower())(torch.tensor(x)).numpy()
    # element by element, so the far tails (sigmoid(-300) ~ 5e-131) must be accurate too
    worst = max(rel_error(y[i:i + 1], ref[i:i + 1]) for i in range(len(x)))
    assert worst <= tolerance(dtype).rel
    assert np.all(np.isfinite(dx)) and dx.dtype == x.dtype


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    # Logits of 1e4 overflow a naive exp; the shifted log-sum-exp does not.
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    y = np.array([0, 2])
    loss = SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        value = loss.forward(z, y)
        grad = loss.backward()
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y))
    assert rel_error(value, ref.numpy()) <= tolerance("float64").rel
    assert np.all(np.isfinite(grad))


# --- the activation layers and Dense(activation=...), scratch's backward alone -----------------
ACTIVATION_CASES = [("gelu", {"approximate": False}), ("gelu", {"approximate": True}),
                    ("elu", {"alpha": 0.5}), ("selu", {}), ("leaky_relu", {}),
                    ("hard_sigmoid", {}), ("hard_sigmoid_keras2", {}), ("silu", {}),
                    ("softplus", {})]


@pytest.mark.parametrize("name,opts", ACTIVATION_CASES,
                         ids=[f"{n}{o}" for n, o in ACTIVATION_CASES])
def test_activation_layers_match_finite_differences(name, opts):
    # the standard-normal inputs of the lone check land on a kink with probability 0
    case = prepare(name, dtype="float64", seed=3, batch_size=5, options=opts)
    worst = {k: rel_error(a, n) for k, (a, n) in numerical_gradients(case).items()}
    bad = {k: v for k, v in worst.items() if v > FINITE_DIFFERENCE.rel}
    assert not bad, f"{name}{opts}: finite differences disagree with backward: {bad}"


@pytest.mark.parametrize("activation", A.names())
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)], ids=["flat", "image"])
def test_dense_with_activation_matches_finite_differences(activation, shape):
    model = Sequential([L.Dense(units=4, activation=activation)], shape)
    case = prepare(model, dtype="float64", seed=3, batch_size=5)
    worst = {k: rel_error(a, n) for k, (a, n) in numerical_gradients(case).items()}
    bad = {k: v for k, v in worst.items() if v > FINITE_DIFFERENCE.rel}
    assert not bad, f"dense(activation={activation}): finite differences disagree: {bad}"


def test_dense_activation_is_applied_after_the_bias():
    # y = f(x W + b), not f(x W) + b: checked against the formula written out here
    model = Sequential([L.Dense(units=3, activation="elu")], (4,))
    case = prepare(model, dtype="float64", seed=1)
    W, b = case.weights["dense.W"], case.weights["dense.b"]
    x = case.batch.inputs["x"]
    z = x @ W + b
    want = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    from crossframe.runner import run

    assert rel_error(run(case, "scratch").outputs["output"], want) < SAME_OPERATIONS.rel
