"""Bad input, every verb: exit 2, exactly one line on stderr naming the problem and the fix, no
traceback, and the file system as it was (a snapshot of the working folder before and after).

The matrix is verb x class of bad input, each cell a real process (``python -m crossframe.cli``)
in a folder holding a file of the user's, run under a memory cap (``RLIMIT_AS``) so a case that
would allocate instead of refusing dies here rather than exhausting the machine. Then what the
same contract asks of good input under hostile conditions: a full disk (``RLIMIT_FSIZE``), a
closed pipe that must not turn a mismatch into 0, SIGINT and SIGTERM in the middle of a run,
an unwritable home, a KERAS_BACKEND that is not TensorFlow's, and what each verb imports.
"""
from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

CLI = [sys.executable, "-m", "crossframe.cli"]
MEMORY_CAP = 6 * 1024 ** 3       # address space: torch and TensorFlow import under it


def _capped():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    # a terminal delivers Ctrl-C to a process whose SIGINT has the default disposition; a
    # pytest-xdist worker ignores SIGINT, and an ignored SIGINT is inherited (Python then never
    # raises KeyboardInterrupt), so restore the default as the user's shell has it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def crossframe(*args, cwd, env=None, preexec=_capped, timeout=300):
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, preexec_fn=preexec, timeout=timeout)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in folder.rglob("*")}


def unwritable_folder(tmp: Path) -> Path:
    """A folder no file can be created in: /sys for root (the permission bits do not stop
    root), else a folder without write permission."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp / "readonly"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


# --- files of every bad kind ------------------------------------------------------------------
def bad_files(tmp: Path) -> dict[str, Path]:
    files = {}
    files["missing"] = tmp / "nope.npz"
    (tmp / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    files["corrupt"] = tmp / "corrupt.npz"
    (tmp / "pickled.npz").write_bytes(pickle.dumps({"dense1.W": np.ones(3)}))
    files["pickled"] = tmp / "pickled.npz"
    np.save(tmp / "single.npy", np.ones((3, 3)))
    files["plain-npy"] = tmp / "single.npy"
    (tmp / "notes.npz").write_text("these are my notes, not weights\n")
    files["text"] = tmp / "notes.npz"
    with open(tmp / "sparse.npz", "wb") as fh:    # 2 GB of nothing, never read
        fh.truncate(2 * 1024 ** 3)
    files["sparse-2GB"] = tmp / "sparse.npz"
    files["huge-declared"] = huge_declared(tmp / "huge.npz")
    np.savez(tmp / "object.npz", **{"dense1.W": np.array([1, "a"], dtype=object)})
    files["object"] = tmp / "object.npz"
    full = tmp / "truncated.npz"
    np.savez(full, **{"dense1.W": np.ones((64, 32)), "dense1.b": np.ones(32)})
    full.write_bytes(full.read_bytes()[:600])
    files["truncated"] = full
    return files


def huge_declared(path: Path) -> Path:
    """A compressed .npz of a few KB whose member's header declares a 745 GiB float64 array."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (10_000_000, 10_000)}
    buf = bytearray()
    import io

    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    buf += stream.getvalue() + bytes(1024 * 1024)        # the first MB of zeros
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("dense1.W.npy", bytes(buf))
    return path


FILE_EXPECT = {
    "missing": "does not exist", "corrupt": "not a readable .npz", "pickled": "is a pickle",
    "plain-npy": "holds a single array (.npy)", "text": "not an .npz file (not a zip archive)",
    "sparse-2GB": "not an .npz file", "huge-declared": "above the memory budget",
    "object": "pickled or object arrays", "truncated": "truncated or corrupt",
}


