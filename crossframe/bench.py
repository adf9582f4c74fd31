"""``crossframe bench``: forward + backward timings, scratch vs PyTorch vs Keras on each backend.

Speed goals live here, never in timed unit tests: machines are shared and noisy, so what is
reported is the *ratio* to torch measured in the same run, plus the medians.

Workloads are declared by the family spec modules (``BENCHMARKS`` in crossframe.models.*):
a registered spec with options and a batch size. Each framework builds the model once, loads
the canonical weights through its mapping once, then times a closure doing one forward +
backward pass (``make_step`` in each engine) — no mapping or conversion inside the timing.

Rows (``--frameworks`` picks some; torch is always timed, as the ratio's reference):

    scratch, scratch-fast, torch      this process
    keras                             Keras on this process' backend (tensorflow unless
                                      KERAS_BACKEND says otherwise): eager, and compiled
                                      (``keras (tf.function)``, ``keras (jax.jit)``)
    keras-jax, keras-torch, ...       Keras on every other backend, in its worker process
                                      (crossframe.keras_backends): eager, and ``(jax.jit)`` /
                                      ``(tf.function)`` where the backend compiles

A worker times its own rows (``time_keras``, called through ``keras_backends.call``) and sends
back only the timings, so the pipe is never inside a timing. Every row says the threads it ran
with (``threads``); a torch-backend worker is given this process' torch thread count. JAX's
dispatch is asynchronous: its timings wait for the results (``jax.block_until_ready``).
"""
from __future__ import annotations

import importlib
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

from .cliargs import emit

HELP = "time forward+backward: scratch vs torch vs Keras on each backend (ratios in one run)"


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


HERE = ("scratch", "scratch-fast", "torch", "keras")
COMPILED = {"tensorflow": "tf.function", "jax": "jax.jit"}   # torch: eager only


def other_backends() -> list[str]:
    """Keras on every backend that is not this process' and whose library is installed
    (``keras-jax`` needs JAX, an optional extra: ``pip install 'crossframe[jax]'``)."""
    from importlib.util import find_spec

    from .frameworks import KERAS_NAMED
    from .keras_backends import backend_of, runs_here

    return [fw for fw in KERAS_NAMED if not runs_here(fw) and find_spec(backend_of(fw))]


def default_frameworks() -> list[str]:
    """scratch, scratch-fast, torch, keras, and Keras on every other installed backend."""
    return [*HERE, *other_backends()]


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def threads(framework: str) -> int:
    """The threads ``framework`` computes with in this process: BLAS (scratch), torch's
    intra-op pool (torch, Keras on torch), TensorFlow's intra-op pool (0 there means all
    usable cores), XLA's CPU pool (JAX: all usable cores, fixed when JAX starts)."""
    if framework.startswith("scratch"):
        from threadpoolctl import threadpool_info

        blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        return max(blas, default=1)
    if framework == "torch":
        import torch

        return torch.get_num_threads()
    from .keras_impl.backend import BACKEND

    if BACKEND == "torch":
        return threads("torch")
    if BACKEND == "tensorflow":
        from .keras_impl.backend import tf

        return tf.config.threading.get_intra_op_parallelism_threads() or usable_cores()
    return usable_cores()


def _sync(backend: str):
    """What makes a step's result ready before the clock stops: JAX's dispatch returns before
    the computation ends; TensorFlow and torch on the CPU return when it has."""
    if backend == "jax":
        import jax

        return jax.block_until_ready
    return None


MAX_REPEATS = 10_000          # a median of more runs tells nothing new; more only hangs


def _time(fn, repeats: int, warmup: int, sync=None) -> list[float]:
    """Milliseconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones
    (``sync(result)`` inside the timing where the result comes back before it is computed)."""
    for _ in range(warmup):
        out = fn()
        if sync is not None:
            sync(out)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        got = fn()
        if sync is not None:
            sync(got)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _keras_steps(model, args, label: str, backend: str) -> dict:
    """{row: step} for a loaded Keras model: eager, and compiled where the backend compiles
    (both asked for by name: ``make_step``'s default compiles on JAX)."""
    from .keras_impl import engine

    steps = {label: engine.make_step(model, *args, compiled=False)}
    if backend in COMPILED:
        steps[f"{label} ({COMPILED[backend]})"] = engine.make_step(model, *args, compiled=True)
    return steps


def time_keras(label, recipe, dtype, weights, inputs, target, upstream, loss, repeats, warmup,
               torch_threads=None):
    """Runs in a Keras backend's worker (``keras_backends.call(backend, "crossframe.bench:
    time_keras", ...)``): build the recipe's model, load ``weights`` (Keras names), time its
    rows there. Returns ``({row: [ms, ...]}, threads)``; ``torch_threads`` sets a torch
    backend's intra-op pool first (the caller's count, so that torch rows compare)."""
    from . import frameworks
    from .keras_backends import rebuild
    from .keras_impl import engine
    from .keras_impl.backend import BACKEND
    from .losses import parse_loss

    if torch_threads and BACKEND == "torch":
        import torch

        torch.set_num_threads(torch_threads)
    model = frameworks.build("keras", rebuild(recipe), dtype)
    engine.load_weights(model, weights)
    steps = _keras_steps(model, (inputs, target, upstream, parse_loss(loss), dtype), label,
                         BACKEND)
    sync = _sync(BACKEND)
    return ({row: _time(step, repeats, warmup, sync) for row, step in steps.items()},
            threads("keras"))


