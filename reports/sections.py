"""The report's sections, each built from the registry, the mapping declarations and measured
Results — no model name appears in this file, so a model registered later appears by itself.

    environment(seed)                 versions, BLAS, CPU and threads, seeds
    parity(checked)                   models x pairs x dtypes, worst relative error vs tolerance
                                      (the three frameworks, and Keras on its other backends:
                                      reports/backends.py)
    per_model(checked)                per-tensor table + heatmap of the error per parameter
    differences(ticker)               where the libraries compute different formulas, measured
    speed(names, repeats)             crossframe.bench timings (volatile: kept out of report.md)

Each returns a ``Section`` (or a list of them) of ``document`` blocks; ``ticker`` advances the
progress bar.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from crossframe.describe import option_text
from crossframe.lesson import model_kinds
from crossframe.result import Result
from crossframe.runner import prepare, run, run_all
from crossframe.runner import check as check_case
from crossframe.spec import FRAMEWORKS, PAIRS, Spec
from crossframe.tolerances import DTYPES, TINY, TOLERANCES, tolerance

from . import backends, plots, structure
from .document import Bullets, Image, Section, Table, Text, slug

Ticker = Callable[[str], None]  # called once per unit of work with a label

PAIR_NAMES = tuple(f"{a}~{b}" for a, b in PAIRS)   # the heatmaps' pairs


def _no_tick(label: str) -> None:
    pass


# --- grading a relative error against the tolerance table ------------------------------------
def grade(max_rel: float, tol: float) -> str:
    """HTML class of a cell: "good" (<= 10% of tol), "near" (<= tol), "fail" (> tol or missing)."""
    if not np.isfinite(max_rel) or max_rel > tol:
        return "fail"
    return "good" if max_rel <= tol / 10 else "near"


def mark(max_rel: float, tol: float) -> str:
    """The displayed cell: the number and a tick, readable without colour (Markdown)."""
    if not np.isfinite(max_rel):
        return "missing ✗"
    number = f"{max_rel:.1e}" if max_rel else "0"  # 0: bitwise equal
    return f"{number} " + ("✗" if max_rel > tol else "✓")


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}" if np.isfinite(value) else "–"
    return "" if value is None else str(value)


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings for display: floats to 3 significant digits, None to ''."""
    return frame.map(_fmt) if len(frame) else frame.astype(str)


# --- running the checks once -----------------------------------------------------------------
@dataclass
class Checked:
    """One spec, checked in every dtype: the comparison tables and the Results behind them."""

    spec: Spec
    opts: dict
    tables: dict[str, pd.DataFrame]  # dtype -> crossframe.runner.check table
    results: dict[str, dict[str, Result]]  # dtype -> framework -> Result
    drawn: "Image | None | bool" = False   # the heatmap, once drawn (False: not yet)

    @property
    def ok(self) -> bool:
        return all(bool(t["ok"].all()) for t in self.tables.values())


class Checks:
    """Every spec in every dtype, in two halves so that this process has work of its own while
    the workers compute: the three frameworks' pairs and Keras on its other backends
    (``backends.backend_pairs()``).

    ``Checks(specs, dtypes, seed)`` hands every case to each other backend's worker at once
    (each starts once and takes them in order); ``local(tick, each)`` runs scratch, torch and
    keras here, spec by spec, calling ``each(checked)`` after each spec (the report draws its
    heatmap then: it needs only these three); ``finish()`` waits for the workers and compares
    every pair. Between the two, the report trains and measures (see build.compose)."""

    def __init__(self, specs: list[Spec], dtypes, seed: int):
        self.specs, self.dtypes = specs, list(dtypes)
        self.pairs = [*PAIRS, *backends.backend_pairs()]
        self.cases = [prepare(spec.name, dtype=dtype, seed=seed) for spec in specs
                      for dtype in dtypes]
        self.background = backends.Background()
        self.elsewhere = [{fw: self.background.submit(fw, run, case, fw)
                           for fw in backends.backend_frameworks()} for case in self.cases]
        self.checked: list[Checked] = []

    def local(self, tick: Ticker = _no_tick, each: Callable[["Checked"], None] | None = None):
        for i, spec in enumerate(self.specs):
            results = {}
            for j, dtype in enumerate(self.dtypes):
                tick(f"check {spec.name} {dtype}")
                results[dtype] = run_all(self.cases[i * len(self.dtypes) + j], FRAMEWORKS)
            c = Checked(spec, self.cases[i * len(self.dtypes)].opts, {}, results)
            self.checked.append(c)
            if each is not None:
                each(c)
        return self.checked

    def finish(self) -> list[Checked]:
        """Every spec's Results from the workers, and every pair compared."""
        for i, c in enumerate(self.checked):
            for j, dtype in enumerate(self.dtypes):
                k = i * len(self.dtypes) + j
                c.results[dtype].update({fw: f.result() for fw, f in self.elsewhere[k].items()})
                c.tables[dtype] = check_case(self.cases[k], self.pairs, results=c.results[dtype])
        self.close()
        return self.checked

    def close(self) -> None:
        self.background.close()


