"""``crossframe convert --keras-backend jax|torch``: the Keras side verified on another backend.

A torch checkpoint written by hand (an nn.LSTM read at its last step, then an nn.Linear; random
weights, distinct non-zero biases) is converted to a Keras 3 ``.weights.h5``, verified with
Keras on JAX and on torch. The file is written by Keras in this process whichever backend
verifies it, so it must hold the same tensors as the one verified on TensorFlow; and Keras' own
``load_weights`` plus Keras' own forward on JAX / torch (in that backend's worker, no crossframe
engine) must give the outputs Keras on TensorFlow gives, and the hand-written torch model's.

One test per backend holds that backend's whole story, so that each test process starts one
backend's worker, not both; the light bad-input tests come first, so that the two heavy ones
reach different test processes.
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from torch import nn

import crossframe as cf
from crossframe import keras_backends
from crossframe.porting import native
from crossframe.tolerances import tolerance

TOL = tolerance("float64").rel
BACKENDS = ["jax", "torch"]


def cli(capsys, *args):
    from crossframe.cli import main

    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


class LastStep(nn.Module):
    """What a torch user writes: an LSTM over (N, 7, 4) read at its last step, then a Linear."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 5, batch_first=True)
        self.head = nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def torch_checkpoint(folder, seed: int = 11):
    """(path, the module): random weights, every bias distinct and non-zero."""
    rng = np.random.default_rng(seed)
    module = LastStep().double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.5, tuple(p.shape))))
    path = folder / "lstm.pt"
    torch.save(module.state_dict(), path)
    return path, module


def h5_tensors(path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda k, v: out.__setitem__(k, np.asarray(v))
                     if isinstance(v, h5py.Dataset) else None)
    return out


# --- bad input: one line, exit 2, nothing written ------------------------------------------------
@pytest.mark.parametrize("flags, says", [
    (["--keras-backend", "jaxx"], "did you mean 'jax'?"),
    (["--keras-backend", "keras-pytorch"], "did you mean 'torch'?"),
    (["--keras-backend", "jax", "--steps", "2"], "--steps trains Keras in this process"),
])
def test_a_bad_keras_backend_is_one_line_and_exit_2(flags, says, capsys, tmp_path):
    src, _ = torch_checkpoint(tmp_path)
    rc, out, err = cli(capsys, "convert", src, tmp_path / "out.weights.h5", *flags)
    assert rc == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lstm.pt"]


def test_a_bad_keras_backend_with_check_is_one_line_and_exit_2(capsys, tmp_path):
    src, _ = torch_checkpoint(tmp_path)
    rc, _, err = cli(capsys, "convert", "--check", src, src, "--keras-backend", "tensorflw")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "did you mean 'tensorflow'?" in err


def test_a_keras_backend_without_a_keras_file_is_refused(capsys, tmp_path):
    src, _ = torch_checkpoint(tmp_path)
    rc, _, err = cli(capsys, "convert", src, tmp_path / "out.npz", "--keras-backend", "jax")
    assert rc == 2 and "neither file is a Keras one" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lstm.pt"]


# --- the Keras side on JAX and on torch ----------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_torch_checkpoint_to_weights_h5_verifies_on_the_backend(backend, capsys, tmp_path):
    src, module = torch_checkpoint(tmp_path)
    there, here = tmp_path / f"on_{backend}.weights.h5", tmp_path / "on_this.weights.h5"

    result = cf.convert(str(src), str(there), input_shape="7x4", keras_backend=backend)
    assert result.ok and result.written, result.table
    assert result.keras == f"keras-{backend}"
    assert set(result.table["pair"]) == {f"torch~keras-{backend}"}
    assert result.table["max_rel"].max() <= TOL          # float64
    assert any(f"on {backend} " in n and "a process of its own" in n for n in result.notes)

    # the file does not depend on the backend that verified it
    assert cf.convert(str(src), str(here), input_shape="7x4").ok
    a, b = h5_tensors(there), h5_tensors(here)
    assert a.keys() == b.keys() and len(a) == 5
    assert all(np.array_equal(a[k], b[k]) for k in a)

    # Keras' own load_weights and forward on the backend, against TensorFlow's and torch's
    x = np.random.default_rng(5).normal(size=(3, 7, 4))
    recipe = keras_backends.portable(result.model)
    theirs = keras_backends.call(backend, "crossframe.porting.native:keras_forward",
                                 str(there), recipe, "weights.h5", "float64", x)
    ours = native.keras_forward(str(there), recipe, "weights.h5", "float64", x)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    assert theirs.dtype == np.float64 and theirs.shape == expected.shape == (3, 2)
    assert rel(theirs, ours) <= TOL
    assert rel(theirs, expected) <= TOL

    # the same flag checks a port someone made
    rc, out, err = cli(capsys, "convert", "--check", src, there, "--input", "7x4",
                       "--keras-backend", backend)
    assert rc == 0, (out, err)
    assert f"the Keras side ran as keras-{backend}" in out and "the port is right" in out


def test_check_of_a_float32_file_against_a_float64_one_is_one_line(capsys, tmp_path):
    """A user's float32 copy of a float64 checkpoint: said in one line, not a traceback."""
    src, module = torch_checkpoint(tmp_path)
    single = tmp_path / "lstm32.pt"
    torch.save(module.float().state_dict(), single)
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, out, err = cli(capsys, "convert", "--check", src, single, "--input", "7x4")
    assert rc == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "float64" in err and "float32" in err and "same dtype" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
