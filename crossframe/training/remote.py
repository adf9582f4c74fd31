"""The Keras trainer of a backend that is not this process': kept in that backend's worker.

``keras-jax`` and ``keras-torch`` (``keras-tensorflow`` where this process runs another backend)
train in the worker of crossframe.keras_backends, where Keras runs on their backend. The real
``crossframe.keras_impl.optimizers.Trainer`` lives there, in a table of handles; here a
``RemoteTrainer`` with the same methods forwards each call::

    trainer = RemoteTrainer(keras_backends.build(model, "float64", "jax"), weights, config,
                            model.loss, "float64")
    loss = trainer.step(inputs, target)        # runs in the JAX worker, returns NumPy
    trainer.weights()                          # {"dense1/kernel": array, ...}

What crosses the pipe: the model's recipe (``keras_backends.portable``), the weights, inputs and
optimizer state as NumPy arrays, the ``OptimizerConfig`` (a frozen dataclass of plain values:
it pickles) and the loss as its text. The trainer's model and optimizer variables never leave
the worker.

Functions run in the worker (``keras_backends.call(backend, "crossframe.training.remote:...")``):

    new_trainer(recipe, dtype, weights, config, loss_text, dropped=()) -> handle
    trainer_call(handle, method, *args)       one of METHODS, its NumPy result
    drop(handle)                              forget a trainer (unknown handles are ignored)

A handle is ``"<worker pid>:<n>"``, so one from a worker that has since stopped is refused
(KeyError) rather than taken for another trainer. A ``RemoteTrainer`` that is garbage collected
does not call the worker from the collector (it could interrupt a call holding the worker's
lock): its handle waits in ``_PENDING`` and is dropped by the next ``new_trainer`` on that
backend, or by ``close()``.
"""
from __future__ import annotations

import itertools
import os
import weakref

METHODS = ("step", "weights", "state", "predict", "optimizer_state", "load_optimizer_state")
FUNCTIONS = __name__

# --- the worker's side ------------------------------------------------------------------------
_TRAINERS: dict = {}
_COUNT = itertools.count(1)


def new_trainer(recipe: tuple, dtype: str, weights: dict, config, loss_text: str,
                dropped=(), **kw) -> str:
    """Build the recipe's Keras model in this process, load ``weights`` (Keras paths) and keep
    a ``keras_impl.optimizers.Trainer`` of ``config``; return its handle. ``dropped``: handles
    of trainers no longer used, forgotten first."""
    from ..frameworks import build
    from ..keras_backends import rebuild
    from ..keras_impl.optimizers import Trainer
    from ..losses import parse_loss

    for handle in dropped:
        drop(handle)
    model = build("keras", rebuild(recipe), dtype)
    trainer = Trainer(model, weights, config, parse_loss(loss_text), dtype, **kw)
    handle = f"{os.getpid()}:{next(_COUNT)}"
    _TRAINERS[handle] = trainer
    return handle


def trainer_call(handle: str, method: str, *args):
    """``trainer.method(*args)`` on the trainer of ``handle``. KeyError for a handle this
    process does not hold (its worker restarted, or it was dropped), ValueError for a method
    that is not one of METHODS."""
    if method not in METHODS:
        raise ValueError(f"trainer method {method!r}: one of {METHODS}")
    trainer = _TRAINERS.get(handle)
    if trainer is None:
        raise KeyError(f"no Keras trainer {handle!r} in the {os.environ.get('KERAS_BACKEND')} "
                       "worker (it was dropped, or the worker restarted)")
    return getattr(trainer, method)(*args)


def drop(handle: str) -> None:
    _TRAINERS.pop(handle, None)


def held() -> int:
    """How many trainers this process holds (for tests: dropped ones are gone)."""
    return len(_TRAINERS)


# --- this process' side -----------------------------------------------------------------------
_PENDING: dict[str, list] = {}


def _defer_drop(backend: str, handle: str) -> None:
    _PENDING.setdefault(backend, []).append(handle)


def _take_pending(backend: str) -> list:
    pending = _PENDING.get(backend, [])
    taken = pending[:]
    del pending[:len(taken)]
    return taken


class RemoteTrainer:
    """``keras_impl.optimizers.Trainer``'s interface, for a Keras model in another backend's
    worker (``model``: the ``keras_backends.Remote`` that ``frameworks.build`` returns for such
    a framework). Every method is one call to the worker; arrays come back as NumPy."""

    def __init__(self, model, weights: dict, config, loss, dtype: str, **kw):
        from .. import keras_backends

        self.backend, self.dtype = model.backend, dtype
        self._call = keras_backends.call
        self.handle = self._call(self.backend, f"{FUNCTIONS}:new_trainer", model.recipe, dtype,
                                 weights, config, loss.text(),
                                 dropped=_take_pending(self.backend), **kw)
        self._finalizer = weakref.finalize(self, _defer_drop, self.backend, self.handle)

    def _forward(self, method: str, *args):
        return self._call(self.backend, f"{FUNCTIONS}:trainer_call", self.handle, method, *args)

    def step(self, inputs: dict, target):
        return self._forward("step", inputs, target)

    def weights(self) -> dict:
        return self._forward("weights")

    def state(self) -> dict:
        return self._forward("state")

    def predict(self, inputs: dict) -> dict:
        return self._forward("predict", inputs)

    def optimizer_state(self) -> dict:
        return self._forward("optimizer_state")

    def load_optimizer_state(self, state: dict) -> None:
        return self._forward("load_optimizer_state", state)

    def close(self) -> None:
        """Forget the worker's trainer now (later calls raise KeyError)."""
        if self._finalizer.detach() is not None:
            self._call(self.backend, f"{FUNCTIONS}:drop", self.handle)