def run_checks(specs: list[Spec], dtypes, seed: int, tick: Ticker = _no_tick) -> list[Checked]:
    """``Checks`` in one go: every spec in every dtype, every pair compared."""
    checks = Checks(specs, dtypes, seed)
    try:
        checks.local(tick)
        return checks.finish()
    finally:
        checks.close()


def pair_names(checked: list[Checked]) -> list[str]:
    """The pairs compared, in the order they were (``a~b``)."""
    return list(dict.fromkeys(p for c in checked for t in c.tables.values() for p in t.pair))


def all_checks(checked: list[Checked]) -> pd.DataFrame:
    """Every row of every comparison, long format: model, dtype + crossframe.runner.check's."""
    return pd.concat([t.assign(model=c.spec.name, dtype=d)[["model", "dtype", *t.columns]]
                      for c in checked for d, t in c.tables.items()], ignore_index=True)


def verdict(checked: list[Checked], dtypes) -> tuple[bool, Text]:
    rows = all_checks(checked)
    worst = "; ".join(
        f"worst {d} {rows[rows.dtype == d].max_rel.max():.1e} (tolerance {tolerance(d).rel:g})"
        for d in dtypes)
    failing = [c.spec.name for c in checked if not c.ok]
    many = "models and layers" if len(checked) != 1 else "model or layer"
    count = (f"{len(checked)} {many} x {len(pair_names(checked))} framework pairs x "
             f"{len(dtypes)} dtypes")
    if not failing:
        return True, Text(f"All within tolerance: {count}, {len(rows)} tensors compared; {worst}.",
                          "verdict pass")
    return False, Text(f"MISMATCH in {', '.join(failing)} ({count}); {worst}. "
                       "See the red cells below.", "verdict fail")


