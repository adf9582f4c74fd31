"""The user's environment, respected or named; never a wall of warnings.

``prepare()`` runs once at the start of the command line:

- ``KERAS_BACKEND``: the backend of the ``keras`` column (``tensorflow`` where unset); one
  crossframe does not run (numpy, openvino) stops a check that needs Keras with one line
  (``keras_backend_error``), and a check that does not (``--frameworks scratch,torch``) runs;
- a home folder that cannot be written (a read-only or missing ``HOME``): matplotlib's and
  Keras' caches go to a private temporary folder instead of printing warnings
  (``MPLCONFIGDIR``, ``KERAS_HOME``), unless the user set those themselves;
- TensorFlow's start-up chatter stays off the console (``TF_CPP_MIN_LOG_LEVEL``).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from .errors import InputError


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        return True
    except OSError:
        return False


def prepare() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # before anything imports TensorFlow (a learner's file may): oneDNN's float32 Conv2D was
    # wrong for one stride pattern here (crossframe/keras_impl/backend.py)
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    home = os.path.expanduser("~")
    caches = {"MPLCONFIGDIR": os.path.join(home, ".config", "matplotlib"),
              "KERAS_HOME": os.path.join(home, ".keras")}
    private = None
    for variable, default in caches.items():
        if variable in os.environ or _writable(default):
            continue
        if private is None:
            private = tempfile.mkdtemp(prefix="crossframe-cache-")
            atexit.register(shutil.rmtree, private, ignore_errors=True)
        os.environ[variable] = os.path.join(private, variable.lower())


KERAS_BACKENDS = ("tensorflow", "jax", "torch")
GIVEN_KERAS_BACKEND = os.environ.get("KERAS_BACKEND")   # as the user set it (or None)


def keras_backend() -> str:
    """The Keras backend of this process' ``keras`` column: the user's ``KERAS_BACKEND``
    (any case, spaces trimmed), ``tensorflow`` where unset or empty."""
    return os.environ.get("KERAS_BACKEND", "").strip().lower() or "tensorflow"


def keras_backend_error() -> InputError | None:
    """The one line for a user whose KERAS_BACKEND is none that crossframe runs (None when it
    is one: tensorflow, jax or torch). A valid one is written back normalized, so Keras reads
    the same name."""
    backend = keras_backend()
    if backend in KERAS_BACKENDS:
        os.environ["KERAS_BACKEND"] = backend
        return None
    return InputError(f"KERAS_BACKEND is '{os.environ['KERAS_BACKEND']}': crossframe runs "
                      "Keras on tensorflow, jax or torch", "set KERAS_BACKEND to one of those "
                      "(or unset it: tensorflow), or leave Keras out of the command (check "
                      "--frameworks scratch,torch)")
