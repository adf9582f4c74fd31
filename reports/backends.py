"""Keras on its other backends in the report: which pairs the parity matrix adds, and the
section measuring what Keras' 64-bit promotion costs on JAX and torch without crossframe's fix.

    backend_frameworks()      keras-jax, keras-torch (every installed Keras backend not this
                              process')
    backend_pairs()           keras~keras-jax, keras~keras-torch, torch~keras-jax,
                              torch~keras-torch
    Unfixed(specs, seed)      the passes without crossframe's float64 fix, started at once
    section(unfixed, tick)    "Keras on JAX and torch": the fix, and the error without it

The backends run in worker processes (crossframe.keras_backends), started once per report and
reused by every model, the timings and this section; ``Background`` hands them their calls from
threads, so that they compute while this process does its own share. ``unfixed`` runs *in* a
worker: it sets Keras' promotion entry back to what Keras ships (float64 -> float32) for one
pass, and restores crossframe's fix before it returns.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np
import pandas as pd

from .document import Section, Table, Text

FIX = ('from keras.src.backend.common import dtypes; '
       'dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"')
DTYPE = "float64"          # the promotion only loses precision where the input is float64


def backend_frameworks() -> list[str]:
    """The Keras frameworks on an installed backend that is not this process' (its ``keras``
    column): ``crossframe.bench.other_backends``."""
    from crossframe.bench import other_backends

    return other_backends()


def missing_frameworks() -> list[str]:
    """Keras on a backend not this process' whose library is not installed (left out)."""
    from crossframe.frameworks import KERAS_NAMED
    from crossframe.keras_backends import runs_here

    return [fw for fw in KERAS_NAMED if not runs_here(fw) and fw not in backend_frameworks()]


def backend_pairs() -> list[tuple[str, str]]:
    """keras against Keras on each other backend (a move between backends), then torch
    against each (a port from Keras on that backend to native torch)."""
    others = backend_frameworks()
    return [("keras", fw) for fw in others] + [("torch", fw) for fw in others]


class Background:
    """Calls run in threads, one thread per key (a framework or backend: its worker takes calls
    in turn anyway), in the order submitted; ``close`` drops those not yet started."""

    def __init__(self):
        self.pools: dict[str, ThreadPoolExecutor] = {}

    def submit(self, key: str, function, *args) -> Future:
        if key not in self.pools:
            self.pools[key] = ThreadPoolExecutor(1, thread_name_prefix=f"crossframe-{key}")
        return self.pools[key].submit(function, *args)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


def start_workers() -> Background:
    """Start every other backend's worker now, in the background (each imports Keras and its
    library, several seconds), so that they start while this process imports its own."""
    from crossframe.keras_backends import backend_of, call

    started = Background()
    for fw in backend_frameworks():
        started.submit(fw, call, backend_of(fw), "crossframe.keras_backends:versions")
    return started


def unfixed(name: str, seed: int):
    """In a Keras backend's worker: the float64 Result of the registered ``name`` with Keras'
    own promotion (every 64-bit result mapped to 32 bits), as a Keras user gets it. Restores
    crossframe's fix (keras_impl/backend.py) before returning, whatever happens."""
    from keras.src.backend.common import dtypes

    from crossframe.keras_impl.backend import UPSTREAM_FLOAT64_RESULT
    from crossframe.runner import prepare, run

    fixed = dtypes.BIT64_TO_BIT32_DTYPE["float64"]
    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = UPSTREAM_FLOAT64_RESULT
    try:
        return run(prepare(name, dtype=DTYPE, seed=seed), "keras")
    finally:
        dtypes.BIT64_TO_BIT32_DTYPE["float64"] = fixed


def _as_float64(result):
    """``result`` with every floating tensor as float64, and the names of those that were not:
    the error of a tensor Keras hands back in float32 is still measured, and said."""
    import dataclasses

    cast = {name: str(x.dtype) for name, (_, x) in result.tensors().items()
            if x.dtype.kind == "f" and x.dtype != np.float64}

    def up(tensors: dict) -> dict:
        return {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in tensors.items()}

    loss = up({"loss": np.asarray(result.loss)})["loss"]
    return dataclasses.replace(result, outputs=up(result.outputs), loss=loss,
                               grads=up(result.grads), input_grads=up(result.input_grads),
                               state=up(result.state)), cast