# --- Environment -----------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _threadpools() -> list[tuple[str, str]]:
    """("BLAS" | "OpenMP" | ..., description) for every thread pool library loaded."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # numpy's own record of what it was built against
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return [("BLAS", f"{info.get('name')} {info.get('version')} (numpy build)")]
    label = {"blas": "BLAS", "openmp": "OpenMP"}
    return sorted(
        (label.get(i.get("user_api"), str(i.get("user_api"))),
         " ".join(str(i[k]) for k in ("internal_api", "version") if i.get(k))
         + f" — {i.get('num_threads')} threads, {os.path.basename(i.get('filepath', ''))}")
        for i in threadpool_info())


def environment(seed: int, tick: Ticker = _no_tick) -> Section:
    tick("environment")
    import matplotlib
    import torch

    import crossframe
    from crossframe.keras_impl.backend import keras, tf

    rows = [
        ("Python", platform.python_version()),
        ("NumPy", np.__version__),
        ("PyTorch", torch.__version__),
        ("TensorFlow", tf.__version__),
        ("Keras", f"{keras.__version__} (backend {keras.backend.backend()})"),
        ("pandas", pd.__version__),
        ("matplotlib", matplotlib.__version__),
        ("crossframe", crossframe.__version__),
        *backends.environment_rows(),
        *_threadpools(),
        ("CPU", _cpu_model()),
        ("platform", platform.platform()),
        ("CPU cores (visible / usable)",
         f"{os.cpu_count()} / {len(os.sched_getaffinity(0))}"
         if hasattr(os, "sched_getaffinity") else str(os.cpu_count())),
        ("torch threads (intra-op / inter-op)",
         f"{torch.get_num_threads()} / {torch.get_num_interop_threads()}"),
        ("TensorFlow threads (intra-op / inter-op; 0 = all cores)",
         f"{tf.config.threading.get_intra_op_parallelism_threads()} / "
         f"{tf.config.threading.get_inter_op_parallelism_threads()}"),
        *[(f"${v}", os.environ.get(v, "unset"))
          for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")],
        ("seed: canonical weights and batches", str(seed)),
        ("seed: training runs", str(seed)),
    ]
    table = pd.DataFrame(rows, columns=["item", "value"])
    return Section("Environment", "environment", [
        Table("environment", table),
        Text(f"Every weight, batch and upstream gradient is drawn from seed {seed}: each "
             "tensor has its own generator seeded by (seed, name) (`crossframe.data.rng_for`), "
             "so the same seed gives the same numbers on any machine."),
    ])


# --- Parity at a glance ----------------------------------------------------------------------
def tolerance_table(dtypes) -> pd.DataFrame:
    return pd.DataFrame([{"dtype": d, "device": dev, "max_rel": t.rel, "why": t.why}
                         for (d, dev), t in TOLERANCES.items() if d in dtypes and dev == "cpu"])


def parity(checked: list[Checked], dtypes) -> Section:
    data, text, css = [], [], []
    pairs = pair_names(checked)
    for c in checked:
        row = {"model": c.spec.name, "kind": c.spec.kind}
        for dtype in dtypes:
            t = c.tables[dtype]
            for pair in pairs:
                worst = float(t[t.pair == pair].max_rel.max())
                row[f"{dtype} {pair}"] = worst
        data.append(row)
        text.append({k: (mark(v, tolerance(k.split()[0]).rel) if isinstance(v, float) else v)
                     for k, v in row.items()})
        css.append({k: (grade(v, tolerance(k.split()[0]).rel) if isinstance(v, float) else "")
                    for k, v in row.items()})
    matrix = pd.DataFrame(data)
    tols = tolerance_table(dtypes)
    return Section("Parity at a glance", "parity", [
        Text("Each cell is the worst normwise relative error `max |a - b| / max(|a|, |b|)` over "
             "every tensor of that model — outputs, loss, every parameter gradient, every input "
             "gradient — for one framework pair in one dtype. Green: under 10% of the tolerance; "
             "yellow: within the tolerance; red: over it (or a tensor missing, mis-shaped or of "
             "the wrong dtype). `keras` is Keras on this process' backend (TensorFlow unless "
             "KERAS_BACKEND says otherwise); `keras-jax` and `keras-torch` are the same Keras "
             "code on JAX and on PyTorch, each run in a process of its own (the section "
             "\"Keras on JAX and torch\" says what Keras computes there in float64). "
             "[How to read this report](#guide) works one cell out from the two frameworks' "
             "numbers."),
        Table("parity_matrix", matrix, pd.DataFrame(text), pd.DataFrame(css),
              caption="worst relative error per model, pair and dtype", grouped=True),
        Text("Tolerances (crossframe.tolerances, one bound per dtype): "
             + ", ".join(f"{r.dtype} {r.max_rel:g}" for r in tols.itertuples())
             + "; why these: [How to read this report](#guide)."),
        Table("checks", all_checks(checked), show="link",
              caption="every row of every comparison (model, dtype, pair, tensor, max_abs, "
                      "max_rel, tol, ok, note)"),
    ])


# --- Per model -------------------------------------------------------------------------------
TERMS_MARK = "†"   # a tensor measured against its sum of |terms| (crossframe.tolerances)
TERMS_NOTE = (f"{TERMS_MARK} measured against the sum of |terms| of its largest entry, not "
              "against max(|a|, |b|): each entry is a sum of random-signed products (a lone "
              "linear layer's outputs and gradients, a lone layer's loss sum(G * y)), and a sum "
              "is only accurate relative to the sum of the absolute values of its terms, which "
              "cancellation can make far larger than the value (crossframe.tolerances). A wrong "
              "formula still errs by O(1) of that scale.")


def tensor_table(c: Checked) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One row per tensor, one column per (dtype, pair): (numbers, display strings, classes).

    ``scale`` (numbers only): "sum of |terms|" where ``compare`` divided by the sum of |terms|
    (``guide.terms_scales``), else "own"; the displayed tensor name carries TERMS_MARK there."""
    from .guide import terms_scales

    long = pd.concat([t.assign(dtype=d) for d, t in c.tables.items()], ignore_index=True)
    first = long.drop_duplicates("tensor").set_index("tensor")
    order = list(first.index)
    data = first[["kind", "shape"]].copy()
    text, css = data.copy(), data.map(lambda _: "")
    for dtype in c.tables:
        tol = tolerance(dtype).rel
        for pair in dict.fromkeys(long.pair):
            col = f"{dtype} {pair}"
            part = long[(long.dtype == dtype) & (long.pair == pair)].set_index("tensor")
            values = part["max_rel"].reindex(order).astype(float)
            data[col] = values
            text[col] = values.map(lambda v, tol=tol: mark(v, tol))
            css[col] = values.map(lambda v, tol=tol: grade(v, tol))
    notes: dict[str, list[str]] = {}
    for r in long[long.note != ""].itertuples():
        notes.setdefault(r.tensor, []).append(f"{r.dtype} {r.pair}: {r.note}")
    data["note"] = text["note"] = ["; ".join(notes.get(t, [])) for t in order]
    css["note"] = ""
    summed = {tensor for _, _, tensor in terms_scales(c)}
    data["scale"] = ["sum of |terms|" if t in summed else "own" for t in order]
    text = text.reset_index()
    text["tensor"] = [f"{t} {TERMS_MARK}" if t in summed else t for t in order]
    return (data.reset_index(), text, css.reset_index().assign(tensor=""))


