"""One process' share of ``crossframe bench``: time one framework's rows, its threads and its
allocator fixed and said.

``crossframe bench`` starts this module afresh for each framework (``python -m
crossframe.bench_run``: a Job pickled on stdin, one message per row pickled back on stdout), so
that no row's allocations, caches or thread pools change another's. The same ``run`` is called
in the calling process for a quick run (``crossframe bench --in-process``, the report).

What is fixed before anything is timed:

- **threads**: the process is pinned to the first ``threads`` usable cores
  (``os.sched_setaffinity``) and every library's pool is set to that count: BLAS through
  threadpoolctl (scratch), ``torch.set_num_threads`` (torch, Keras on torch),
  ``TF_NUM_INTRAOP_THREADS`` (TensorFlow, read when it starts), and XLA's CPU pool, which
  takes the cores the process may run on (JAX).
- **the allocator**: glibc's ``mallopt(M_MMAP_THRESHOLD, 32 MiB)`` and
  ``mallopt(M_TRIM_THRESHOLD, 1 GiB)``. Left dynamic, glibc moves its mmap threshold up
  after the first large free, so the same step either faults in fresh pages on every call
  or reuses its heap, depending on what ran before (torch's conv measured 5.5 ms or 2.2 ms).
  Fixed, a step's arrays come from the heap and freed memory stays with the process.

Per row: the milliseconds of ``repeats`` calls after ``warmup`` untimed ones; the memory one
forward + backward needs at its peak above the built and loaded model (``memory``); and with
``limits``: FLOPs and torch's kernels (torch rows), the NumPy floor of the step's own matrix
products (scratch-fast rows), and the GEMM peak of the process' library
(crossframe.bench_limits).
"""
from __future__ import annotations

import ctypes
import gc
import os
import pickle
import sys
import time
from dataclasses import dataclass, field

COMPILED = {"tensorflow": "tf.function", "jax": "jax.jit"}   # torch: eager only
ALLOCATOR = {"M_MMAP_THRESHOLD": 32 * 2**20, "M_TRIM_THRESHOLD": 2**30}
_MALLOPT = {"M_TRIM_THRESHOLD": -1, "M_MMAP_THRESHOLD": -3}      # glibc's malloc.h


@dataclass(frozen=True)
class Work:
    """One workload: a registered spec with options at one batch size and dtype. ``axis`` and
    ``size`` name a sweep's point ("batch" or "steps"; "" for the table)."""
    benchmark: str
    spec: str
    dtype: str
    batch_size: int
    options: dict = field(default_factory=dict)
    axis: str = ""
    size: int = 0


@dataclass(frozen=True)
class Job:
    """What one process times: ``framework``'s rows of every Work, in order."""
    framework: str
    works: tuple
    repeats: int
    warmup: int
    threads: int | None = None     # None: as the process has them
    memory: bool = False
    limits: bool = False
    max_time: float | None = None  # seconds of timed calls per row (after MIN_ROUNDS)
    eager: bool = True             # Keras' eager row where the backend also compiles


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def threads(framework: str) -> int:
    """The threads ``framework`` computes with in this process: BLAS (scratch), torch's
    intra-op pool (torch, Keras on torch), TensorFlow's intra-op pool (unset: all usable
    cores), XLA's CPU pool (JAX: all usable cores)."""
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

        n = tf.config.threading.get_intra_op_parallelism_threads()
        return n or int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0) or usable_cores()
    return usable_cores()


def _sync(backend: str):
    """What makes a step's result ready before the clock stops: JAX's dispatch returns before
    the computation ends; TensorFlow and torch on the CPU return when it has."""
    if backend == "jax":
        import jax

        return jax.block_until_ready
    return None


MIN_ROUNDS = 5       # a median of fewer timed calls says little about the spread


def _time(fn, repeats: int, warmup: int, sync=None, max_time: float | None = None
          ) -> list[float]:
    """Milliseconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones
    (``sync(result)`` inside the timing where the result comes back before it is computed).
    ``max_time`` (seconds): stop once the timed calls took that long, after at least
    MIN_ROUNDS of them (pytest-benchmark's max_time and min_rounds), so an eager Keras
    recurrent row does not take minutes."""
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
        if max_time is not None and len(out) >= MIN_ROUNDS and sum(out) > max_time * 1e3:
            break
    return out


