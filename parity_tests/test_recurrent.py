"""The recurrent family in all three frameworks: SimpleRNN, LSTM, GRU (reset after / before).

The parity matrix (test_parity.py) already runs every registered recurrent spec at its default
sizes. This file adds what the matrix cannot: edge shapes (T=1, batch 1, hidden 1, T=100),
property tests over shapes and options, "can fail" cases for the bugs ports make (GRU gate
blocks swapped, a bias counted twice, the last step dropped from BPTT), finite differences of
the recurrent *models*, the documented differences, and the CLI flags.

Every comparison is a full Result: outputs, loss, the gradient of every parameter, of the input
x and of the initial state(s) h0 / c0 (the specs pass them by default).
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crossframe.cli import main
from crossframe.describe import describe
from crossframe.gradcheck import numerical_gradients
from crossframe.layers import recurrent as declared
from crossframe.mapping import BlockReorder, Chain, Entry, Identity
from crossframe.models import recurrent as family
from crossframe.runner import prepare, run
from crossframe.runner import with_mapping as run_with_mapping
from crossframe.scratch import recurrent as textbook
from crossframe.spec import FRAMEWORKS, PAIRS, get
from crossframe.testing import assert_results_differ, assert_results_match, scratch_model_with
from crossframe.tolerances import DTYPES, FINITE_DIFFERENCE, rel_error, tolerance

CELLS = tuple(family.CELLS)                     # rnn, lstm, gru, gru_reset_before
LAYERS = [f"{c}_layer" for c in CELLS]
MODELS = [*CELLS, *(f"{c}_seq" for c in CELLS)]
LAYER_PREFIX = {c: family.CELLS[c][0].stem for c in CELLS}
TEXTBOOK = {"rnn": textbook.SimpleRNN, "lstm": textbook.LSTM, "gru": textbook.GRU,
            "gru_reset_before": textbook.GRU}


# -- helpers ----------------------------------------------------------------------------------
def run_three(case) -> dict:
    return {fw: run(case, fw) for fw in FRAMEWORKS}


def assert_three_agree(case, label: str) -> None:
    """Every pair of frameworks, every tensor, within the table's bound for the dtype."""
    results = run_three(case)
    for a, b in PAIRS:
        assert_results_match(results[a], results[b], case.dtype, f"{label} {a}~{b}")


def with_mapping(case, framework: str, rewrite):
    """The case with ``framework``'s parameter rows rewritten by ``rewrite(entry) -> entry``."""
    return run_with_mapping(case, framework, lambda m: dataclasses.replace(
        m, params=tuple(rewrite(e) for e in m.params)))


# -- edge shapes: all three frameworks, every pair ---------------------------------------------
EDGES = {
    # one step: the loops run once; h_seq[:, 0] is h_last, and both upstream gradients meet there
    "T=1": ({"steps": 1}, 4, DTYPES),
    # batch of one: nothing may rely on N > 1 ((1, H) is both C- and F-contiguous)
    "batch=1": ({}, 1, DTYPES),
    # one hidden unit: every gate block is one column, so a block mix-up still shows. float64
    # only: the bias gradient is then a sum of N*T terms of both signs, and in float32 that
    # cancellation leaves ~1e-5 relative between correct codes (test_scratch_recurrent.py).
    "hidden=1": ({"hidden": 1}, 3, ("float64",)),
    # a long sequence: gradients chained through 100 steps, float32 rounding accumulates
    "T=100": ({"steps": 100}, 3, DTYPES),
}
EDGE_CASES = [pytest.param(layer, edge, dtype, id=f"{layer}-{edge}-{dtype}")
              for layer in LAYERS for edge, (_, _, dtypes) in EDGES.items() for dtype in dtypes]


@pytest.mark.parametrize("layer, edge, dtype", EDGE_CASES)
def test_edge_shapes_agree_in_all_three(layer, edge, dtype):
    options, batch_size, _ = EDGES[edge]
    case = prepare(layer, dtype=dtype, seed=3, batch_size=batch_size, options=options)
    assert_three_agree(case, f"{layer} {edge}")


# -- options ----------------------------------------------------------------------------------
OPTION_CASES = [pytest.param(layer, seq, state, id=f"{layer}-seq={seq}-state={state}")
                for layer in LAYERS for seq in (True, False) for state in (True, False)]


@pytest.mark.parametrize("layer, sequences, state", OPTION_CASES)
def test_options_agree_in_all_three(layer, sequences, state):
    case = prepare(layer, dtype="float64", seed=4,
                   options={"return-sequences": sequences, "initial-state": state})
    assert_three_agree(case, layer)


@pytest.mark.parametrize("name", LAYERS + MODELS)
def test_initial_state_gradients_are_in_the_default_result(name):
    """The default batch passes h0 (and c0), so the check covers dL/dh0 (and dL/dc0)."""
    case = prepare(name, dtype="float64")
    cell = name.removesuffix("_layer").removesuffix("_seq")
    states = {"h0", "c0"} if cell == "lstm" else {"h0"}
    assert states <= set(case.batch.inputs)
    assert {f"grad:{s}" for s in states} <= set(run(case, "torch").tensors())


