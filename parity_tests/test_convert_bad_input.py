"""`crossframe convert` on bad input, run the way a user runs it.

The contract (crossframe/cli.py, crossframe/porting/cli.py): exit 2, exactly one line on
stderr, ``crossframe: error: <problem> — <fix>``, no traceback, nothing else on stdout, and
the destination folder as it was: DST absent afterwards, or, where DST existed, unchanged byte
for byte (and no temporary file left beside it). When the keys do not fit, the key report comes
first on stdout (``missing: KEY``, ``unexpected: KEY``, ``shape mismatch: KEY: expected (..),
received (..)`` with `` (looks transposed)`` when it is), then the one line on stderr.

Checkpoints are made by plain torch and plain Keras code (``nn.Sequential(...)``'s state dict,
``keras.Sequential`` saved with ``model.save``/``save_weights`` in float64), with random
weights and distinct non-zero biases. Most cases run in-process through
``crossframe.cli.main``; a handful run as a real subprocess (``python -m crossframe.cli``) to
prove no traceback and no warning reaches the terminal. Where a mistake has a fix, the fixed
command is run too and must exit 0 with DST written, so each refusal is shown to be about that
mistake and not about the file in general.
"""
from __future__ import annotations

import builtins
import os
import pickle
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

RNG = np.random.default_rng(11)
PREFIX = "crossframe: error: "
LAYERS = "dense(units=8); relu; dense(units=3)"     # the plain torch MLP below, stated
MLP = ["--layers", LAYERS, "--input", "6"]


