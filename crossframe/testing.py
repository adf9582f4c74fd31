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