def _timings(case, fws, repeats: int, warmup: int) -> dict:
    """{row: ([ms, ...], threads)} for every framework of ``fws`` on one prepared case."""
    from . import frameworks, keras_backends

    out = {}
    b = case.batch
    for fw in fws:
        mapping = case.mapping(fw)
        weights = mapping.params_to_framework(case.weights)
        args = (mapping.inputs_to_framework(b.inputs), b.target,
                mapping.upstream_to_framework(b.upstream), case.model.loss, case.dtype)
        if frameworks.elsewhere(fw):
            got, n = keras_backends.call(
                keras_backends.backend_of(fw), "crossframe.bench:time_keras", fw,
                keras_backends.portable(case.model), case.dtype, weights, args[0], args[1],
                args[2], case.model.loss.text(), repeats, warmup, threads("torch"))
            out |= {row: (t, n) for row, t in got.items()}
            continue
        engine = frameworks.engine(fw)
        model = frameworks.build(fw, case.model, case.dtype)
        if fw.startswith("scratch"):
            model.load(weights)
        elif fw == "torch":
            engine.load_state(model, weights)
        else:
            engine.load_weights(model, weights)
        if frameworks.base(fw) == "keras":
            backend = keras_backends.backend_of(fw)
            steps = _keras_steps(model, args, fw, backend)
            sync = _sync(backend)
        else:
            steps, sync = {fw: engine.make_step(model, *args)}, None
        n = threads(fw)
        out |= {row: (_time(step, repeats, warmup, sync), n) for row, step in steps.items()}
    return out


def check_frameworks(text: str | None) -> list[str]:
    """``--frameworks`` of bench: known names, two or more, torch among them (every row is
    timed against it); None -> ``default_frameworks()``."""
    from .cliargs import framework_list
    from .errors import InputError

    fws = framework_list(text, default_frameworks())
    if "torch" not in fws:
        raise InputError(f"--frameworks {text!r}: bench times every row against torch",
                         f"add torch, e.g. --frameworks torch,{fws[0]}")
    return fws


def measure(names=None, dtypes=("float32",), repeats: int = 20, warmup: int = 3,
            progress: bool = False, frameworks=None):
    """A DataFrame: benchmark, about, dtype, framework, threads, median_ms, min_ms,
    ratio_to_torch, target. ``frameworks``: as ``--frameworks`` (default
    ``default_frameworks()``); raises InputError for an unknown benchmark or framework."""
    import pandas as pd

    from .errors import InputError, did_you_mean
    from .runner import prepare

    from . import keras_backends
    from .frameworks import elsewhere

    fws = check_frameworks(None if frameworks is None else ",".join(frameworks))
    known = benchmarks()
    names = list(known) if not names else names
    for n in names:
        if n not in known:
            raise InputError(f"unknown benchmark '{n}'", did_you_mean(n, known))
    skipped = {}
    if frameworks is None:        # a default row whose backend cannot start is left out, said
        for fw in [fw for fw in fws if elsewhere(fw)]:
            problem = keras_backends.start_problem(keras_backends.backend_of(fw))
            if problem is not None:
                fws.remove(fw)
                skipped[fw] = problem
    rows = []
    todo = [(n, d) for n in names for d in dtypes]
    if progress:
        from tqdm import tqdm

        todo = tqdm(todo, desc="bench", unit="workload")
    for name, dtype in todo:
        bm = known[name]
        case = prepare(bm.spec, dtype=dtype, batch_size=bm.batch_size, options=bm.options)
        times = _timings(case, fws, repeats, warmup)
        torch_median = statistics.median(times["torch"][0])
        for fw, (t, n) in times.items():
            rows.append(dict(benchmark=name, about=bm.about, dtype=dtype, framework=fw,
                             threads=n, median_ms=statistics.median(t), min_ms=min(t),
                             ratio_to_torch=statistics.median(t) / torch_median,
                             target=bm.target))
    table = pd.DataFrame(rows)
    table.attrs["skipped"] = skipped
    return table


def configure(p):
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--dtype", action="append", default=None,
                   help="float32 (default) and/or float64; repeatable")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--frameworks", default=None,
                   help="comma-separated rows to time, torch among them (default: scratch, "
                        "scratch-fast, torch, keras and Keras on every other installed "
                        "backend: keras-jax, keras-torch when KERAS_BACKEND is unset)")
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
    fws = check_frameworks(args.frameworks)
    table = measure(args.names, dtypes, args.repeats, progress=not args.json,
                    frameworks=None if args.frameworks is None else fws)
    from .keras_backends import column_notes

    ran = column_notes(dict.fromkeys(r.split(" (")[0] for r in table["framework"]))
    if args.json:     # each row: the Keras and backend it ran ("" for scratch and torch)
        table["ran"] = [ran.get(r.split(" (")[0], "") for r in table["framework"]]
        emit(table.to_json(orient="records", indent=1, double_precision=15))
        for fw, why in table.attrs["skipped"].items():      # the JSON stays the rows timed
            print(f"crossframe: note: {fw} not timed — {why}", file=sys.stderr)
        return 0
    show = table.drop(columns=["about"]).copy()
    if show["target"].isna().all():
        show = show.drop(columns=["target"])
    for col in ("median_ms", "min_ms"):
        show[col] = show[col].map(lambda v: f"{v:.3f}")
    show["ratio_to_torch"] = show["ratio_to_torch"].map(lambda v: f"{v:.2f}x")
    emit(show.to_string(index=False))
    for line in ran.values():
        emit(line)
    for fw, why in table.attrs["skipped"].items():
        emit(f"{fw}: not timed — {why}")
    return 0
