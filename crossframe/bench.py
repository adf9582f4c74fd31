"""``crossframe bench``: forward + backward timings, scratch vs PyTorch vs Keras, in one process.

Speed goals live here, never in timed unit tests: machines are shared and noisy, so what is
reported is the *ratio* scratch / torch measured in the same run, plus the medians.

Workloads are declared by the family spec modules (``BENCHMARKS`` in crossframe.models.*):
a registered spec with options and a batch size. Each framework builds the model once, loads
the canonical weights through its mapping once, then times a closure doing one forward +
backward pass (``make_step`` in each engine) — no mapping or conversion inside the timing.
Keras is timed eagerly and as a compiled ``tf.function``.
"""
from __future__ import annotations

import importlib
import statistics
import time
from dataclasses import dataclass, field

from .cliargs import emit

HELP = "time forward+backward: scratch vs torch vs Keras (ratios in one run)"


@dataclass(frozen=True)
class Benchmark:
    name: str
    spec: str
    batch_size: int
    options: dict = field(default_factory=dict)
    about: str = ""
    target: float | None = None  # the ratio scratch/torch the project aims for


def benchmarks() -> dict[str, Benchmark]:
    from .spec import FAMILIES

    out = {}
    for family in FAMILIES:
        for b in getattr(importlib.import_module(f"crossframe.models.{family}"),
                         "BENCHMARKS", ()):
            out[b.name] = b
    return out


ROWS = ("scratch", "scratch-fast", "torch", "keras")


def _steps(case):
    """{row: zero-argument callable doing one forward + backward pass}: the textbook scratch,
    the fast scratch, torch, Keras eager and Keras as a ``tf.function``."""
    from . import frameworks

    steps = {}
    b = case.batch
    for fw in ROWS:
        mapping = case.mapping(fw)
        engine = frameworks.engine(fw)
        model = frameworks.build(fw, case.model, case.dtype)
        weights = mapping.params_to_framework(case.weights)
        if fw.startswith("scratch"):
            model.load(weights)
        elif fw == "torch":
            engine.load_state(model, weights)
        else:
            engine.load_weights(model, weights)
        args = (model, mapping.inputs_to_framework(b.inputs), b.target,
                mapping.upstream_to_framework(b.upstream), case.model.loss, case.dtype)
        steps[fw] = engine.make_step(*args)
        if fw == "keras":
            steps["keras (tf.function)"] = engine.make_step(*args, compiled=True)
    return steps


MAX_REPEATS = 10_000          # a median of more runs tells nothing new; more only hangs


def _time(fn, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def measure(names=None, dtypes=("float32",), repeats: int = 20, warmup: int = 3,
            progress: bool = False):
    """A DataFrame: benchmark, dtype, framework, median_ms, min_ms, ratio_to_torch."""
    import pandas as pd

    from .errors import InputError, did_you_mean
    from .runner import prepare

    known = benchmarks()
    names = list(known) if not names else names
    for n in names:
        if n not in known:
            raise InputError(f"unknown benchmark '{n}'", did_you_mean(n, known))
    rows = []
    todo = [(n, d) for n in names for d in dtypes]
    if progress:
        from tqdm import tqdm

        todo = tqdm(todo, desc="bench", unit="workload")
    for name, dtype in todo:
        bm = known[name]
        case = prepare(bm.spec, dtype=dtype, batch_size=bm.batch_size, options=bm.options)
        times = {fw: _time(step, repeats, warmup) for fw, step in _steps(case).items()}
        torch_median = statistics.median(times["torch"])
        for fw, t in times.items():
            rows.append(dict(benchmark=name, about=bm.about, dtype=dtype, framework=fw,
                             median_ms=statistics.median(t), min_ms=min(t),
                             ratio_to_torch=statistics.median(t) / torch_median,
                             target=bm.target))
    return pd.DataFrame(rows)


def configure(p):
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--dtype", action="append", default=None,
                   help="float32 (default) and/or float64; repeatable")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.add_argument("--list", action="store_true", help="list the benchmarks")
    from .cliargs import add_max_memory

    add_max_memory(p)


def main(args, extra) -> int:
    from .errors import InputError
    from .runner import check_dtype

    if extra:
        raise InputError(f"unknown argument(s): {' '.join(extra)}", "see `crossframe bench -h`")
    if args.list:
        for b in benchmarks().values():
            emit(f"{b.name:<10} {b.about}")
        return 0
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise InputError(f"--repeats {args.repeats} must be from 1 to {MAX_REPEATS}",
                         "pass e.g. 20")
    dtypes = list(dict.fromkeys(check_dtype(d) for d in (args.dtype or ["float32"])))
    table = measure(args.names, dtypes, args.repeats, progress=not args.json)
    if args.json:
        emit(table.to_json(orient="records", indent=1, double_precision=15))
        return 0
    show = table.drop(columns=["about"]).copy()
    for col in ("median_ms", "min_ms"):
        show[col] = show[col].map(lambda v: f"{v:.3f}")
    show["ratio_to_torch"] = show["ratio_to_torch"].map(lambda v: f"{v:.2f}x")
    emit(show.to_string(index=False))
    return 0
