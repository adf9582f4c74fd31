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
from collections.abc import Mapping

import numpy as np

from .errors import InputError
from .layers.base import ParamSpec


NPY_MAGIC, ZIP_MAGIC, EMPTY_ZIP = b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06"


class Header:
    """What an .npy member declares about itself, read without decompressing the data."""

    def __init__(self, shape: tuple, dtype: np.dtype):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


class NpzArrays(Mapping):
    """The arrays of an .npz file by name, each read (and decompressed) only when asked for.

    ``header(name)`` gives its declared shape and dtype without reading it; an object or
    pickled member is refused at opening, and so is one whose declared size is above the
    memory budget (crossframe.resources): a 12 KB file declaring a 745 GiB array is refused
    before anything is decompressed."""

    def __init__(self, path: str):
        from . import resources

        self.path = path
        self._headers: dict[str, Header] = {}
        self._members: dict[str, str] = {}
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if not member.endswith(".npy"):
                        continue
                    with archive.open(member) as fp:
                        header = _read_header(fp, path, member)
                    self._headers[member[:-4]] = header
                    self._members[member[:-4]] = member
        except InputError:
            raise
        except Exception as err:  # noqa: BLE001 - zipfile and numpy raise many kinds on bad bytes
            raise InputError(f"'{path}' is not a readable .npz file ({type(err).__name__}: "
                             f"truncated or corrupt)", "save arrays with np.savez") from None
        for name, h in self._headers.items():
            resources.guard(h.nbytes, f"'{path}' member {name} {h.shape} {h.dtype}",
                            "check the file")
        resources.guard(sum(h.nbytes for h in self._headers.values()),
                        f"the arrays of '{path}'", "check the file")

    def header(self, name: str) -> Header:
        return self._headers[name]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._members:
            raise KeyError(name)
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(self._members[name]) as fp:
                return np.lib.format.read_array(fp, allow_pickle=False)
        except Exception as err:  # noqa: BLE001 - zlib.error, RuntimeError, ... on bad bytes
            raise InputError(f"'{self.path}' member {name} cannot be read ({type(err).__name__}:"
                             " truncated or corrupt)", "save arrays with np.savez") from None

    def __iter__(self):
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def _read_header(fp, path: str, member: str) -> Header:
    version = np.lib.format.read_magic(fp)
    reader = {(1, 0): np.lib.format.read_array_header_1_0,
              (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if reader is None:
        raise ValueError(f"npy format {version}")
    shape, _, dtype = reader(fp, max_header_size=10_000)
    if dtype.hasobject:
        raise InputError(f"'{path}' holds pickled or object arrays ({member}), which are never "
                         "loaded (allow_pickle=False)", "save plain float arrays with np.savez")
    return Header(shape, dtype)


def read(path: str, what: str = "weights") -> NpzArrays:
    """The arrays of an .npz file (read lazily, never unpickled); an InputError says what is
    wrong with a file that is missing, a folder, a single .npy array, a pickle, text, or a
    truncated or corrupt archive."""
    if not path:
        raise InputError(f"the {what} path is empty", "give a .npz file")
    if not os.path.exists(path):
        hint = "write one with `crossframe weights MODEL --out FILE.npz`" if what == "weights" \
            else "save one with np.savez"
        raise InputError(f"{what} file '{path}' does not exist", f"check the path, or {hint}")
    if os.path.isdir(path):
        raise InputError(f"{what} path '{path}' is a directory", "pass a .npz file")
    if not os.path.isfile(path):
        raise InputError(f"{what} path '{path}' is not a regular file (a pipe or a device)",
                         "save the arrays to a .npz file and pass that")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as err:
        raise InputError(f"'{path}' cannot be read ({err.strerror})", "check its permissions"
                         ) from None
    if head.startswith(NPY_MAGIC):
        raise InputError(f"'{path}' holds a single array (.npy), not an .npz archive of named "
                         "arrays", "save with np.savez(path, **{name: array})")
    if head[:1] == b"\x80":
        raise InputError(f"'{path}' is a pickle, which is never loaded (allow_pickle=False)",
                         "save plain float arrays with np.savez")
    if not (head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP)):
        kind = "empty" if not head else "not a zip archive"
        raise InputError(f"'{path}' is not an .npz file ({kind})",
                         "save arrays with np.savez(path, **{name: array})")
    return NpzArrays(path)


def meta(arrays, name: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of one array, from its header when it has not been read."""
    if isinstance(arrays, NpzArrays):
        h = arrays.header(name)
        return h.shape, h.dtype
    a = np.asarray(arrays[name])
    return tuple(a.shape), a.dtype


def shapes(arrays) -> dict[str, tuple]:
    return {k: meta(arrays, k)[0] for k in arrays}


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
    for name, p in want.items():     # shapes and dtypes first, from headers: nothing read yet
        shape, kind = meta(weights, name)
        if kind == object or kind.kind not in "f":
            raise InputError(f"{source}: {name} has dtype {kind}, expected floating point "
                             f"({dtype})", f"save it with .astype(np.{dtype})")
        if kind == np.float64 and dtype == "float32":
            raise InputError(f"{source}: {name} is float64 but --dtype float32 was asked",
                             "pass --dtype float64, or save float32 weights (rounding is yours "
                             "to choose, not done silently)")
        if kind not in (np.float32, np.float64):
            raise InputError(f"{source}: {name} has dtype {kind}, expected {dtype}",
                             f"save it with .astype(np.{dtype})")
        if tuple(shape) != tuple(p.shape):
            hint = ""
            if len(shape) == len(p.shape) and tuple(shape[::-1]) == tuple(p.shape):
                hint = " — looks transposed"
            raise InputError(f"{source}: {name}: expected shape {tuple(p.shape)}, got "
                             f"{tuple(shape)}{hint}",
                             "crossframe's canonical layout is printed by `crossframe describe "
                             f"{model}`")
    out = {}
    for name in want:
        a = weights[name]
        if not np.all(np.isfinite(a)):
            bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise InputError(f"{source}: {name} holds {bad} NaN/Inf value(s)",
                             "parity needs finite weights; re-export them")
        check_magnitude(a, dtype, f"{source}: {name}")
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
    _check_shape(a, shape, label)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{label} holds NaN/Inf values", "give finite numbers")
    check_magnitude(a, dtype, label)
    return np.ascontiguousarray(a.astype(dtype))


def _check_shape(a: np.ndarray, shape: tuple, label: str) -> None:
    """``a`` against ``shape`` (None: any size on that axis, shown as N)."""
    if a.ndim != len(shape) or any(w is not None and g != w for g, w in zip(a.shape, shape)):
        want = "(" + ", ".join("N" if w is None else str(w) for w in shape) + ")"
        raise InputError(f"{label}: expected shape {want}, got {tuple(a.shape)}",
                         "`crossframe describe MODEL` prints the input shapes")


def check_ids(a: np.ndarray, shape: tuple, vocabulary: int, label: str) -> np.ndarray:
    """Integer ids (an Embedding's input) against ``shape`` and [0, vocabulary); int64."""
    if a.dtype.kind not in "iu":
        raise InputError(f"{label} has dtype {a.dtype}, expected integer ids",
                         "save them with .astype(np.int64)")
    _check_shape(a, shape, label)
    if a.size and (a.min() < 0 or a.max() >= vocabulary):
        raise InputError(f"{label}: ids from {a.min()} to {a.max()}, outside [0, {vocabulary})",
                         f"ids index the table's {vocabulary} rows; raise input_dim or fix the ids")
    return np.ascontiguousarray(a.astype(np.int64))


def check_magnitude(a: np.ndarray, dtype: str, label: str) -> None:
    """Refuse values whose square overflows ``dtype`` (|v| > sqrt(max), 1.3e154 in float64,
    1.8e19 in float32): every product of two of them, and the loss, would be inf, and a
    comparison of infs proves nothing."""
    limit = float(np.sqrt(np.finfo(dtype).max))
    # a value that fits float64 but not float32 becomes inf in a float32 run: refused too
    biggest = float(np.max(np.abs(a), initial=0.0))
    if biggest > limit:
        raise InputError(f"{label} holds values up to {biggest:.3g}; in {dtype} products of "
                         f"values above {limit:.3g} overflow to inf",
                         "scale the values down (parity is about formulas, not overflow)")


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
