"""The models a user writes by hand, built from crossframe's own code for them.

``crossframe describe`` prints, for every model, the plain torch module and the plain Keras
model that compute what crossframe checks (``Sequential.torch_code`` / ``keras_code``; the
suite runs that printed code and pins it to the torch and Keras sides). A checkpoint is written
for, and loaded into, exactly those models, so a file crossframe writes loads into the code a
user copies, and into their own model of the same layers:

- torch: the printed module's ``state_dict`` keys (``dense1.weight``) are the torch names of the
  declared mapping; a written file must pass ``load_state_dict(strict=True)``.
- Keras: Keras 3 writes ``.weights.h5`` by layer class and position (``layers/dense_1/vars/0``;
  keras/src/saving/saving_lib.py names a layer by its class, not its name, so that two
  instances of a model match), so its layout is learned from Keras itself: each variable of
  the printed model is filled with its own index, saved, and found again in the file.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from functools import lru_cache

import numpy as np


def torch_module(model, dtype: str):
    """The printed torch module, in ``dtype``."""
    import torch

    namespace: dict = {}
    exec(model.torch_code(), namespace)           # crossframe's own printed code
    module = namespace["model"]
    return module.double() if dtype == "float64" else module.float().to(torch.float32)


def torch_layout(model) -> dict[str, tuple]:
    """The printed module's state dict: key -> shape, in its order (buffers included:
    a BatchNorm's ``num_batches_tracked``)."""
    return {k: tuple(v.shape) for k, v in torch_module(model, "float64").state_dict().items()}


@contextmanager
def _keras_config():
    from ..keras_impl.backend import keras

    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    try:
        yield keras
    finally:
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)


def keras_model(model, dtype: str):
    """The printed Keras model (a ``keras.Sequential`` or a functional model), in ``dtype``;
    Keras' global dtype settings are left as they were."""
    code = model.keras_code()
    if dtype != "float64":
        code = code.replace("'float64'", f"'{dtype}'")
    with _keras_config():
        namespace: dict = {}
        exec(code, namespace)                    # crossframe's own printed code
        return namespace["model"]


def keras_names(keras) -> dict[str, object]:
    """The printed model's variables by crossframe's Keras name (``dense1/kernel``): a
    keras.Sequential prefixes its own name, which the mapping does not carry."""
    import keras as K

    strip = isinstance(keras, K.Sequential)
    return {(v.path.split("/", 1)[1] if strip else v.path): v for v in keras.weights}


@lru_cache(maxsize=32)
def _keras_layout(model, dtype: str) -> tuple[tuple[str, str, tuple]]:
    import h5py

    net = keras_model(model, dtype)
    variables = keras_names(net)
    for i, v in enumerate(variables.values()):
        v.assign(np.full(tuple(v.shape), i + 1, dtype=dtype))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "layout.weights.h5")
        net.save_weights(path)
        names = list(variables)
        rows = []
        with h5py.File(path, "r") as f:
            def visit(key, obj):
                if isinstance(obj, h5py.Dataset) and obj.size:
                    index = int(np.asarray(obj).ravel()[0]) - 1
                    rows.append((key, names[index], tuple(obj.shape)))
            f.visititems(visit)
    return tuple(rows)


def keras_layout(model, dtype: str = "float64") -> dict[str, tuple[str, tuple]]:
    """The file layout of the printed Keras model: h5 path (``layers/lstm/cell/vars/1``) ->
    (crossframe's Keras name, shape), in the file's order."""
    rows = _keras_layout(model, dtype)     # learned once per model (and dtype)
    return {path: (name, shape) for path, name, shape in rows}


def write_keras(path: str, model, weights: dict[str, np.ndarray], kind: str) -> None:
    """Write framework ``weights`` (crossframe's Keras names) to exactly ``path`` as Keras
    itself does: ``model.save_weights`` for ``kind`` "weights.h5", ``model.save`` for "keras"
    (Keras wants those endings; the file is written under them and moved to ``path``)."""
    dtype = str(next(iter(weights.values())).dtype)
    net = keras_model(model, dtype)
    for name, v in keras_names(net).items():
        v.assign(weights[name])
    ending = ".weights.h5" if kind == "weights.h5" else ".keras"
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(path))) as folder:
        tmp = os.path.join(folder, "model" + ending)
        with _keras_config():
            if kind == "weights.h5":
                net.save_weights(tmp)
            else:
                net.save(tmp)
        os.replace(tmp, path)


def keras_loads(path: str, model, kind: str, dtype: str) -> dict[str, np.ndarray]:
    """Keras' own loader on a file crossframe wrote (a fresh printed model's
    ``load_weights``): the variables it then holds, by crossframe's Keras name."""
    net = keras_model(model, dtype)
    with tempfile.TemporaryDirectory() as folder:
        ending = ".weights.h5" if kind == "weights.h5" else ".keras"
        link = os.path.join(folder, "model" + ending)
        os.symlink(os.path.abspath(path), link)
        with _keras_config():
            net.load_weights(link)
    return {name: np.asarray(v.numpy()) for name, v in keras_names(net).items()}


def torch_loads(path_tensors: dict[str, np.ndarray], model, dtype: str) -> None:
    """torch's own loader on a state dict crossframe wrote: ``load_state_dict(strict=True)``
    into a fresh printed module (raises on any key or shape that does not fit)."""
    import torch

    module = torch_module(model, dtype)
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in path_tensors.items()},
                           strict=True)


def keras_loads_on(framework: str, path: str, model, kind: str, dtype: str
                   ) -> dict[str, np.ndarray]:
    """``keras_loads`` on the backend of ``framework`` (``"keras"``, ``"keras-jax"``, ...): in
    this process where that is its backend, else in that backend's worker process
    (crossframe.keras_backends), which rebuilds the model from its recipe."""
    from .. import frameworks, keras_backends

    if not frameworks.elsewhere(framework):
        return keras_loads(path, model, kind, dtype)
    return keras_backends.call(keras_backends.backend_of(framework),
                               f"{__name__}:_keras_loads_recipe", os.path.abspath(path),
                               keras_backends.portable(model), kind, dtype)


def _keras_loads_recipe(path: str, recipe: tuple, kind: str, dtype: str):
    from ..keras_backends import rebuild

    return keras_loads(path, rebuild(recipe), kind, dtype)


def keras_forward(path: str, recipe: tuple, kind: str, dtype: str, x: np.ndarray,
                  training: bool = False) -> np.ndarray:
    """The printed Keras model of ``recipe`` (``keras_backends.portable``) with the file at
    ``path`` loaded by Keras' own ``load_weights``, called on ``x`` (N, ...): its output as a
    NumPy array, on this process' backend. A module-level function, so that
    ``keras_backends.call(backend, "crossframe.porting.native:keras_forward", ...)`` runs it on
    another backend: Keras' loader and forward alone, no crossframe engine."""
    from ..keras_backends import rebuild
    from ..keras_impl.backend import to_numpy

    net = keras_model(rebuild(recipe), dtype)
    with tempfile.TemporaryDirectory() as folder:
        ending = ".weights.h5" if kind == "weights.h5" else ".keras"
        link = os.path.join(folder, "model" + ending)
        os.symlink(os.path.abspath(path), link)
        with _keras_config():
            net.load_weights(link)
    return np.asarray(to_numpy(net(np.asarray(x, dtype=dtype), training=training)))
