"""The CLI as a user runs it: a real subprocess, exit codes 0 / 1 / 2, one-line errors.

Every bad input must give exit 2, exactly one line on stderr naming the problem and the fix,
no traceback, and no file written.
"""
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from crossframe.tolerances import tolerance

CLI = [sys.executable, "-m", "crossframe.cli"]


def crossframe(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=cwd, env=env)


def test_list_names_models_and_layers():
    out = crossframe("list")
    assert out.returncode == 0
    assert "mlp" in out.stdout and "linear" in out.stdout and "dense" in out.stdout


@pytest.mark.parametrize("model", ["mlp", "linear"])
def test_check_json_float64_within_1e_12(model):
    out = crossframe("check", model, "--dtype", "float64", "--json")
    rows = json.loads(out.stdout)
    assert out.returncode == 0
    assert {"pair", "tensor", "max_abs", "max_rel", "tol", "ok"} <= set(rows[0])
    assert {r["pair"] for r in rows} == {"scratch~torch", "scratch~keras", "torch~keras"}
    assert max(r["max_rel"] for r in rows) <= tolerance("float64").rel


def test_check_table_float32():
    out = crossframe("check", "mlp", "--dtype", "float32", "--hidden", "20", "--seed", "4")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all within tolerance" in out.stdout


def test_describe_prints_the_declared_transforms():
    out = crossframe("describe", "mlp", "--json")
    info = json.loads(out.stdout)
    torch_w = [r for r in info["frameworks"]["torch"]["params"] if r["canonical"] == "dense1.W"]
    assert torch_w[0]["transform"] == "transpose" and torch_w[0]["shape"] == [32, 64]
    assert out.returncode == 0


def test_weights_roundtrip_through_check(tmp_path):
    path = tmp_path / "w.npz"
    assert crossframe("weights", "mlp", "--out", str(path), "--seed", "7").returncode == 0
    out = crossframe("check", "mlp", "--weights", str(path))
    assert out.returncode == 0, out.stderr


def _save(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def _good(dtype="float64"):
    from crossframe.data import init_weights
    from crossframe.spec import get

    spec = get("mlp")
    return init_weights(spec.param_specs(spec.resolve({})), 0, dtype)


def _bad_files(tmp):
    w = _good()
    files = {}
    files["missing"] = str(tmp / "nope.npz")
    corrupt = tmp / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive")
    files["corrupt"] = str(corrupt)
    pickled = tmp / "pickled.npz"
    pickled.write_bytes(pickle.dumps(w))
    files["pickled"] = str(pickled)
    files["object"] = _save(tmp / "object.npz", **{**w, "dense1.b": np.array([1, "a"], object)})
    files["missing-param"] = _save(tmp / "mp.npz", **{k: v for k, v in w.items()
                                                     if k != "dense2.b"})
    files["extra-param"] = _save(tmp / "ep.npz", **w, **{"dense9.W": np.ones(3)})
    files["transposed"] = _save(tmp / "tr.npz", **{**w, "dense1.W": w["dense1.W"].T})
    files["wrong-shape"] = _save(tmp / "ws.npz", **{**w, "dense1.b": np.ones(31)})
    nan = {**w, "dense2.W": w["dense2.W"].copy()}
    nan["dense2.W"][3, 4] = np.nan
    files["nan"] = _save(tmp / "nan.npz", **nan)
    inf = {**w, "dense3.b": w["dense3.b"].copy()}
    inf["dense3.b"][0] = np.inf
    files["inf"] = _save(tmp / "inf.npz", **inf)
    files["int-dtype"] = _save(tmp / "int.npz", **{**w, "dense1.b": np.arange(32)})
    return files


EXPECT = {
    "missing": "does not exist", "corrupt": "not a readable .npz",
    "pickled": "is a pickle, which is never loaded", "object": "pickled or object",
    "missing-param": "missing parameter(s) dense2.b",
    "extra-param": "unexpected parameter(s) dense9.W",
    "transposed": "looks transposed", "wrong-shape": "expected shape (32,), got (31,)",
    "nan": "NaN/Inf", "inf": "NaN/Inf", "int-dtype": "dtype int64",
}


def _assert_bad_input(out, expect):
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stdout + out.stderr
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert expect in lines[0], lines[0]
    assert out.stdout == ""


@pytest.mark.parametrize("kind", sorted(EXPECT))
def test_bad_weights_file(kind, tmp_path):
    path = _bad_files(tmp_path)[kind]
    _assert_bad_input(crossframe("check", "mlp", "--weights", path), EXPECT[kind])


def test_float64_weights_are_not_silently_rounded_to_float32(tmp_path):
    path = _save(tmp_path / "w64.npz", **_good("float64"))
    _assert_bad_input(crossframe("check", "mlp", "--weights", path, "--dtype", "float32"),
                      "float64 but --dtype float32")


def test_float32_weights_widen_exactly_to_float64(tmp_path):
    path = _save(tmp_path / "w32.npz", **_good("float32"))
    assert crossframe("check", "mlp", "--weights", path).returncode == 0


BAD_ARGS = {
    "unknown-model": (["check", "mlpp"], "unknown model or layer 'mlpp'"),
    "bad-dtype": (["check", "mlp", "--dtype", "float16"], "unknown dtype 'float16'"),
    "bad-flag": (["check", "mlp", "--frobnicate"], "unknown option(s) for mlp"),
    "bad-seed": (["check", "mlp", "--seed", "x"], "invalid int value"),
    "bad-batch": (["check", "mlp", "--batch-size", "0"], "must be at least 1"),
    "bad-option-value": (["check", "mlp", "--activation", "gelu"], "not allowed"),
    "bad-hidden": (["check", "mlp", "--hidden", "3,x"], "is not a list of integers"),
    "unknown-verb": (["frobnicate"], "invalid choice"),
    "describe-unknown": (["describe", "lstmm"], "unknown model or layer"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_bad_arguments(case):
    args, expect = BAD_ARGS[case]
    _assert_bad_input(crossframe(*args), expect)


def test_weights_writes_nothing_on_bad_input(tmp_path):
    target = tmp_path / "out.npz"
    _assert_bad_input(crossframe("weights", "mlp", "--out", str(target), "--dtype", "int8"),
                      "unknown dtype")
    _assert_bad_input(crossframe("weights", "mlp", "--out", str(tmp_path / "no" / "w.npz")),
                      "does not exist")
    assert list(tmp_path.iterdir()) == []



def test_bench_json_reports_every_framework_against_torch():
    """Structure only, never a time: speed goals live in `crossframe bench`, not in tests."""
    # the Keras rows on JAX and torch (worker processes) are tested in test_bench_backends.py
    out = crossframe("bench", "mlp", "--repeats", "1", "--json", "--in-process",
                     "--frameworks", "scratch,scratch-fast,torch,keras")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    assert [r["framework"] for r in rows] == ["scratch", "scratch-fast", "torch", "keras",
                                              "keras (tf.function)"]
    assert next(r for r in rows if r["framework"] == "torch")["ratio_to_torch"] == 1.0
    assert all(r["median_ms"] > 0 and r["min_ms"] <= r["median_ms"] for r in rows)


def test_bench_unknown_workload_is_exit_2():
    out = crossframe("bench", "lstmm")
    assert out.returncode == 2 and "lstm" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