# -- property tests: any shape, any options, three frameworks ----------------------------------
@given(cell=st.sampled_from(CELLS), N=st.integers(1, 4), T=st.integers(1, 7),
       D=st.integers(1, 4), H=st.integers(1, 4), sequences=st.booleans(), state=st.booleans(),
       seed=st.integers(0, 2**16))
def test_any_shape_and_options_agree_in_all_three_float64(cell, N, T, D, H, sequences, state,
                                                           seed):
    # with a single hidden value (N = T = H = 1) the normwise measure is an element's own
    # relative error, and a saturated tanh makes that ill-conditioned (hypothesis found it):
    # test_a_single_saturated_tanh_step_differs_by_its_conditioning covers that case
    assume(N * T * H > 1)
    case = prepare(f"{cell}_layer", dtype="float64", seed=seed, batch_size=N,
                   options={"features": D, "hidden": H, "steps": T,
                            "return-sequences": sequences, "initial-state": state})
    assert_three_agree(case, f"{cell} N={N} T={T} D={D} H={H}")


def test_a_single_saturated_tanh_step_differs_by_its_conditioning():
    # rnn N=T=D=H=1, seed 7718 (found by the property test): h = tanh(z) with |z| ~ 4.6, and
    # every gradient carries tanh'(z) = 1 - h^2 ~ 4e-4, computed from h. NumPy's and torch's
    # tanh may differ by an ulp of h, which 1 - h^2 amplifies by its condition number
    # 2 h^2 / (1 - h^2) (~5e3 here): the two agree within the float64 bound times that number
    # (measured here: 1.86e-12, above the bound alone, which stays as it is everywhere else;
    # on another CPU the two tanh may round alike)
    case = prepare("rnn_layer", dtype="float64", seed=7718, batch_size=1,
                   options={"features": 1, "hidden": 1, "steps": 1,
                            "return-sequences": False, "initial-state": False})
    a, b = run(case, "scratch"), run(case, "torch")
    h = float(np.asarray(a.outputs["h_last"]).ravel()[0])
    kappa = 2 * h * h / (1 - h * h)
    tol = tolerance("float64").rel
    errors = [rel_error(a.grads[k], b.grads[k]) for k in a.grads]
    assert kappa > 1e3
    assert max(errors) <= tol * kappa


# -- the suite can fail -----------------------------------------------------------------------
def without_gate_reorder(entry: Entry) -> Entry:
    """A port that only transposes: Keras' z, r blocks land in torch's r, z rows."""
    t = entry.transform
    if isinstance(t, Chain):
        steps = tuple(s for s in t.steps if not isinstance(s, BlockReorder))
        t = steps[0] if len(steps) == 1 else Chain(steps)
    return Entry(entry.canonical, entry.framework, t, "deliberately wrong: no gate reorder")


@pytest.mark.parametrize("layer", ["gru_layer", "gru_reset_before_layer"])
def test_gru_gate_blocks_z_r_swapped_is_caught(layer):
    case = prepare(layer, dtype="float64")
    bad = run(with_mapping(case, "torch", without_gate_reorder), "torch")
    assert_results_differ(run(case, "keras"), bad, "float64", "out:h_seq")
    assert_results_differ(run(case, "scratch"), bad, "float64", "grad:gru.W_h")


def bias_in_both(entry: Entry) -> Entry:
    """numpy-ml's slip: the one canonical bias copied into bias_ih AND bias_hh."""
    if ".bias_" in entry.framework:
        return Entry(entry.canonical, entry.framework, Identity(), "deliberately wrong: copied")
    return entry


@pytest.mark.parametrize("layer", ["rnn_layer", "lstm_layer", "gru_reset_before_layer"])
def test_bias_counted_twice_is_caught(layer):
    case = prepare(layer, dtype="float64")
    bad = run(with_mapping(case, "torch", bias_in_both), "torch")
    prefix = LAYER_PREFIX[layer.removesuffix("_layer")]
    assert_results_differ(run(case, "keras"), bad, "float64", "out:h_last")
    assert_results_differ(run(case, "scratch"), bad, "float64", f"grad:{prefix}.b")


def dropping_last_step(cls):
    """``cls`` with the classic off-by-one in BPTT: the backward loop starts at step T-2, as
    ``for t in reversed(range(T - 1))`` would — the last step's upstream is lost and the final
    state's gradient is fed to the wrong step."""

    class LastStepDropped(cls):
        def backward(self, params, caches, douts):
            dh_seq, *finals = douts
            grads, (dx, *dstates) = super().backward(params, caches[:-1],
                                                     (dh_seq[:, :-1], *finals))
            dx_all = np.zeros(dh_seq.shape[:2] + dx.shape[2:], dtype=dx.dtype)
            dx_all[:, :-1] = dx
            return grads, (dx_all, *dstates)

    return LastStepDropped


