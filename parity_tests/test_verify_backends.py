"""``crossframe verify --against keras-jax``: a learner's layer against Keras on JAX and torch.

The learner's class is the scratch side and stays in this process; Keras on another backend
runs in a worker of its own, rebuilt there from the model's recipe. A correct learner must pass
against each backend to the last bits, as against Keras on TensorFlow; a planted mistake
(``learners/``, the mistake written on each file's first line) must fail against each with the
very diagnosis it gets against Keras on TensorFlow, which names the planted mistake.

One test per backend holds that backend's whole story, so that each test process starts one
backend's worker (seconds each), not both.
"""
from __future__ import annotations

from functools import lru_cache

import pytest

import crossframe as cf
from crossframe.errors import InputError
from test_verify import LEARNERS, MISTAKES

BACKENDS = ["keras-jax", "keras-torch"]


@lru_cache(maxsize=None)
def _verify(stem: str, layer: str, reference: str):
    """One verification per (file, reference) in a test process."""
    return cf.verify(str(LEARNERS / f"{stem}.py"), layer=layer, references=(reference,))


def _passes(stem: str, layer: str, backend: str) -> None:
    table = _verify(stem, layer, backend)
    assert table.attrs["ok"], (backend, table.attrs["summary"])
    assert table.attrs["references"] == [backend]
    assert f"matches Keras on {backend.split('-')[1]} ({backend})" in table.attrs["summary"]
    assert table["case"].nunique() == 2
    assert table["max_rel"].max() <= 1e-13, (stem, backend)   # float64: the last bits
    assert any(t.startswith("grad:") for t in table["tensor"])


def _same_diagnosis_as_against_keras(stem: str, backend: str) -> None:
    layer, phrases = MISTAKES[stem]
    theirs, keras = _verify(stem, layer, backend), _verify(stem, layer, "keras")
    assert not theirs.attrs["ok"]
    bad = theirs[~theirs["ok"]]
    assert len(bad) > 0
    for r in bad.itertuples():
        for phrase in phrases:                      # written from the planted mistake
            assert phrase in r.diagnosis, (stem, backend, r.tensor, r.diagnosis)
    columns = ["case", "tensor", "ok", "diagnosis", "fix"]
    assert theirs[columns].equals(keras[columns]), (stem, backend)
    assert theirs.attrs["summary"] == keras.attrs["summary"]


# bad input first: the light tests reach the test processes before the two heavy ones, so
# that those run side by side
@pytest.mark.parametrize("against, says", [
    ("keras-jaz", "did you mean 'keras-jax'?"),
    ("keras-pytorch", "did you mean 'keras-torch'?"),
    ("torch,", "has an empty item"),
    (",", "name one reference or more"),
    ("jax", "did you mean 'keras-jax'?"),                   # a part of the name
    ("Keras_Torch", "did you mean 'keras-torch'?"),         # "_" for "-"
    ("keras,KERAS-TENSORFLOW", "keras and keras-tensorflow are the same Keras"),
])
def test_an_unknown_reference_is_one_line_and_exit_2(against, says, capsys):
    from crossframe.cli import main

    rc = main(["verify", str(LEARNERS / "dense_ok.py"), "--layer", "dense",
               "--against", against])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and says in captured.err, captured.err
    with pytest.raises(InputError,
                       match="unknown reference|one reference or more|empty item|the same Keras"):
        cf.verify(str(LEARNERS / "dense_ok.py"), layer="dense", references=against.split(","))


@pytest.mark.parametrize("backend", BACKENDS)
def test_verify_against_keras_on_another_backend(backend, capsys):
    _passes("dense_ok", "dense", backend)
    _passes("lstm_ok", "lstm", backend)
    _same_diagnosis_as_against_keras("dense_kernel_transposed", backend)   # W (F, U) as (U, F)
    _same_diagnosis_as_against_keras("lstm_gate_order_ifog", backend)      # gates i, f, o, g

    from crossframe.cli import main

    rc = main(["verify", str(LEARNERS / "dense_mean.py"), "--layer", "dense",
               "--against", f"{backend},scratch"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "MISMATCH grad:W: dW is 1/N times the right one" in out


def test_references_are_read_in_any_case_and_once():
    from crossframe.verification import check_references, reference_names

    assert check_references("KERAS-JAX,keras-jax, Torch") == ("keras-jax", "torch")
    assert reference_names(("keras-jax", "torch")) == "Keras on jax (keras-jax) and torch"
