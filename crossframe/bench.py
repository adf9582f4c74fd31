"""``crossframe bench``: forward + backward timings of every model and every fast kernel, scratch
vs PyTorch vs Keras on each backend, with the limits measured in the same run.

Speed goals live here, never in timed unit tests: machines are shared and noisy, so what is
reported is the *ratio* to torch measured in the same run, the medians and their spread.

Workloads (``benchmarks()``): every registered model and every lone layer with a fast scratch
kernel (conv2d and the recurrent layers), at batch 128 (the dense family) or 64 (conv,
recurrent, composed), with the options the family modules declare in ``BENCHMARKS`` (a wider
MLP, a 28x28 conv, 50-step recurrent layers) or the spec's defaults.

Rows (``--frameworks`` picks some; torch is always timed, as the ratios' reference):

    scratch, scratch-fast, torch      textbook NumPy, its tuned twin, PyTorch
    keras, keras-jax, keras-torch...  Keras on each backend: eager, and compiled
                                      (``keras (tf.function)``, ``keras-jax (jax.jit)``)

How a row is timed (crossframe.bench_run): each framework in a fresh process of its own
(``--in-process``: this one), pinned to the same number of cores with every library's pool set
to it, glibc's allocator thresholds fixed; the model built and its weights loaded once, then
``warmup`` untimed and ``repeats`` timed calls of one forward + backward (``make_step`` in each
engine; JAX waited for with ``block_until_ready``). A row is *busy* when its median is more than
BUSY times its minimum: the machine was doing something else.

The limits, in the same run (crossframe.bench_limits): the GEMM peak of NumPy's and torch's
BLAS per dtype; per workload its FLOPs (matrix products and convolutions, counted by torch's
FlopCounterMode), achieved GFLOP/s and share of the peak; per scratch-fast row, the NumPy floor
(its own matrix products replayed alone) and the step's ratio to it. ``--sweep``: cost against
batch size and sequence length, with where each framework's cost turns linear.
"""
from __future__ import annotations

import importlib
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from .bench_run import (COMPILED, Job, Work, _keras_steps, _sync, _time,  # noqa: F401
                        usable_cores)
from .cliargs import emit

HELP = "time forward+backward of every model: scratch vs torch vs Keras, with the limits"

BUSY = 1.25                   # median / min above this: the row's machine was busy
MAX_REPEATS = 10_000          # a median of more runs tells nothing new; more only hangs
BATCH = {"dense": 128}        # the targets' batch sizes: 128 dense, 64 for the rest
OTHER_BATCH = 64
SWEEP_BATCH = (1, 4, 16, 64, 256, 1024)
SWEEP_STEPS = (10, 30, 100, 300, 1000)
SWEEP_BATCH_ON = ("mlp", "conv2d", "lstm_layer")
SWEEP_STEPS_ON = ("rnn_layer", "lstm_layer", "gru_layer")
LINEAR = 1.25                 # time per item within this of the largest size's: linear


@dataclass(frozen=True)
class Benchmark:
    name: str
    spec: str
    batch_size: int
    options: dict = field(default_factory=dict)
    about: str = ""
    target: float | None = None  # the ratio scratch-fast/torch (float32) the project aims for


def _declared() -> dict[str, Benchmark]:
    from .spec import FAMILIES

    out = {}
    for family in FAMILIES:
        for b in getattr(importlib.import_module(f"crossframe.models.{family}"),
                         "BENCHMARKS", ()):
            out[b.spec] = b
    return out


def benchmarks() -> dict[str, Benchmark]:
    """{name: Benchmark}: every registered model (but ``sequential``, which is the user's) and
    every lone layer with a fast scratch kernel, named after its spec; a family's declared
    ``BENCHMARKS`` entry gives the options, batch size and target where it has one."""
    from .spec import all_specs

    declared = _declared()
    out = {}
    for s in all_specs():
        if s.name == "sequential" or (s.kind == "layer" and not fast_kernel(s)):
            continue
        if s.name in declared:
            out[s.name] = declared[s.name]
            continue
        batch = BATCH.get(s.family, OTHER_BATCH)
        out[s.name] = Benchmark(s.name, s.name, batch, {}, f"{s.summary.split(':')[0]}, N={batch}",
                                target=1.0 if s.family == "dense" else 1.5)
    return out


