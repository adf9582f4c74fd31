"""Optimizer state handed between torch and Keras mid-run (crossframe.training.handover).

K = 3 steps in one library, weights and optimizer state handed to a fresh model and optimizer of
the other, K more steps; every weight, the loss and the optimizer state compared with runs that
were never interrupted, within ``crossframe.tolerances.TRAJECTORY``:

- every declared optimizer, both directions, on ``linear`` (a Dense layer: the three kinds of
  row, raw ones with the table's eps = 0 where the libraries can agree) and, for optimizers
  that exercise each kind of state, on ``lstm`` (torch's two recurrent biases with a state
  each, or one with ``recurrent_bias="single"``) and ``gru`` (Keras' bias is torch's two,
  stacked in rows);
- the canonical state read from torch and from Keras after the same K steps of the same update
  agree: the conversions measured against the libraries' own numbers, not against each other;
- each library keeps exactly the keys, variables and buffers the table declares;
- the check can fail: a hand-over that drops the state, forgets the lr in Keras' velocity or
  resets the step counter is caught (and by which rows, said in each test), and states that
  cannot be handed over are refused with an error naming them.
"""
import dataclasses
from functools import lru_cache

import numpy as np
import pytest

from crossframe.errors import InputError
from crossframe.runner import prepare
from crossframe.tolerances import TRAJECTORY, rel_error
from crossframe.training import handover as h
from crossframe.training.config import DECLARATIONS, OptimizerConfig, make_config
from crossframe.training.engines import library_side, scratch_side
from crossframe.training.trajectory import step_batches

STEPS = 3
TOL = TRAJECTORY["float64"].rel
OPTIMIZERS = list(DECLARATIONS)
DIRECTIONS = ["torch->keras", "keras->torch"]
SMALL = {"units": 4}


def can_agree(optimizer: str) -> bool:
    return h.HANDOVERS[optimizer].agree is not None


@lru_cache(maxsize=None)
def table(model: str, optimizer: str, raw: bool | None = None, dtype: str = "float64",
          recurrent_bias: str = "two"):
    return h.handover_table(model, optimizer, steps=STEPS, dtype=dtype, raw=raw,
                            options=None if model == "linear" else SMALL,
                            recurrent_bias=recurrent_bias)


def failures(rows) -> list[str]:
    return [f"{r.direction} {r.kind} step {r.step} {r.tensor}: max_rel={r.max_rel:.3g} "
            f"{r.note}" for r in rows[~rows["ok"]].itertuples()]


def failing(t, kind: str | None = None) -> set[str]:
    """The tensors of failing rows (of one kind)."""
    rows = t if kind is None else t[t["kind"] == kind]
    return set(rows[~rows["ok"]]["tensor"])


def test_every_declared_optimizer_has_a_row():
    assert set(DECLARATIONS) <= set(h.HANDOVERS), sorted(set(DECLARATIONS) - set(h.HANDOVERS))


# --- the hand-over continues the run ----------------------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_handover_linear(optimizer, direction):
    t = table("linear", optimizer, raw=can_agree(optimizer))
    rows = t[t["direction"] == direction]
    kinds = {"roundtrip", "explained"} | ({"raw"} if can_agree(optimizer) else set())
    assert set(rows["kind"]) == kinds
    assert set(rows["step"]) == set(range(STEPS + 1, 2 * STEPS + 1))
    assert {"loss", "dense1.W", "dense1.b", "step"} <= set(rows["tensor"])
    assert not failures(rows), f"linear {optimizer}: " + "; ".join(failures(rows))


RECURRENT = [("lstm", "momentum", "two"), ("lstm", "adam", "two"), ("lstm", "nadam", "two"),
             ("lstm", "momentum", "single"), ("gru", "nesterov", "two")]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("model,optimizer,bias", RECURRENT,
                         ids=[f"{m}-{o}-{b}-bias" for m, o, b in RECURRENT])
def test_handover_recurrent(model, optimizer, bias, direction):
    """lstm: torch's bias_ih and bias_hh each carry a state (equal to rounding), Keras one
    bias — no raw rows, as torch moves the bias twice as far; with bias_hh frozen ("single")
    torch follows Keras and the raw rows run. gru: Keras' bias is torch's two stacked (rows,
    not copies): raw rows run."""
    t = table(model, optimizer, recurrent_bias=bias)
    rows = t[t["direction"] == direction]
    raw = model == "gru" or bias == "single"
    assert set(rows["kind"]) == {"roundtrip", "explained"} | ({"raw"} if raw else set())
    assert not failures(rows), f"{model} {optimizer}: " + "; ".join(failures(rows))


def test_handover_float32():
    t = table("linear", "adam", raw=True, dtype="float32")
    assert (t["tol"] == TRAJECTORY["float32"].rel).all() and t["ok"].all(), failures(t)


def test_explained_rows_report_the_documented_difference():
    """Keras' Adam is not torch's: handed over after K steps, Keras continues from other
    weights than its own run had, and that documented gap is shown beside the residual."""
    t = table("linear", "adam", raw=True)
    explained = t[(t["kind"] == "explained") & (t["tensor"] == "dense1.W")]
    assert explained["documented"].min() > TOL


