"""Trajectory parity: K optimizer steps in all three, compared after every step.

    table = trajectory_table("mlp", "adam", steps=20)     # one row per (pair, step, tensor)

All sides start from the same canonical weights and take step k on the same batch — the spec's
canonical batch for seed ``seed + k`` — each framework with its real optimizer on its own
weights, which are read back as canonical weights after every step (``Parameterization``).

Which sides run, and what a pair compares:

- ``scratch~torch``: the real torch.optim run against ``scratch[torch]``, scratch's optimizer
  with torch's formula (variant "torch") updating the tensors torch updates. Exact: the bound is
  ``crossframe.tolerances.TRAJECTORY``.
- ``scratch~keras``: likewise with Keras' formula and tensors. Exact.
- ``torch~keras``: where the libraries compute different formulas (Adam's eps, RMSprop's eps,
  ...) the raw difference is not a bug but a *documented quantity*, so by default the pair is
  *explained*: the residual ``(torch - keras) - (scratch[torch] - scratch[keras])`` is held to
  the same bound, and the size of the documented difference ``scratch[torch] - scratch[keras]``
  is reported beside it (column ``documented``). With ``explain=False`` the pair is compared
  raw, and a formula difference is (rightly) reported as a mismatch.

Keras on a named backend (``keras-tensorflow``, ``keras-jax``, ``keras-torch``: the same
keras_impl and optimizers, in a worker process where the backend is not this process') is a
Keras side like ``keras``: its scratch reference is ``scratch[keras]``, so ``scratch~keras-jax``
is exact and ``torch~keras-jax`` explained as ``torch~keras`` is. Two Keras sides
(``keras~keras-jax``) run one formula on the same tensors: compared directly, exact. One
optimizer's Keras formula differs by backend (Nadam's 0.96, ``BY_BACKEND``): there a Keras side
on another backend than this process' Keras has its own reference, ``scratch[keras-jax]``, and
``keras~keras-jax`` is explained like ``torch~keras``.
``pairs_of(frameworks)`` gives the pairs of a ``--frameworks`` list.

Row columns: pair, step (1..K), tensor ("loss" — the loss of step k's batch before the update —
or a canonical parameter name), kind ("exact" / "explained" / "raw"), max_abs, max_rel (the
normwise measure of ``crossframe.tolerances``), tol, ok, documented, note.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..frameworks import KERAS_NAMED, base
from ..runner import Case, prepare
from ..spec import PAIRS
from ..tolerances import TINY, TRAJECTORY, errors
from .config import OptimizerConfig, make_config
from .engines import library_side, scratch_side

COLUMNS = ["pair", "step", "tensor", "kind", "max_abs", "max_rel", "tol", "ok", "documented",
           "note"]


@dataclass
class Trace:
    """What one side did: the loss before each step and the canonical weights after it."""

    losses: list[np.ndarray] = field(default_factory=list)
    weights: list[dict[str, np.ndarray]] = field(default_factory=list)

    def tensors(self, k: int) -> dict[str, np.ndarray]:
        """Step k (0-based): {"loss": ..., parameter name: weights after the step}."""
        return {"loss": self.losses[k], **self.weights[k]}


def step_batches(case: Case, steps: int):
    """Step k takes the spec's canonical batch for seed ``case.seed + k`` (k = 0 is
    ``case.batch``): a fresh, seeded draw of the data set every step, the same in all three.
    A generator: one batch in memory at a time, drawn again (identically) for every side."""
    yield case.batch
    for k in range(1, steps):
        yield case.spec.make_batch(case.opts, case.dtype, case.seed + k, case.batch.size)


ORDER = ["torch", "keras", *KERAS_NAMED, "scratch[torch]", "scratch[keras]",
         *(f"scratch[{fw}]" for fw in KERAS_NAMED)]
# optimizers whose Keras formula differs by backend: Nadam's 0.96, cast through float32 on
# TensorFlow only (scratch.optimizers.KERAS_NADAM_DECAY)
BY_BACKEND = ("nadam",)


def reference(framework: str, config: OptimizerConfig | None = None) -> str:
    """The scratch side a framework is checked against: ``scratch[torch]``, or
    ``scratch[keras]`` for every Keras framework — except, for an optimizer of ``BY_BACKEND``,
    a Keras framework on another backend than this process' Keras, which gets the reference
    of its own backend's formula (``scratch[keras-jax]``)."""
    from ..keras_backends import backend_of, runs_here

    if base(framework) == "keras" and config is not None and config.name in BY_BACKEND \
            and not runs_here(framework):
        return f"scratch[keras-{backend_of(framework)}]"
    return f"scratch[{base(framework)}]"


def pairs_of(frameworks) -> list[tuple[str, str]]:
    """The pairs of a framework list: those of ``PAIRS`` first, then every other pair in the
    list's order (``scratch, keras, keras-jax`` -> scratch~keras, scratch~keras-jax,
    keras~keras-jax)."""
    frameworks = list(frameworks)
    chosen = [p for p in PAIRS if p[0] in frameworks and p[1] in frameworks]
    chosen += [(a, b) for i, a in enumerate(frameworks) for b in frameworks[i + 1:]
               if (a, b) not in chosen and (b, a) not in chosen]
    return chosen


