"""Reading and writing canonical weights as ``.npz`` — safely.

A user's file is never unpickled (``allow_pickle=False``): a pickled or object array is refused
with a message, as are a missing, corrupt or non-npz file, a missing or extra parameter, a wrong
shape (with "looks transposed" when it is the transpose), NaN/Inf, and a wrong dtype. Float32
weights may be checked in float64 (widening is exact); float64 weights are not silently rounded
to float32. Writing goes to a temporary file renamed into place, so a failure leaves nothing.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np

from .errors import InputError
from .layers.base import ParamSpec


def read(path: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file, never unpickled; an InputError says what is wrong."""
    if not os.path.exists(path):
        raise InputError(f"weights file '{path}' does not exist", "check the path, or write "
                         "one with `crossframe weights MODEL --out FILE.npz`")
    if os.path.isdir(path):
        raise InputError(f"weights path '{path}' is a directory", "pass a .npz file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise InputError(f"'{path}' holds a single array, not an .npz archive of named "
                                 "parameters", "save with np.savez(path, **{name: array})")
            return {k: npz[k] for k in npz.files}
    except InputError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower() or "object" in str(err).lower():
            raise InputError(f"'{path}' holds pickled or object arrays, which are never loaded "
                             "(allow_pickle=False)", "save plain float arrays with np.savez"
                             ) from None
        raise InputError(f"'{path}' is not a readable .npz file ({err})",
                         "save weights with np.savez") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise InputError(f"'{path}' is not a readable .npz file ({type(err).__name__})",
                         "the file is corrupt or not an npz; save weights with np.savez") from None


def validate(weights: dict[str, np.ndarray], params: list[ParamSpec], dtype: str,
             model: str, source: str = "weights") -> dict[str, np.ndarray]:
    """Check names, shapes, dtypes and values; return arrays in ``dtype``."""
    want = {p.name: p for p in params}
    missing = [n for n in want if n not in weights]
    extra = [n for n in weights if n not in want]
    if missing:
        raise InputError(f"{source}: missing parameter(s) {', '.join(missing)} for {model}",
                         f"`crossframe describe {model}` lists the {len(want)} expected names")
    if extra:
        raise InputError(f"{source}: unexpected parameter(s) {', '.join(extra)} for {model}",
                         f"remove them; `crossframe describe {model}` lists the expected names")
    out = {}
    for name, p in want.items():
        a = weights[name]
        if a.dtype == object or a.dtype.kind not in "f":
            raise InputError(f"{source}: {name} has dtype {a.dtype}, expected floating point "
                             f"({dtype})", f"save it with .astype(np.{dtype})")
        if a.dtype == np.float64 and dtype == "float32":
            raise InputError(f"{source}: {name} is float64 but --dtype float32 was asked",
                             "pass --dtype float64, or save float32 weights (rounding is yours "
                             "to choose, not done silently)")
        if a.dtype not in (np.float32, np.float64):
            raise InputError(f"{source}: {name} has dtype {a.dtype}, expected {dtype}",
                             f"save it with .astype(np.{dtype})")
        if tuple(a.shape) != tuple(p.shape):
            hint = ""
            if a.ndim == len(p.shape) and tuple(a.shape[::-1]) == tuple(p.shape):
                hint = " — looks transposed"
            raise InputError(f"{source}: {name}: expected shape {tuple(p.shape)}, got "
                             f"{tuple(a.shape)}{hint}",
                             "crossframe's canonical layout is printed by `crossframe describe "
                             f"{model}`")
        if not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise InputError(f"{source}: {name} holds {bad} NaN/Inf value(s)",
                             "parity needs finite weights; re-export them")
        out[name] = np.ascontiguousarray(a.astype(dtype))
    return out


def check_array(a: np.ndarray, shape: tuple, dtype: str, label: str) -> np.ndarray:
    """One user array (an input, an upstream gradient) against ``shape`` (None: any size on that
    axis) and ``dtype``: floating point, finite, not float64 into a float32 run. Returns it
    contiguous in ``dtype``."""
    if a.dtype == object or a.dtype.kind != "f":
        raise InputError(f"{label} has dtype {a.dtype}, expected floating point ({dtype})",
                         f"save it with .astype(np.{dtype})")
    if a.dtype == np.float64 and dtype == "float32":
        raise InputError(f"{label} is float64 but --dtype float32 was asked",
                         "pass --dtype float64, or save float32 arrays")
    if a.ndim != len(shape) or any(w is not None and g != w for g, w in zip(a.shape, shape)):
        want = "(" + ", ".join("N" if w is None else str(w) for w in shape) + ")"
        raise InputError(f"{label}: expected shape {want}, got {tuple(a.shape)}",
                         "`crossframe describe MODEL` prints the input shapes")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{label} holds NaN/Inf values", "give finite numbers")
    return np.ascontiguousarray(a.astype(dtype))


def load(path: str, params: list[ParamSpec], dtype: str, model: str) -> dict[str, np.ndarray]:
    return validate(read(path), params, dtype, model, source=os.path.basename(path))


def save(path: str, weights: dict[str, np.ndarray], force: bool = False) -> None:
    """Write an .npz atomically (crossframe.writing): refused over an existing file without
    ``force``, nothing left behind on any error."""
    from .writing import check_writable, write_atomic

    check_writable(path, force, ".npz")

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **weights)
    write_atomic(path, write)