def element_errors(a: np.ndarray | None, b: np.ndarray | None, shape,
                   terms: float = 0.0) -> np.ndarray:
    """|a - b| / scale element-wise as 2-D, scale = max(|a|, |b|, ``terms``) over the tensor
    (``terms``: its sum of |terms| where the comparison used one, so that the largest element
    is the table's max_rel); all inf (drawn red) when a side is missing or mis-shaped."""
    if a is None or b is None or a.shape != tuple(shape) or b.shape != tuple(shape):
        return structure.as_2d(np.full(shape, np.inf))
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(float(np.max(np.abs(a64), initial=0)), float(np.max(np.abs(b64), initial=0)),
                terms, TINY)
    return structure.as_2d(np.abs(a64 - b64) / scale)


def heatmap(c: Checked) -> Image | None:
    """Every parameter's element-wise error, every dtype checked (float64, then float32) side
    by side, each pair of the three frameworks; a state tensor (a running statistic) shows its
    value after the pass, a trainable one its gradient. None when the spec has no parameter."""
    from .guide import terms_scales

    params = [p for p in c.spec.param_specs(c.opts) if p.shape]
    if not params:
        return None
    dtypes = [d for d in DTYPES if d in c.results] + [d for d in c.results if d not in DTYPES]
    terms = terms_scales(c)
    panels = []
    for p in params:
        state = p.role == "state"
        tensor = f"{'state' if state else 'grad'}:{p.name}"
        get = (lambda r, n: r.state.get(n)) if state else (lambda r, n: r.grads.get(n))
        errors = {d: {f"{a}~{b}": element_errors(get(c.results[d][a], p.name),
                                                 get(c.results[d][b], p.name), p.shape,
                                                 terms.get((d, f"{a}~{b}", tensor), 0.0))
                      for a, b in PAIRS} for d in dtypes}
        what = "state after the pass" if state else ""
        if any(key[2] == tensor for key in terms):
            what = f"{what}\n{TERMS_MARK} scale: sum of |terms|".strip()
        panels.append(plots.HeatPanel(p.name, tuple(p.shape),
                                      structure.view(c.spec, c.opts, p), errors, what))
    scales = {d: plots.Scale(tolerance(d).rel, float(np.finfo(d).eps)) for d in dtypes}
    png = plots.error_heatmap(f"{c.spec.name}: the error of every parameter gradient, "
                              "element by element", panels, scales)
    shown_dtypes = " and ".join(dtypes)
    return Image(f"heatmap_{slug(c.spec.name)}", png,
                 f"heatmap of the {shown_dtypes} gradient error of every parameter of "
                 f"{c.spec.name}",
                 caption=f"{shown_dtypes} gradient error per parameter element (one row per "
                         "parameter, one column per pair; each dtype its own colour bar). The "
                         "last axis is the columns (output units, gate columns, output "
                         "channels); black lines: gate blocks (labelled above) and a kernel's "
                         "taps (rows); a tensor of a few elements prints its errors; one with "
                         "more rows than pixels shows the worst of each block of rows.")