def _kind(a: str, b: str, explain: bool, config: OptimizerConfig | None = None) -> str:
    """How a pair is compared: "exact" (scratch against its reference, or two Keras sides of
    one formula), "explained" or "raw" (two libraries, or two Keras backends, whose formulas
    may differ)."""
    if "scratch" in (a, b) or reference(a, config) == reference(b, config):
        return "exact"
    return "explained" if explain else "raw"


def sides_needed(pairs, explain: bool, config: OptimizerConfig | None = None) -> list[str]:
    """Side labels, in a fixed order: torch, keras, keras-tensorflow, keras-jax, keras-torch,
    scratch[torch], scratch[keras] (and scratch[keras-jax] ..., see ``reference``)."""
    need = set()
    for a, b in pairs:
        if "scratch" in (a, b):
            other = b if a == "scratch" else a
            need |= {other, reference(other, config)}
        else:
            need |= {a, b}
            if _kind(a, b, explain, config) == "explained":
                need |= {reference(a, config), reference(b, config)}
    return [s for s in ORDER if s in need]


def run_sides(case: Case, config: OptimizerConfig, steps: int, labels,
              recurrent_bias: str = "two") -> dict[str, Trace]:
    """Train every side ``steps`` steps on the same batches; record losses and weights (the
    weights after every step are kept: their size is checked against the memory budget first,
    crossframe.resources). ``recurrent_bias`` is torch's (``engines.train_mapping``), for the
    torch side and its scratch reference; a label ``scratch[torch:single]`` (or ``:two``) names
    the other one for one scratch side."""
    from .. import resources

    per_step = sum(np.asarray(w).nbytes for w in case.weights.values())
    resources.guard(per_step * steps * len(labels),
                    f"the weights of {steps} steps on {len(labels)} sides",
                    "pass fewer --steps")
    traces = {}
    for label in labels:
        if label.startswith("scratch["):
            ref, _, bias = label[len("scratch["):-1].partition(":")
            side = scratch_side(case.model, case.dtype, case.weights, config,
                                reference=ref, recurrent_bias=bias or recurrent_bias)
        else:
            side = library_side(label, case.model, case.dtype, case.weights, config,
                                recurrent_bias)
        trace = traces[label] = Trace()
        with np.errstate(all="ignore"):   # a 0/0 shows as NaN in the comparison, once
            for batch in step_batches(case, steps):
                trace.losses.append(side.step(batch.inputs, batch.target))
                trace.weights.append(side.weights())
    return traces


def first_non_finite(trace: Trace) -> int | None:
    """The first step (1-based) whose loss or weights hold a NaN or an infinity, or None."""
    for k in range(len(trace.losses)):
        if not all(np.all(np.isfinite(x)) for x in trace.tensors(k).values()):
            return k + 1
    return None


def non_finite_error(config: OptimizerConfig, what: str):
    """The InputError for a run the settings made undefined: ``what`` went non-finite."""
    from ..errors import InputError

    eps = "eps" in config.values
    cause = ("eps = 0 divides a gradient that is exactly 0 by 0; a large lr overflows"
             if eps else "a large lr overflows")
    return InputError(f"{config.describe()}: {what} went non-finite: nothing to compare "
                      f"({cause})", "give --eps > 0, a smaller --lr or fewer --steps" if eps
                      else "give a smaller --lr or fewer --steps")


def check_finite(traces: dict[str, Trace], config: OptimizerConfig) -> None:
    """InputError when *every* side went non-finite: the settings, not a framework, made the
    run undefined (eps = 0 dividing a gradient that is exactly 0 by 0, an lr that overflows).
    One side alone going non-finite is a mismatch, left to the comparison."""
    steps = {label: first_non_finite(t) for label, t in traces.items()}
    if steps and all(k is not None for k in steps.values()):
        raise non_finite_error(config, f"every side ({', '.join(steps)}), the first at step "
                                       f"{min(steps.values())},")


def trajectory_table(model: str, optimizer: str = "adam", steps: int = 20,
                     dtype: str = "float64", seed: int = 0, lr: float | None = None,
                     batch_size: int | None = None, options: dict | None = None, pairs=PAIRS,
                     explain: bool = True, config: OptimizerConfig | None = None,
                     recurrent_bias: str = "two") -> pd.DataFrame:
    """Run ``steps`` steps of ``optimizer`` (or ``config``) and compare every pair after each
    (``pairs``: of scratch, torch and the Keras frameworks, e.g. ``pairs_of(["scratch",
    "keras", "keras-jax"])``); ``recurrent_bias`` as in ``run_sides``."""
    config = config or make_config(optimizer, lr=lr)
    case = prepare(model, dtype=dtype, seed=seed, batch_size=batch_size, options=options)
    traces = run_sides(case, config, steps, sides_needed(pairs, explain, config),
                       recurrent_bias)
    return compare_traces(traces, pairs, dtype, explain, config)


SINGLE = "scratch[torch:single]"


