"""Masking three-way: right-padded batches of different lengths through SimpleRNN, LSTM, GRU.

- The grid: keras.layers.Masking(mask_value) and Embedding(mask_zero=True) in front of every
  cell, with the output at masked steps carried (a plain Keras layer's default) or zeroed
  (zero_output_for_mask: torch's pad_packed_sequence, Keras' Bidirectional), initial and final
  states, bidirectional (every merge mode), num_layers=2, the output at the last step; all
  three pairs, both dtypes, random upstream gradients at EVERY step (padded ones too), lengths
  that differ (one full length, one of 1); T=100 per cell; a property test over lengths and
  options; the fast scratch twin (it falls back to the textbook loop under a mask).
- Keras' and torch's semantics, by experiment on the real layers (Keras 3.15, torch 2.13): what
  sits at masked steps, the final state, Bidirectional's zero_output_for_mask, the reverse
  direction's start, GlobalAveragePooling1D / GlobalMaxPooling1D / Dense with a mask, and the
  trap that initial_state drops the functional mask.
- The declared difference (carried vs zero outputs) measured; the suite can fail: the mask
  ignored in torch or in scratch, left padding packed with right-padding lengths, the reverse
  direction started at T; bad combinations are one-line InputErrors.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossframe import frameworks
from crossframe.errors import InputError
from crossframe.layers import masking as M
from crossframe.runner import prepare, run
from crossframe.scratch import recurrent as textbook
from crossframe.sequential import Sequential
from crossframe.spec import FRAMEWORKS, PAIRS
from crossframe.testing import assert_results_differ, assert_results_match, scratch_model_with
from crossframe.tolerances import DTYPES, HAND_WRITTEN, SAME_OPERATIONS, tolerance

CELLS = ("simple_rnn", "lstm", "gru")
STEM = {"simple_rnn": "rnn", "lstm": "lstm", "gru": "gru"}
LENGTHS = (6, 2, 4, 1)                     # one full length, one of 1, none zero
OPTIONS = {
    "carry": "return_sequences=true",
    "zeros": "return_sequences=true, zero_output_for_mask=true",
    "states": "return_sequences=true, return_state=true, initial_state=true",
    "zeros-states": "return_sequences=true, return_state=true, initial_state=true, "
                    "zero_output_for_mask=true",
    "last-step": "initial_state=true",
    "no-bias-carry": "return_sequences=true, use_bias=false",
    "two-layers": "num_layers=2, return_sequences=true, return_state=true",
    "two-layers-last-step": "num_layers=2",
    "bidirectional": "bidirectional=true, return_sequences=true, return_state=true, "
                     "initial_state=true",
    "bidirectional-sum": "bidirectional=true, merge_mode=sum, return_sequences=true",
    "bidirectional-mul-last-step": "bidirectional=true, merge_mode=mul",
    "bidirectional-two-layers": "bidirectional=true, num_layers=2, merge_mode=ave, "
                                "return_sequences=true, return_state=true",
}


def inputs_for(model: Sequential, x: np.ndarray, dtype: str, seed: int = 3) -> dict:
    """x and, for every initial state the model takes, a random one (x 0.5)."""
    rng = np.random.default_rng(seed)
    return {"x": x, **{k: (rng.standard_normal((len(x), *s)) * 0.5).astype(dtype)
                       for k, s in model.inputs.items() if k != "x"}}


def masked_case(cell: str, options: str, dtype: str = "float64", lengths=LENGTHS, T: int = 6,
                D: int = 3, H: int = 3, seed: int = 0, mask_value: float = 0.0, x=None):
    """Masking(mask_value) -> cell(options) on a right-padded batch (padded steps all
    mask_value); the upstream gradient is random at every step."""
    model = Sequential.parse(f"masking(mask_value={mask_value}); {cell}(units={H}, {options})",
                             f"{T}x{D}")
    if x is None:
        x, _ = M.padded_batch(len(lengths), T, D, seed=seed, lengths=lengths,
                              mask_value=mask_value)
    return prepare(model, dtype=dtype, seed=seed, inputs=inputs_for(model, x.astype(dtype), dtype))


def ids_case(cell: str, options: str, dtype: str = "float64", lengths=LENGTHS, T: int = 6,
             seed: int = 0, after: str = ""):
    """Embedding(mask_zero=True) -> cell(options)[; after] on right-padded ids (0 = padding)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 7, size=(len(lengths), T))
    ids[np.arange(T)[None, :] >= np.asarray(lengths)[:, None]] = 0
    model = Sequential.parse(f"embedding(input_dim=7, output_dim=3, mask_zero=true); "
                             f"{cell}(units=3, {options}){after}", f"{T}")
    return prepare(model, dtype=dtype, seed=seed, inputs=inputs_for(model, ids, dtype))


