"""Keras 3 on each of its backends: the same keras_impl on TensorFlow, JAX and PyTorch.

Framework names::

    keras              Keras on this process' backend: KERAS_BACKEND, tensorflow where unset
    keras-tensorflow   Keras on TensorFlow
    keras-jax          Keras on JAX (x64 enabled, CPU)
    keras-torch        Keras on PyTorch

All four run keras_impl, load the weights by the same variable paths (``dense1/kernel``) and so
share the ``keras`` mapping. Keras fixes its backend when it is first imported, so a backend
other than this process' runs in a worker process of its own, started on first use with
``KERAS_BACKEND`` set and kept for the life of this one (one per backend, calls taken in turn):

    result = call("jax", "crossframe.keras_backends:versions")     # any importable function
    model = build(sequential, "float64", "jax")                     # a Remote: the recipe only
    run_step(model, params, inputs, target, upstream, loss, dtype)  # the engine's signature

Only the recipe of a model crosses: its layers as (declaration, options, name), the input shape,
the loss and the output's name (``portable``), rebuilt into the same Sequential in the worker.
Arrays cross as NumPy arrays. The pipe carries pickles between crossframe's own two processes,
never a user's file. The worker's stdout and stderr (TensorFlow's and JAX's start-up chatter) go
to a temporary file, whose last lines an error quotes if the worker stops.
"""
from __future__ import annotations

import atexit
import functools
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

from .environment import KERAS_BACKENDS, keras_backend

NAMES = {f"keras-{b}": b for b in KERAS_BACKENDS}
FRAMEWORKS = tuple(NAMES)


# What a user porting a float64 model between Keras backends must know (describe, the report).
NOTES = (
    "keras-jax and keras-torch run this very keras_impl code on Keras' JAX and torch backends "
    "with the keras mapping (crossframe check NAME --frameworks keras,keras-jax,keras-torch); "
    "each backend that is not this process' runs in a worker process of its own",
    "float64 on JAX and torch: Keras' type promotion ends by mapping every 64-bit result to 32 "
    "bits on every backend but TensorFlow (keras/src/backend/common/dtypes.py, "
    "BIT64_TO_BIT32_DTYPE), so an op that promotes computes a float64 input in float32 and casts "
    "back: ops.tanh and ops.var on JAX, ops.matmul (every Dense) and ops.var on torch — about "
    "1e-7 off, and SimpleRNN stops in lax.scan on JAX (a float64 carry in, float32 out); the "
    "fix, one line after importing keras (crossframe's, in keras_impl/backend.py): "
    "from keras.src.backend.common import dtypes; dtypes.BIT64_TO_BIT32_DTYPE['float64'] = "
    "'float64'",
    "JAX makes every float64 array float32 unless x64 is on: set JAX_ENABLE_X64=1 before JAX "
    "is imported (crossframe sets it for its JAX worker)",
)


def backend_of(framework: str) -> str:
    """``"keras-jax"`` -> ``"jax"``; ``"keras"`` -> this process' backend."""
    return keras_backend() if framework == "keras" else NAMES[framework]


def runs_here(framework: str) -> bool:
    """The framework's Keras backend is this process' (so it runs in this process)."""
    return backend_of(framework) == keras_backend()


def label(framework: str) -> str:
    """``keras (tensorflow)``, ``keras-jax``: what a table calls the column."""
    return f"keras ({keras_backend()})" if framework == "keras" else framework


def column_notes(frameworks) -> dict[str, str]:
    """{column: line} per Keras column, in order: the Keras and backend versions it ran, and why
    that backend (``keras``: the user's KERAS_BACKEND, or unset), e.g. ``keras-jax: Keras
    3.15.1 on jax 0.10.2 (a process of its own)``. Starts no worker that the run did not."""
    from .environment import GIVEN_KERAS_BACKEND

    lines = {}
    for fw in frameworks:
        if fw != "keras" and fw not in NAMES:
            continue
        got = versions() if runs_here(fw) else call(backend_of(fw), f"{__name__}:versions")
        where = "this process" if runs_here(fw) else "a process of its own"
        why = ""
        if fw == "keras":
            why = (f", KERAS_BACKEND={GIVEN_KERAS_BACKEND}" if GIVEN_KERAS_BACKEND
                   else ", KERAS_BACKEND unset")
        lines[fw] = f"{fw}: Keras {got['keras']} on {got['library']} ({where}{why})"
    return lines