# --- the matrix: verb x class of bad input ----------------------------------------------------
def matrix(tmp: Path) -> dict[str, tuple[list, str]]:
    files = bad_files(tmp)
    ro = unwritable_folder(tmp)
    (tmp / "taken.npz").write_bytes(b"mine")
    (tmp / "site").mkdir()
    (tmp / "site" / "index.html").write_text("my page")
    (tmp / "site" / "notes.txt").write_text("my notes")
    cases = {
        # list
        "list/extra-argument": (["list", "mlp"], "unknown argument(s): mlp"),
        # describe
        "describe/unknown-name": (["describe", "lstmm"], "unknown model or layer 'lstmm'"),
        "describe/unknown-option": (["describe", "mlp", "--widht", "3"], "unknown option(s)"),
        "describe/bad-value": (["describe", "mlp", "--activation", "gelu"], "not allowed"),
        "describe/empty-item": (["describe", "mlp", "--units", "8,,8"], "empty item"),
        "describe/zero-size": (["describe", "dense", "--units", "0"], "must be at least 1"),
        "describe/layer-options": (["describe", "--layer", "lstm", "--units", "3"],
                                   "takes no options"),
        # check
        "check/unknown-name": (["check", "mlpp"], "unknown model or layer 'mlpp'"),
        "check/unknown-option": (["check", "mlp", "--frobnicate", "1"], "unknown option(s)"),
        "check/bad-dtype": (["check", "mlp", "--dtype", "float16"], "unknown dtype 'float16'"),
        "check/bad-mode": (["check", "mlp", "--mode", "test"], "unknown mode 'test'"),
        "check/negative-seed": (["check", "mlp", "--seed", "-1"], "--seed -1 must be >= 0"),
        "check/seed-not-a-number": (["check", "mlp", "--seed", "x"], "invalid int value"),
        "check/zero-batch": (["check", "mlp", "--batch-size", "0"], "must be at least 1"),
        "check/batch-above-data": (["check", "linear", "--batch-size", "7000"],
                                   "diabetes has 442 rows"),
        "check/negative-size": (["check", "lstm_layer", "--steps", "-3"], "must be at least 1"),
        "check/empty-item": (["check", "mlp", "--units", "8,,8"], "empty item"),
        "check/empty-weights": (["check", "mlp", "--weights", ""], "the weights path is empty"),
        "check/unknown-framework": (["check", "mlp", "--frameworks", "scratch,jax"],
                                    "unknown framework 'jax'"),
        "check/one-framework": (["check", "mlp", "--frameworks", "torch"], "two or more"),
        "check/bad-layers": (["check", "sequential", "--layers", "dense(4);; relu"],
                             "empty item"),
        "check/bad-loss": (["check", "sequential", "--loss", "maes"], "unknown loss 'maes'"),
        "check/huge-batch": (["check", "dense", "--batch-size", "100000000"],
                             "above the memory budget"),
        "check/huge-units": (["check", "mlp", "--units", "100000000"], "above the memory budget"),
        "check/huge-steps": (["check", "lstm_layer", "--steps", "100000000"],
                             "above the memory budget"),
        "check/huge-image": (["check", "conv2d", "--height", "100000", "--width", "100000"],
                             "above the memory budget"),
        "check/dump-exists": (["check", "dense", "--dump", tmp / "taken.npz"],
                              "exists — pass --force"),
        "check/dump-unwritable": (["check", "dense", "--dump", ro / "d.npz"], "not writable"),
        "check/dump-is-a-folder": (["check", "dense", "--dump", tmp / "site"], "is a folder"),
        "check/bad-max-memory": (["check", "dense", "--max-memory", "lots"], "is not a size"),
        # weights
        "weights/unknown-name": (["weights", "mlpp", "--out", tmp / "w.npz"],
                                 "unknown model or layer"),
        "weights/bad-dtype": (["weights", "mlp", "--out", tmp / "w.npz", "--dtype", "int8"],
                              "unknown dtype"),
        "weights/negative-seed": (["weights", "mlp", "--out", tmp / "w.npz", "--seed", "-1"],
                                  "must be >= 0"),
        "weights/no-folder": (["weights", "mlp", "--out", tmp / "no" / "w.npz"],
                              "does not exist"),
        "weights/unwritable": (["weights", "mlp", "--out", ro / "w.npz"], "not writable"),
        "weights/onto-a-folder": (["weights", "mlp", "--out", tmp / "site"], "is a folder"),
        "weights/exists": (["weights", "mlp", "--out", tmp / "taken.npz"], "exists"),
        "weights/huge": (["weights", "mlp", "--units", "100000000", "--out", tmp / "w.npz"],
                         "above the memory budget"),
        # train
        "train/unknown-optimizer": (["train", "mlp", "--check", "--optimizer", "adma"],
                                    "did you mean 'adam'"),
        "train/negative-seed": (["train", "mlp", "--check", "--seed", "-1"], "must be >= 0"),
        "train/zero-epochs": (["train", "mlp", "--epochs", "0"], "must be at least 1"),
        "train/zero-steps": (["train", "mlp", "--check", "--steps", "0"], "must be at least 1"),
        "train/lone-layer": (["train", "dense", "--check"], "has no loss"),
        "train/out-unwritable": (["train", "linear", "--epochs", "1", "--out", ro / "run"],
                                 "not writable"),
        "train/out-is-a-file": (["train", "linear", "--epochs", "1", "--out",
                                 tmp / "taken.npz"], "is a file"),
        "train/empty-item": (["train", "mlp", "--check", "--units", "8,,8"], "empty item"),
        # bench
        "bench/unknown-workload": (["bench", "lstmm"], "unknown benchmark 'lstmm'"),
        "bench/zero-repeats": (["bench", "mlp", "--repeats", "0"], "must be from 1 to"),
        "bench/huge-repeats": (["bench", "mlp", "--repeats", "100000000"], "must be from 1 to"),
        "bench/bad-dtype": (["bench", "mlp", "--dtype", "half"], "unknown dtype"),
        # report
        "report/unknown-model": (["report", "--out", tmp / "r", "--models", "nope"],
                                 "unknown model or layer 'nope'"),
        "report/unknown-optimizer": (["report", "--out", tmp / "r", "--optimizer", "nosuch"],
                                     "unknown optimizer 'nosuch'"),
        "report/negative-seed": (["report", "--out", tmp / "r", "--seed", "-1"], "must be >= 0"),
        "report/zero-epochs": (["report", "--out", tmp / "r", "--epochs", "0"],
                               "must be at least 1"),
        "report/bad-dtype": (["report", "--out", tmp / "r", "--dtype", "float16"],
                             "unknown dtype"),
        "report/not-ours": (["report", "--out", tmp / "site", "--models", "dense"],
                            "holds files crossframe did not write"),
        "report/unwritable": (["report", "--out", ro / "r", "--models", "dense"],
                              "not writable"),
        "report/out-is-a-file": (["report", "--out", tmp / "taken.npz"], "is a file"),
        "report/out-is-a-link": (["report", "--out", tmp / "link", "--models", "dense"],
                                 "is a symbolic link"),
        "report/force-over-their-index": (["report", "--out", tmp / "site", "--force",
                                           "--models", "dense"], "holds index.html"),
        "report/empty-model-item": (["report", "--out", tmp / "r", "--models", "mlp,"],
                                    "empty item"),
        "report/huge-repeats": (["report", "--out", tmp / "r", "--repeats", "100000000"],
                                "must be from 1 to"),
        # what a breaker found after the first round
        "check/huge-weight-values": (["check", "dense", "--weights", tmp / "big.npz"],
                                     "overflow to inf"),
        "check/inputs-a-fifo": (["check", "dense", "--inputs", tmp / "fifo"],
                                "not a regular file"),
        "check/dump-is-the-weights": (["check", "dense", "--weights", tmp / "taken.npz",
                                       "--dump", tmp / "taken.npz", "--force"],
                                      "is the --weights file"),
        "check/dump-empty": (["check", "dense", "--dump", ""], "the output path is empty"),
        "check/dump-dangling-link": (["check", "dense", "--dump", tmp / "dangling.npz"],
                                     "symbolic link to nothing"),
        "check/option-twice": (["check", "dense", "--units", "3", "--units", "4"],
                               "is given twice"),
        "check/batchnorm-center-without-scale": (["check", "batchnorm", "--center", "true",
                                                  "--scale", "false"], "no torch layer"),
        "check/dropout-rate-1": (["check", "dropout", "--rate", "1"], "the rate must be below 1"),
        "check/batchnorm-batch-of-one": (["check", "batchnorm", "--input", "6", "--batch-size",
                                          "1"], "which has no variance"),
        "train/batchnorm-batch-of-one": (["train", "mlp_bn", "--check", "--batch-size", "1"],
                                         "which has no variance"),
        "check/embedding-float-ids": (["check", "embedding", "--inputs", tmp / "floats.npz"],
                                      "expected integer ids"),
        "check/embedding-ids-out-of-range": (["check", "embedding", "--inputs",
                                              tmp / "ids.npz"], "outside [0, 5)"),
        "check/embedding-not-first": (["check", "sequential", "--input", "6", "--layers",
                                       "dense(units=3); embedding(input_dim=4, output_dim=2)"],
                                      "must be the first layer"),
        "train/out-empty": (["train", "linear", "--epochs", "1", "--out", ""], "--out is empty"),
        "train/batch-above-train-rows": (["train", "linear", "--epochs", "1", "--batch-size",
                                          "100000"], "larger than the"),
        "train/huge-steps": (["train", "mlp", "--check", "--steps", "100000000"],
                             "above the memory budget"),
        "train/foreign-setting": (["train", "mlp", "--check", "--optimizer", "sgd", "--beta1",
                                   "0.5"], "optimizer sgd has no setting 'beta1'"),
        "train/beta-one": (["train", "mlp", "--check", "--beta2", "1"], "in [0, 1)"),
        "train/two-decays": (["train", "mlp", "--check", "--weight-decay", "0.1",
                              "--coupled-weight-decay", "0.1"], "give one of them"),
        "train/unknown-init": (["train", "mlp", "--check", "--init", "jax"], "unknown init"),
        "train/unknown-recurrent-bias": (["train", "lstm", "--check", "--torch-recurrent-bias",
                                          "one"], "invalid choice"),
        "train/handover-zero-steps": (["train", "mlp", "--handover", "--steps", "0"],
                                      "must be at least 1"),
        "train/handover-with-check": (["train", "mlp", "--handover", "--check"],
                                      "not allowed with argument"),
        "train/nesterov-without-momentum": (["train", "mlp", "--check", "--optimizer",
                                             "nesterov", "--momentum", "0"],
                                            "--momentum 0 is not allowed for nesterov"),
        "train/eps-zero-goes-non-finite": (["train", "mlp", "--check", "--optimizer", "adam",
                                            "--eps", "0", "--steps", "2"],
                                           "every side (torch, keras"),
        "train/table-with-lr": (["train", "--table", "--lr", "5"], "(got --lr)"),
        "train/table-unknown-optimizer": (["train", "--table", "--optimizer", "bogus"],
                                          "unknown optimizer 'bogus'"),
        "describe/layer-reductions": (["describe", "--layer", "dense", "--reductions"],
                                      "is a layer kind"),
        "train/handover-non-finite": (["train", "linear", "--handover", "--optimizer", "sgd",
                                       "--lr", "1e150", "--steps", "3"],
                                      "every run's loss went non-finite"),
        "train/handover-force": (["train", "linear", "--handover", "--force"],
                                 "--force is for --epochs runs"),
        "init/unknown-layer": (["init", "--table", "--layer", "lstmm"], "did you mean"),
        "init/no-table": (["init"], "--table"),
        "describe/reductions-without-loss": (["describe", "dense", "--reductions"], "no loss"),
    }
    np.savez(tmp / "floats.npz", x=np.zeros((2, 6)))
    np.savez(tmp / "ids.npz", x=np.full((2, 6), 7))
    np.savez(tmp / "big.npz", **{"dense1.W": np.full((12, 7), 1e200),
                                 "dense1.b": np.ones(7)})
    os.mkfifo(tmp / "fifo")
    (tmp / "r2").mkdir()
    (tmp / "link").symlink_to(tmp / "r2")
    (tmp / "dangling.npz").symlink_to(tmp / "nowhere.npz")
    for kind, path in files.items():
        cases[f"check/weights-{kind}"] = (["check", "mlp", "--weights", path], FILE_EXPECT[kind])
        cases[f"check/inputs-{kind}"] = (["check", "mlp", "--inputs", path], FILE_EXPECT[kind])
    cases["train/weights-not-taken"] = (["train", "mlp", "--check", "--weights", files["text"]],
                                        "unknown option(s) for mlp: --weights")
    return cases