def _keras_steps(model, args, label: str, backend: str, eager: bool = True) -> dict:
    """{row: step} for a loaded Keras model: eager, and compiled where the backend compiles
    (both asked for by name: ``make_step``'s default compiles on JAX); ``eager=False``: only
    the compiled row where there is one."""
    from .keras_impl import engine

    steps = {}
    if eager or backend not in COMPILED:
        steps[label] = engine.make_step(model, *args, compiled=False)
    if backend in COMPILED:
        steps[f"{label} ({COMPILED[backend]})"] = engine.make_step(model, *args, compiled=True)
    return steps


# --- the process: allocator, threads, memory ------------------------------------------------
def settle_allocator() -> str:
    """Fix glibc's mmap and trim thresholds (ALLOCATOR) in this process; returns what was set,
    or why nothing was (another C library)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        for name, value in ALLOCATOR.items():
            if libc.mallopt(_MALLOPT[name], value) != 1:
                return f"glibc refused mallopt({name}, {value})"
    except OSError:
        return "not glibc: the allocator is as the system has it"
    return ", ".join(f"{k}={v // 2**20} MiB" for k, v in ALLOCATOR.items())


def pin_threads(n: int) -> None:
    """Pin this process to its first ``n`` usable cores, before a library starts its pools."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS"):
        os.environ[var] = str(n)


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def resident_kib() -> int | None:
    """Resident memory (KiB) once freed memory is handed back (``gc.collect``,
    ``malloc_trim(0)``); None where Linux' counters are not available."""
    try:
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return _status_kib("VmRSS")
    except OSError:
        return None


def peak_memory_mib(step, sync=None, baseline_kib: int | None = None) -> float | None:
    """Memory (MiB) one call of ``step`` needs at its peak above ``baseline_kib`` (default:
    the resident size just before the call): freed memory is handed back, the kernel's
    high-water mark is reset (``/proc/self/clear_refs``, Linux 4.0+) and read after the call.
    With the baseline taken after the model was built and loaded and before its first call,
    what a framework keeps between calls (scratch-fast's work arrays, a compiled graph) counts
    as well as what one call allocates and frees. None where Linux' counters are not
    available."""
    try:
        before = resident_kib()
        if before is None:
            return None
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        out = step()
        if sync is not None:
            sync(out)
        base = before if baseline_kib is None else baseline_kib
        return max(0, _status_kib("VmHWM") - base) / 1024
    except OSError:
        return None


def torch_kernels(step) -> str:
    """The oneDNN (mkldnn) kernels one call of a torch ``step`` runs, read from torch's
    profiler: e.g. ``aten::mkldnn_rnn_layer`` (its float32 LSTM), or "none"."""
    from torch.profiler import ProfilerActivity, profile

    sys.stderr.flush()
    saved = os.dup(2)               # the profiler's start/stop lines go nowhere
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                step()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    names = sorted({e.name for e in prof.events()
                    if e.name.startswith("aten::") and "mkldnn" in e.name})
    return ", ".join(names) or "none"


# --- one framework's rows -------------------------------------------------------------------
def _build(framework: str, case, eager: bool = True):
    """(steps {row: step}, sync, model) for a prepared case, weights loaded."""
    from . import frameworks, keras_backends

    b = case.batch
    mapping = case.mapping(framework)
    weights = mapping.params_to_framework(case.weights)
    args = (mapping.inputs_to_framework(b.inputs), b.target,
            mapping.upstream_to_framework(b.upstream), case.model.loss, case.dtype)
    engine = frameworks.engine(framework)
    model = frameworks.build(framework, case.model, case.dtype)
    if framework.startswith("scratch"):
        model.load(weights)
    elif framework == "torch":
        engine.load_state(model, weights)
    else:
        engine.load_weights(model, weights)
    if frameworks.base(framework) == "keras":
        backend = keras_backends.backend_of(framework)
        return _keras_steps(model, args, framework, backend, eager), _sync(backend), model
    return {framework: engine.make_step(model, *args)}, None, model


def info(job: Job) -> dict:
    """What this process ran with: threads, cores, allocator, and the GEMM peak (GFLOP/s) of
    its library per dtype when ``limits``."""
    out = {"cores": usable_cores(), "allocator": settle_allocator()}
    if job.limits:
        from . import bench_limits

        dtypes = sorted({w.dtype for w in job.works})
        if job.framework == "scratch-fast":
            out["gemm_peak"] = {d: bench_limits.gemm_peak(d) for d in dtypes}
        elif job.framework == "torch":
            out["gemm_peak"] = {d: bench_limits.torch_gemm_peak(d) for d in dtypes}
    return out