# --- running the command ------------------------------------------------------------------------
def cli(capsys, *args):
    """``crossframe convert ARGS`` in-process: (exit code, stdout, stderr)."""
    from crossframe.cli import main

    capsys.readouterr()
    rc = main(["convert", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def shell(cwd, *args):
    """``python -m crossframe.cli convert ARGS`` as a user types it, in folder ``cwd``."""
    proc = subprocess.run([sys.executable, "-m", "crossframe.cli", "convert", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def snapshot(folder) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def assert_one_line(rc, out, err, match: str, report: list[str] | None = None) -> str:
    """Exit 2, one ``crossframe: error: problem — fix`` line on stderr matching ``match``, no
    traceback; stdout empty, or exactly the key ``report`` lines. Returns the line."""
    assert "Traceback" not in out + err, out + err
    assert rc == 2, f"exit {rc}\n{out}{err}"
    lines = err.splitlines()
    assert len(lines) == 1, f"{len(lines)} stderr lines:\n{err}"
    line = lines[0]
    assert line.startswith(PREFIX), line
    problem, sep, fix = line[len(PREFIX):].partition(" — ")
    assert sep and problem.strip() and fix.strip(), f"no 'problem — fix': {line}"
    assert re.search(match, line), f"{match!r} not in: {line}"
    if report is None:
        assert out == "", out
    else:
        assert out.splitlines() == report
    return line


def refused(capsys, folder, *args, match: str, report: list[str] | None = None) -> str:
    """Run in-process; the one-line refusal, and ``folder`` (DST's) byte for byte as before."""
    before = snapshot(folder)
    line = assert_one_line(*cli(capsys, *args), match=match, report=report)
    assert snapshot(folder) == before
    return line


def refused_in_shell(folder, *args, match: str, report: list[str] | None = None) -> str:
    before = snapshot(folder)
    line = assert_one_line(*shell(folder, *args), match=match, report=report)
    assert snapshot(folder) == before
    return line


def converted(capsys, src, dst, *args) -> str:
    """The fixed command: exit 0, DST written. Returns stdout."""
    rc, out, err = cli(capsys, src, dst, *args)
    assert rc == 0, out + err
    assert os.path.isfile(dst) and f"wrote {dst}" in out
    return out


# --- checkpoints made by plain torch and plain Keras code ---------------------------------------
def randomize_torch(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(RNG.normal(0, 0.5, tuple(p.shape))))
    return module


@pytest.fixture(scope="module")
def mlp() -> nn.Module:
    """``nn.Sequential(Linear(6, 8), ReLU, Linear(8, 3))``, float64, random weights."""
    return randomize_torch(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double())


@pytest.fixture
def state(mlp) -> dict[str, torch.Tensor]:
    """A fresh copy of the MLP's state dict, to spoil."""
    return {k: v.clone() for k, v in mlp.state_dict().items()}


@pytest.fixture
def mlp_pt(tmp_path, state):
    path = tmp_path / "mlp.pt"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Plain Keras 3 models saved in float64 (Keras' floatx and dtype policy restored after):
    the MLP as .keras and .weights.h5; one with a Lambda layer; one with a custom registered
    layer; a Conv2D + BatchNormalization + Dense + BatchNormalization + Dense model whose
    .weights.h5 does not say the order of its layers."""
    from crossframe.keras_impl.backend import keras

    folder = tmp_path_factory.mktemp("keras")
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        L = keras.layers

        def saved(model, name, weights_only=False):
            for v in model.weights:
                v.assign(RNG.uniform(0.5, 1.5, v.shape) if "variance" in v.path
                         else RNG.normal(0, 0.5, v.shape))
            path = folder / name
            (model.save_weights if weights_only else model.save)(path)
            return path

        out = {}
        out["mlp.keras"] = saved(keras.Sequential([keras.Input((6,)), L.Dense(8, "relu"),
                                                   L.Dense(3)]), "mlp.keras")
        out["mlp.weights.h5"] = saved(keras.Sequential([keras.Input((6,)), L.Dense(8, "relu"),
                                                        L.Dense(3)]), "mlp.weights.h5", True)
        out["lambda.keras"] = saved(keras.Sequential([keras.Input((6,)), L.Dense(8),
                                                      L.Lambda(lambda x: 2 * x), L.Dense(3)]),
                                    "lambda.keras")

        @keras.saving.register_keras_serializable(package="CrossframeBadInput")
        class Doubler(L.Layer):
            def call(self, x):
                return 2 * x

        out["custom.keras"] = saved(keras.Sequential([keras.Input((6,)), L.Dense(8), Doubler(),
                                                      L.Dense(3)]), "custom.keras")
        out["cbn.weights.h5"] = saved(keras.Sequential([
            keras.Input((6, 6, 2)), L.Conv2D(4, 3), L.BatchNormalization(), L.ReLU(),
            L.Flatten(), L.Dense(4), L.BatchNormalization(), L.Dense(3)]), "cbn.weights.h5",
            True)
    finally:
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)
    return out


def put(keras_files, name, tmp_path, as_name=None):
    """A copy of a saved Keras file in the test's folder."""
    return shutil.copy(keras_files[name], tmp_path / (as_name or name))


class Marker:
    """A pickle whose loading creates a file: loading it would run code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.open, (self.path, "w")


# --- 1. the keys do not fit: the key report, then the one line ---------------------------------
def test_a_missing_key_is_reported_and_the_full_file_converts(capsys, tmp_path, state):
    src, dst = tmp_path / "m.pt", tmp_path / "m.weights.h5"
    torch.save({k: v for k, v in state.items() if k != "2.bias"}, src)
    refused(capsys, tmp_path, src, dst, *MLP, match=r"m\.pt: the keys do not fit the model "
            r"\(1 missing\) — .*--model or --layers", report=["missing: dense2.bias"])
    # the fix: the whole state dict, the same command
    torch.save(state, src)
    converted(capsys, src, dst, *MLP)
    from crossframe.keras_impl.backend import keras

    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    try:
        keras.config.set_floatx("float64")
        keras.config.set_dtype_policy("float64")
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, "relu"),
                                  keras.layers.Dense(3)])
    finally:
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)
    model.load_weights(dst)                       # Keras' own loader
    held = [np.asarray(v.numpy()) for v in model.weights]
    want = [state["0.weight"].numpy().T, state["0.bias"].numpy(),
            state["2.weight"].numpy().T, state["2.bias"].numpy()]
    for h, w in zip(held, want, strict=True):
        assert np.array_equal(h, w)


def test_an_unexpected_key_is_reported(capsys, tmp_path, state):
    src = tmp_path / "m.pt"
    torch.save({**state, "extra.weight": torch.from_numpy(RNG.normal(size=3))}, src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5", *MLP,
            match=r"the keys do not fit the model \(1 unexpected\)",
            report=["unexpected: extra.weight"])


def test_a_transposed_weight_is_reported_as_looking_transposed(capsys, tmp_path, state):
    src = tmp_path / "m.pt"
    torch.save({**state, "0.weight": state["0.weight"].T.contiguous()}, src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5", *MLP,
            match=r"the keys do not fit the model \(1 shape mismatch\)",
            report=["shape mismatch: 0.weight (the model's dense1.weight): expected (8, 6), "
                    "received (6, 8) (looks transposed)"])


def test_a_layer_of_the_wrong_size_is_reported_shape_by_shape(capsys, tmp_path):
    src = tmp_path / "wide.pt"
    wide = randomize_torch(nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 3)).double())
    torch.save(wide.state_dict(), src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5", *MLP,
            match=r"\(3 shape mismatch\)",
            report=["shape mismatch: 0.weight (the model's dense1.weight): expected (8, 6), "
                    "received (9, 6)",
                    "shape mismatch: 0.bias (the model's dense1.bias): expected (8,), "
                    "received (9,)",
                    "shape mismatch: 2.weight (the model's dense2.weight): expected (3, 8), "
                    "received (3, 9)"])


def test_layers_that_do_not_fit_a_torch_file(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "m.weights.h5", "--layers",
            "lstm(units=8); dense(units=3)", "--input", "5x6",
            match=r"\(4 missing, 2 unexpected\)",
            report=[f"missing: lstm.{k}" for k in ("weight_ih_l0", "weight_hh_l0",
                                                   "bias_ih_l0", "bias_hh_l0")]
            + ["unexpected: 0.weight", "unexpected: 0.bias"])


@pytest.mark.parametrize("layers, report", [
    ("dense(units=8); relu; dense(units=4)",
     ["shape mismatch: layers/dense_1/vars/0: expected (8, 4), received (8, 3)",
      "shape mismatch: layers/dense_1/vars/1: expected (4,), received (3,)"]),
    ("dense(units=8)", ["unexpected: layers/dense_1/vars/0", "unexpected: layers/dense_1/vars/1"]),
])
def test_layers_that_do_not_fit_a_keras_file(capsys, tmp_path, keras_files, layers, report):
    src = put(keras_files, "mlp.weights.h5", tmp_path)
    refused(capsys, tmp_path, src, tmp_path / "m.pt", "--layers", layers, "--input", "6",
            match=r"the keys do not fit the model .*Keras names a file's tensors", report=report)


def test_a_key_report_leaves_an_existing_dst_byte_for_byte_even_with_force(capsys, tmp_path,
                                                                          state):
    src, dst = tmp_path / "m.pt", tmp_path / "m.weights.h5"
    torch.save({k: v for k, v in state.items() if k != "2.bias"}, src)
    dst.write_bytes(b"an earlier conversion, kept")
    refused(capsys, tmp_path, src, dst, *MLP, "--force", match=r"\(1 missing\)",
            report=["missing: dense2.bias"])


def test_a_missing_key_in_the_first_layer_is_reported_as_that_key(capsys, tmp_path, state):
    """``0.bias`` gone: the first Linear's bias is missing, and nothing else is said."""
    src = tmp_path / "m.pt"
    torch.save({k: v for k, v in state.items() if k != "0.bias"}, src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5", *MLP,
            match=r"the keys do not fit the model \(1 missing\)",
            report=["missing: dense1.bias"])


def test_a_key_report_in_a_real_terminal(tmp_path, state):
    torch.save({k: v for k, v in state.items() if k != "2.bias"}, tmp_path / "m.pt")
    refused_in_shell(tmp_path, "m.pt", "m.weights.h5", *MLP, match=r"\(1 missing\)",
                     report=["missing: dense2.bias"])


# --- 2. pickles: refused, never run ---------------------------------------------------------------
def test_a_pickled_module_is_refused(capsys, tmp_path):
    src = tmp_path / "module.pt"
    torch.save(nn.Linear(2, 2), src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5",
            match=r"pickled object.*torch\.nn\.modules\.linear\.Linear.*would run code — "
                  r"save the state dict")


def test_a_malicious_pickle_runs_nothing(capsys, tmp_path):
    probe = tmp_path / "probe"               # the payload does what it says when unpickled
    pickle.loads(pickle.dumps(Marker(probe))).close()
    assert probe.exists()
    probe.unlink()
    marker, src = tmp_path / "marker", tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2, dtype=torch.float64), "x": Marker(marker)}, src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5",
            match=r"pickled object.*refused because loading it would run code")
    assert not marker.exists()


def test_a_malicious_pickle_in_a_real_terminal(tmp_path):
    marker = tmp_path / "marker"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"w": Marker(marker)}))
    refused_in_shell(tmp_path, "evil.pt", "m.weights.h5",
                     match=r"pickled object.*refused because loading it would run code")
    assert not marker.exists()


