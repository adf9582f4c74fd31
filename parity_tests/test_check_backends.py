"""`crossframe check` across Keras' backends, as a user runs it, and the worker processes that
run a backend other than this process' (crossframe.keras_backends).

The per-model parity matrix over every backend is parity_tests/test_keras_backends.py; here:
the CLI names and pairs, the user's KERAS_BACKEND honoured and named, and a worker's failures
arriving as one clear error.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from crossframe import keras_backends, runner
from crossframe.errors import InputError
from crossframe.tolerances import tolerance

CLI = [sys.executable, "-m", "crossframe.cli"]
ALL = "scratch,torch,keras,keras-jax,keras-torch"


def crossframe(*args, env=None):
    """The CLI in a subprocess, with the user's KERAS_BACKEND unset unless ``env`` sets it (this
    test process has set it to tensorflow once Keras was imported here)."""
    env = {**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
           "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env)


def test_check_json_every_pair_of_five_frameworks_within_float64_tolerance():
    out = crossframe("check", "gru", "--dtype", "float64", "--frameworks", ALL, "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    names = ALL.split(",")
    want = {f"{a}~{b}" for i, a in enumerate(names) for b in names[i + 1:]}
    pairs = {r["pair"] for r in rows}
    assert len(pairs) == 10 and {"~".join(sorted(p.split("~"))) for p in pairs} == \
        {"~".join(sorted(p.split("~"))) for p in want}
    # every tensor, every pair: outputs, loss, each parameter's and the input's gradient
    tensors = {r["tensor"] for r in rows if r["pair"] == "keras~keras-jax"}
    assert {"loss", "grad:gru.W_x", "grad:gru.W_h", "grad:gru.b", "grad:x"} <= tensors
    assert max(r["max_rel"] for r in rows) <= tolerance("float64").rel
    assert all(r["ok"] for r in rows)
    # each row names the Keras and backend its Keras columns ran, as the table's lines do
    ran = {r["pair"]: r["ran"] for r in rows}
    assert ran["scratch~torch"] == ""
    jax = ran["scratch~keras-jax"]
    assert jax.startswith("keras-jax: Keras 3.") and " on jax " in jax, jax
    both = next(v for p, v in ran.items() if set(p.split("~")) == {"keras", "keras-torch"})
    assert "KERAS_BACKEND unset" in both and " on tensorflow " in both and " on torch " in both


def test_the_table_names_each_keras_column_and_its_backend():
    out = crossframe("check", "dense", "--frameworks", "torch,keras,keras-torch")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(ln.startswith("keras: Keras 3.") and " on tensorflow " in ln
               and "KERAS_BACKEND unset" in ln for ln in lines), out.stdout
    assert any(ln.startswith("keras-torch: Keras 3.") and " on torch " in ln
               and "a process of its own" in ln for ln in lines), out.stdout


def test_a_users_keras_backend_is_the_keras_column():
    out = crossframe("check", "mlp", "--frameworks", "scratch,keras,keras-tensorflow",
                     env={"KERAS_BACKEND": "JAX "})
    assert out.returncode == 0, out.stderr
    assert "keras: Keras 3" in out.stdout and " on jax " in out.stdout
    assert "KERAS_BACKEND=JAX" in out.stdout
    assert "keras-tensorflow: Keras 3" in out.stdout and "a process of its own" in out.stdout


def test_an_unknown_keras_backend_framework_says_which_exist():
    out = crossframe("check", "mlp", "--frameworks", "keras,keras-jx")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "unknown framework 'keras-jx'" in out.stderr and "keras-jax" in out.stderr


def test_a_backend_runs_float64_in_float64():
    case = runner.prepare("lstm", dtype="float64", seed=3)
    for fw in ("keras-jax", "keras-torch"):
        r = runner.run(case, fw)
        assert all(v.dtype == np.float64 for v in r.outputs.values()), fw
        assert all(v.dtype == np.float64 for v in r.grads.values()), fw


def test_an_input_error_in_a_worker_arrives_as_one():
    with pytest.raises(InputError, match="a problem in the worker — the fix"):
        keras_backends.call("jax", "crossframe.testing:raise_in_worker",
                            "a problem in the worker", "the fix")


def test_a_worker_that_stops_is_named_and_the_next_call_starts_a_fresh_one():
    with pytest.raises(keras_backends.WorkerError, match="Keras torch worker stopped"):
        keras_backends.call("torch", "crossframe.testing:stop_worker")
    assert keras_backends.call("torch", "crossframe.keras_backends:versions")["backend"] == \
        "torch"


def test_a_recipe_rebuilds_the_same_model():
    for name in ("text_bigru_masked", "mlp_bn", "dense"):
        model = runner.prepare(name).model
        again = keras_backends.rebuild(keras_backends.portable(model))
        assert [(c.name, c.decl.name, c.opts) for c in again.layers] == \
            [(c.name, c.decl.name, c.opts) for c in model.layers]
        assert again.inputs == model.inputs and again.outputs == model.outputs
        assert again.loss.text() == model.loss.text()


def test_two_names_for_one_keras_are_refused_and_names_are_read_in_any_case():
    same = crossframe("check", "dense", "--frameworks", "keras,KERAS-TENSORFLOW")
    assert same.returncode == 2 and same.stderr.count("\n") == 1
    assert "keras and keras-tensorflow are the same Keras" in same.stderr
    mixed = crossframe("check", "dense", "--frameworks", "Scratch,KERAS-Torch")
    assert mixed.returncode == 0, mixed.stderr
    assert "keras-torch: Keras 3" in mixed.stdout


def test_a_pair_with_an_unknown_framework_is_an_input_error():
    case = runner.prepare("dense")
    with pytest.raises(InputError, match="unknown framework 'keras-jx'.*keras-jax"):
        runner.check(case, pairs=[("scratch", "keras-jx")])


@pytest.mark.parametrize("args, env", [
    (["check", "linear", "--frameworks", "torch,keras-jax"], {}),          # in a worker
    (["check", "linear", "--frameworks", "torch,keras"], {"KERAS_BACKEND": "jax"}),  # here
    # said before the keras column trains, not after (one line: no progress bar first)
    (["train", "linear", "--epochs", "2", "--frameworks", "keras,keras-jax"], {}),
], ids=["worker", "this-process", "train-up-front"])
def test_a_backend_that_cannot_start_is_one_line_and_exit_2(args, env, tmp_path):
    """A device setting JAX cannot meet (or a broken install) is said by name, never a
    traceback or the exit code of a mismatch; nothing is written."""
    out = subprocess.run(CLI + args, capture_output=True, text=True, cwd=tmp_path,
                         env={**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
                              "PYTHONWARNINGS": "ignore", "JAX_PLATFORMS": "tpu", **env})
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "Keras on jax cannot start" in line and "tpu" in line and "JAX_PLATFORMS" in line
    assert os.listdir(tmp_path) == []