def assert_three_agree(case, label: str) -> dict:
    results = {fw: run(case, fw) for fw in FRAMEWORKS}
    for a, b in PAIRS:
        assert_results_match(results[a], results[b], case.dtype, f"{label} {a}~{b}")
    return results


# -- the grid: Masking, every cell, every option, all three pairs, both dtypes -----------------
GRID = [pytest.param(cell, name, dtype, id=f"{cell}-{name}-{dtype}")
        for cell in CELLS for name in OPTIONS for dtype in DTYPES]


@pytest.mark.parametrize("cell, name, dtype", GRID)
def test_masking_grid_agrees_in_all_three(cell, name, dtype):
    results = assert_three_agree(masked_case(cell, OPTIONS[name], dtype), f"{cell} {name}")
    out = results["keras"].outputs
    if "output" in out and out["output"].ndim == 3 and "zeros" in name:
        # torch's zeros at the padded steps, in Keras too: the comparison is not vacuous
        pad = np.arange(6)[None, :] >= np.asarray(LENGTHS)[:, None]
        assert np.all(out["output"][pad] == 0)


@pytest.mark.parametrize("mask_value", [0.0, -1.5])
def test_masking_with_another_mask_value_agrees(mask_value):
    assert_three_agree(masked_case("lstm", OPTIONS["states"], mask_value=mask_value),
                       f"mask_value={mask_value}")