# --- the canonical form is the same quantity in every library -----------------------------------
def agreeing(optimizer: str, **settings) -> OptimizerConfig:
    """The optimizer with the settings under which torch and Keras compute one update."""
    values = {**make_config(optimizer, **settings).values, **(h.HANDOVERS[optimizer].agree or {})}
    return OptimizerConfig(optimizer, values)


CONFIGS = {name: agreeing(name) for name in OPTIMIZERS}
CONFIGS["adam+amsgrad"] = agreeing("adam", amsgrad=True)
LABELS = ["torch", "keras", "scratch[torch]", "scratch[keras]"]


@lru_cache(maxsize=None)
def stepped(name: str, label: str):
    """A ``linear`` side after K steps of ``CONFIGS[name]``."""
    case, config = prepare("linear"), CONFIGS[name]
    side = (scratch_side(case.model, case.dtype, case.weights, config, reference=label[8:-1])
            if label.startswith("scratch") else
            library_side(label, case.model, case.dtype, case.weights, config))
    for batch in step_batches(case, STEPS):
        side.step(batch.inputs, batch.target)
    return side


@pytest.mark.parametrize("name", [n for n in CONFIGS if can_agree(n.split("+")[0])])
def test_torch_and_keras_state_read_as_one(name):
    """The same update in both libraries (eps = 0 where needed), K steps on the same batches:
    torch's momentum_buffer is b and Keras' momentums is -lr b in their own numbers, and both
    read as the same canonical b (likewise every quantity and the step count)."""
    config = CONFIGS[name]
    torch_state = h.read(stepped(name, "torch"), "torch", config, step=STEPS)
    keras_state = h.read(stepped(name, "keras"), "keras", config)
    assert torch_state.step == keras_state.step == STEPS
    for param, slots in torch_state.buffers.items():
        for symbol, value in slots.items():
            assert np.any(value != 0), f"{name} {symbol}[{param}] never moved"
            err = rel_error(value, keras_state.buffers[param][symbol])
            assert err <= TOL, f"{name} {symbol}[{param}]: torch vs keras {err:.3g}"


def declared_keys(name: str, label: str) -> set[str]:
    config = CONFIGS[name]
    decl, qs = h.declaration(config), h.quantities(config)
    if label == "torch":
        return ({q.torch for q in qs} | {s.torch for s in decl.scalars}
                | ({"step"} if decl.torch_step else set()))
    if label == "keras":
        return {q.keras for q in qs} | {s.keras for s in decl.scalars}
    return {q.scratch_keras if label == "scratch[keras]" else q.scratch_torch for q in qs}


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_each_library_keeps_what_the_table_declares(name, label):
    state = stepped(name, label).trainer.optimizer_state()
    if label == "torch":
        kept = [set(slots) for slots in state.values()] or [set()]
    elif label == "keras":
        kept = [set(state["slots"]) | set(state["scalars"])]
    else:
        kept = [set(slots) for slots in state["state"].values()] or [set()]
        scalars = {s.scratch for s in h.declaration(CONFIGS[name]).scalars}
        assert scalars <= set(state["scalars"])
    assert all(k == declared_keys(name, label) for k in kept), (kept, declared_keys(name, label))


# --- the check can fail -----------------------------------------------------------------------
def test_dropped_state_is_caught():
    """The target keeps its fresh optimizer: zero velocity, step count 0 (a count only Keras
    keeps: torch's SGD has none, so the step row can fail where the run ends in Keras)."""
    t = h.handover_table("linear", "momentum", steps=STEPS, raw=True, fault=lambda s: None)
    for kind in ("roundtrip", "explained", "raw"):
        for direction in DIRECTIONS:
            rows = t[(t["kind"] == kind) & (t["direction"] == direction)]
            source, target = direction.split("->")
            last = source if kind == "roundtrip" else target
            counted = {"step"} if last == "keras" else set()
            assert {"dense1.W", "b[dense1.W]"} | counted <= failing(rows), (kind, direction)


def without_lr(quantity: h.Quantity, scale: str) -> h.Quantity:
    return dataclasses.replace(quantity, keras_form=h.Conversion(scale))


@pytest.mark.parametrize("optimizer,scale", [("momentum", "-1"), ("rmsprop_momentum", "1")])
def test_velocity_without_lr_is_caught_by_the_raw_rows(optimizer, scale):
    """Keras' velocity converted without its lr (v = -b instead of -lr b; lr b for RMSprop):
    the roundtrip undoes it on the way back and scratch's hand-over makes the same mistake,
    so only the raw rows, against Keras' own uninterrupted run, can see it — and do."""
    rows = [without_lr(q, scale) if q.symbol == "b" else q
            for q in h.HANDOVERS[optimizer].quantities]
    bad = {**h.HANDOVERS,
           optimizer: dataclasses.replace(h.HANDOVERS[optimizer], quantities=tuple(rows))}
    t = h.handover_table("linear", optimizer, steps=STEPS, raw=True, table=bad)
    for direction in DIRECTIONS:
        rows = t[t["direction"] == direction]
        assert {"dense1.W", "loss"} <= failing(rows, "raw"), direction
        assert not failing(rows, "roundtrip") and not failing(rows, "explained")