def fast_kernel(spec) -> bool:
    """Whether a spec's model holds a layer with a fast scratch twin (scratch/fast/)."""
    from .frameworks import has_fast

    return any(has_fast(cfg.decl) for cfg in spec.sequential(spec.resolve()).layers)


HERE = ("scratch", "scratch-fast", "torch", "keras")


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


# --- running the jobs -----------------------------------------------------------------------
def _fresh(job: Job, tick) -> dict:
    """``job`` in a fresh process (``python -m crossframe.bench_run``); rows arrive one by one
    (``tick`` per row). Its chatter goes to a temporary log, quoted if it stops."""
    from . import frameworks, keras_backends
    from .errors import InputError

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if frameworks.base(job.framework) == "keras":
        env["KERAS_BACKEND"] = keras_backends.backend_of(job.framework)
    with tempfile.TemporaryFile(prefix="crossframe-bench-") as log:
        proc = subprocess.Popen([sys.executable, "-m", "crossframe.bench_run"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                env=env)
        out = {"rows": []}
        try:
            pickle.dump(job, proc.stdin, protocol=5)
            proc.stdin.close()
            while True:
                kind, value = pickle.load(proc.stdout)
                if kind == "error":
                    raise value
                if kind == "done":
                    break
                if kind == "info":
                    out["info"] = value
                else:
                    out["rows"].append(value)
                    tick()
        except (EOFError, pickle.UnpicklingError, BrokenPipeError):
            proc.wait()
            log.seek(0)
            tail = [ln for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
            raise InputError(f"the {job.framework} bench process stopped: "
                             f"{' | '.join(tail[-3:]) or f'exit code {proc.returncode}'}",
                             "run it alone: crossframe bench NAME --frameworks "
                             f"torch,{job.framework} --in-process") from None
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return out


def _in_process(job: Job, tick) -> dict:
    from . import bench_run, frameworks, keras_backends

    if frameworks.elsewhere(job.framework):
        out = keras_backends.call(keras_backends.backend_of(job.framework),
                                  "crossframe.bench_run:run", job)
    else:
        out = bench_run.run(job)
    for _ in out["rows"]:
        tick()
    return out


def collect(works, fws, repeats: int, warmup: int, fresh: bool, threads_: int | None,
            memory: bool, limits: bool, progress: bool, desc: str = "bench",
            max_time: float | None = None, eager: bool = True):
    """Every framework's rows of ``works``: (rows, {framework: info}); ``eager=False``: Keras'
    compiled row only, where its backend compiles."""
    total = sum(len(works) * (2 if _compiles(fw) and eager else 1) for fw in fws)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="row")
    from .errors import raise_if_signalled

    def tick():         # a Ctrl-C swallowed by a library's callback still stops the run
        raise_if_signalled()
        if bar is not None:
            bar.update()

    rows, infos = [], {}
    try:
        for fw in fws:
            job = Job(fw, tuple(works), repeats, warmup, threads_, memory, limits, max_time,
                      eager)
            got = (_fresh if fresh else _in_process)(job, tick)
            rows += got["rows"]
            infos[fw] = got.get("info", {})
    finally:
        if bar is not None:
            bar.close()
    return rows, infos


def _compiles(fw: str) -> bool:
    from .frameworks import base
    from .keras_backends import backend_of

    return base(fw) == "keras" and backend_of(fw) in COMPILED


def _works(names, dtypes) -> list[Work]:
    known = benchmarks()
    return [Work(n, known[n].spec, d, known[n].batch_size, dict(known[n].options))
            for n in names for d in dtypes]


def check_names(names) -> list[str]:
    from .errors import InputError, did_you_mean

    known = benchmarks()
    for n in names or ():
        if n not in known:
            raise InputError(f"unknown benchmark '{n}'",
                             did_you_mean(n, known) + " (see `crossframe bench --list`)")
    return list(dict.fromkeys(names)) if names else list(known)


def _settle(frameworks, fws: list[str]):
    """A default row whose backend cannot start is left out and said (``skipped``)."""
    from . import keras_backends
    from .frameworks import elsewhere

    skipped = {}
    if frameworks is None:
        for fw in [fw for fw in fws if elsewhere(fw)]:
            problem = keras_backends.start_problem(keras_backends.backend_of(fw))
            if problem is not None:
                fws.remove(fw)
                skipped[fw] = problem
    return skipped


def _peaks(infos) -> dict:
    """{dtype: GFLOP/s}: the best GEMM peak any process measured (NumPy's or torch's BLAS)."""
    peaks = {}
    for inf in infos.values():
        for d, v in inf.get("gemm_peak", {}).items():
            peaks[d] = max(peaks.get(d, 0.0), v)
    return peaks


def _table(rows, known, peaks):
    import numpy as np
    import pandas as pd

    out = []
    key = ("benchmark", "dtype", "axis", "size")
    torch = {tuple(r[k] for k in key): r for r in rows if r["framework"] == "torch"}
    for r in rows:
        t = r["times"]
        ref = torch.get(tuple(r[k] for k in key))
        median = statistics.median(t)
        flops = ref.get("flops") if ref else None
        bm = known.get(r["benchmark"])
        about = f"{r['axis']} {r['size']}" if r["axis"] else (bm.about if bm else "")
        row = dict(benchmark=r["benchmark"], about=about, dtype=r["dtype"],
                   axis=r["axis"], size=r["size"], framework=r["framework"],
                   threads=r["threads"], rounds=len(t), median_ms=median, min_ms=min(t),
                   p90_ms=float(np.percentile(t, 90)), busy=median > BUSY * min(t),
                   ratio_to_torch=median / statistics.median(ref["times"]) if ref else np.nan,
                   target=bm.target if bm and r["framework"] == "scratch-fast" else None,
                   memory_mib=r.get("memory_mib"),
                   flops=flops, gflops=flops / median / 1e6 if flops else np.nan,
                   torch_kernels=r.get("torch_kernels", ""),
                   floor_ms=r.get("floor_ms", np.nan))
        row["peak_share"] = row["gflops"] / peaks[r["dtype"]] if peaks.get(r["dtype"]) \
            else np.nan
        row["step_to_floor"] = median / row["floor_ms"] if row["floor_ms"] == row["floor_ms"] \
            else np.nan
        out.append(row)
    table = pd.DataFrame(out)
    if len(table):          # benchmark by benchmark, each framework's rows in their order
        order = {b: i for i, b in enumerate(dict.fromkeys(table["benchmark"]))}
        table = table.sort_values(["benchmark", "dtype", "axis", "size"], kind="stable",
                                  key=lambda c: c.map(order) if c.name == "benchmark" else c)
        table = table.reset_index(drop=True)
    return table


def measure(names=None, dtypes=("float32",), repeats: int = 20, warmup: int = 3,
            progress: bool = False, frameworks=None, fresh: bool = False,
            threads: int | None = None, memory: bool = False, limits: bool = False,
            max_time: float | None = None):
    """A DataFrame, one row per (benchmark, dtype, framework row): threads, median_ms, min_ms,
    p90_ms, busy, ratio_to_torch, target, memory_mib, flops, gflops, peak_share,
    torch_kernels, floor_ms, step_to_floor (NaN where not measured). ``frameworks``: as
    ``--frameworks`` (default ``default_frameworks()``); ``fresh``: a process per framework;
    ``threads``: every row's thread count (default: this process' torch threads);
    ``max_time``: seconds of timed calls per row, after MIN_ROUNDS (None: every repeat). attrs:
    ``skipped`` {framework: why}, ``processes`` {framework: info}, ``peaks`` {dtype: GFLOP/s}.
    Raises InputError for an unknown benchmark or framework."""
    fws = check_frameworks(None if frameworks is None else ",".join(frameworks))
    names = check_names(names)
    skipped = _settle(frameworks, fws)
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    rows, infos = collect(_works(names, dtypes), fws, repeats, warmup, fresh, threads,
                          memory, limits, progress, max_time=max_time)
    peaks = _peaks(infos)
    table = _table(rows, benchmarks(), peaks)
    table.attrs.update(skipped=skipped, processes=infos, peaks=peaks)
    return table


def sweep_works(dtypes, batch_on=SWEEP_BATCH_ON, steps_on=SWEEP_STEPS_ON,
                batches=SWEEP_BATCH, steps=SWEEP_STEPS) -> list[Work]:
    """The sweep's points: batch size on ``batch_on``, sequence length (at the benchmark's
    batch size) on ``steps_on``."""
    known = benchmarks()
    out = []
    for d in dtypes:
        for n in batch_on:
            b = known[n]
            out += [Work(n, b.spec, d, s, dict(b.options), "batch", s) for s in batches
                    if s <= largest_batch(b.spec)]
        for n in steps_on:
            b = known[n]
            out += [Work(n, b.spec, d, b.batch_size, {**b.options, "steps": s}, "steps", s)
                    for s in steps]
    return out


def largest_batch(spec_name: str) -> float:
    """The largest batch a spec's data set gives (diabetes: 442 rows), else no limit."""
    from .data import dataset_rows
    from .spec import get

    spec = get(spec_name)
    return dataset_rows(spec.dataset) if spec.dataset else float("inf")


def sweep(dtypes=("float32",), repeats: int = 3, warmup: int = 1, frameworks=None,
          fresh: bool = False, threads: int | None = None, progress: bool = False,
          peaks: dict | None = None, limits: bool = True, max_time: float | None = None,
          **points):
    """Cost against size: one row per (benchmark, axis, size, dtype, framework row), the
    columns of ``measure``. Keras is timed compiled where its backend compiles (eager Keras
    at 1000 steps takes seconds a call, and its cost is the dispatch of each op)."""
    fws = check_frameworks(None if frameworks is None else ",".join(frameworks))
    _settle(frameworks, fws)
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    rows, infos = collect(sweep_works(dtypes, **points), fws, repeats, warmup, fresh, threads,
                          False, limits, progress, desc="sweep", max_time=max_time,
                          eager=False)
    return _table(rows, benchmarks(), {**_peaks(infos), **(peaks or {})})


def sweep_points(names) -> dict:
    """``batch_on`` and ``steps_on`` of a sweep: the defaults (SWEEP_BATCH_ON, SWEEP_STEPS_ON)
    where no benchmark is named; else every named one over batch size, and those whose
    sequence length is free (a ``steps`` option that takes every length of SWEEP_STEPS: not
    the digits models, which read 8 rows) over it too."""
    from .errors import InputError
    from .spec import get

    if not names:
        return dict(batch_on=SWEEP_BATCH_ON, steps_on=SWEEP_STEPS_ON)
    known = benchmarks()

    def free_steps(name):
        b = known[name]
        try:
            for n in SWEEP_STEPS:
                get(b.spec).resolve({**b.options, "steps": n})
        except InputError:
            return False
        return True

    return dict(batch_on=tuple(names), steps_on=tuple(n for n in names if free_steps(n)))


def linear_from(table):
    """Where each framework's cost turns linear in the size: per (benchmark, axis, dtype,
    framework), the smallest size from which every larger size costs at most LINEAR times the
    largest size's time per item (below it, a fixed cost per call dominates), and that time per
    item in microseconds. ``linear_from`` is missing (NA) where only the largest size is: the
    cost did not turn linear within the sizes timed."""
    import pandas as pd

    out = []
    for (b, axis, d, fw), g in table.groupby(["benchmark", "axis", "dtype", "framework"],
                                             sort=False):
        g = g.sort_values("size")
        per = (g["median_ms"] / g["size"]).to_numpy()
        sizes = g["size"].to_numpy()
        base = per[-1]
        start = sizes[-1]
        for s, p in zip(sizes[::-1], per[::-1]):
            if p > LINEAR * base:
                break
            start = s
        out.append(dict(benchmark=b, axis=axis, dtype=d, framework=fw,
                        linear_from=int(start) if start < sizes[-1] else pd.NA,
                        us_per_item=base * 1e3, largest=int(sizes[-1])))
    table = pd.DataFrame(out)
    if len(table):
        table["linear_from"] = table["linear_from"].astype("Int64")
    return table


def targets(table, swept=None):
    """The project's speed targets against this run: one row per target and workload (name,
    workload, measured, goal, met, busy: the row it was read from was busy). The fast-kernel
    target is read off the lone layers with a fast kernel (conv2d, the recurrent layers)."""
    import pandas as pd

    out = []
    t32 = table[(table["dtype"] == "float32") & (table["framework"] == "scratch-fast")]
    for _, r in t32.iterrows():
        if r["target"] == r["target"] and r["target"] is not None:
            out.append(dict(target="scratch-fast / torch, float32", workload=r["benchmark"],
                            measured=r["ratio_to_torch"], goal=f"<= {r['target']:g}",
                            met=bool(r["ratio_to_torch"] <= r["target"]),
                            busy=bool(r.get("busy", False))))
    kernels = table[(table["framework"] == "scratch-fast") & table["step_to_floor"].notna()]
    from .spec import get

    for _, r in kernels.iterrows():
        s = get(r["benchmark"])
        if s.kind == "layer" and fast_kernel(s):
            out.append(dict(target="fast kernel step / its matrix products alone",
                            workload=f"{r['benchmark']} {r['dtype']}",
                            measured=r["step_to_floor"], goal="<= 1.5",
                            met=bool(r["step_to_floor"] <= 1.5),
                            busy=bool(r.get("busy", False))))
    if swept is not None and len(swept):
        m = swept[(swept["benchmark"] == "mlp") & (swept["axis"] == "batch")
                  & (swept["size"] == 256) & (swept["framework"] == "scratch-fast")]
        for _, r in m.iterrows():
            out.append(dict(target="scratch-fast's share of the GEMM peak, batch 256",
                            workload=f"mlp {r['dtype']}", measured=r["peak_share"],
                            goal=">= 0.6", met=bool(r["peak_share"] >= 0.6),
                            busy=bool(r.get("busy", False))))
    return pd.DataFrame(out, columns=["target", "workload", "measured", "goal", "met", "busy"])


# --- the command ----------------------------------------------------------------------------
def configure(p):
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all; see --list)")
    p.add_argument("--dtype", action="append", default=None,
                   help="float32 (default) and/or float64; repeatable")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--max-time", type=float, default=2.0, metavar="SECONDS",
                   help="stop timing a row once its timed calls took this long, after 5 of "
                        "them (default 2; 0: every repeat)")
    p.add_argument("--frameworks", default=None,
                   help="comma-separated rows to time, torch among them (default: scratch, "
                        "scratch-fast, torch, keras and Keras on every other installed "
                        "backend: keras-jax, keras-torch when KERAS_BACKEND is unset)")
    p.add_argument("--threads", type=int, default=None,
                   help="cores and threads of every row (default: every usable core)")
    p.add_argument("--in-process", action="store_true",
                   help="time every row in this process (quicker to start; one row's "
                        "allocations can then change another's)")
    p.add_argument("--sweep", action="store_true",
                   help="also time cost against batch size (1..1024) and sequence length "
                        "(10..1000)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write bench.csv, targets.csv (and sweep.csv, sweep.png) there")
    p.add_argument("--json", action="store_true")
    p.add_argument("--list", action="store_true", help="list the benchmarks")
    from .cliargs import add_max_memory

    add_max_memory(p)


