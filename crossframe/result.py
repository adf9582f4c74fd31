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
    tol = tol or tolerance(dtype)
    pair = f"{a.framework}~{b.framework}"
    ta, tb = a.tensors(), b.tensors()
    rows = []
    for name in list(ta) + [n for n in tb if n not in ta]:
        kind = (ta.get(name) or tb.get(name))[0]
        row = dict(pair=pair, tensor=name, kind=kind, shape="", max_abs=np.inf,
                   max_rel=np.inf, tol=tol.rel, ok=False, note="")
        if name not in ta or name not in tb:
            row["note"] = f"missing in {a.framework if name not in ta else b.framework}"
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
                terms = max(a.terms.get(name, 0.0), b.terms.get(name, 0.0))
                if terms:  # a sum is accurate relative to its |terms| (crossframe.tolerances)
                    scale = max(terms, float(np.max(np.abs(xa))), float(np.max(np.abs(xb))))
                    row["max_rel"] = row["max_abs"] / scale
                row["ok"] = bool(row["max_rel"] <= tol.rel)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def failures(table: pd.DataFrame) -> list[str]:
    """Readable lines naming each failing pair and tensor ("grad:lstm.W_h: scratch~keras ...")."""
    bad = table[~table["ok"]]
    return [
        f"{r.tensor}: {r.pair} max_rel={r.max_rel:.3g} > tol {r.tol:g}"
        + (f" ({r.note})" if r.note else "")
        for r in bad.itertuples()
    ]
