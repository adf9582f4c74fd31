"""Training-step parity of Keras on every backend: keras-jax and keras-torch train like keras.

keras-jax and keras-torch run keras_impl's Trainer (keras.optimizers' own optimizers, the
gradient by the backend's own mechanism) in a worker process of that backend, behind
crossframe.training.remote.RemoteTrainer. From the same canonical weights, on the same batches,
every weight tensor (running statistics included) and the loss after every step must agree
within ``crossframe.tolerances.TRAJECTORY`` with

- scratch with Keras' formula (``scratch~keras-jax``, exact: the reference of every Keras side),
- Keras on TensorFlow (``keras~keras-jax``, exact: one formula on the same tensors),
- torch, net of the documented torch~keras difference (``torch~keras-jax``, explained),

for a representative set of models: dense layers, BatchNorm's running statistics, LSTM, GRU,
an Embedding (TensorFlow's sparse table gradient) under an L2 added by the trainer, a CNN;
under SGD with momentum, Adam, AdamW's decoupled decay and a coupled decay, float64, STEPS
steps (each step's rounding feeds the next; test_training.py runs 20 on TensorFlow, kept short
here for the time a cold JAX worker takes to compile each model). Measured worst (3 steps):
5.4e-14 (torch~keras-torch, mlp_bn), Keras against Keras 1.1e-14 (keras-jax~keras-torch,
mlp_bn), every other model <= 9.8e-16; float32 mlp adam: keras-jax 1.2e-7, keras-torch
2.0e-7. On JAX the trainer runs its step under jax.jit (keras_impl.optimizers.Trainer,
``compiled``), checked here against the eager step.

Nadam is the one optimizer not exact across backends: Keras on TensorFlow takes 0.96 through
float32, on JAX and torch exactly (test_nadam_on_jax_and_torch_takes_096_exactly).
"""
import json
import os

import numpy as np
import pandas as pd
import pytest

from crossframe import keras_backends
from crossframe.cli import main
from crossframe.runner import prepare
from crossframe.tolerances import TRAJECTORY, rel_error, tolerance
from crossframe.training.config import make_config
from crossframe.training.engines import library_side
from crossframe.training.handover import handover_table
from crossframe.training.remote import RemoteTrainer
from crossframe.training.trajectory import (compare_traces, pairs_of, run_sides,
                                            sides_needed, step_batches)

BACKENDS = ("keras-jax", "keras-torch")
FRAMEWORKS = ("scratch", "torch", "keras", *BACKENDS)
STEPS = 3
WD = 0.01
MATRIX = [
    ("mlp", "momentum", {}),
    ("mlp", "adamw", {"weight_decay": WD}),
    ("mlp_bn", "adam", {}),
    ("lstm", "momentum", {}),
    ("gru", "adam", {}),
    ("embedding_lstm", "momentum", {"coupled_weight_decay": WD}),
    ("convnet", "adam", {}),
]
IDS = ["-".join([m, o, *s]) for m, o, s in MATRIX]


def _pairs_with_a_backend():
    return [p for p in pairs_of(FRAMEWORKS) if set(p) & set(BACKENDS)]


def trajectory(model: str, optimizer: str, settings: dict, dtype: str = "float64",
               steps: int = STEPS) -> pd.DataFrame:
    case = prepare(model, dtype=dtype)
    pairs = _pairs_with_a_backend()
    traces = run_sides(case, make_config(optimizer, **settings), steps,
                       sides_needed(pairs, True))
    return compare_traces(traces, pairs, dtype)


def mismatches(rows: pd.DataFrame) -> list[str]:
    return [f"step {r.step} {r.tensor}: {r.pair} max_rel={r.max_rel:.3g} > {r.tol:g} {r.note}"
            for r in rows[~rows["ok"]].itertuples()]


@pytest.mark.parametrize("model,optimizer,settings", MATRIX, ids=IDS)
def test_trajectory_float64(model, optimizer, settings):
    t = trajectory(model, optimizer, settings)
    expected = {f"{a}~{b}" for a, b in _pairs_with_a_backend()}
    assert set(t["pair"]) == expected
    assert set(t["step"]) == set(range(1, STEPS + 1))
    kinds = t.groupby("pair")["kind"].first()
    assert kinds["keras~keras-jax"] == "exact" and kinds["torch~keras-torch"] == "explained"
    if model == "mlp_bn":   # the running statistics are compared too, every step
        state = {p.name for p in prepare(model).model.params("state")}
        assert state and state <= set(t["tensor"])
    assert not mismatches(t), f"{model} {optimizer} {settings}: " + "; ".join(mismatches(t))