def _check_args(args) -> list[str]:
    from .errors import InputError
    from .runner import check_dtype

    if not 1 <= args.repeats <= MAX_REPEATS:
        raise InputError(f"--repeats {args.repeats} must be from 1 to {MAX_REPEATS}",
                         "pass e.g. 20")
    if not 0 <= args.warmup <= MAX_REPEATS:
        raise InputError(f"--warmup {args.warmup} must be from 0 to {MAX_REPEATS}",
                         "pass e.g. 3")
    if not 0 <= args.max_time <= 3600:
        raise InputError(f"--max-time {args.max_time} must be from 0 to 3600 seconds",
                         "pass e.g. 2, or 0 to time every repeat")
    if args.threads is not None and not 1 <= args.threads <= usable_cores():
        raise InputError(f"--threads {args.threads}: this process may use {usable_cores()} "
                         "core(s)", f"pass 1 to {usable_cores()}")
    if args.out is not None:
        from .writing import check_folder

        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise InputError(f"--out '{args.out}' is a file", "give a folder")
        check_folder(args.out, "--out")
    return list(dict.fromkeys(check_dtype(d) for d in (args.dtype or ["float32"])))


def _write(folder: str, table, goals, swept=None, regimes=None) -> None:
    from .writing import write_all_atomic

    os.makedirs(folder, exist_ok=True)
    files = {os.path.join(folder, "bench.csv"): lambda p: table.to_csv(p, index=False),
             os.path.join(folder, "targets.csv"): lambda p: goals.to_csv(p, index=False)}
    stale = [os.path.join(folder, f) for f in ("sweep.csv", "linear_from.csv", "sweep.png")]
    if swept is not None:
        from .reports.plots import sweep_lines

        png = sweep_lines(swept)
        files[os.path.join(folder, "sweep.csv")] = lambda p: swept.to_csv(p, index=False)
        files[os.path.join(folder, "linear_from.csv")] = lambda p: regimes.to_csv(p,
                                                                                  index=False)

        def write_png(p):
            with open(p, "wb") as f:
                f.write(png)
        files[os.path.join(folder, "sweep.png")] = write_png
    write_all_atomic(files)
    for path in stale:          # an older run's sweep beside this run's table would mislead
        if path not in files and os.path.exists(path):
            os.unlink(path)