# the cells torch has no layer for (crossframe.torch_impl.recurrent.Explicit): packing by hand
WRITTEN_OUT = {
    "gru-reset-before-states": ("gru", "reset_after=false, return_sequences=true, "
                                "return_state=true, initial_state=true"),
    "gru-reset-before-bidirectional-two-layers": ("gru", "reset_after=false, bidirectional=true, "
                                                  "num_layers=2, return_sequences=true, "
                                                  "return_state=true"),
    "lstm-relu-hard-sigmoid-bidirectional": ("lstm", "activation=relu, recurrent_activation="
                                             "hard_sigmoid, bidirectional=true, "
                                             "return_sequences=true, initial_state=true"),
    "rnn-softplus-carry": ("simple_rnn", "activation=softplus, return_sequences=true"),
    "lstm-keras2-gates-two-layers": ("lstm", "recurrent_activation=hard_sigmoid_keras2, "
                                     "num_layers=2, return_sequences=true, return_state=true"),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", WRITTEN_OUT)
def test_written_out_cells_under_a_mask_agree_in_all_three(name, dtype):
    cell, options = WRITTEN_OUT[name]
    assert_three_agree(masked_case(cell, options, dtype), name)


def test_written_out_cell_ignoring_the_mask_is_caught(monkeypatch):
    """The explicit cell run over the padding as if every step were real (both directions
    start at the ends of the padded batch) is caught."""
    from crossframe.torch_impl import recurrent as torch_recurrent

    case = masked_case("gru", WRITTEN_OUT["gru-reset-before-bidirectional-two-layers"][1])
    original = torch_recurrent.Explicit.forward

    def unmasked(self, x, hx=None, mask=None):
        return original(self, x, hx)
    monkeypatch.setattr(torch_recurrent.Explicit, "forward", unmasked)
    bad = run(case, "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "out:h_seq")
    assert_results_differ(run(case, "scratch"), bad, "float64", "out:h_last")


# -- Embedding(mask_zero=True) ----------------------------------------------------------------
ID_MODELS = {
    "lstm-states": ("lstm", OPTIONS["zeros-states"], ""),
    "gru-carry-dense": ("gru", OPTIONS["carry"], "; dense(units=2)"),
    "rnn-last-step-dense": ("simple_rnn", "", "; dense(units=2)"),
    # the text classifier: ids -> bidirectional GRU x 2 -> global max (ignores the mask) -> Dense
    "bigru2-globalmax-dense": ("gru", "bidirectional=true, num_layers=2, return_sequences=true",
                               "; globalmaxpool1d; dense(units=3)"),
    "bilstm-carry-then-lstm": ("lstm", "bidirectional=true, return_sequences=true",
                               "; lstm(units=2, return_sequences=true)"),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ID_MODELS)
def test_embedding_mask_zero_agrees_in_all_three(name, dtype):
    cell, options, after = ID_MODELS[name]
    assert_three_agree(ids_case(cell, options, dtype, after=after), name)


def test_mask_passes_through_a_dense_layer_to_the_recurrent_layer():
    model = Sequential.parse("embedding(input_dim=5, output_dim=3, mask_zero=true); "
                             "dense(units=4); lstm(units=2)", "6")
    assert model.masked == {"dense", "lstm"}
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 5, size=(3, 6))
    ids[1, 2:] = ids[2, 5:] = 0
    assert_three_agree(prepare(model, inputs={"x": ids}), "dense between")


# -- T = 100 -----------------------------------------------------------------------------------
LONG = [pytest.param(cell, name, dtype, id=f"{cell}-{name}-T100-{dtype}")
        for cell in CELLS for name in ("carry", "bidirectional-two-layers") for dtype in DTYPES]


@pytest.mark.parametrize("cell, name, dtype", LONG)
def test_masking_at_t100_agrees_in_all_three(cell, name, dtype):
    case = masked_case(cell, OPTIONS[name], dtype, lengths=(100, 37, 1, 64), T=100, D=2,
                       seed=3)
    assert_three_agree(case, f"{cell} {name} T=100")


# -- property test -----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(cell=st.sampled_from(CELLS), lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       D=st.integers(1, 3), H=st.integers(1, 3), zeros=st.booleans(), sequences=st.booleans(),
       state=st.booleans(), shape=st.sampled_from(["one", "stacked", "bidirectional"]),
       merge=st.sampled_from(["concat", "sum", "mul", "ave"]), seed=st.integers(0, 2**16))
def test_any_lengths_and_options_agree_in_all_three_float64(cell, lengths, D, H, zeros,
                                                             sequences, state, shape, merge,
                                                             seed):
    T = 5
    opts = [f"return_sequences={str(sequences).lower()}", f"initial_state={str(state).lower()}"]
    if shape == "stacked":
        opts.append("num_layers=2")
    if shape == "bidirectional":
        opts.append(f"bidirectional=true, merge_mode={merge}")
    elif zeros and sequences:
        opts.append("zero_output_for_mask=true")
    case = masked_case(cell, ", ".join(opts), lengths=lengths, T=T, D=D, H=H, seed=seed)
    assert_three_agree(case, f"{cell} {opts} lengths={lengths}")


# -- the fast scratch twin ---------------------------------------------------------------------
@pytest.mark.parametrize("cell", CELLS)
def test_fast_twin_agrees_under_a_mask(cell):
    case = masked_case(cell, OPTIONS["states"])
    assert_results_match(run(case, "scratch"), run(case, "scratch-fast"), "float64", cell)