def on_tensorflow(fn):
    """A measurement of Keras on TensorFlow (a declared difference that uses ``tf`` itself, or
    a TensorFlow-only behaviour): run here when this process' Keras is on TensorFlow, else in
    the keras-tensorflow worker. ``fn`` must be a module-level function with picklable
    arguments and result."""
    @functools.wraps(fn)
    def measured_on_tensorflow(*args, **kwargs):
        if keras_backend() == "tensorflow":
            return fn(*args, **kwargs)
        return call("tensorflow", f"{fn.__module__}:{fn.__name__}", *args, **kwargs)

    return measured_on_tensorflow


# --- the model's recipe ----------------------------------------------------------------------
def portable(model) -> tuple:
    """A Sequential as plain data: ``(layers, input shape, loss, output name)``, each layer
    ``(declaration name, resolved options, layer name)``."""
    return (tuple((cfg.decl.name, dict(cfg.opts), cfg.name) for cfg in model.layers),
            tuple(model.input_shape), model.loss.text(), model.output_name)


def rebuild(recipe: tuple):
    """The Sequential of a ``portable`` recipe."""
    from .layers import get
    from .layers.base import Layer
    from .sequential import Sequential

    layers, input_shape, loss, output = recipe
    return Sequential([Layer(get(d), dict(o), n) for d, o, n in layers], input_shape, loss,
                      output)


@dataclass(frozen=True)
class Remote:
    """A Keras model that lives in a backend's worker: built there on first use."""

    backend: str
    recipe: tuple
    dtype: str


def build(model, dtype: str, backend: str) -> Remote:
    return Remote(backend, portable(model), dtype)


def run_step(model: Remote, weights, inputs, target, upstream, loss, dtype: str,
             mode: str = "train", backward: bool = True):
    """keras_impl.engine.run_step in ``model.backend``'s worker: (outputs, loss, param grads,
    input grads, state), NumPy, in Keras names."""
    return call(model.backend, "crossframe.keras_backends:_run_step", model.recipe, model.dtype,
                weights, inputs, target, upstream, loss.text(), mode, backward)


_MODELS: dict = {}


def _model_here(recipe: tuple, dtype: str):
    """The Keras model of a recipe, built once per worker (weights are loaded at every step)."""
    key = (repr(recipe), dtype)
    if key not in _MODELS:
        from . import frameworks

        if len(_MODELS) >= 16:
            _MODELS.clear()
        _MODELS[key] = frameworks.build("keras", rebuild(recipe), dtype)
    return _MODELS[key]


def _run_step(recipe, dtype, weights, inputs, target, upstream, loss, mode, backward):
    from .keras_impl import engine
    from .losses import parse_loss

    return engine.run_step(_model_here(recipe, dtype), weights, inputs, target, upstream,
                           parse_loss(loss), dtype, mode, backward=backward)


def versions() -> dict:
    """This process' Keras backend and versions: ``{"backend", "keras", "library"}``."""
    from .keras_impl.backend import BACKEND, keras

    library = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[BACKEND]
    module = __import__(library)
    return {"backend": BACKEND, "keras": keras.__version__,
            "library": f"{library} {module.__version__}"}


# --- the workers -----------------------------------------------------------------------------
class WorkerError(RuntimeError):
    """A backend's worker process stopped (the CLI says it in one line, exit 2)."""

    def __init__(self, problem: str) -> None:
        super().__init__(" ".join(problem.split()))


def cannot_start(backend: str, err: BaseException):
    """The InputError for a Keras backend that cannot start (a broken install, a device setting
    it cannot meet: JAX_PLATFORMS=tpu), naming the error's last line — never a traceback with a
    mismatch's exit 1. Raised by keras_impl/backend.py here or in a worker."""
    from .errors import InputError

    said = (str(err).strip().splitlines() or [""])[-1][:300]
    return InputError(f"Keras on {backend} cannot start: {type(err).__name__}: {said}",
                      f"check that backend's install (JAX: pip install 'crossframe[jax]') and "
                      f"its settings (JAX_PLATFORMS, CUDA_VISIBLE_DEVICES), or leave "
                      f"keras-{backend} out")


