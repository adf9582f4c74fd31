"""Where each framework's code lives, and how a declared model becomes that framework's model.

    implementations("torch")        {declaration name: the torch class implementing it}
    build("keras", model, dtype)    a keras.Model for a crossframe.sequential.Sequential
    engine("scratch")               the module with make_step / run_step

Frameworks: ``scratch`` (the textbook NumPy layers, what the parity matrix checks),
``scratch-fast`` (their tuned twins in ``crossframe.scratch.fast`` where one exists, the
textbook layer elsewhere: what training, the report and ``bench`` run), ``torch`` and ``keras``
(Keras on this process' backend: ``KERAS_BACKEND``, TensorFlow where unset), and Keras on a
named backend, ``keras-tensorflow``, ``keras-jax`` and ``keras-torch``: the same keras_impl and
mapping, run in a worker process of its own where the backend is not this process'
(crossframe.keras_backends).

An implementation is found, not listed: every module of a framework's package is imported once
and every class naming a declaration (``declaration = layers.Dense``) is collected, so a new
layer is one class in each folder. Importing is lazy: ``crossframe list`` and ``describe`` never
import torch or TensorFlow.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache

from .errors import InputError

FRAMEWORKS = ("scratch", "torch", "keras")
PAIRS = (("scratch", "torch"), ("scratch", "keras"), ("torch", "keras"))
KERAS_NAMED = ("keras-tensorflow", "keras-jax", "keras-torch")
VARIANTS = ("scratch-fast", *KERAS_NAMED)
PACKAGES = {"scratch": "crossframe.scratch", "scratch-fast": "crossframe.scratch.fast",
            "torch": "crossframe.torch_impl", "keras": "crossframe.keras_impl",
            **{name: "crossframe.keras_impl" for name in KERAS_NAMED}}
FOLDERS = {"scratch": "scratch/", "scratch-fast": "scratch/fast/", "torch": "torch_impl/",
           "keras": "keras_impl/", **{name: "keras_impl/" for name in KERAS_NAMED}}


def base(framework: str) -> str:
    """"scratch-fast" -> "scratch", "keras-jax" -> "keras": whose code and mapping run it."""
    if framework == "scratch-fast":
        return "scratch"
    return "keras" if framework in KERAS_NAMED else framework


def elsewhere(framework: str) -> bool:
    """Keras on a backend that is not this process': run in that backend's worker."""
    from . import keras_backends

    return framework in KERAS_NAMED and not keras_backends.runs_here(framework)


def check_framework(framework: str) -> str:
    if framework not in PACKAGES:
        from .errors import did_you_mean

        raise InputError(f"unknown framework '{framework}'", did_you_mean(framework, PACKAGES))
    return framework


@lru_cache(maxsize=None)
def _collect(package: str) -> dict:
    found = {}
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            decl = getattr(cls, "declaration", None)
            if cls.__module__ == module.__name__ and getattr(decl, "name", ""):
                found[decl.name] = cls
    return found


def implementations(framework: str) -> dict:
    """{declaration name: class} for ``framework`` (scratch-fast: the fast twins over the
    textbook layers)."""
    check_framework(framework)
    if framework == "scratch-fast":
        return {**_collect(PACKAGES["scratch"]), **_collect(PACKAGES["scratch-fast"])}
    return _collect(PACKAGES[base(framework)])


def implementation(framework: str, decl):
    """The class implementing ``decl`` in ``framework``; an InputError says where to add one."""
    found = implementations(framework).get(decl.name)
    if found is None:
        raise InputError(f"{decl.name} has no {framework} implementation",
                         f"add a class with declaration = layers.{decl.title} in "
                         f"{FOLDERS[framework]}{decl.family}.py (README: Adding a layer)")
    return found


def has_fast(decl) -> bool:
    return decl.name in _collect(PACKAGES["scratch-fast"])


def engine(framework: str):
    """The module running one step (``run_step``): the framework's engine, or for Keras on
    another backend crossframe.keras_backends, which runs keras_impl's engine in its worker."""
    if elsewhere(framework):
        return importlib.import_module("crossframe.keras_backends")
    return importlib.import_module(f"{PACKAGES[base(framework)]}.engine")


def build(framework: str, model, dtype: str):
    """``framework``'s model for the Sequential ``model``, parameters not yet loaded (for Keras
    on another backend, its recipe: the worker builds it)."""
    if elsewhere(framework):
        from . import keras_backends

        return keras_backends.build(model, dtype, keras_backends.backend_of(framework))
    classes = {cfg.decl.name: implementation(framework, cfg.decl) for cfg in model.layers}
    return engine(framework).build(model, dtype, classes)