def test_reset_step_counter_is_caught():
    """Adam's bias correction restarts at t = 1: the weights part at once."""
    t = h.handover_table("linear", "adam", steps=STEPS, raw=True,
                         fault=lambda s: s.replace(step=0))
    for kind in ("roundtrip", "explained", "raw"):
        assert {"dense1.W", "step"} <= failing(t[t["kind"] == kind]), kind


def test_reset_step_counter_without_effect_on_the_update_is_caught_by_the_state_row():
    """RMSprop's update reads no step count: the weights agree, the state's step does not."""
    t = h.handover_table("linear", "rmsprop", steps=STEPS, raw=True,
                         fault=lambda s: s.replace(step=0))
    assert failing(t) == {"step"}
    assert set(t[~t["ok"]]["kind"]) == {"roundtrip", "explained", "raw"}


# --- what cannot be handed over is refused ----------------------------------------------------
def lstm_torch_side():
    case = prepare("lstm", options=SMALL)
    side = library_side("torch", case.model, case.dtype, case.weights, make_config("adam"))
    for batch in step_batches(case, 2):
        side.step(batch.inputs, batch.target)
    return side


def test_two_recurrent_bias_states_that_differ_are_refused():
    side = lstm_torch_side()
    own = side.trainer.optimizer_state()
    own["lstm.bias_hh_l0"]["exp_avg"] = own["lstm.bias_hh_l0"]["exp_avg"] * 1.5
    side.trainer.load_optimizer_state(own)
    with pytest.raises(h.HandoverError, match="different m for lstm.bias_ih_l0 and "
                                              "lstm.bias_hh_l0"):
        h.read(side, "torch", make_config("adam"))


def test_a_state_key_the_table_does_not_declare_is_refused():
    adam = h.HANDOVERS["adam"]
    bad = {"adam": dataclasses.replace(adam, quantities=adam.quantities[:1])}  # v forgotten
    with pytest.raises(h.HandoverError, match=r"not declared: \['exp_avg_sq'\]"):
        h.read(lstm_torch_side(), "torch", make_config("adam"), table=bad)


def test_a_keras_variable_the_table_misnames_is_refused():
    wrong = dataclasses.replace(h.SGD_VELOCITY, keras="_momentums")
    bad = {"momentum": dataclasses.replace(h.HANDOVERS["momentum"], quantities=(wrong,))}
    with pytest.raises(h.HandoverError, match=r"missing: \['_momentums'\]"):
        h.read(stepped("momentum", "keras"), "keras", CONFIGS["momentum"], table=bad)


def test_an_unknown_step_count_is_refused_where_the_target_keeps_one():
    state = h.read(stepped("momentum", "torch"), "torch", CONFIGS["momentum"])
    assert state.step is None                      # torch's SGD keeps no counter
    case = prepare("linear")
    keras = library_side("keras", case.model, case.dtype, case.weights, CONFIGS["momentum"])
    with pytest.raises(h.HandoverError, match="step count is unknown"):
        h.write(keras, "keras", state, CONFIGS["momentum"])


def test_raw_rows_on_a_model_with_two_recurrent_biases_are_refused():
    with pytest.raises(InputError, match="lstm.bias_ih_l0 and lstm.bias_hh_l0"):
        h.handover_table("lstm", "sgd", steps=1, raw=True, options=SMALL)


@pytest.mark.parametrize("label,state,error,match", [
    ("torch", {"dense1.kernel": {"step": np.zeros(())}}, KeyError, "not parameters"),
    ("torch", {"dense1.weight": {"exp_avg": np.zeros((10, 1))}}, ValueError, r"\(1, 10\)"),
    ("keras", {"slots": {"_velocity": {}}}, KeyError, "has no variables '_velocity'"),
    ("keras", {"slots": {"_momentums": {"dense1/kernel": np.zeros(10)}}}, ValueError,
     r"\(10, 1\) expected"),
    ("scratch[torch]", {"state": {"dense1.W": {"m": np.zeros(3)}}}, KeyError, "not tensors"),
], ids=["torch-name", "torch-shape", "keras-attribute", "keras-shape", "scratch-name"])
def test_trainers_refuse_a_state_that_does_not_fit(label, state, error, match):
    with pytest.raises(error, match=match):
        stepped("adam", label).trainer.load_optimizer_state(state)


def test_summary_is_the_worst_row_per_direction_and_kind():
    t = table("linear", "adam", raw=True)
    s = h.summary(t)
    assert list(s.columns) == ["roundtrip", "explained", "raw", "ok"]
    assert s.loc[("adam", "keras->torch"), "explained"] == t[
        (t["direction"] == "keras->torch") & (t["kind"] == "explained")]["max_rel"].max()
