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
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


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
    np.testing.assert_allclose(dk[0], up[ids == 0].sum(axis=0), rtol=1e-14)  # Keras trains it
    np.testing.assert_allclose(dt[1:], dk[1:], rtol=1e-14)
    np.testing.assert_array_equal(np.asarray(y), table[ids])       # mask_zero: table unchanged
