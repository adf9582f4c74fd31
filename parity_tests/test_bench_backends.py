"""``crossframe bench`` on every Keras backend: the rows exist, hold positive times, and say
the threads they ran with. Structure only, never a time: speed goals live in `crossframe
bench`, not in tests. One measurement (mlp, two repeats) is shared by the module; like the rest
of the suite, this process runs Keras on TensorFlow (KERAS_BACKEND unset)."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from crossframe import bench
from crossframe.errors import InputError

CLI = [sys.executable, "-m", "crossframe.cli", "bench"]
ROWS = ["torch", "keras", "keras (tf.function)", "keras-jax", "keras-jax (jax.jit)",
        "keras-torch"]


@pytest.fixture(scope="module")
def table():
    return bench.measure(["mlp"], repeats=2, warmup=1,
                         frameworks=["torch", "keras", "keras-jax", "keras-torch"])


def test_keras_on_jax_and_torch_are_rows_eager_and_compiled(table):
    assert list(table["framework"]) == ROWS


def test_every_row_has_positive_times_and_a_ratio_to_torch(table):
    assert (table["median_ms"] > 0).all() and (table["min_ms"] > 0).all()
    assert (table["min_ms"] <= table["median_ms"]).all()
    assert table.set_index("framework").loc["torch", "ratio_to_torch"] == 1.0
    assert (table["ratio_to_torch"] > 0).all()


def test_keras_on_torch_computes_with_this_process_torch_threads(table):
    threads = table.set_index("framework")["threads"]
    assert (threads >= 1).all()
    assert threads["keras-torch"] == threads["torch"]


def test_default_rows_are_every_keras_backend_once():
    assert bench.default_frameworks() == ["scratch", "scratch-fast", "torch", "keras",
                                          "keras-jax", "keras-torch"]


def test_default_rows_follow_keras_backend(monkeypatch):
    # Keras on jax here: keras is the jax row, tensorflow and torch run in workers
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert bench.default_frameworks()[3:] == ["keras", "keras-tensorflow", "keras-torch"]


def test_a_backend_not_installed_is_no_default_row(monkeypatch):
    real = importlib.util.find_spec          # JAX is an optional extra
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "jax" else real(name, *args))
    assert bench.default_frameworks() == ["scratch", "scratch-fast", "torch", "keras",
                                          "keras-torch"]


def test_the_eager_row_is_eager_on_jax(monkeypatch):
    """make_step compiles on JAX by default: the eager row must ask for eager by name."""
    from crossframe.keras_impl import engine

    asked = []
    monkeypatch.setattr(engine, "make_step", lambda *args, compiled=None: asked.append(compiled))
    rows = bench._keras_steps(None, (), "keras-jax", "jax")
    assert list(rows) == ["keras-jax", "keras-jax (jax.jit)"] and asked == [False, True]


def test_a_timing_waits_for_the_result_where_the_backend_returns_early():
    """JAX's dispatch returns before the computation ends: ``sync`` runs on every result,
    warm-ups included, and inside the timing."""
    synced = []
    times = bench._time(lambda: len(synced), repeats=3, warmup=2, sync=synced.append)
    assert synced == [0, 1, 2, 3, 4] and len(times) == 3


def test_frameworks_without_torch_is_bad_input():
    with pytest.raises(InputError, match="bench times every row against torch"):
        bench.check_frameworks("keras,keras-jax")


def test_cli_frameworks_flag_picks_the_rows():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run(CLI + ["mlp", "--repeats", "1", "--json", "--in-process",
                                 "--frameworks", "torch,keras-torch"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [r["framework"] for r in rows] == ["torch", "keras-torch"]
    assert rows[0]["threads"] == rows[1]["threads"] and rows[1]["median_ms"] > 0


def test_cli_unknown_framework_is_exit_2_with_one_line():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(CLI + ["mlp", "--frameworks", "torch,keras-jaxx"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 2 and "unknown framework 'keras-jaxx'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_default_backend_that_cannot_start_is_left_out_and_said():
    """bench adds the Keras backends by itself: one that cannot start (here JAX asked for a
    TPU) loses its rows, not everyone's, and the table says why; each Keras row's backend and
    versions are printed under the table."""
    env = {**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
           "JAX_PLATFORMS": "tpu", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(CLI + ["mlp", "--repeats", "1", "--in-process"], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    rows = [ln.split()[2] for ln in lines[1:] if ln.split()[:2] == ["mlp", "float32"]]
    assert "keras-jax" not in rows and {"scratch", "torch", "keras", "keras-torch"} <= set(rows)
    assert any(ln.startswith("keras-jax: not timed — Keras on jax cannot start") for ln in lines)
    assert any(ln.startswith("keras-torch: Keras 3.") and " on torch " in ln for ln in lines)
    # the MLP's target (scratch-fast no slower than torch) is said under the table
    assert any("scratch-fast / torch, float32" in ln and " mlp " in ln for ln in lines)