class _Worker:
    def __init__(self, backend: str):
        self.backend = backend
        self.log = tempfile.TemporaryFile(prefix=f"crossframe-keras-{backend}-")
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crossframe.keras_backends", backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.lock = threading.Lock()

    def call(self, function: str, args: tuple, kwargs: dict):
        with self.lock:
            try:
                pickle.dump((function, args, kwargs), self.process.stdin, protocol=5)
                self.process.stdin.flush()
                status, value = pickle.load(self.process.stdout)
            except (BrokenPipeError, EOFError, pickle.UnpicklingError, OSError):
                raise WorkerError(f"the Keras {self.backend} worker stopped: "
                                  f"{self._tail()}") from None
        if status == "error":
            raise value
        return value

    def _tail(self) -> str:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.seek(0)
        lines = [ln for ln in self.log.read().decode(errors="replace").splitlines() if ln.strip()]
        return " | ".join(lines[-3:]) or f"exit code {self.process.returncode}"

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
        self.log.close()


_WORKERS: dict[str, _Worker] = {}
_GUARD = threading.Lock()


def call(backend: str, function: str, *args, **kwargs):
    """``function(*args, **kwargs)`` (``"module:name"``) in ``backend``'s worker, started on
    first use. Its exception is raised here (an InputError stays one); WorkerError if the
    worker died."""
    if backend not in KERAS_BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}: one of {KERAS_BACKENDS}")
    with _GUARD:
        worker = _WORKERS.get(backend)
        if worker is None or worker.process.poll() is not None:
            worker = _WORKERS[backend] = _Worker(backend)
    return worker.call(function, args, kwargs)


def start_problem(backend: str) -> str | None:
    """None when Keras on ``backend`` starts (its worker answers); else the one line why not.
    For the rows a verb adds by itself (bench's defaults): a backend named by the user is
    simply called, and its problem is that verb's InputError."""
    from .errors import InputError

    try:
        call(backend, f"{__name__}:versions")
        return None
    except (InputError, WorkerError) as err:
        return str(err)


@atexit.register
def shutdown() -> None:
    """Stop every worker (at exit; a later ``call`` starts a fresh one)."""
    with _GUARD:
        for worker in _WORKERS.values():
            worker.close()
        _WORKERS.clear()


def _serve(backend: str) -> None:
    """The worker's loop: read a call, answer ("ok", value) or ("error", exception)."""
    import importlib
    import warnings

    channel_in = sys.stdin.buffer
    channel_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())      # stray prints go to the log
    warnings.simplefilter("ignore")
    os.environ["KERAS_BACKEND"] = backend
    from .environment import prepare

    prepare()
    broken = _start_error(backend)
    while True:
        try:
            function, args, kwargs = pickle.load(channel_in)
        except EOFError:
            return
        try:
            if broken is not None:
                raise broken
            module, name = function.split(":")
            value = ("ok", getattr(importlib.import_module(module), name)(*args, **kwargs))
        except BaseException as err:       # noqa: BLE001 - every failure goes back
            value = ("error", _portable_error(err))
        try:
            payload = pickle.dumps(value, protocol=5)
        except Exception as err:           # noqa: BLE001 - an unpicklable result or error
            payload = pickle.dumps(("error", RuntimeError(f"{type(err).__name__}: {err}")))
        channel_out.write(payload)
        channel_out.flush()


def _start_error(backend: str):
    """None when Keras on ``backend`` imports and computes one op here; else the InputError
    every call of this worker answers: a broken install or a device setting that backend
    cannot meet (JAX_PLATFORMS=tpu) is one line naming it, never a traceback or a mismatch."""
    from .errors import InputError

    try:
        import crossframe.keras_impl.backend  # noqa: F401 - probes one op (keras_impl/backend.py)
        return None
    except InputError as err:          # what the probe says (or a KERAS_BACKEND it refuses)
        return err
    except BaseException as err:       # noqa: BLE001 - whatever stops the backend is said
        return cannot_start(backend, err)


def _portable_error(err: BaseException) -> BaseException:
    """An InputError or a builtin exception as it is; any other (a JAX or torch class the
    calling process need not import) as a RuntimeError naming it."""
    from .errors import InputError

    if isinstance(err, InputError) or type(err).__module__ == "builtins":
        return err
    return RuntimeError(f"{type(err).__name__} on Keras' {os.environ['KERAS_BACKEND']} "
                        f"backend: {err}")


if __name__ == "__main__":
    _serve(sys.argv[1])