# -- Keras' and torch's semantics, measured on the real layers ---------------------------------
def keras_layer(cls, **kw):
    from crossframe.keras_impl.backend import keras

    return getattr(keras.layers, cls)(3, return_sequences=True, return_state=True,
                                      dtype="float64", **kw)


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_keras_carries_the_last_output_and_keeps_the_state_at_masked_steps(cls):
    x, lengths = M.padded_batch(3, 5, 2, seed=1, lengths=[5, 2, 3])
    mask = np.arange(5)[None, :] < lengths[:, None]
    layer = keras_layer(cls)
    assert layer.zero_output_for_mask is False            # the Keras default
    y, h, *_ = [np.asarray(o) for o in layer(x, mask=mask)]
    for n, length in enumerate(lengths):
        short = [np.asarray(o) for o in layer(x[n:n + 1, :length])]   # the real steps only
        np.testing.assert_allclose(h[n], short[1][0], rtol=0, atol=HAND_WRITTEN.rel)   # final state
        np.testing.assert_array_equal(y[n, length:], np.repeat(y[n, length - 1:length],
                                                               5 - length, axis=0))


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_keras_zero_output_for_mask_without_sequences_outputs_zero_for_short_sequences(cls):
    """Why crossframe refuses zero_output_for_mask=true with return_sequences=false: Keras'
    output is then the (zeroed) output at step T - 1, while its state, and torch's h_n, hold
    the last real step; Bidirectional sets zero_output_for_mask = return_sequences."""
    from crossframe.keras_impl.backend import keras

    x, lengths = M.padded_batch(2, 5, 2, seed=1, lengths=[5, 2])
    mask = np.arange(5)[None, :] < lengths[:, None]
    layer = getattr(keras.layers, cls)(3, return_state=True, zero_output_for_mask=True,
                                       dtype="float64")
    y, h, *_ = [np.asarray(o) for o in layer(x, mask=mask)]
    assert np.all(y[1] == 0) and not np.allclose(h[1], 0)
    np.testing.assert_array_equal(y[0], h[0])
    bi = keras.layers.Bidirectional(getattr(keras.layers, cls)(3), dtype="float64")
    assert not bi.forward_layer.zero_output_for_mask
    assert not np.allclose(np.asarray(bi(x, mask=mask))[1], 0)


def test_keras_bidirectional_zeroes_masked_steps_and_starts_backward_at_the_last_real_step():
    from crossframe.keras_impl.backend import keras

    x, lengths = M.padded_batch(2, 5, 2, seed=2, lengths=[5, 3])
    mask = np.arange(5)[None, :] < lengths[:, None]
    bi = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True),
                                    dtype="float64")
    y = np.asarray(bi(x, mask=mask))
    assert bi.forward_layer.zero_output_for_mask and bi.backward_layer.zero_output_for_mask
    assert np.all(y[1, 3:] == 0)
    short = np.asarray(bi(x[1:, :3]))                     # the real steps alone
    np.testing.assert_allclose(y[1, :3], short[0], rtol=0, atol=HAND_WRITTEN.rel)


def test_torch_pad_packed_puts_zeros_and_h_n_is_the_last_real_state():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    m = torch.nn.LSTM(2, 3, batch_first=True, bidirectional=True).double()
    x, lengths = M.padded_batch(3, 5, 2, seed=1, lengths=[5, 2, 3])
    xt = torch.as_tensor(x)
    out, (h_n, _) = m(pack_padded_sequence(xt, torch.as_tensor(lengths), batch_first=True,
                                           enforce_sorted=False))
    y, _ = pad_packed_sequence(out, batch_first=True, total_length=5)
    assert torch.all(y[1, 2:] == 0) and torch.all(y[2, 3:] == 0)
    short, (h_short, _) = m(xt[1:2, :2])
    torch.testing.assert_close(y[1, :2], short[0], rtol=0, atol=HAND_WRITTEN.rel)
    torch.testing.assert_close(h_n[:, 1], h_short[:, 0], rtol=0, atol=HAND_WRITTEN.rel)


