"""The one comparison helper the parity tests use: it compares two Results (shape, then dtype,
then values, in ``crossframe.result.compare``) and on failure names the model, the pair and
every failing tensor, e.g. ``mlp float64: grad:dense2.W: scratch~keras max_rel=3.1e-02``."""
from __future__ import annotations

from .result import Result, compare, failures
from .tolerances import Tolerance


def assert_results_match(a: Result, b: Result, dtype: str, label: str,
                         tol: Tolerance | None = None) -> None:
    table = compare(a, b, dtype, tol)
    bad = failures(table)
    assert not bad, f"{label} {dtype}: " + "; ".join(bad)


def assert_three_way(case, label: str) -> None:
    """All three pairs of ``case`` within the table's tolerance, every tensor named on
    failure."""
    from .runner import run_all
    from .spec import PAIRS

    results = run_all(case)
    for a, b in PAIRS:
        assert_results_match(results[a], results[b], case.dtype, f"{label} {a}~{b}")


def assert_conv_property(case, groups: int, label: str) -> None:
    """A convolution drawn by a property test: three ways, or scratch~torch for a grouped one.

    Keras runs a grouped convolution on the CPU through a tf.function(jit_compile=True) made
    anew on every call (keras/src/backend/tensorflow/nn.py, conv: "grouped convolutions are
    broken on CPU without XLA"), so every new shape is one more XLA compilation; after many of
    them in one process TensorFlow aborted (twice in a 5,400-test run, never on the same
    example twice). Property tests therefore draw grouped layers for scratch~torch only; Keras'
    grouped convolutions are checked three ways on the tests' fixed grids."""
    from .runner import run_all

    if groups == 1:
        assert_three_way(case, label)
        return
    results = run_all(case, ("scratch", "torch"))
    assert_results_match(results["scratch"], results["torch"], case.dtype,
                         f"{label} scratch~torch")


def assert_results_differ(a: Result, b: Result, dtype: str, tensor: str) -> None:
    """For "can fail" tests: ``tensor`` must be reported as a mismatch."""
    table = compare(a, b, dtype)
    row = table[table["tensor"] == tensor]
    assert len(row) == 1, f"no tensor {tensor} in the comparison"
    assert not bool(row["ok"].iloc[0]), f"{tensor} was not reported as a mismatch"


def scratch_model_with(case, layer: str, cls, framework: str = "scratch"):
    """The case's scratch model with layer ``layer`` run by ``cls`` instead (a deliberately
    wrong layer, for the can-fail tests); pass it to ``run(case, "scratch", model=...)``."""
    from . import frameworks

    model = frameworks.build(framework, case.model, case.dtype)
    model.layers = [(cfg, cls(**cfg.opts) if cfg.name == layer else op)
                    for cfg, op in model.layers]
    return model


# --- for the tests of crossframe.keras_backends: run in a backend's worker ------------------
def raise_in_worker(problem: str, fix: str) -> None:
    """Raise InputError(problem, fix) where it is called (the worker's error path)."""
    from .errors import InputError

    raise InputError(problem, fix)


def stop_worker(code: int = 3) -> None:
    """End the calling process at once, as a crash would (the worker's death path)."""
    import os

    os._exit(code)