def _fmt(v, spec: str) -> str:
    return "" if v is None or v != v else format(v, spec)


def _show(table) -> str:
    cols = ["benchmark", "dtype", "framework", "threads", "rounds", "median_ms", "min_ms",
            "p90_ms", "ratio_to_torch", "target", "gflops", "peak_share", "floor_ms",
            "step_to_floor", "memory_mib", "torch_kernels"]
    show = table[[c for c in cols if c in table]].copy()
    for col, spec in (("median_ms", ".3f"), ("min_ms", ".3f"), ("p90_ms", ".3f"),
                      ("gflops", ".1f"),
                      ("peak_share", ".0%"), ("floor_ms", ".3f"), ("step_to_floor", ".2f"),
                      ("memory_mib", ".1f"), ("target", "g")):
        if col in show:
            show[col] = [_fmt(v, spec) for v in show[col]]
    show["ratio_to_torch"] = [f"{v:.2f}x" + (" busy" if b else "")
                              for v, b in zip(table["ratio_to_torch"], table["busy"])]
    for col in ("target", "gflops", "peak_share", "floor_ms", "step_to_floor", "memory_mib",
                "torch_kernels"):
        if col in show and (show[col] == "").all():
            show = show.drop(columns=[col])
    return show.to_string(index=False)