def test_keras_pooling_and_dense_with_a_mask():
    """GlobalAveragePooling1D averages over the real steps; GlobalMaxPooling1D does not support
    masking (the max runs over every step); Dense passes the mask on unchanged."""
    from crossframe.keras_impl.backend import keras

    ids = np.array([[1, 2, 3, 4], [3, 1, 0, 0]])
    inp = keras.Input((4,), dtype="int64")
    e = keras.layers.Embedding(5, 2, mask_zero=True, dtype="float64")(inp)
    d = keras.layers.Dense(2, dtype="float64")(e)
    avg = keras.layers.GlobalAveragePooling1D(dtype="float64")(d)
    with pytest.warns(UserWarning, match="does not support masking"):
        mx = keras.layers.GlobalMaxPooling1D(dtype="float64")(d)
    assert d._keras_mask is not None and getattr(mx, "_keras_mask", None) is None
    seq, a, m = [np.asarray(t) for t in keras.Model(inp, [d, avg, mx])(ids)]
    np.testing.assert_allclose(a[1], seq[1, :2].mean(0), rtol=SAME_OPERATIONS.rel)
    np.testing.assert_array_equal(m[1], seq[1].max(0))
    assert not np.allclose(a[1], seq[1].mean(0))


def test_keras_initial_state_drops_the_functional_mask():
    """The trap crossframe's Keras stack avoids by passing mask= itself."""
    from crossframe.keras_impl.backend import keras

    x, _ = M.padded_batch(1, 4, 2, seed=0, lengths=[2])
    xi, h0 = keras.Input((4, 2)), keras.Input((3,))
    masked = keras.layers.Masking()(xi)
    gru = keras.layers.GRU(3, return_sequences=True)
    dropped = gru(masked, initial_state=[h0])
    kept = gru(masked, initial_state=[h0], mask=masked._keras_mask)
    a, b = [np.asarray(t) for t in keras.Model([xi, h0], [dropped, kept])([x, np.zeros((1, 3))])]
    np.testing.assert_array_equal(b[0, 2], b[0, 1])       # masked: the output carried
    assert not np.allclose(a[0, 2], a[0, 1])              # the mask was ignored


# -- the declared difference -------------------------------------------------------------------
def test_masked_output_difference_is_declared_and_measured():
    (diff,) = M.DIFFERENCES
    assert diff.measure() > 0.1
    zeros = masked_case("lstm", OPTIONS["zeros"])
    carry = masked_case("lstm", OPTIONS["carry"])
    # final states agree either way; only the padded steps differ
    k, t = run(carry, "keras").outputs["output"], run(zeros, "torch").outputs["output"]
    real = np.arange(6)[None, :] < np.asarray(LENGTHS)[:, None]
    np.testing.assert_allclose(k[real], t[real], rtol=tolerance("float64").rel,
                               atol=SAME_OPERATIONS.rel)
    assert not np.allclose(k[~real], t[~real])


def test_carried_output_sends_padded_step_gradients_into_the_last_real_step():
    """Keras' default: an upstream gradient at a padded step reaches the weights; zeros: it
    does not (the weight gradients then ignore the padded steps' upstream)."""
    for opts, same in ((OPTIONS["carry"], False), (OPTIONS["zeros"], True)):
        case = masked_case("gru", opts)
        pad = np.arange(6)[None, :] >= np.asarray(LENGTHS)[:, None]
        up = dict(case.batch.upstream)
        other = up["output"].copy()
        other[pad] *= -3.0
        changed = dataclasses.replace(case, batch=dataclasses.replace(
            case.batch, upstream={"output": other}))
        a, b = run(case, "keras").grads["gru.W_h"], run(changed, "keras").grads["gru.W_h"]
        assert np.allclose(a, b, rtol=1e-13, atol=0) == same


# -- the suite can fail ------------------------------------------------------------------------
def torch_without_mask(case):
    """A torch port that forgets to pack: the recurrent module runs over the padded steps."""
    model = frameworks.build("torch", case.model, case.dtype)
    cfg = case.model.layers[1]
    module = getattr(model, cfg.name)
    plain = module.forward

    def forward(x, *states, mask=None):
        return plain(x, *states)
    module.forward = forward
    return model