def rows(job: Job):
    """Yields one dict per row of every Work (a Keras framework gives two where its backend
    compiles): benchmark, dtype, axis, size, framework, threads, times (ms), and memory_mib,
    flops, torch_kernels, floor_ms, floor_min_ms as asked."""
    from .runner import prepare

    if job.memory and job.works:    # the runtime's own start-up (torch's autograd engine, its
        w = job.works[0]            # thread pool: ~75 MiB once) is no workload's memory
        steps, sync, _ = _build(job.framework, prepare(w.spec, dtype=w.dtype,
                                                       batch_size=w.batch_size,
                                                       options=w.options), job.eager)
        for step in steps.values():
            _time(step, 0, 1, sync)
        del steps
    for work in job.works:
        case = prepare(work.spec, dtype=work.dtype, batch_size=work.batch_size,
                       options=work.options)
        steps, sync, _ = _build(job.framework, case, job.eager)
        n = threads(job.framework)
        baseline = resident_kib() if job.memory else None   # built and loaded, not yet run
        out = []
        for row, step in steps.items():
            times = _time(step, job.repeats, job.warmup, sync, job.max_time)
            memory = peak_memory_mib(step, sync, baseline) if job.memory else None
            out.append(dict(benchmark=work.benchmark, dtype=work.dtype, axis=work.axis,
                            size=work.size, framework=row, threads=n, times=times,
                            memory_mib=memory))
            baseline = resident_kib() if job.memory else None   # the next row's own share
        extra = _limits(job, case, steps) if job.limits else {}   # after: never timed
        for row in out:
            yield {**row, **extra}


def _limits(job: Job, case, steps) -> dict:
    """torch rows: FLOPs and the oneDNN kernels; scratch-fast rows: the NumPy floor of the
    step's own matrix products (crossframe.bench_limits)."""
    from . import bench_limits

    if job.framework == "torch":
        return dict(flops=sum(bench_limits.model_flops(case).values()),
                    torch_kernels=torch_kernels(steps["torch"]))
    if job.framework == "scratch-fast":
        products = bench_limits.trace_products(steps["scratch-fast"])
        median, best = bench_limits.floor_ms(products, job.repeats, job.warmup)
        return dict(floor_ms=median, floor_min_ms=best,
                    product_flops=bench_limits.product_flops(products))
    return {}


def run(job: Job) -> dict:
    """All rows of ``job`` in this process: ``{"rows": [...], "info": {...}}`` (the call a
    Keras backend's worker takes for ``--in-process``)."""
    if job.threads:
        _limit_here(job)
    return {"info": info(job), "rows": list(rows(job))}


def _limit_here(job: Job) -> None:
    """Library pools to ``job.threads`` in a process already started (its cores as they are)."""
    from threadpoolctl import threadpool_limits

    global _LIMITS
    _LIMITS = threadpool_limits(job.threads)
    if job.framework == "torch" or "torch" in sys.modules:
        import torch

        torch.set_num_threads(job.threads)


_LIMITS = None


def _serve() -> None:
    """A fresh process' life: read one Job, answer ("info", dict), ("row", dict) per row, and
    ("done", None) or ("error", exception)."""
    import warnings

    job = pickle.load(sys.stdin.buffer)
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())     # library chatter goes to the log
    warnings.simplefilter("ignore")

    def send(kind, value):
        pickle.dump((kind, value), channel, protocol=5)
        channel.flush()

    try:
        if job.threads:
            pin_threads(job.threads)
        from .environment import prepare

        prepare()
        from . import frameworks

        if frameworks.base(job.framework) == "keras":
            from .keras_backends import _start_error, backend_of

            problem = _start_error(backend_of(job.framework))
            if problem is not None:
                raise problem
        if job.threads:
            _limit_here(job)
        send("info", info(job))
        for row in rows(job):
            send("row", row)
        send("done", None)
    except BaseException as err:          # noqa: BLE001 - every failure goes back
        from .keras_backends import _portable_error

        send("error", _portable_error(err))


if __name__ == "__main__":
    _serve()
