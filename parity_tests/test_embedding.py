"""Embedding: integer ids in, the same (V, E) table in all three, repeated ids adding up in the
table's gradient, no gradient for the ids (said, not silently skipped), and torch's padding_idx
against Keras, a declared difference tested as one."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crossframe.errors import InputError
from crossframe.mapping import Transpose
from crossframe.runner import check, prepare, run, with_mapping
from crossframe.sequential import Sequential
from crossframe.testing import assert_results_differ
from crossframe.tolerances import HAND_WRITTEN, SAME_OPERATIONS, rel_error


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_embedding_agrees_in_all_three_and_rows_repeat(dtype):
    case = prepare("embedding", dtype=dtype)
    ids = case.batch.inputs["x"]
    assert ids.dtype == np.int64 and len(np.unique(ids)) < ids.size     # some rows hit twice
    table = check(case)
    assert table["ok"].all(), table[~table["ok"]].to_string()
    assert "grad:x" not in set(table["tensor"])


def test_embedding_into_an_lstm_classifier_agrees():
    model = Sequential("embedding(input_dim=11, output_dim=4); lstm(units=5); dense(units=3)",
                       input_shape=7, loss="softmax_ce")
    table = check(prepare(model))
    assert table["ok"].all(), table[~table["ok"]].to_string()
    assert "grad:embedding.embeddings" in set(table["tensor"])


def test_the_gradient_of_a_row_is_the_sum_over_its_occurrences():
    case = prepare("embedding")
    ids, G = case.batch.inputs["x"], case.batch.upstream["output"]
    expected = np.zeros((5, 3))
    for (n, t), v in np.ndenumerate(ids):
        expected[v] += G[n, t]
    for fw in ("scratch", "torch", "keras"):
        got = run(case, fw).grads["embedding.embeddings"]
        np.testing.assert_allclose(got, expected, rtol=HAND_WRITTEN.rel,
                                   atol=0.1 * HAND_WRITTEN.rel)


def test_a_table_loaded_transposed_is_caught():
    case = prepare("embedding", options={"input_dim": "4", "output_dim": "4"})
    good = case.mapping("torch")
    wrong = dataclasses.replace(good, params=tuple(
        dataclasses.replace(e, transform=Transpose((1, 0))) for e in good.params))
    bad = run(with_mapping(case, "torch", lambda m: wrong), "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "out:output")


def test_ids_are_refused_out_of_range_and_the_layer_only_first():
    with pytest.raises(InputError, match=r"outside \[0, 5\)"):
        prepare("embedding", inputs={"x": np.full((2, 6), 5)})
    with pytest.raises(InputError, match="expected integer ids"):
        prepare("embedding", inputs={"x": np.zeros((2, 6))})
    with pytest.raises(InputError, match="must be the first layer"):
        Sequential("dense(units=3); embedding(input_dim=4, output_dim=2)", input_shape=6)


def test_torch_padding_idx_freezes_its_row_where_keras_trains_it():
    import tensorflow as tf
    import torch

    from crossframe.keras_impl.backend import keras

    rng = np.random.default_rng(3)
    table, up = rng.standard_normal((5, 3)), rng.standard_normal((2, 4, 3))
    ids = np.array([[0, 1, 0, 2], [3, 0, 4, 1]])
    t = torch.nn.Embedding(5, 3, padding_idx=0).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(table))
    out = t(torch.from_numpy(ids))
    (out * torch.from_numpy(up)).sum().backward()
    k = keras.layers.Embedding(5, 3, dtype="float64", mask_zero=True)
    k.build((None, 4))
    k.embeddings.assign(table)
    with tf.GradientTape() as tape:
        y = k(ids)
        value = tf.reduce_sum(y * up)
    dk = tf.convert_to_tensor(tape.gradient(value, k.embeddings)).numpy()
    dt = t.weight.grad.numpy()
    np.testing.assert_array_equal(out.detach().numpy(), table[ids])       # row 0 is read
    np.testing.assert_array_equal(dt[0], 0.0)                            # ... never trained
    np.testing.assert_allclose(dk[0], up[ids == 0].sum(axis=0),          # Keras trains it
                               rtol=HAND_WRITTEN.rel)
    np.testing.assert_allclose(dt[1:], dk[1:], rtol=HAND_WRITTEN.rel)
    np.testing.assert_array_equal(np.asarray(y), table[ids])       # mask_zero: table unchanged


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop", "adagrad"])
def test_keras_squares_each_occurrence_of_a_repeated_id(optimizer):
    """The declared difference, both sides implemented: Keras' optimizer fed tf.IndexedSlices
    equals scratch's Keras variant squaring each occurrence; fed the dense sum it equals the
    Keras variant squaring the sum; and the two differ."""
    import tensorflow as tf

    from crossframe.keras_impl.backend import keras
    from crossframe.keras_impl.optimizers import build
    from crossframe.scratch.optimizers import build as scratch_build
    from crossframe.training.config import make_config

    rng = np.random.default_rng(5)
    table = rng.standard_normal((5, 3))
    steps = [(rng.integers(0, 5, size=9), rng.standard_normal((9, 3))) for _ in range(4)]
    config = make_config(optimizer, lr=0.05)
    results = {}
    for sparse in (True, False):
        v = keras.Variable(table.copy(), dtype="float64")
        opt = build(config, "float64")
        mine, scratch = {"t": table.copy()}, scratch_build(config, "keras")
        for ids, values in steps:
            g = tf.IndexedSlices(tf.constant(values), tf.constant(ids), tf.constant([5, 3]))
            opt.apply_gradients([(g if sparse else tf.convert_to_tensor(g), v)])
            dense, squares = np.zeros((5, 3)), np.zeros((5, 3))
            np.add.at(dense, ids, values)
            np.add.at(squares, ids, values * values)
            scratch.step(mine, {"t": dense}, {"t": squares} if sparse else None)
        assert rel_error(mine["t"], v.numpy()) <= SAME_OPERATIONS.rel, (optimizer, sparse)
        results[sparse] = v.numpy()
    assert rel_error(results[True], results[False]) > 1e-3