@pytest.mark.parametrize("cell", CELLS)
def test_last_step_dropped_from_bptt_is_caught(cell):
    case = prepare(cell, dtype="float64")            # the classifier: loss from h_last only
    model = scratch_model_with(case, LAYER_PREFIX[cell], dropping_last_step(TEXTBOOK[cell]))
    bad = run(case, "scratch", model=model)
    prefix = LAYER_PREFIX[cell]
    assert_results_differ(bad, run(case, "torch"), "float64", f"grad:{prefix}.W_h")
    assert_results_differ(bad, run(case, "keras"), "float64", "grad:x")


# -- finite differences of the models ----------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
def test_model_gradients_match_finite_differences(name):
    """Scratch's BPTT through a whole model (layer + Dense head + loss), every parameter, x and
    the initial state, against central differences of the loss: independent of torch/Keras."""
    estimates = numerical_gradients(prepare(name, dtype="float64", batch_size=4))
    errors = {k: rel_error(a, n) for k, (a, n) in estimates.items()}
    assert max(errors.values()) <= FINITE_DIFFERENCE.rel, errors


# -- describe: gate order, bias layout and formula from the declarations ----------------------
def test_describe_gru_shows_gate_reorder_bias_rows_and_formulas():
    spec = get("gru")
    info = describe(spec, spec.resolve())
    torch_rows = {r["name"]: r for r in info["frameworks"]["torch"]["params"]}
    assert torch_rows["gru.weight_ih_l0"]["transform"] == (
        "gate blocks z,r,h -> r,z,h (axis -1), then transpose")
    assert torch_rows["gru.bias_hh_l0"]["transform"].startswith("row 1")
    assert "(2, 3H)" in next(p["doc"] for p in info["params"] if p["name"] == "gru.b")
    formulas = {fw: m["formula"] for fw, m in info["frameworks"].items()}
    assert "r * (W_hn h + b_hn)" in formulas["torch"]
    assert "reset_after=True" in formulas["keras"]
    assert "reset AFTER" in formulas["scratch"]


def test_describe_gru_reset_before_names_the_explicit_torch_cell():
    spec = get("gru_reset_before")
    info = describe(spec, spec.resolve())
    formulas = {fw: m["formula"] for fw, m in info["frameworks"].items()}
    assert "GRUResetBefore" in formulas["torch"] and "W_hn (r * h)" in formulas["torch"]
    assert "reset_after=False" in formulas["keras"]
    torch_bias = [r for r in info["frameworks"]["torch"]["params"] if r["canonical"] == "gru.b"]
    assert [r["transform"] for r in torch_bias] == ["gate blocks z,r,h -> r,z,h (axis -1), "
                                                    "then x 0.5"] * 2


def test_torch_bias_halves_add_up_to_the_canonical_bias():
    """The split is exact (halving is exact in binary), and the adjoint returns dL/db when each
    torch bias' gradient is dL/db (b enters only through their sum)."""
    case = prepare("lstm_layer", dtype="float64")
    m = case.mapping("torch")
    fw = m.params_to_framework(case.weights)
    assert np.array_equal(fw["lstm.bias_ih_l0"] + fw["lstm.bias_hh_l0"], case.weights["lstm.b"])
    g = np.arange(16.0)
    back = m.param_grads_to_canonical({"lstm.bias_ih_l0": g, "lstm.bias_hh_l0": g},
                                      {"lstm.b": (16,)})
    assert np.array_equal(back["lstm.b"], g)


# -- the documented differences are real, and measured -----------------------------------------
@pytest.mark.parametrize("difference", declared.DIFFERENCES, ids=lambda d: d.topic)
def test_documented_difference_is_far_above_rounding(difference):
    assert difference.measure() > 1e3 * tolerance("float64").rel


# -- the CLI: layer options are flags after the name ----------------------------------------
def test_cli_check_layer_flags(capsys):
    code = main(["check", "lstm_layer", "--hidden", "5", "--steps", "100", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {r["tensor"] for r in rows} >= {"grad:h0", "grad:c0", "grad:lstm.b", "out:c_last"}
    assert max(r["max_rel"] for r in rows) <= tolerance("float64").rel


@pytest.mark.parametrize("flags, expect", [
    (["--hidden", "0"], "units='0' is not valid (0 must be at least 1)"),
    (["--return-sequences", "maybe"], "return_sequences='maybe' is not valid ('maybe' is not "
                                      "true or false)"),
    (["--steps", "-3"], "steps='-3' is not valid (-3 must be at least 1)"),
], ids=["hidden-0", "return-sequences-maybe", "steps-negative"])
def test_cli_bad_layer_flag_is_one_line_exit_2(flags, expect, capsys):
    code = main(["check", "gru_layer", *flags])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expect in err[0]