def _names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:     # names only; each test builds its own
        return sorted(matrix(Path(folder)))


CASES = _names()


def test_the_matrix_covers_every_verb_and_every_class_of_bad_file():
    verbs = {name.split("/")[0] for name in CASES}
    assert verbs == {"list", "describe", "check", "weights", "train", "bench", "report", "init"}
    assert {n for n in CASES if n.startswith("check/weights-")} == {
        f"check/weights-{k}" for k in FILE_EXPECT}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, tmp_path):
    args, expect = matrix(tmp_path)[case]
    before = snapshot(tmp_path)
    out = crossframe(*args, cwd=tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stdout + out.stderr
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith("crossframe: error: ") and " — " in lines[0], lines[0]
    assert expect in lines[0], lines[0]
    assert out.stdout == ""
    assert snapshot(tmp_path) == before


def test_huge_requests_are_refused_in_a_second_with_little_memory(tmp_path):
    for args in (["check", "dense", "--batch-size", "100000000"],
                 ["check", "mlp", "--weights", huge_declared(tmp_path / "huge.npz")]):
        t0 = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%M", *CLI, *map(str, args)],
                             capture_output=True, text=True, cwd=tmp_path)
        kib = int(out.stderr.strip().splitlines()[-1])
        assert out.returncode == 2 and "memory budget" in out.stderr
        assert kib < 300 * 1024, f"{args}: {kib} KiB resident"
        assert time.perf_counter() - t0 < 30   # a bound against reading the file, not a goal