def gap_shares(traces: dict[str, Trace]) -> pd.DataFrame:
    """Where the documented torch~keras gap comes from, per step, when torch's recurrent biases
    are two (``traces`` from ``run_sides`` with the labels scratch[torch], scratch[keras] and
    ``SINGLE``): columns step, documented (scratch[torch] vs scratch[keras]), two_bias
    (scratch[torch] vs the same formula with one bias) and formula (one bias: torch's formula vs
    Keras'), each the worst over the weights of max |a - b| / max(|a|, |b|) (the explained
    pair's scale). two_bias is 0 where the model has no two-bias layer; the shares need not add
    up (each is a worst case over the tensors)."""
    two, one, keras = traces["scratch[torch]"], traces[SINGLE], traces["scratch[keras]"]
    rows = []
    for k in range(len(two.losses)):
        a, b, c = two.weights[k], one.weights[k], keras.weights[k]
        rows.append(dict(step=k + 1, documented=_worst(a, c), two_bias=_worst(a, b),
                         formula=_worst(b, c)))
    return pd.DataFrame(rows, columns=["step", "documented", "two_bias", "formula"])


def _worst(a: dict, b: dict) -> float:
    worst = 0.0
    for name in a:
        x, y = (np.asarray(a[name], dtype=np.float64), np.asarray(b[name], dtype=np.float64))
        scale = max(float(np.max(np.abs(x), initial=0)), float(np.max(np.abs(y), initial=0)),
                    TINY)
        worst = max(worst, float(np.max(np.abs(x - y), initial=0)) / scale)
    return worst


def compare_traces(traces: dict[str, Trace], pairs, dtype: str, explain: bool = True,
                   config: OptimizerConfig | None = None) -> pd.DataFrame:
    """The rows described in this module's docstring, from the traces of ``run_sides``
    (``config``: the run's, for the references of ``reference``)."""
    tol = TRAJECTORY[dtype].rel
    rows = []
    for a, b in pairs:
        kind = _kind(a, b, explain, config)
        if "scratch" in (a, b):
            fw = b if a == "scratch" else a
            ta, tb, ref = traces[reference(fw, config)], traces[fw], None
        elif kind == "explained":
            ta, tb = traces[a], traces[b]
            ref = (traces[reference(a, config)], traces[reference(b, config)])
        else:
            ta, tb, ref = traces[a], traces[b], None
        for k in range(len(ta.losses)):
            refs = None if ref is None else (ref[0].tensors(k), ref[1].tensors(k))
            for name, (xa, xb) in _zip(ta.tensors(k), tb.tensors(k)).items():
                row = _compare(xa, xb, None if refs is None else (refs[0][name], refs[1][name]),
                               dtype, tol)
                rows.append(dict(pair=f"{a}~{b}", step=k + 1, tensor=name, kind=kind, tol=tol,
                                 **row))
    return pd.DataFrame(rows, columns=COLUMNS)


def _zip(a: dict, b: dict) -> dict:
    missing = set(a) ^ set(b)
    assert not missing, f"tensors {sorted(missing)} on one side only"
    return {k: (a[k], b[k]) for k in a}


def _compare(a, b, ref, dtype: str, tol: float) -> dict:
    """One tensor: a against b, or (a - b) against ``ref = (ref_a, ref_b)``'s difference."""
    row = dict(max_abs=np.inf, max_rel=np.inf, ok=False, documented=np.nan, note="")
    arrays = (a, b) if ref is None else (a, b, *ref)
    if any(x.shape != a.shape for x in arrays):
        row["note"] = "shapes " + " vs ".join(str(x.shape) for x in arrays)
    elif any(str(x.dtype) != dtype for x in arrays):
        row["note"] = "dtypes " + " vs ".join(str(x.dtype) for x in arrays) + f", expected {dtype}"
    elif not all(np.all(np.isfinite(x)) for x in arrays):
        row["note"] = "non-finite values"
    elif ref is None:
        row["max_abs"], row["max_rel"] = errors(a, b)
    else:
        a64, b64, ra, rb = (np.asarray(x, dtype=np.float64) for x in arrays)
        scale = max(float(np.max(np.abs(a64), initial=0)), float(np.max(np.abs(b64), initial=0)),
                    TINY)
        residual = (a64 - b64) - (ra - rb)
        row["max_abs"] = float(np.max(np.abs(residual), initial=0))
        row["max_rel"] = row["max_abs"] / scale
        row["documented"] = float(np.max(np.abs(ra - rb), initial=0)) / scale
    row["ok"] = bool(row["max_rel"] <= tol)
    return row


def growth(table: pd.DataFrame) -> pd.DataFrame:
    """Worst max_rel over all tensors, by step (rows) and pair (columns, in the table's order),
    plus each explained pair's documented difference ("torch~keras documented"): how the
    error grows with K."""
    worst = table.pivot_table(index="step", columns="pair", values="max_rel", aggfunc="max")
    worst = worst[list(dict.fromkeys(table["pair"]))]
    documented = table[table["kind"] == "explained"]
    for pair in dict.fromkeys(documented["pair"]):
        rows = documented[documented["pair"] == pair]
        worst[f"{pair} documented"] = rows.groupby("step")["documented"].max()
    return worst
