"""How to read this report: the section a reader meets right after the parity matrix.

    section(checked, dtypes, present=None) -> Section      (title "How to read this report")

Every number in it is read from the checks of this report, never typed in: the worked example
is one real tensor's worst element, the tolerances and their reasons are
``crossframe.tolerances.TOLERANCES``, and the list of tensors measured against a sum of |terms|
is what ``compare`` did (``terms_scales``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from crossframe.tolerances import TINY, tolerance

from .document import Bullets, Section, Table, Text, slug

if TYPE_CHECKING:
    from .sections import Checked

# where the other sections are: (section id, link text, what a reader finds there)
ELSEWHERE = (
    ("lessons", "Lessons", "one per layer kind: the equations, the scratch code, the torch and "
                           "Keras calls side by side"),
    ("models", "Models and layers", "every tensor's error per model, and heatmaps of where in "
                                    "each parameter it sits"),
    ("mapping", "The mapping", "which torch and Keras tensor is which canonical tensor, and the "
                               "transform between them"),
    ("differences", "Where the libraries compute different formulas", "each one measured"),
    ("keras-backends", "Keras on JAX and torch", "the same Keras code on other backends"),
    ("training", "Training", "the same model trained in the three frameworks"),
    ("speed", "Speed", "time per forward + backward pass"),
    ("environment", "Environment", "versions, BLAS, threads, seeds"),
)


def terms_scales(c: "Checked") -> dict[tuple[str, str, str], float]:
    """{(dtype, pair, tensor): the sum of |terms| that row's max_rel was divided by} for every
    row of ``c.tables`` that ``compare`` measured against a sum of |terms| instead of the
    tensor's own scale: those where either side's ``Result.terms`` holds the tensor
    (crossframe.result.compare_tensors takes the larger of the two)."""
    out = {}
    for dtype, table in c.tables.items():
        results = c.results[dtype]
        for pair, tensor in zip(table["pair"], table["tensor"]):
            a, b = pair.split("~")
            size = max(results[a].terms.get(tensor, 0.0) if a in results else 0.0,
                       results[b].terms.get(tensor, 0.0) if b in results else 0.0)
            if size:
                out[(dtype, pair, tensor)] = float(size)
    return out


def terms_rows(checked: list["Checked"]) -> pd.DataFrame:
    """Every row of the check tables measured against a sum of |terms|: model, dtype, pair,
    tensor and that sum (the scale its max_rel was divided by, unless max|a| or max|b| was
    larger)."""
    rows = [{"model": c.spec.name, "dtype": d, "pair": p, "tensor": t, "sum_of_terms": v}
            for c in checked for (d, p, t), v in terms_scales(c).items()]
    return pd.DataFrame(rows, columns=["model", "dtype", "pair", "tensor", "sum_of_terms"])


LOSS_ONLY = "the loss `L = sum(G * y)` of a lone-layer check, G random-signed"
BILINEAR = ("every output and gradient of a lone linear layer, and its loss: each entry is a "
            "sum of random-signed products (`y = x W + b`, `dW = x^T G`, `db = sum_n G`)")


def terms_bullets(checked: list["Checked"]) -> list[str]:
    """The tensors of ``terms_rows``, one bullet per reason, the models and tensors named."""
    loss_only, bilinear = [], []
    for c in checked:
        found = terms_scales(c)
        if not found:
            continue
        tensors = list(dict.fromkeys(t for _, _, t in found))
        cells = {(d, p) for d, p, _ in found}
        every = {(d, p) for d, t in c.tables.items() for p in t["pair"]}
        where = "" if cells == every else \
            " (only in " + ", ".join(sorted(f"{d} {p}" for d, p in cells)) + ")"
        if tensors == ["loss"]:
            loss_only.append(f"{c.spec.name}{where}")
        else:
            bilinear.append(f"{c.spec.name} ({', '.join(f'`{t}`' for t in tensors)}){where}")
    out = []
    if loss_only:
        out.append(f"{LOSS_ONLY}: {', '.join(loss_only)}.")
    if bilinear:
        out.append(f"{BILINEAR}: {'; '.join(bilinear)}.")
    return out


@dataclass
class Example:
    """The worst element of one tensor, and the quotient ``compare`` reports for it."""

    model: str
    dtype: str
    pair: str
    tensor: str
    shape: tuple[int, ...]
    index: tuple[int, ...]       # the element where |a - b| is largest
    a: float                     # the two values there, as computed (then widened to float64)
    b: float
    diff: float                  # |a - b| there, in float64
    scale: float                 # max(max|a|, max|b|) over the whole tensor
    scale_index: tuple[int, ...]
    scale_side: str              # which framework holds the largest |value|
    quotient: float              # diff / scale: the table's max_rel
    table_max_rel: float         # what the check table says for that row
    tol: float


def _array(result, tensor: str):
    kind, _, name = tensor.partition(":")
    source = {"grad": {**result.grads, **result.input_grads}, "out": result.outputs,
              "state": result.state}.get(kind, {})
    return source.get(name)


def worked_example(checked: list["Checked"]) -> Example | None:
    """A real tensor of this report: the first parameter gradient (else any tensor) with a
    non-zero error measured against its own scale, in float32 where checked (its errors are
    the visible ones), the first pair; its worst row among the model's. None when every such
    tensor is bitwise equal."""
    terms = {(c.spec.name, *k) for c in checked for k in terms_scales(c)}
    for kinds in (("param grad",), ("param grad", "input grad", "forward", "state")):
        for c in checked:
            dtypes = sorted(c.tables, key=lambda d: d != "float32")
            for dtype in dtypes:
                t = c.tables[dtype]
                pair = t["pair"].iloc[0]
                rows = t[(t["pair"] == pair) & t["kind"].isin(kinds) & (t["max_abs"] > 0)
                         & np.isfinite(t["max_abs"])]
                rows = rows[[(c.spec.name, dtype, pair, x) not in terms for x in rows["tensor"]]]
                if not len(rows):
                    continue
                row = rows.loc[rows["max_rel"].idxmax()]
                a_fw, b_fw = pair.split("~")
                a = np.asarray(_array(c.results[dtype][a_fw], row["tensor"]), np.float64)
                b = np.asarray(_array(c.results[dtype][b_fw], row["tensor"]), np.float64)
                diff = np.abs(a - b)
                index = np.unravel_index(int(np.argmax(diff)), diff.shape)
                sides = np.stack([np.abs(a), np.abs(b)])
                side, *scale_index = np.unravel_index(int(np.argmax(sides)), sides.shape)
                scale = max(float(sides.max()), TINY)
                return Example(c.spec.name, dtype, pair, row["tensor"], a.shape,
                               tuple(int(i) for i in index), float(a[index]), float(b[index]),
                               float(diff[index]), scale, tuple(int(i) for i in scale_index),
                               (a_fw, b_fw)[side], float(diff[index]) / scale,
                               float(row["max_rel"]), float(row["tol"]))
    return None


def _index(i: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, i)) + "]"


def _example_text(e: Example) -> list:
    a_fw, b_fw = e.pair.split("~")
    digits = 9 if e.dtype == "float32" else 17   # enough to tell the two values apart
    verdict = "within" if e.quotient <= e.tol else "over"
    return [
        Text(f"A worked example, from this report: `{e.tensor}` of `{e.model}` in {e.dtype}, "
             f"{e.pair}, shape {e.shape}. Its worst element is {_index(e.index)}:"),
        Bullets([
            f"{a_fw} computed a = {e.a:.{digits}g}, {b_fw} computed b = {e.b:.{digits}g}; "
            f"|a - b| = {e.diff:.3e}.",
            f"The scale is the largest |value| of the tensor on either side: "
            f"{e.scale:.{digits}g} ({e.scale_side}, element {_index(e.scale_index)}).",
            f"max_rel = {e.diff:.3e} / {e.scale:.{digits}g} = {e.quotient:.3e}, the number in "
            f"the [{e.model} table](#model-{slug(e.model)}) ({e.table_max_rel:.3e}); the "
            f"{e.dtype} tolerance is "
            f"{e.tol:g}, so the cell is {verdict} it.",
        ]),
    ]


def section(checked: list["Checked"], dtypes, present: Iterable[str] | None = None) -> Section:
    """The reader's guide. ``present``: the ids of the report's sections (links only to those;
    None: link them all)."""
    present = None if present is None else set(present)
    tols = [(d, tolerance(d)) for d in dtypes]
    blocks: list = [
        Text("The parity matrix above has one row per model or layer. Its columns are grouped "
             "by dtype (float64, then float32), and within a dtype by framework pair: "
             "`scratch~torch` compares the NumPy from-scratch code with PyTorch, and so on; "
             "`keras-jax` and `keras-torch` are Keras on the JAX and torch backends. A cell is "
             "the worst error over every tensor of that model (outputs, loss, every parameter "
             "and input gradient): green and ✓ under a tenth of the tolerance, yellow and ✓ "
             "within it, red and ✗ over it or a tensor missing. `0` means bitwise equal."),
        Text("The error of a tensor is `max|a - b| / max(|a|, |b|)`: the largest difference "
             "between the two frameworks' values, divided by the largest absolute value of the "
             "tensor on either side. It is measured against the tensor's scale, not each "
             "element's, because a tiny entry that came out of cancellation carries no "
             "precision of its own; a float format can only promise a few units in the last "
             "place of the largest entry (Higham, Accuracy and Stability of Numerical "
             "Algorithms, ch. 1)."),
    ]
    example = worked_example(checked)
    blocks += _example_text(example) if example else [
        Text("Every tensor compared here is bitwise equal between the pairs, so there is no "
             "error to work through.")]
    tol_rows = pd.DataFrame([{"dtype": d, "tolerance": t.rel,
                              "machine eps": float(np.finfo(d).eps), "why": t.why}
                             for d, t in tols])
    shown = tol_rows.assign(tolerance=[f"{v:g}" for v in tol_rows["tolerance"]],
                            **{"machine eps": [f"{v:.1e}" for v in tol_rows["machine eps"]]})
    blocks += [
        Text("The tolerance is one bound per dtype (crossframe.tolerances, on CPU): the "
             "libraries add in different orders, so they may differ by rounding, but any wrong "
             "formula, transposed kernel or permuted gate gives an error of order 1."),
        Table("guide_tolerances", tol_rows, shown.astype(str),
              caption="the tolerances and why (crossframe.tolerances.TOLERANCES)"),
    ]
    terms = terms_rows(checked)
    if len(terms):
        blocks += [
            Text("Some tensors are measured against a larger scale, marked † in the per-model "
                 "tables: the sum of the absolute values of their terms. A sum of "
                 "random-signed terms can cancel to a value near 0, and its rounding error is "
                 "bounded by eps times the sum of |terms| (Higham, ch. 4), not by eps times the "
                 "value; so the error is divided by max(sum of |terms|, max|a|, max|b|). A "
                 "wrong formula still errs by O(1) of that scale. In this report, in every "
                 "pair and dtype unless said:"),
            Bullets(terms_bullets(checked)),
            Table("guide_sum_of_terms", terms, show="link",
                  caption="every comparison measured against its sum of |terms|"),
        ]
    else:
        blocks.append(Text("Every tensor in this report is measured against its own scale "
                           "(no lone linear layer and no lone-layer loss sum(G * y) here)."))
    links = [f"[{label}](#{sid}): {what}" for sid, label, what in ELSEWHERE
             if present is None or sid in present]
    blocks += [Text("Further down:"), Bullets(links)]
    return Section("How to read this report", "guide", blocks)