def draw(c: Checked, tick: Ticker = _no_tick) -> None:
    """Draw ``c``'s heatmap once (kept on ``c.drawn``)."""
    tick(f"plot {c.spec.name}")
    c.drawn = heatmap(c)


def per_model(checked: list[Checked], tick: Ticker = _no_tick) -> list[Section]:
    """One subsection per model: what it is, its tensor table and its heatmap (drawn here
    unless ``draw`` drew it already)."""
    sections = [Section("Models and layers", "models", [Text(
        "For each model and layer: what it is, every tensor compared, and where in each "
        "parameter the error sits.")])]
    for c in checked:
        if c.drawn is False:
            draw(c, tick)
        s = c.spec
        # as the command line takes them: `crossframe check NAME <these>` reruns the check
        opts = " ".join(f"--{k.replace('_', '-')} {option_text(v)}" for k, v in c.opts.items()
                        if k in {o.name for o in s.options} and v is not None)
        data, text, css = tensor_table(c)
        blocks = [
            Text(f"{s.summary}. {s.kind}, {s.family} family; loss `{s.loss}`"
                 + (f"; data: {s.dataset}" if s.dataset else "")
                 + (f"; options: `{opts}`" if opts else "")
                 + ". Lessons: " + ", ".join(f"[{k}](#lesson-{slug(k)})"
                                          for k in model_kinds(s, c.opts)) + "."),
            Text("All within tolerance." if c.ok else "MISMATCH: see the red cells.",
                 "verdict pass" if c.ok else "verdict fail"),
            Table(f"tensors_{slug(s.name)}", data, text, css,
                  caption=f"{s.name}: relative error per tensor, pair and dtype", grouped=True),
        ]
        if (data["scale"] != "own").any():
            blocks.append(Text(TERMS_NOTE))
        image = c.drawn
        blocks.append(image if image else Text("No parameters: only the output and the input "
                                               "gradient are compared."))
        if s.notes:
            blocks.append(Bullets(list(s.notes)))
        sections.append(Section(s.name, f"model-{slug(s.name)}", blocks, level=3))
    return sections


# --- Where the libraries differ --------------------------------------------------------------
def differences(tick: Ticker = _no_tick) -> Section:
    from crossframe.spec import differences as declared

    rows = []
    for d in declared():
        tick(f"difference: {d.topic}")
        rows.append({"topic": d.topic, "torch": d.torch, "keras": d.keras,
                     "agree_when": d.agree_when,
                     "measured_rel": float(d.measure()) if d.measure else float("nan")})
    table = pd.DataFrame(rows, columns=["topic", "torch", "keras", "agree_when", "measured_rel"])
    text = table.copy()
    text["measured_rel"] = [f"{v:.2e}" if np.isfinite(v) else "not measured"
                            for v in table["measured_rel"]]
    return Section("Where the libraries compute different formulas", "differences", [
        Text("Each row is a place where PyTorch and Keras compute a different formula, or hide "
             "one behind a default. crossframe makes them agree as \"they agree when\" says; "
             "\"measured difference\" is how far apart the two formulas land when that is not "
             "done: the normwise relative error between them on the canonical data, computed "
             "now (`Difference.measure`)."),
        Table("differences", table, text.rename(columns={"agree_when": "they agree when",
                                                          "measured_rel": "measured difference"}),
              caption="crossframe.spec.differences(), each measured"),
    ])


# --- Speed -----------------------------------------------------------------------------------
SPEED_WORKLOADS = ("mlp", "conv2d", "lstm_layer")   # the report's; `crossframe bench` has all


def speed_workloads(names: list[str]) -> list:
    """The benchmarks the speed section times: one per family among the report's models."""
    from crossframe.bench import benchmarks

    known = benchmarks()
    return [known[n] for n in SPEED_WORKLOADS if n in known and known[n].spec in names]


def speed_steps(names: list[str]) -> int:
    """Progress steps of the speed section: one per workload, one for the sweep."""
    chosen = speed_workloads(names)
    return len(chosen) + 1 if chosen else 0