def test_trajectory_float32():
    """One model in float32: each backend within the float32 trajectory bound of keras and of
    scratch (measured worst, mlp adam, 3 steps: keras-jax 1.2e-7, keras-torch 2.0e-7)."""
    t = trajectory("mlp", "adam", {}, "float32")
    worst = t.groupby("pair")["max_rel"].max()
    assert all(worst[f"keras~{b}"] <= TRAJECTORY["float32"].rel for b in BACKENDS), worst
    assert not mismatches(t), "; ".join(mismatches(t))


# --- the float64 care on every backend --------------------------------------------------------
def one_step(framework: str, optimizer: str, **settings) -> dict:
    case = prepare("linear")
    side = library_side(framework, case.model, "float64", case.weights,
                        make_config(optimizer, **settings))
    side.step(case.batch.inputs, case.batch.target)
    return side.weights()


@pytest.mark.parametrize("backend", BACKENDS)
def test_settings_reach_every_backend_in_float64(backend):
    """One step with an L2 the trainer adds and with a decoupled decay (0.3, lr 0.1: 0.3 is
    1.2e-8 off in float32): the same weights as Keras on TensorFlow to the one-pass float64
    bound. Handed to torch's ops as a NumPy float64 scalar, the L2 was taken as float32:
    1.6e-9 after this step."""
    for settings in ({"coupled_weight_decay": 0.3}, {"weight_decay": 0.3}):
        here = one_step("keras", "momentum", lr=0.1, **settings)
        there = one_step(backend, "momentum", lr=0.1, **settings)
        for name in here:
            err = rel_error(here[name], there[name])
            assert err <= tolerance("float64").rel, (settings, name, err)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nadam_on_jax_and_torch_takes_096_exactly(backend):
    """Keras' Nadam casts 0.96 with ops.cast(0.96, float64): through float32 on TensorFlow,
    exactly on JAX and torch. So keras-jax and keras-torch leave Keras on TensorFlow after one
    step (compared raw: a mismatch), are exact against the scratch reference of their own
    backend's formula (scratch[keras-jax], the exact 0.96), and keras~keras-jax is explained by
    the two references' documented difference."""
    case = prepare("linear")
    config = make_config("nadam")
    pairs = [("keras", backend), ("scratch", backend)]
    labels = sides_needed(pairs, True, config)
    assert labels == ["keras", backend, "scratch[keras]", f"scratch[{backend}]"]
    traces = run_sides(case, config, STEPS, labels)
    raw = compare_traces(traces, [("keras", backend)], "float64", explain=False, config=config)
    assert raw[raw["step"] == 1]["max_rel"].max() > tolerance("float64").rel
    table = compare_traces(traces, pairs, "float64", config=config)
    assert not mismatches(table), "; ".join(mismatches(table))
    explained = table[table["pair"] == f"keras~{backend}"]
    assert set(explained["kind"]) == {"explained"}
    assert explained["documented"].max() > tolerance("float64").rel   # the 0.96 difference
    # another optimizer has one Keras formula: one reference for every backend
    assert sides_needed(pairs, True, make_config("adam")) == ["keras", backend, "scratch[keras]"]


def test_jax_eager_and_jitted_steps_agree():
    """Keras' optimizers also run eagerly on JAX (apply_gradients assigning the variables in
    place): the eager trainer and the jitted one take the same steps (linear: an eager JAX
    step compiles each primitive of each shape, ~20 s for mlp_bn on a loaded machine)."""
    case = prepare("linear")
    config = make_config("adam", coupled_weight_decay=WD)
    io = case.model.mapping("keras")
    loaded = io.params_to_framework(case.weights)
    labels = case.model.loss.decl.target == "labels"
    runs = {}
    for compiled in (False, True):
        trainer = RemoteTrainer(keras_backends.build(case.model, "float64", "jax"), loaded,
                                config, case.model.loss, "float64", compiled=compiled)
        losses = [trainer.step(io.inputs_to_framework(b.inputs),
                               io.target_to_framework(b.target, labels))
                  for b in step_batches(case, STEPS)]
        runs[compiled] = (losses, trainer.weights())
        trainer.close()
    (eager_losses, eager), (jit_losses, jitted) = runs[False], runs[True]
    assert rel_error(np.array(eager_losses), np.array(jit_losses)) <= TRAJECTORY["float64"].rel
    for name in eager:
        assert rel_error(eager[name], jitted[name]) <= TRAJECTORY["float64"].rel, name


# --- the trainer in the worker ----------------------------------------------------------------
def held(backend: str) -> int:
    return keras_backends.call(backend, "crossframe.training.remote:held")