@pytest.mark.parametrize("cell", CELLS)
def test_mask_ignored_in_torch_is_caught(cell):
    case = masked_case(cell, OPTIONS["zeros-states"])
    bad = run(case, "torch", model=torch_without_mask(case))
    assert_results_differ(run(case, "keras"), bad, "float64", "out:h_seq")
    assert_results_differ(run(case, "scratch"), bad, "float64", "out:h_last")


def mask_ignored(cls):
    class MaskIgnored(cls):
        def forward(self, params, x, *states, mask=None):
            return super().forward(params, x, *states)
    return MaskIgnored


TEXTBOOK = {"simple_rnn": textbook.SimpleRNN, "lstm": textbook.LSTM, "gru": textbook.GRU}


@pytest.mark.parametrize("cell", CELLS)
def test_mask_ignored_in_scratch_is_caught(cell):
    case = masked_case(cell, OPTIONS["states"])
    bad = run(case, "scratch", model=scratch_model_with(case, STEM[cell],
                                                        mask_ignored(TEXTBOOK[cell])))
    assert_results_differ(bad, run(case, "keras"), "float64", "out:h_last")
    assert_results_differ(bad, run(case, "torch"), "float64", f"grad:{STEM[cell]}.W_x")


def reverse_from_t(cls):
    """The backward direction run over the padding too: it starts at step T, not at each
    sequence's last real step (a reversed right-padding mask starts with False)."""
    class ReverseFromT(cls):
        def forward_one(self, params, x, *states, mask=None):
            if mask is not None and not mask[:, 0].all():      # the backward direction
                mask = None
            return super().forward_one(params, x, *states, mask=mask)
    return ReverseFromT


@pytest.mark.parametrize("cell", CELLS)
def test_reverse_direction_started_at_t_is_caught(cell):
    case = masked_case(cell, OPTIONS["bidirectional"])
    bad = run(case, "scratch", model=scratch_model_with(case, STEM[cell],
                                                        reverse_from_t(TEXTBOOK[cell])))
    assert_results_differ(bad, run(case, "torch"), "float64", "out:h_seq")
    assert_results_differ(bad, run(case, "keras"), "float64", "out:h_last")


def left_padded(case):
    """The same real steps moved to the END of each row (left padding)."""
    x = case.batch.inputs["x"].copy()
    for n, length in enumerate(LENGTHS):
        x[n] = np.roll(x[n], 6 - length, axis=0)
    return dataclasses.replace(case, batch=dataclasses.replace(
        case.batch, inputs={**case.batch.inputs, "x": x}))