def _worst(a, b) -> tuple[float, str]:
    """The worst max_rel of ``compare(a, b)`` and the tensor it is in (``b``'s tensors of
    another floating dtype are compared as float64, and the tensor says so)."""
    from crossframe.result import compare

    b, cast = _as_float64(b)
    table = compare(a, b, DTYPE)
    row = table.loc[table["max_rel"].idxmax()]
    where = str(row["tensor"]) + (f" ({row['note']})" if row["note"] else "")
    return float(row["max_rel"]), where + "".join(f" ({n} came back {d})"
                                                  for n, d in sorted(cast.items()))


def _cause(err: Exception) -> str:
    """The line of an error that names a float32 (Keras wraps the cause in a paragraph of its
    own: "Exception encountered when calling SimpleRNN.call()."), else its first line."""
    import re

    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines()
             if ln.strip()]
    named = [ln for ln in lines if "float32" in ln]
    return (named or lines or [type(err).__name__])[0][:240]


def _backends() -> list[tuple[str, str]]:
    """(framework, backend) for every other Keras backend that maps 64 bits to 32 (TensorFlow
    keeps float64: nothing to undo there)."""
    from crossframe import keras_backends

    return [(fw, keras_backends.backend_of(fw)) for fw in backend_frameworks()
            if keras_backends.backend_of(fw) != "tensorflow"]


class Unfixed:
    """The float64 pass of every checked model on JAX and torch without crossframe's fix,
    handed to the workers at once (``Background``); ``table`` collects them in order."""

    def __init__(self, specs, seed: int):
        from crossframe import keras_backends

        self.seed = seed
        self.background = Background()
        self.pending = {(spec.name, backend): self.background.submit(
                            backend, keras_backends.call, backend, f"{__name__}:unfixed",
                            spec.name, seed)
                        for spec in specs for _, backend in _backends()}

    def table(self, checked, tick: Callable[[str], None]) -> pd.DataFrame:
        """One row per model and backend: the worst float64 error against scratch with
        crossframe's fix and without it (Keras as shipped; ``inf`` where it stops)."""
        from crossframe.runner import prepare, run

        rows = []
        for c in checked:
            name = c.spec.name
            results = c.results.get(DTYPE)
            for fw, backend in _backends():
                tick(f"{name} on {backend} without the float64 fix")
                if results is None:          # a report without float64: run it here
                    case = prepare(name, dtype=DTYPE, seed=self.seed)
                    results = {f: run(case, f) for f in ("scratch", *backend_frameworks())}
                with_fix, _ = _worst(results["scratch"], results[fw])
                try:
                    bare = self.pending[(name, backend)].result()
                except Exception as err:      # noqa: BLE001 - Keras as shipped may stop: say how
                    without, where = float("inf"), f"stops: {_cause(err)}"
                else:
                    without, where = _worst(results["scratch"], bare)
                rows.append({"model": name, "backend": backend, "max_rel_with_fix": with_fix,
                             "max_rel_without_fix": without, "worst_tensor_without_fix": where})
        return pd.DataFrame(rows, columns=["model", "backend", "max_rel_with_fix",
                                           "max_rel_without_fix", "worst_tensor_without_fix"])

    def close(self) -> None:
        self.background.close()


def steps(specs) -> int:
    """Progress steps of ``section``: one per model and backend without float64."""
    return len(specs) * len(_backends())


def affected(table: pd.DataFrame, tol: float) -> pd.DataFrame:
    """The models some backend computes beyond ``tol`` without the fix, one row each: the worst
    error with the fix (every backend), the error without it on each backend (``inf``: Keras
    stops), and where."""
    names = list(dict.fromkeys(table["backend"]))
    rows = []
    for model, part in table.groupby("model", sort=False):
        by = part.set_index("backend")
        over = [b for b in by.index if not by.loc[b, "max_rel_without_fix"] <= tol]
        if not over:
            continue
        row = {"model": model, "max_rel_with_fix": float(by["max_rel_with_fix"].max())}
        row |= {f"max_rel_without_fix_{b}": float(by.loc[b, "max_rel_without_fix"])
                if b in by.index else float("nan") for b in names}
        row["where_without_fix"] = "; ".join(f"{b}: {by.loc[b, 'worst_tensor_without_fix']}"
                                             for b in over)
        rows.append(row)
    return pd.DataFrame(rows, columns=["model", "max_rel_with_fix",
                                       *[f"max_rel_without_fix_{b}" for b in names],
                                       "where_without_fix"])