def speed(names: list[str], repeats: int, tick: Ticker = _no_tick) -> Section:
    from crossframe import bench

    chosen = speed_workloads(names)
    section = Section("Speed", "speed")
    if not chosen:
        section.blocks.append(Text("No benchmark workload is declared for the models in this "
                                   "report (`BENCHMARKS` in crossframe.models.*)."))
        return section
    workloads = pd.DataFrame([{"benchmark": b.name, "model": b.spec, "batch_size": b.batch_size,
                               "options": " ".join(f"--{k} {v}" for k, v in b.options.items()),
                               "about": b.about, "target_ratio": b.target} for b in chosen])
    parts = []
    for b in chosen:
        tick(f"bench {b.name}")
        parts.append(bench.measure([b.name], dtypes=("float32",), repeats=repeats, warmup=1,
                                   limits=True))
    timings = pd.concat(parts, ignore_index=True)
    peaks = {k: v for p in parts for k, v in p.attrs.get("peaks", {}).items()}
    tick("bench sweep")
    names_ = {b.name for b in chosen}
    swept = bench.sweep(("float32",), repeats=2, warmup=1, peaks=peaks, limits=False,
                        frameworks=["scratch-fast", "torch"],
                        batch_on=tuple(n for n in ("mlp",) if n in names_),
                        steps_on=tuple(n for n in ("lstm_layer",) if n in names_),
                        batches=(1, 16, 256, 1024), steps=(10, 30, 100, 300))
    regimes = bench.linear_from(swept)
    keep = ["benchmark", "dtype", "framework", "threads", "median_ms", "min_ms", "p90_ms",
            "busy", "ratio_to_torch", "target", "gflops", "peak_share", "floor_ms",
            "step_to_floor", "torch_kernels"]
    timings = timings[keep]
    text = shown(timings.drop(columns=["busy"]))
    text["ratio_to_torch"] = [f"{v:.2f}x" + (" (busy)" if b else "")
                              for v, b in zip(timings["ratio_to_torch"], timings["busy"])]
    busy = int(timings["busy"].sum())
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    peak_text = "; ".join(f"{d} {v:.0f} GFLOP/s" for d, v in peaks.items())
    section.blocks += [
        Text(f"One forward + backward pass, float32, median of {repeats} run(s) after one "
             "warm-up, every row with the same threads (`threads`) in this process "
             "(`crossframe bench` times every model, both dtypes, each framework in a fresh "
             "process, with memory). Keras on each other backend is timed inside its own "
             "worker process, so the pipe is never timed. The limits were measured in the same "
             "run: the GEMM peak of this machine (under the chart: it changes from run to "
             "run); `gflops`: "
             "the workload's matrix-product and convolution FLOPs (torch's FlopCounterMode) per "
             "second, `peak_share` its share of the peak; `floor_ms`: scratch-fast's own matrix "
             "products replayed alone, `step_to_floor` the whole step over it; "
             "`torch_kernels`: the oneDNN kernels torch ran. Timings change from run to run, so "
             "they live in [speed.csv](speed.csv) and the chart and are shown in index.html, "
             "never in report.md."),
        Table("speed_workloads", workloads, shown(workloads), caption="the workloads"),
        Table("speed", timings, text, show="html",
              caption="median and best time per pass; ratio = median / torch's median"),
    ]
    warning = (f"The machine was busy: {busy} of {len(timings)} rows had a median over "
               f"{bench.BUSY}x their fastest run (load average {load}); their ratios are "
               "uncertain: rerun on a quiet machine for figures to quote" if busy else
               f"load average {load}") + f"; GEMM peak: {peak_text or 'not measured'}"
    section.blocks += [
        Image("speed", plots.speed_bars(timings), "median ms per pass, log axis, with spread",
              caption=warning, show="html"),
        Text("Cost against size (log-log; slope 1 is a cost linear in the size, a flat start a "
             "fixed cost per call): the MLP over batch size (1 to 1024), the LSTM layer over "
             "sequence length (10 to 300), where the report has them, scratch-fast and torch, "
             "two runs each (`crossframe bench --sweep` for every framework and more sizes)."),
        Image("speed_sweep", plots.sweep_lines(swept), "cost against batch size and sequence "
              "length, log-log", show="html"),
        Table("speed_linear_from", regimes, shown(regimes), show="html",
              caption="where each framework's cost turns linear: from this size on, time per "
                      f"item within {bench.LINEAR}x of the largest size's"),
    ]
    return section