def test_remote_trainer_keeps_its_state_in_the_worker_and_forgets_it():
    case = prepare("mlp_bn")
    side = library_side("keras-jax", case.model, "float64", case.weights, make_config("adam"))
    trainer = side.trainer
    assert isinstance(trainer, RemoteTrainer)
    before, statistics = side.predict(case.batch.inputs), trainer.state()
    side.step(case.batch.inputs, case.batch.target)
    state = trainer.optimizer_state()
    assert state["iterations"] == 1 and state["slots"]
    moved = trainer.state()   # BatchNorm's moving statistics, assigned in the worker
    assert statistics and all(not np.array_equal(statistics[k], moved[k]) for k in statistics)
    after = side.predict(case.batch.inputs)
    assert all(not np.array_equal(before[k], after[k]) for k in before)
    # a fresh trainer given that state continues where this one is
    other = library_side("keras-jax", case.model, "float64", side.weights(), make_config("adam"))
    other.trainer.load_optimizer_state(state)
    assert other.trainer.optimizer_state()["iterations"] == 1
    count = held("jax")
    trainer.close()
    assert held("jax") == count - 1
    with pytest.raises(KeyError, match="no Keras trainer"):
        trainer.weights()
    handle = other.trainer.handle
    del other, side
    # collected, the handle waits and goes with the next trainer made on that backend
    library_side("keras-jax", case.model, "float64", case.weights, make_config("sgd"))
    with pytest.raises(KeyError):
        keras_backends.call("jax", "crossframe.training.remote:trainer_call", handle, "state")


def test_handover_across_backends():
    """Weights and Adam's moments handed from Keras on TensorFlow to Keras on JAX and from
    Keras on torch to torch: round trip exact, continuation exact net of the documented
    torch~keras difference."""
    t = handover_table("linear", "adam", steps=2,
                       directions=(("keras", "keras-jax"), ("keras-torch", "torch")),
                       kinds=("roundtrip", "explained"))
    assert set(t["direction"]) == {"keras->keras-jax", "keras-torch->torch"}
    assert set(t["kind"]) == {"roundtrip", "explained"}
    assert t["ok"].all(), t[~t["ok"]].head().to_string()


# --- the CLI ----------------------------------------------------------------------------------
def test_cli_epochs_on_every_keras_backend(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["train", "mlp", "--epochs", "1", "--batch-size", "256", "--optimizer", "sgd",
               "--lr", "0.1", "--frameworks", "keras,keras-jax,keras-torch", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    info = json.loads(out.out)
    assert info["frameworks"] == ["keras", "keras-jax", "keras-torch"]
    df = pd.read_csv(info["csv"])
    assert set(df["framework"]) == {"keras", "keras-jax", "keras-torch"}
    wide = df.pivot_table(index=["epoch", "split", "metric"], columns="framework",
                          values="value")
    for backend in BACKENDS:
        err = np.max(np.abs(wide[backend] - wide["keras"]) / np.abs(wide["keras"]))
        assert err <= TRAJECTORY["float64"].rel, wide


def test_cli_check_with_backends(capsys):
    rc = main(["train", "linear", "--check", "--optimizer", "momentum", "--steps", "2",
               "--frameworks", "scratch,keras,keras-jax,keras-torch", "--json"])
    info = json.loads(capsys.readouterr().out)
    rows = pd.DataFrame(info["rows"])
    assert rc == 0 and info["frameworks"] == ["scratch", "keras", "keras-jax", "keras-torch"]
    assert set(rows["pair"]) == {"scratch~keras", "scratch~keras-jax", "scratch~keras-torch",
                                 "keras~keras-jax", "keras~keras-torch",
                                 "keras-jax~keras-torch"}
    assert set(rows["kind"]) == {"exact"} and rows["max_rel"].max() <= TRAJECTORY[
        "float64"].rel


BAD = {
    "scratch-fast": (["mlp", "--check", "--frameworks", "scratch-fast,keras"],
                     "already runs the fast kernels"),
    "misspelt": (["mlp", "--check", "--frameworks", "keras,keras-jx"],
                 "unknown framework 'keras-jx'"),
    "check-one": (["mlp", "--check", "--frameworks", "keras-jax"], "name 2 or more"),
    "twice": (["mlp", "--epochs", "1", "--frameworks", "keras,keras"], "names one twice"),
    "same-keras": (["mlp", "--check", "--frameworks", "torch,Keras,keras-tensorflow"],
                   "keras and keras-tensorflow are the same Keras"),
    "handover-scratch": (["mlp", "--handover", "--frameworks", "scratch,keras"],
                         "scratch has no optimizer state to hand over"),
    "handover-three": (["mlp", "--handover", "--frameworks", "torch,keras,keras-jax"],
                       "between two libraries"),
    "table": (["--table", "--frameworks", "keras-jax,keras"], "--table takes no model"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_frameworks_exit_2_one_line(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args, message = BAD[case]
    rc = main(["train", *args])
    out = capsys.readouterr()
    assert rc == 2 and message in out.err, out.err
    assert out.err.count("\n") == 1 and out.out == "" and os.listdir(tmp_path) == []