def _setting_lines(table, fresh: bool, asked: int | None = None) -> list[str]:
    infos = table.attrs.get("processes", {})
    first = next(iter(infos.values()), {})
    lines = [f"each framework in {'a fresh process of its own' if fresh else 'this process'}; "
             f"allocator: {first.get('allocator', 'as the system has it')}; "
             f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}"]
    for fw, inf in infos.items():
        for d, v in inf.get("gemm_peak", {}).items():
            lines.append(f"GEMM peak {d} ({'NumPy' if fw.startswith('scratch') else fw}): "
                         f"{v:.1f} GFLOP/s")
    load = os.getloadavg()[0]
    if load > usable_cores():
        lines.append(f"warning: load average {load:.1f} on {usable_cores()} usable core(s): "
                     "other processes were running, and threads that wait for each other slow "
                     "down out of all proportion, evenly, so a row need not look busy; rerun "
                     "on a quiet machine, or with --threads 1; every figure and target of this "
                     "run is uncertain")
    if asked is not None:
        off = sorted({f for f, n in zip(table["framework"], table["threads"]) if n != asked})
        if off:
            lines.append(f"warning: {', '.join(off)} computed with other than the {asked} "
                         "thread(s) asked: TensorFlow's and XLA's pools are fixed when they "
                         "start, so only a fresh process (drop --in-process) sets them")
    busy = int(table["busy"].sum())
    if busy:
        lines.append(f"warning: {busy} of {len(table)} rows had a median over {BUSY}x their "
                     "minimum: the machine was busy, so their ratios are uncertain; rerun on a "
                     "quiet machine or with more --repeats")
    return lines