# --- 3. truncated files ---------------------------------------------------------------------------
def _valid(kind, tmp_path, state, keras_files):
    """A valid file of ``kind``, checked with its own library; and the DST to convert it to."""
    path = tmp_path / f"model{kind}"
    if kind == ".pt":
        torch.save(state, path)
        assert torch.load(path, weights_only=True).keys() == state.keys()
    elif kind == ".safetensors":
        from safetensors.torch import load_file, save_file

        save_file(state, path)
        assert load_file(path).keys() == state.keys()
    elif kind == ".npz":
        np.savez(path, **{k: v.numpy() for k, v in state.items()})
        assert sorted(np.load(path)) == sorted(state)
    else:
        put(keras_files, f"mlp{kind}", tmp_path, path.name)
        if kind == ".keras":
            assert zipfile.ZipFile(path).testzip() is None
        else:
            import h5py

            h5py.File(path, "r").close()
    return path, tmp_path / ("out.pt" if kind in (".weights.h5", ".keras", ".npz")
                             else "out.weights.h5")


@pytest.mark.parametrize("kind", [".pt", ".safetensors", ".weights.h5", ".keras", ".npz"])
def test_a_truncated_file_of_each_format(capsys, tmp_path, state, keras_files, kind):
    src, dst = _valid(kind, tmp_path, state, keras_files)
    data = src.read_bytes()
    src.write_bytes(data[:len(data) // 2])
    extra = MLP if kind == ".npz" else []
    refused(capsys, tmp_path, src, dst, *extra, match=r"is not a readable .*truncated")


def test_a_truncated_keras_archive_in_a_real_terminal(tmp_path, keras_files):
    src = put(keras_files, "mlp.keras", tmp_path)
    data = open(src, "rb").read()
    open(src, "wb").write(data[:len(data) // 2])
    refused_in_shell(tmp_path, "mlp.keras", "out.pt", match=r"'mlp\.keras' is not a readable "
                     r"zip archive .*truncated.* — save the model")


# --- 4. what is not a checkpoint ------------------------------------------------------------------
def test_a_bin_file_is_refused_and_renamed_to_pt_it_converts(capsys, tmp_path, state):
    src, dst = tmp_path / "model.bin", tmp_path / "out.safetensors"
    torch.save(state, src)
    refused(capsys, tmp_path, src, dst, match=r"'model\.bin' is a \.bin file.*rename it to \.pt")
    # the fix the line gives
    os.rename(src, tmp_path / "model.pt")
    converted(capsys, tmp_path / "model.pt", dst)
    from safetensors.torch import load_file

    written = load_file(dst)
    assert sorted(written) == sorted(state)
    for k, v in state.items():
        assert torch.equal(written[k], v), k


def test_a_plain_h5_is_refused(capsys, tmp_path, keras_files):
    src = put(keras_files, "mlp.weights.h5", tmp_path, "model.h5")
    refused(capsys, tmp_path, src, tmp_path / "out.pt",
            match=r"'model\.h5' is a plain \.h5 file.*model\.save_weights\('name\.weights\.h5'\)")


def test_an_onnx_file_in_a_real_terminal(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07\x12\x07pytorch")
    refused_in_shell(tmp_path, "model.onnx", "out.pt",
                     match=r"'model\.onnx' is an ONNX graph, which is not read — export")


def test_an_unknown_dst_extension(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "out.txt",
            match=r"'out\.txt': unknown checkpoint extension '\.txt' — give one of \.pt")


def test_a_missing_src(capsys, tmp_path):
    refused(capsys, tmp_path, tmp_path / "nowhere.pt", tmp_path / "out.weights.h5",
            match=r"nowhere\.pt' does not exist — check the path")


def test_a_directory_named_like_a_checkpoint(capsys, tmp_path):
    (tmp_path / "model.pt").mkdir()
    refused(capsys, tmp_path, tmp_path / "model.pt", tmp_path / "out.weights.h5",
            match=r"'.*model\.pt' is a directory — give the checkpoint file inside it")


@pytest.mark.parametrize("spelled", ["runs", "runs/"])
def test_a_directory_as_src(capsys, tmp_path, spelled):
    """A folder of checkpoints given as SRC: said to be a folder, not asked for an extension."""
    (tmp_path / "runs").mkdir()
    torch.save({"w": torch.ones(2)}, tmp_path / "runs" / "epoch1.pt")
    refused(capsys, tmp_path, str(tmp_path / "runs") + spelled[4:], tmp_path / "out.pt",
            match=r"runs/?' is a directory")


@pytest.mark.parametrize("kind", [".pt", ".safetensors", ".weights.h5", ".keras", ".npz"])
def test_an_empty_file(capsys, tmp_path, kind):
    src = tmp_path / f"model{kind}"
    src.write_bytes(b"")
    refused(capsys, tmp_path, src, tmp_path / "out.pth", *(MLP if kind == ".npz" else []),
            match=r"is empty \(0 bytes\) — save it again")


# --- 5. code in a .keras archive ------------------------------------------------------------------
def test_a_keras_archive_with_a_lambda_layer(capsys, tmp_path, keras_files):
    src = put(keras_files, "lambda.keras", tmp_path)
    refused(capsys, tmp_path, src, tmp_path / "out.pt",
            match=r"layer 'lambda\w*' is a Lambda layer: its function is code, which is never "
                  r"run — .*--layers")


def test_a_keras_archive_with_a_custom_registered_layer(capsys, tmp_path, keras_files):
    src = put(keras_files, "custom.keras", tmp_path)
    refused(capsys, tmp_path, src, tmp_path / "out.pt",
            match=r"custom object CrossframeBadInput>Doubler.*never imported or run")


# --- 6. the destination ---------------------------------------------------------------------------
def test_an_existing_dst_is_kept_and_replaced_only_with_force(capsys, tmp_path, state, mlp_pt):
    dst = tmp_path / "out.safetensors"
    dst.write_bytes(b"an earlier conversion, kept")
    refused(capsys, tmp_path, mlp_pt, dst, match=r"'.*out\.safetensors' exists — pass --force")
    converted(capsys, mlp_pt, dst, "--force")
    from safetensors.torch import load_file

    written = load_file(dst)
    assert sorted(written) == sorted(state)
    for k, v in state.items():
        assert torch.equal(written[k], v), k


def test_a_dst_in_a_folder_that_does_not_exist(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "nowhere" / "out.weights.h5",
            match=r"folder '.*nowhere' does not exist — create it first")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_src_and_dst_the_same_file(capsys, tmp_path, mlp_pt, force):
    other = os.path.join(tmp_path, ".", "mlp.pt")    # the same file, spelled otherwise
    refused(capsys, tmp_path, mlp_pt, other, *force,
            match=r"SRC and DST are the same file .* — write to another path")


# --- 7. values, and options that contradict ------------------------------------------------------
@pytest.mark.parametrize("key, index, value", [("0.weight", (1, 2), float("nan")),
                                                ("2.bias", (0,), float("inf")),
                                                ("2.weight", (2, 5), -float("inf"))])
def test_a_nan_or_inf_in_a_weight(capsys, tmp_path, state, key, index, value):
    state[key][index] = value
    src = tmp_path / "m.pt"
    torch.save(state, src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5",
            match=rf"m\.pt: {re.escape(key)} holds NaN/Inf values — give finite numbers")


def test_float16_tensors(capsys, tmp_path, state):
    src = tmp_path / "half.pt"
    torch.save({k: v.half() for k, v in state.items()}, src)
    refused(capsys, tmp_path, src, tmp_path / "m.weights.h5",
            match=r"0\.weight is float16; only float32 and float64 tensors are read — "
                  r"convert .*\.float\(\)")


def test_canonical_npz_needs_the_architecture(capsys, tmp_path, mlp_pt):
    npz, dst = tmp_path / "canonical.npz", tmp_path / "back.pt"
    converted(capsys, mlp_pt, npz)                 # crossframe's canonical weights of the MLP
    refused(capsys, tmp_path, npz, dst,
            match=r"holds canonical names, not the architecture — give --model NAME or --layers")
    converted(capsys, npz, dst, *MLP)              # the fix: the architecture stated


def test_layers_without_input_where_the_file_does_not_imply_one(capsys, tmp_path):
    npz = tmp_path / "w.npz"                    # canonical names: no architecture, no input
    np.savez(npz, **{"dense1.W": np.ones((6, 8)), "dense1.b": np.ones(8)})
    refused(capsys, tmp_path, npz, tmp_path / "m.weights.h5", "--layers", "dense(units=8)",
            match=r"--layers was given without --input, and the input shape cannot be read "
                  r"off the file — give the per-sample input shape")


def test_layers_without_input_take_it_from_the_state_dict(capsys, tmp_path, mlp_pt):
    out = converted(capsys, mlp_pt, tmp_path / "m.weights.h5", "--layers", LAYERS)
    assert "--input 6 read off" in out


def test_model_and_layers_both(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "m.weights.h5", "--model", "mlp", *MLP,
            match=r"both --model and --layers were given — give one of them")


def test_like_with_a_keras_dst(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "m.weights.h5", "--like", mlp_pt,
            match=r"--like names torch tensors, and DST is not a torch file — drop --like")


def test_negative_steps(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "m.weights.h5", "--steps", "-1",
            match=r"--steps -1 must be a whole number >= 0")


def test_check_with_one_file(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, "--check", mlp_pt,
            match=r"argument --check: expected 2 arguments — see `crossframe convert --help`")


def test_check_with_one_file_in_a_real_terminal(tmp_path, mlp_pt):
    refused_in_shell(tmp_path, "--check", "mlp.pt", match=r"--check: expected 2 arguments")


def test_check_with_a_missing_file(capsys, tmp_path, mlp_pt):
    refused(capsys, tmp_path, "--check", mlp_pt, tmp_path / "port.weights.h5",
            match=r"port\.weights\.h5' does not exist — check the path")


@pytest.mark.parametrize("name, match", [("nosuch", r"unknown model or layer 'nosuch' — choose"),
                                         ("mpl", r"unknown model or layer 'mpl' — did you mean "
                                                 r"'mlp'\?")])
def test_an_unknown_model_name(capsys, tmp_path, mlp_pt, name, match):
    refused(capsys, tmp_path, mlp_pt, tmp_path / "m.weights.h5", "--model", name, match=match)


# --- 8. a .weights.h5 whose layer order cannot be read off -------------------------------------
CBN = ("conv2d(filters=4, kernel_size=3); batchnorm(epsilon=0.001, momentum=0.99); relu; "
       "flatten; dense(units=4); batchnorm(epsilon=0.001, momentum=0.99); dense(units=3)")


def test_weights_h5_of_an_unreadable_order_asks_for_layers(capsys, tmp_path, keras_files):
    src, dst = put(keras_files, "cbn.weights.h5", tmp_path), tmp_path / "cbn.pt"
    refused(capsys, tmp_path, src, dst,
            match=r"does not record the order of its layers.*more than one order.* — give "
                  r"--model or --layers with --input, or convert the \.keras archive")
    converted(capsys, src, dst, "--layers", CBN, "--input", "6x6x2")   # the fix: the order
