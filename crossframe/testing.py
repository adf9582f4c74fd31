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