def test_left_padding_is_refused_by_torch_and_packing_it_anyway_is_caught(monkeypatch):
    case = left_padded(masked_case("lstm", OPTIONS["zeros-states"]))
    with pytest.raises(InputError, match="right padding"):
        run(case, "torch")
    # Keras and scratch handle any mask; a torch port packing with lengths = mask.sum(1)
    # reads the padding as the real steps
    assert_results_match(run(case, "scratch"), run(case, "keras"), "float64", "left padded")
    monkeypatch.setattr(M, "lengths_of", lambda mask, where="": np.asarray(mask).sum(axis=1))
    bad = run(case, "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "out:h_last")


# -- bad combinations --------------------------------------------------------------------------
BAD = {
    "go-backwards": ("masking; lstm(units=2, go_backwards=true)", "go_backwards"),
    "zeros-off-bidirectional": ("masking; gru(units=2, bidirectional=true, "
                                "return_sequences=true, zero_output_for_mask=false)",
                                "Bidirectional sets"),
    "zeros-last-step": ("masking; lstm(units=2, zero_output_for_mask=true)", "outputs 0"),
    "average-pool": ("masking; lstm(units=2, return_sequences=true); globalaveragepool1d",
                     "GlobalAveragePooling1D"),
    "flatten": ("masking; flatten", "Flatten"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_combinations_are_one_line_input_errors(name):
    layers, words = BAD[name]
    with pytest.raises(InputError, match=words) as err:
        Sequential.parse(layers, "5x3")
    assert "\n" not in str(err.value)


def test_an_empty_sequence_is_refused_by_torch():
    x, _ = M.padded_batch(2, 4, 3, lengths=[4, 1])
    x[1] = 0.0
    model = Sequential.parse("masking; gru(units=2)", "4x3")
    with pytest.raises(InputError, match="length 0"):
        run(prepare(model, inputs={"x": x}), "torch")


def test_global_max_pool_ends_the_mask_and_a_last_step_output_too():
    model = Sequential.parse("masking; gru(units=2, return_sequences=true); globalmaxpool1d; "
                             "dense(units=2)", "5x3")
    assert model.masked == {"gru", "pool"}
    model = Sequential.parse("masking; lstm(units=2); dense(units=2)", "5x3")
    assert model.masked == {"lstm"}


# -- the printed code computes what the checks compute -----------------------------------------
CODE = {
    "masking-lstm-states": lambda: masked_case("lstm", OPTIONS["states"]),
    "masking-gru-zeros": lambda: masked_case("gru", OPTIONS["zeros"]),
    "masking-bilstm-states": lambda: masked_case("lstm", OPTIONS["bidirectional"]),
    "masking-gru-reset-before-states": lambda: masked_case(
        "gru", WRITTEN_OUT["gru-reset-before-states"][1]),
    "ids-bigru2-globalmax": lambda: ids_case("gru", ID_MODELS["bigru2-globalmax-dense"][1],
                                             after=ID_MODELS["bigru2-globalmax-dense"][2]),
}


@pytest.mark.parametrize("name", CODE)
def test_printed_torch_code_packs_and_computes_the_torch_side(name):
    case = CODE[name]()
    code = case.model.torch_code()
    # torch's own modules pack and unpack; the explicit cell takes the mask ("by hand")
    assert ("pack_padded_sequence" in code and "pad_packed_sequence" in code) or (
        "mask=mask)  # packing by hand" in code)
    namespace: dict = {}
    exec(code, namespace)
    module = namespace["model"]
    mapping = case.mapping("torch")
    module.load_state_dict({k: torch.from_numpy(v) for k, v in
                            mapping.params_to_framework(case.weights).items()})
    pred = module(**{k: torch.from_numpy(v) for k, v in
                     mapping.inputs_to_framework(case.batch.inputs).items()})
    pred = pred if isinstance(pred, dict) else {"output": pred}
    ours = run(case, "torch", backward=False).outputs
    got = mapping.outputs_to_canonical({k: v.detach().numpy() for k, v in pred.items()})
    for k in ours:
        np.testing.assert_allclose(got[k], ours[k], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", CODE)
def test_printed_keras_code_computes_the_keras_side(name):
    from crossframe.keras_impl.backend import keras

    case = CODE[name]()
    namespace: dict = {}
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    try:
        exec(case.model.keras_code(), namespace)
    finally:
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)
    model = namespace["model"]
    weights = case.mapping("keras").params_to_framework(case.weights)
    for v in model.weights:
        path = v.path.split("/", 1)[1] if v.path.startswith("sequential") else v.path
        v.assign(weights[path])
    pred = model({k: v for k, v in case.batch.inputs.items()} if len(case.batch.inputs) > 1
                 else case.batch.inputs["x"])
    pred = pred if isinstance(pred, dict) else {"output": pred}
    ours = run(case, "keras", backward=False).outputs
    for k in ours:
        np.testing.assert_allclose(np.asarray(pred[k]), ours[k], rtol=1e-12, atol=0)


# -- the preset: text_bigru on right-padded tokens ---------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_text_bigru_masked_preset_agrees_on_padded_tokens(dtype):
    case = prepare("text_bigru_masked", dtype=dtype, batch_size=16)
    ids = case.batch.inputs["x"]
    lengths = M.lengths_of(ids != 0)
    assert len(set(lengths.tolist())) > 2 and lengths.max() == ids.shape[1]
    assert case.model.masked == {"gru", "pool"}
    assert_three_agree(case, "text_bigru_masked")