def main(args, extra) -> int:
    from .errors import InputError

    if extra:
        raise InputError(f"unknown argument(s): {' '.join(extra)}", "see `crossframe bench -h`")
    if args.list:
        if args.json:
            import json

            emit(json.dumps([dict(name=b.name, spec=b.spec, batch_size=b.batch_size,
                                  options=b.options, about=b.about, target=b.target)
                             for b in benchmarks().values()], indent=1))
            return 0
        for b in benchmarks().values():
            emit(f"{b.name:<24} N={b.batch_size:<4} {b.about}")
        return 0
    dtypes = _check_args(args)
    names = check_names(args.names)
    fws = check_frameworks(args.frameworks)
    fresh = not args.in_process
    n = args.threads or usable_cores()
    max_time = args.max_time or None
    table = measure(names, dtypes, args.repeats, args.warmup, progress=not args.json,
                    frameworks=None if args.frameworks is None else fws, fresh=fresh,
                    threads=n, memory=True, limits=True, max_time=max_time)
    from .keras_backends import column_notes

    ran = column_notes(dict.fromkeys(r.split(" (")[0] for r in table["framework"]))
    settings = _setting_lines(table, fresh, n)
    if not args.json:       # the table first: a sweep takes minutes more
        emit(_show(table))
        for line in [*ran.values(), *settings]:
            emit(line)
        for fw, why in table.attrs["skipped"].items():
            emit(f"{fw}: not timed — {why}")
    swept = regimes = None
    if args.sweep:
        swept = sweep(dtypes, frameworks=None if args.frameworks is None else fws,
                      fresh=fresh, threads=n, progress=not args.json,
                      peaks=table.attrs["peaks"], max_time=max_time,
                      **sweep_points(names if args.names else []))
        regimes = linear_from(swept)
    goals = targets(table, swept)
    if args.out is not None:
        _write(args.out, table, goals, swept, regimes)
    if args.json:     # each row: the Keras and backend it ran ("" for scratch and torch)
        import json

        table["ran"] = [ran.get(r.split(" (")[0], "") for r in table["framework"]]
        doc = {"rows": json.loads(table.to_json(orient="records", double_precision=15)),
               "targets": json.loads(goals.to_json(orient="records", double_precision=15)),
               "settings": settings, "peaks": table.attrs["peaks"]}
        if swept is not None:
            doc["sweep"] = json.loads(swept.to_json(orient="records", double_precision=15))
            doc["linear_from"] = json.loads(regimes.to_json(orient="records"))
        emit(json.dumps(doc, indent=1))
        for fw, why in table.attrs["skipped"].items():      # the JSON stays the rows timed
            print(f"crossframe: note: {fw} not timed — {why}", file=sys.stderr)
        return 0
    if len(goals):
        emit("\ntargets (scratch controls these; never a unit test):")
        show = goals.assign(measured=[f"{v:.2f}" for v in goals["measured"]],
                            met=["met" if m else "MISSED" for m in goals["met"]],
                            busy=["busy" if b else "" for b in goals["busy"]])
        emit(show.to_string(index=False))
    if regimes is not None:
        emit("\ncost against size: linear from (time per item within "
             f"{LINEAR}x of the largest size's; <NA>: not within the sizes timed)")
        emit(regimes.to_string(index=False))
    return 0