def section(unfixed: Unfixed, checked, tick: Callable[[str], None]) -> Section:
    from crossframe.tolerances import tolerance

    from .sections import grade, mark

    tol = tolerance(DTYPE).rel
    table = unfixed.table(checked, tick)
    hit = affected(table, tol)
    text, css = hit.astype(str), hit.map(lambda _: "")
    stopped = {(r.model, r.backend) for r in table.itertuples()
               if r.worst_tensor_without_fix.startswith("stops:")}
    names = {"model": "model", "max_rel_with_fix": "with the fix",
             "where_without_fix": "worst tensor without it"}
    for col in hit.columns[1:-1]:
        backend = col.removeprefix("max_rel_without_fix_")
        text[col] = ["stops ✗" if (m, backend) in stopped else mark(v, tol)
                     for m, v in zip(hit["model"], hit[col])]
        css[col] = [grade(v, tol) for v in hit[col]]
        names.setdefault(col, f"{backend}, without it")
    fine = [m for m in dict.fromkeys(table["model"]) if m not in set(hit["model"])]
    blocks = [
        Text("Keras' type promotion maps every 64-bit result to 32 bits on the JAX and torch "
             "backends (`BIT64_TO_BIT32_DTYPE` in keras/src/backend/common/dtypes.py, applied "
             "at the end of `_lattice_result_type`; TensorFlow alone keeps float64), so an op "
             "that asks `result_type` computes a float64 input in float32 and casts the result "
             "back to float64: `ops.tanh` and `ops.var` on JAX, `ops.matmul` (every Dense) and "
             "`ops.var` on torch. Nothing warns: most such results even keep the float64 dtype, "
             "with float32's digits (the table says where one came back as float32). "
             "The upstream reports: keras-team/keras#23223 (the bug class, closed by #23225, "
             "which routed torch's binary ops through `result_type`) and #23704 (open: a "
             "float64 Dense on torch returns float32)."),
        Text(f"crossframe's workaround is one line, which a user can apply too, before building "
             f"a model: `{FIX}` (crossframe/keras_impl/backend.py; int64 still becomes int32 "
             "as upstream). On JAX, also set `JAX_ENABLE_X64=1` before JAX is imported: "
             "without it JAX makes every float64 array float32, the line or not (crossframe "
             "sets it for its JAX worker). Measured now: each model in float64 on each backend "
             "against scratch, with the line and without it (the entry set back to Keras' "
             "`float32` for one pass, in that backend's worker process)."),
    ]
    if len(hit):
        blocks.append(Table("keras_float64_promotion", hit, text.rename(columns=names), css,
                            caption=f"the float64 models Keras computes beyond the float64 "
                                    f"tolerance ({tol:g}) without the fix; with it, the worst "
                                    "over both backends"))
    if fine:
        blocks.append(Text(f"Within tolerance without the fix too ({len(fine)}): "
                           f"{', '.join(fine)}."))
    if len(table):
        blocks.append(Table("keras_float64_promotion_all", table, show="link",
                            caption="every model on every backend, with and without the fix"))
    else:
        blocks.append(Text("Not measured: no Keras backend other than TensorFlow runs in this "
                           "report."))
    for fw in missing_frameworks():
        blocks.append(Text(f"`{fw}` is left out of this report: its library is not installed "
                           "(`pip install 'crossframe[jax]'` adds JAX)."))
    return Section("Keras on JAX and torch", "keras-backends", blocks)


def environment_rows() -> list[tuple[str, str]]:
    """("Keras on jax", "Keras 3.15.1 on jax 0.10.2 (a process of its own)") per backend."""
    from crossframe.keras_backends import column_notes

    return [(f"Keras on {fw.removeprefix('keras-')}", line.split(": ", 1)[1])
            for fw, line in column_notes(backend_frameworks()).items()]
