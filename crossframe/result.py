"""``Result`` — what one framework computed, in canonical layout — and ``compare``.

A Result holds the forward outputs, the loss, the gradient of the loss for every parameter and
the gradient for every input (x, and initial states where a model has them), all mapped back to
the canonical layout so that one framework-neutral comparison lines them up tensor by tensor.

Tensor names in a comparison:
    ``out:<output>``   a forward output (``out:logits``, ``out:h_seq``)
    ``loss``           the scalar loss
    ``grad:<param>``   dL/d(parameter), canonical parameter name (``grad:dense1.W``)
    ``grad:<input>``   dL/d(input) (``grad:x``, ``grad:h0``)
    ``state:<name>``   a non-trainable tensor after the pass (running statistics)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .tolerances import Tolerance, errors, tolerance

COLUMNS = ["pair", "tensor", "kind", "shape", "max_abs", "max_rel", "tol", "ok", "note"]


@dataclass
class Result:
    framework: str
    outputs: dict[str, np.ndarray]
    loss: np.ndarray
    grads: dict[str, np.ndarray]
    input_grads: dict[str, np.ndarray] = field(default_factory=dict)
    # non-trainable state after the pass (a BatchNorm's running statistics), canonical names
    state: dict[str, np.ndarray] = field(default_factory=dict)
    # {tensor name: sum of |terms|} for the tensors that are sums of random-signed terms (the
    # "upstream" loss sum(G * y) of a lone layer; each gradient of a bilinear layer, its largest
    # entry's): the scale their error is measured against. Absent: the tensor's own scale.
    terms: dict[str, float] = field(default_factory=dict)

    def tensors(self) -> dict[str, tuple[str, np.ndarray]]:
        """{tensor name: (kind, array)} in a stable, readable order."""
        rows: dict[str, tuple[str, np.ndarray]] = {}
        for k, v in self.outputs.items():
            rows[f"out:{k}"] = ("forward", v)
        rows["loss"] = ("loss", np.asarray(self.loss))
        for k, v in self.grads.items():
            rows[f"grad:{k}"] = ("param grad", v)
        for k, v in self.input_grads.items():
            rows[f"grad:{k}"] = ("input grad", v)
        for k, v in self.state.items():
            rows[f"state:{k}"] = ("state", v)
        return rows


def compare(a: Result, b: Result, dtype: str, tol: Tolerance | None = None) -> pd.DataFrame:
    """One row per tensor: shape, then dtype, then values; ``ok`` when within ``tol``.

    A tensor missing on one side, a shape mismatch, or a dtype other than ``dtype`` on either
    side is a mismatch (``ok`` False) with the reason in ``note`` — never silently cast.
    """
    return compare_tensors(a.tensors(), b.tensors(), (a.framework, b.framework), dtype, tol,
                           (a.terms, b.terms))


def compare_tensors(ta: dict, tb: dict, names: tuple[str, str], dtype: str,
                    tol: Tolerance | None = None, terms: tuple[dict, dict] = ({}, {})
                    ) -> pd.DataFrame:
    """``compare`` on two {tensor name: (kind, array)} dicts labelled ``names``."""
    tol = tol or tolerance(dtype)
    pair = "~".join(names)
    rows = []
    for name in list(ta) + [n for n in tb if n not in ta]:
        kind = (ta.get(name) or tb.get(name))[0]
        row = dict(pair=pair, tensor=name, kind=kind, shape="", max_abs=np.inf,
                   max_rel=np.inf, tol=tol.rel, ok=False, note="")
        if name not in ta or name not in tb:
            row["note"] = f"missing in {names[0] if name not in ta else names[1]}"
        else:
            xa, xb = ta[name][1], tb[name][1]
            row["shape"] = "x".join(map(str, xa.shape)) or "scalar"
            if xa.shape != xb.shape:
                row["note"] = f"shape {xa.shape} vs {xb.shape}"
            elif str(xa.dtype) != dtype or str(xb.dtype) != dtype:
                row["note"] = f"dtype {xa.dtype} vs {xb.dtype}, expected {dtype}"
            elif not (np.all(np.isfinite(xa)) and np.all(np.isfinite(xb))):
                row["note"] = "non-finite values"
            else:
                row["max_abs"], row["max_rel"] = errors(xa, xb)
                size = max(terms[0].get(name, 0.0), terms[1].get(name, 0.0))
                if size:  # a sum is accurate relative to its |terms| (crossframe.tolerances)
                    scale = max(size, float(np.max(np.abs(xa))), float(np.max(np.abs(xb))))
                    row["max_rel"] = row["max_abs"] / scale
                row["ok"] = bool(row["max_rel"] <= tol.rel)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def failures(table: pd.DataFrame, model=None) -> list[str]:
    """Readable lines naming each failing pair and tensor ("grad:lstm.W_h: scratch~keras ...").

    Given the ``model`` (a Sequential), a parameter's line also names its layer, the declaration
    and the three implementations to open."""
    bad = table[~table["ok"]]
    return [
        f"{r.tensor}: {r.pair} max_rel={r.max_rel:.3g} > tol {r.tol:g}"
        + (f" ({r.note})" if r.note else "") + _where(model, r.tensor)
        for r in bad.itertuples()
    ]


def _where(model, tensor: str) -> str:
    if model is None or not tensor.startswith("grad:"):
        return ""
    cfg = model.layer_of(tensor)
    if cfg is None:
        return ""
    from .describe import implementation_path

    impls = " | ".join(implementation_path(fw, cfg.decl) for fw in ("scratch", "torch", "keras"))
    return f" — {cfg.where()}: {cfg.decl.source}; {impls}"


def compare_expected(result: Result, expected: dict, dtype: str,
                     tol: Tolerance | None = None) -> pd.DataFrame:
    """A Result against arrays from elsewhere (a paper, a notebook, another tool): one row per
    tensor of ``expected``, named as in a comparison (``out:logits``, ``loss``,
    ``grad:dense1.W``, ``grad:x``); the same measure, bound and table as ``compare``."""
    mine = result.tensors()
    unknown = [k for k in expected if k not in mine]
    if unknown:
        from .errors import InputError

        raise InputError(f"expected: unknown tensor(s) {', '.join(unknown)}",
                         f"the result has {', '.join(mine)}")
    ours = {k: mine[k] for k in expected}
    theirs = {k: (mine[k][0], np.asarray(v)) for k, v in expected.items()}
    return compare_tensors(ours, theirs, (result.framework, "expected"), dtype, tol,
                           (result.terms, {}))


def compare_arrays(actual, expected, dtype: str, name: str = "tensor",
                   tol: Tolerance | None = None) -> pd.DataFrame:
    """One tensor against an expected array, as a one-row comparison table (``ok`` within
    ``tol``, by default the table's bound for ``dtype``)."""
    return compare_tensors({name: ("tensor", np.asarray(actual))},
                           {name: ("tensor", np.asarray(expected))}, ("actual", "expected"),
                           dtype, tol)