# --- hostile conditions on good input ---------------------------------------------------------
def test_a_full_disk_leaves_no_file_behind(tmp_path):
    def small_files():
        _capped()
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))   # writes beyond 1 KB fail
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for args in (["weights", "mlp", "--out", tmp_path / "w.npz"],
                 ["check", "dense", "--frameworks", "scratch,torch",
                  "--dump", tmp_path / "d.npz"],
                 ["train", "linear", "--epochs", "1", "--out", tmp_path / "run"]):
        out = crossframe(*args, cwd=tmp_path, preexec=small_files)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert "free some space" in lines[-1], lines[-1]
        leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
        assert leftovers == [], leftovers


def _piped(*args, cwd):
    """Run with stdout a pipe whose reader is already gone: every write is EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(CLI + [str(a) for a in args], stdout=write, stderr=subprocess.PIPE,
                              text=True, cwd=cwd, preexec_fn=_capped, timeout=300)
    finally:
        os.close(write)
    return proc


def test_a_closed_pipe_never_turns_a_mismatch_into_zero(tmp_path):
    # a learner's dense layer whose bias gradient averages: a real mismatch, exit 1, however
    # the output is consumed
    learner = Path(__file__).parent / "learners" / "dense_mean.py"
    args = ["verify", learner, "--layer", "dense"]
    assert crossframe(*args, cwd=tmp_path).returncode == 1
    piped = _piped(*args, cwd=tmp_path)
    assert piped.returncode == 1 and "Traceback" not in piped.stderr
    assert _piped("check", "dense", "--frameworks", "scratch,torch", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated")])
def test_an_interrupted_report_leaves_nothing_behind(sig, code, word, tmp_path):
    proc = subprocess.Popen(CLI + ["report", "--out", str(tmp_path / "site"), "--quiet",
                                   "--no-bench", "--models", "mlp,lstm,convnet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, preexec_fn=_capped)
    time.sleep(8)                       # in the middle of the checks
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"crossframe: {word}; nothing was written"], err
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_training_run_leaves_nothing_behind(tmp_path):
    proc = subprocess.Popen(CLI + ["train", "mlp", "--epochs", "500", "--out", "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, preexec_fn=_capped)
    time.sleep(8)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_home_prints_no_warnings(tmp_path):
    out = crossframe("check", "mlp", "--frameworks", "scratch,keras", cwd=tmp_path,
                     env={"HOME": "/dev/null/nowhere"})
    assert out.returncode == 0 and out.stderr == "", out.stderr


def test_a_keras_backend_crossframe_does_not_run_is_named(tmp_path):
    out = crossframe("check", "mlp", cwd=tmp_path, env={"KERAS_BACKEND": "numpy"})
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "KERAS_BACKEND is 'numpy': crossframe runs Keras on tensorflow, jax or torch" \
        in out.stderr
    ok = crossframe("check", "mlp", "--frameworks", "scratch,torch", cwd=tmp_path,
                    env={"KERAS_BACKEND": "numpy"})
    assert ok.returncode == 0, ok.stderr


# --- run only what was asked ------------------------------------------------------------------
PROBE = ("import sys, runpy\n"
         "sys.argv = ['crossframe'] + sys.argv[1:]\n"
         "try:\n    runpy.run_module('crossframe.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "heavy = sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules)\n"
         "print('IMPORTED', heavy, file=sys.stderr)\n")


@pytest.mark.parametrize("args, heavy", [
    (["list"], []),
    (["describe", "lstm"], []),
    (["describe", "sequential", "--layers", "conv2d(4, 3); flatten; dense(2)",
      "--input", "6x6x1"], []),
    (["weights", "mlp", "--out", "w.npz"], []),
    (["check", "mlp", "--frameworks", "scratch,torch"], ["torch"]),
    (["check", "mlp", "--frameworks", "scratch,scratch-fast"], []),
])
def test_each_verb_imports_only_what_it_runs(args, heavy, tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         cwd=tmp_path)
    line = [x for x in out.stderr.splitlines() if x.startswith("IMPORTED")][0]
    assert line == f"IMPORTED {heavy}", out.stderr


def test_the_report_progress_bar_knows_its_total_from_the_start(tmp_path):
    out = crossframe("report", "--out", tmp_path / "r", "--models", "dense,linear",
                     "--no-bench", "--epochs", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    totals = {int(t) for t in __import__("re").findall(r"\| *\d+/(\d+) \[", out.stderr)}
    assert len(totals) == 1, totals
    assert json.loads((tmp_path / "r" / ".crossframe-report").read_text())["files"]


def test_a_budget_from_the_environment_is_named_as_such(tmp_path):
    out = crossframe("check", "dense", "--batch-size", "100000", cwd=tmp_path,
                     env={"CROSSFRAME_MAX_MEMORY": "1M"})
    assert out.returncode == 2
    assert "1.0 MiB (CROSSFRAME_MAX_MEMORY)" in out.stderr, out.stderr
    bad = crossframe("check", "dense", cwd=tmp_path, env={"CROSSFRAME_MAX_MEMORY": "lots"})
    assert bad.returncode == 2 and "CROSSFRAME_MAX_MEMORY='lots'" in bad.stderr, bad.stderr


def test_output_to_a_full_device_is_said_not_lost(tmp_path):
    with open("/dev/full", "w") as full:
        out = subprocess.run(CLI + ["list"], stdout=full, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path, preexec_fn=_capped, timeout=300)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "crossframe: error: the output cannot be written (No space left on device) — free "
        "some space, or send the output elsewhere"], out.stderr


def test_report_force_never_overwrites_a_file_of_the_users(tmp_path):
    from reports.build import _merge

    out, new = tmp_path / "site", tmp_path / "new"
    out.mkdir()
    new.mkdir()
    (out / "mlp.csv").write_text("mine")
    (new / "mlp.csv").write_text("report")
    (new / ".crossframe-report").write_text("{}")
    from crossframe.errors import InputError

    with pytest.raises(InputError, match="holds mlp.csv"):
        _merge(new, out, ["mlp.csv"], earlier=[])
    assert (out / "mlp.csv").read_text() == "mine" and (new / "mlp.csv").exists()
