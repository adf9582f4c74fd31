"""Checkpoint files read into plain NumPy arrays, safely; state dicts written for PyTorch.

The file layer of ``crossframe convert SRC DST``: what a file holds, by the key the file gives
each tensor, and nothing else (which model it belongs to, and which canonical parameter each key
is, are decided elsewhere). Arrays keep their shape and dtype (float32 or float64) exactly.

    kind_of(path)                      (kind, framework) from the extension, or an InputError
    read_checkpoint(path)              a Checkpoint: floating-point tensors by file key, the
                                       non-float entries aside, a .keras archive's config
    save_torch(path, tensors, extra)   a state dict as .pt (torch.save) or .safetensors

Formats, their keys, and what is refused (an InputError, one line: the problem and the fix)
--------------------------------------------------------------------------------------------
``.pt`` / ``.pth``    ``torch.load(path, map_location="cpu", weights_only=True)`` only
    (torch/serialization.py: the weights-only unpickler builds tensors, dicts, lists and
    numbers and refuses every other global, so no code in the file can run). Keys are the
    state dict's (``0.weight``, ``lstm.weight_ih_l0``), in its order. A state dict wrapped
    under one of WRAPPER_KEYS beside other entries (epoch, optimizer) is found and the key
    kept in ``Checkpoint.wrapped``. Refused: a pickled module or class (``torch.save(model)``),
    any top-level object other than a dict, nested dicts without a state dict, and float16,
    bfloat16, float8 or complex tensors.
``.safetensors``      the header (8-byte little-endian length, then JSON: name -> dtype, shape,
    data_offsets; huggingface/safetensors' README, "Format") is read here to check dtypes and
    sizes before the safetensors package reads the data (``safe_open(framework="np")``). Keys
    in the order of the data in the file.
``.weights.h5``       a Keras 3 ``model.save_weights`` file (keras/src/saving/saving_lib.py,
    ``H5IOStore`` and ``_save_state``): every variable is a dataset ``<path>/vars/<i>``, the
    path following the model's attributes: ``layers/dense/vars/0`` (kernel),
    ``layers/lstm/cell/vars/1``, ``layers/bidirectional/forward_layer/cell/vars/2``. HDF5
    keeps no creation order in these files, so keys come in natural order (``vars/2`` before
    ``vars/10``). The optimizer's variables (``optimizer/...``) belong to training, not to the
    model: they are not read and are listed in ``Checkpoint.skipped``. Refused: a Keras 2 /
    legacy HDF5 (``model_weights/`` or ``layer_names`` at the root), any HDF5 without the
    ``vars/`` layout, soft or external links, external or virtual datasets (Keras' own
    ``safe_get_h5_dataset`` refuses the same), and float16/bfloat16/complex datasets.
``.keras``            a zip holding ``config.json`` (read with ``json``: never deserialized,
    nothing in it is imported or run), ``metadata.json`` and ``model.weights.h5`` (opened from
    memory with h5py, the same keys as ``.weights.h5``). Refused: a ``Lambda`` layer or any
    function stored as bytecode, any object outside Keras (a ``module`` that is not ``keras``
    or ``keras.*``, a ``registered_name`` of the ``package>Name`` form), a missing member, a
    corrupt zip. The training setup (``compile_config``: loss, optimizer, metrics) is not
    looked at.
``.npz``              crossframe.weights_io.read (never unpickled); keys are the array names.

Every format: a missing path, a directory, a pipe or device, an empty file, and a truncated or
corrupt file get one line each; declared sizes go through crossframe.resources.guard before
anything is read (as weights_io.NpzArrays does). Non-float entries (integer or bool: torch
BatchNorm's ``num_batches_tracked``) go to ``Checkpoint.extra``. NaN/Inf values are not looked
for here: the caller validates the values it uses.
"""
from __future__ import annotations

import io
import json
import os
import re
import warnings
import zipfile
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import resources
from ..errors import InputError

KINDS = {".pt": ("pt", "torch"), ".pth": ("pt", "torch"), ".safetensors": ("safetensors", "torch"),
         ".weights.h5": ("weights.h5", "keras"), ".keras": ("keras", "keras"),
         ".npz": ("npz", "canonical")}

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "module", "weights")

_KNOWN = ", ".join(KINDS)
_SAVE_STATE_DICT = "save the state dict: torch.save(model.state_dict(), 'name.pt')"
_SAVE_AGAIN = "save it again: torch.save(model.state_dict(), 'name.pt')"
_SAVE_KERAS3 = "save it with Keras 3: model.save_weights('name.weights.h5')"
_REFUSED_EXTENSIONS = {
    ".h5": ("is a plain .h5 file: a Keras 2 / legacy HDF5 file is not read",
            "load the model in Keras 3 and save it with model.save_weights('name.weights.h5')"),
    ".hdf5": ("is a plain .hdf5 file: a Keras 2 / legacy HDF5 file is not read",
              "load the model in Keras 3 and save it with model.save_weights('name.weights.h5')"),
    ".bin": ("is a .bin file, whose extension says nothing of its format",
             "if it is a torch.save state dict (such as pytorch_model.bin), rename it to .pt "
             "(it is read with weights_only=True)"),
    ".ckpt": ("is a .ckpt file (a TensorFlow or PyTorch Lightning checkpoint), which is not read",
              "Lightning: " + _SAVE_STATE_DICT + "; TensorFlow: restore it into a Keras 3 model "
              "and model.save_weights('name.weights.h5')"),
    ".onnx": ("is an ONNX graph, which is not read",
              "export the weights from the framework that trained them: "
              + _SAVE_STATE_DICT + ", or model.save_weights('name.weights.h5') in Keras 3"),
    ".pkl": ("is a pickle, which is never loaded (loading it would run code)",
             _SAVE_STATE_DICT + ", or the arrays with np.savez('name.npz', **arrays)"),
    ".pickle": ("is a pickle, which is never loaded (loading it would run code)",
                _SAVE_STATE_DICT + ", or the arrays with np.savez('name.npz', **arrays)"),
    ".npy": ("holds a single array (.npy), not named tensors",
             "save the arrays by name with np.savez('name.npz', **arrays)"),
}

# Numbers a tensor may hold: float32/float64 are tensors, integers and bools are kept aside,
# anything else (half precision, complex, strings) is refused with the fix.
_HALF_FIX = "convert them first: .float() or .double() in torch, .astype(np.float32) in NumPy"


def kind_of(path: str) -> tuple[str, str]:
    """(kind, framework) from the file name's extension (case-insensitive), per KINDS.

    Raises InputError for any other extension: a plain ``.h5`` (a Keras 2 / legacy HDF5 file is
    not read: save with ``model.save_weights('name.weights.h5')`` in Keras 3), ``.bin``,
    ``.ckpt``, ``.onnx``, ``.pkl`` and ``.npy`` each with their own line, anything else with the
    list of known extensions."""
    name = os.path.basename(str(path))
    low = name.lower()
    for ext in sorted(KINDS, key=len, reverse=True):    # .weights.h5 before any shorter one
        if low.endswith(ext) and len(low) > len(ext):
            return KINDS[ext]
    for ext, (problem, fix) in _REFUSED_EXTENSIONS.items():
        if low.endswith(ext):
            raise InputError(f"'{name}' {problem}", fix)
    ext = os.path.splitext(low)[1]
    if not ext:
        raise InputError(f"'{name or path}' has no extension, so its format is unknown",
                         f"name the file with one of {_KNOWN}")
    raise InputError(f"'{name}': unknown checkpoint extension '{ext}'",
                     f"give one of {_KNOWN}")


@dataclass
class Checkpoint:
    """What a checkpoint file holds, by file key (see the module for each format's keys)."""

    path: str
    kind: str                        # "pt" | "safetensors" | "weights.h5" | "keras" | "npz"
    framework: str                   # "torch" | "keras" | "canonical"
    tensors: dict[str, np.ndarray]   # floating-point tensors by file key, in file order
    extra: dict[str, np.ndarray]     # non-float entries kept aside (num_batches_tracked)
    config: dict | None = None       # a .keras archive's config.json, parsed with json
    wrapped: str | None = None       # the key a torch checkpoint wrapped its state dict under
    skipped: tuple[str, ...] = ()    # file parts not read, said to the user (optimizer/...)


def read_checkpoint(path: str) -> Checkpoint:
    """Read ``path`` into NumPy arrays by its kind (kind_of), never running code from it.

    Raises InputError (one line, the problem and the fix) for an unknown extension, a path that
    is missing, a directory, not a regular file, empty or unreadable, for a truncated or corrupt
    file, for anything the module lists as refused, for declared sizes above the memory budget
    (crossframe.resources), and for a file with no floating-point tensor at all."""
    check_path(path)           # "does not exist" / "is a directory" before its extension
    kind, framework = kind_of(path)
    reader = {"pt": _read_torch, "safetensors": _read_safetensors,
              "weights.h5": _read_weights_h5, "keras": _read_keras, "npz": _read_npz}[kind]
    ckpt = reader(path)
    ckpt.kind, ckpt.framework = kind, framework
    if not ckpt.tensors:
        aside = f" ({len(ckpt.extra)} non-float entries only)" if ckpt.extra else ""
        raise InputError(f"'{path}' holds no float32 or float64 tensor{aside}",
                         "check that it was saved from a model with weights")
    return ckpt


def save_torch(path: str, tensors: dict[str, np.ndarray], extra: dict | None = None,
               kind: str = "pt") -> None:
    """Write a state dict to exactly ``path`` (the caller makes it atomic).

    ``kind="pt"``: ``torch.save`` of an OrderedDict of CPU tensors; ``"safetensors"``:
    ``safetensors.numpy.save_file`` with the metadata ``{"format": "pt"}`` that PyTorch
    loaders expect. ``extra`` entries keep their own dtype and are placed after the last tensor
    of the same module (``bn.num_batches_tracked`` after ``bn.running_var``, as torch orders a
    BatchNorm's state dict). Raises ValueError for another kind or a key in both dicts."""
    if kind not in ("pt", "safetensors"):
        raise ValueError(f"save_torch writes 'pt' or 'safetensors', not {kind!r}")
    extra = dict(extra or {})
    both = sorted(set(tensors) & set(extra))
    if both:
        raise ValueError(f"keys both in tensors and extra: {both}")
    arrays = OrderedDict((k, _native(np.asarray(v))) for k, v in _in_torch_order(tensors, extra))
    if kind == "pt":
        import torch

        torch.save(OrderedDict((k, torch.from_numpy(a)) for k, a in arrays.items()), path)
    else:
        from safetensors.numpy import save_file

        save_file(dict(arrays), path, metadata={"format": "pt"})


def _in_torch_order(tensors: dict, extra: dict) -> list[tuple[str, object]]:
    """The tensors in their order, each extra entry after the last tensor sharing its module
    prefix (``bn.`` for ``bn.num_batches_tracked``), or at the end."""
    items = list(tensors.items())
    for key, value in extra.items():
        prefix = key.rpartition(".")[0]
        last = max((i for i, (k, _) in enumerate(items)
                    if k.rpartition(".")[0] == prefix and k in tensors), default=None)
        items.insert(len(items) if last is None else last + 1, (key, value))
    return items


def _native(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy in the machine's byte order (torch.from_numpy refuses big-endian)."""
    return np.array(a.astype(a.dtype.newbyteorder("="), copy=False), order="C", copy=True)


# ------------------------------------------------------------------------------ the path ----

def check_path(path: str) -> None:
    if not path:
        raise InputError("the checkpoint path is empty", f"give a file ending in one of {_KNOWN}")
    if not os.path.exists(path):
        raise InputError(f"checkpoint '{path}' does not exist", "check the path")
    if os.path.isdir(path):
        raise InputError(f"checkpoint path '{path}' is a directory",
                         "give the checkpoint file inside it")
    if not os.path.isfile(path):
        raise InputError(f"checkpoint path '{path}' is not a regular file (a pipe or a device)",
                         "save the checkpoint to a file and pass that")
    if os.path.getsize(path) == 0:
        raise InputError(f"checkpoint '{path}' is empty (0 bytes)",
                         "save it again: the write did not finish")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise InputError(f"checkpoint '{path}' cannot be read ({err.strerror})",
                         "check its permissions") from None


def _looks_like(path: str) -> str:
    """What a file's first bytes say it is, for a message about a file that did not open."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return ""
    for magic, what in ((b"\x89HDF\r\n\x1a\n", "an HDF5 file"), (b"PK\x03\x04", "a zip archive"),
                        (b"\x93NUMPY", "a NumPy .npy array"), (b"\x80", "a pickle")):
        if head.startswith(magic):
            return f"; its bytes look like {what}"
    return ""


def _corrupt(path: str, what: str, err: BaseException, fix: str) -> InputError:
    reason = type(err).__name__
    text = str(err).lower()
    if "truncat" in text or "eof" in text or isinstance(err, EOFError):
        reason += ": truncated"
    else:
        reason += ": truncated or corrupt"
    return InputError(f"'{path}' is not a readable {what} ({reason}{_looks_like(path)})", fix)


def _split(label: str, key: str, dtype: np.dtype, fix: str) -> str:
    """Where an entry of ``dtype`` goes: "tensor" (float32/float64), "extra" (integer, bool);
    half precision and complex raise InputError; anything else is "skip"."""
    if dtype.kind == "f" and dtype.itemsize in (4, 8):
        return "tensor"
    if dtype.kind in "biu":
        return "extra"
    if dtype.kind in "fc":
        raise InputError(f"{label}: {key} is {dtype}; only float32 and float64 tensors are "
                         "read", fix)
    return "skip"


# ----------------------------------------------------------------------------- PyTorch -----

def _read_torch(path: str) -> Checkpoint:
    import pickle

    import torch

    size = os.path.getsize(path)
    resources.guard(2 * size, f"reading '{path}' ({resources.text(size)} on disk, and a copy)",
                    "check the file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # pickle protocol notes: not the user's concern
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if "WeightsUnpickler error" not in text and "Weights only load failed" not in text:
            raise _corrupt(path, "PyTorch file", err, _SAVE_AGAIN) from None
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f"it names {found.group(1)}" if found else "an instruction beyond plain data"
        raise InputError(f"'{path}' holds a pickled object, not only tensors ({what}: a whole "
                         "module saved with torch.save(model), or a custom class); it is "
                         "refused because loading it would run code",
                         _SAVE_STATE_DICT) from None
    except Exception as err:  # noqa: BLE001 - torch raises many kinds on bad bytes
        if "TorchScript" in str(err):
            raise InputError(f"'{path}' is a TorchScript archive (torch.jit.save), which is "
                             "not read", _SAVE_STATE_DICT) from None
        raise _corrupt(path, "PyTorch file", err, _SAVE_AGAIN) from None
    state, wrapped = _state_dict(obj, path)
    tensors, extra = {}, {}
    for key, t in state.items():
        if t.layout != torch.strided or t.is_quantized or t.is_meta:
            form = "quantized" if t.is_quantized else "meta" if t.is_meta else str(t.layout)
            raise InputError(f"'{path}': {key} is a {form} tensor, not a dense one",
                             "save dense float tensors (.dequantize(), .to_dense())")
        if t.is_floating_point() or t.is_complex():
            if t.dtype not in (torch.float32, torch.float64):
                raise InputError(f"'{path}': {key} is {str(t.dtype).replace('torch.', '')}; "
                                 "only float32 and float64 tensors are read",
                                 "convert the state dict first: "
                                 "{k: v.float() for k, v in sd.items()} (.float() or .double())")
            tensors[key] = np.array(t.detach().numpy(), order="C", copy=True)
        else:
            extra[key] = np.array(t.detach().numpy(), order="C", copy=True)
    return Checkpoint(path, "pt", "torch", tensors, extra, wrapped=wrapped)


def _state_dict(obj, path: str):
    """(the dict of tensors, the key it was wrapped under or None), or InputError."""
    import torch

    def is_state(d) -> bool:
        return isinstance(d, dict) and bool(d) and \
            all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in d.items())

    wrap_fix = "save model.state_dict() alone, or wrap it as {'state_dict': model.state_dict()}"
    if isinstance(obj, torch.Tensor):
        raise InputError(f"'{path}' holds a single tensor, not a state dict of named tensors",
                         "save a dict: torch.save({'name': tensor}, path), or model.state_dict()")
    if not isinstance(obj, dict):
        raise InputError(f"'{path}' holds a {type(obj).__name__}, not a state dict",
                         _SAVE_STATE_DICT)
    if not obj:
        raise InputError(f"'{path}' holds an empty dict", _SAVE_STATE_DICT)
    if is_state(obj):
        return obj, None
    for key in WRAPPER_KEYS:
        if key in obj and is_state(obj[key]):
            return obj[key], key
    if any(isinstance(v, torch.Tensor) for v in obj.values()):
        others = [f"{k}: {type(v).__name__}" for k, v in obj.items()
                  if not isinstance(v, torch.Tensor)]
        raise InputError(f"'{path}' mixes tensors with other entries ({', '.join(others[:3])}"
                         f"{', ...' if len(others) > 3 else ''}) and has no state dict under "
                         f"{', '.join(WRAPPER_KEYS)}", wrap_fix)
    keys = [str(k) for k in obj][:6]
    raise InputError(f"'{path}' holds a dict of {', '.join(keys)}{', ...' if len(obj) > 6 else ''}"
                     f" with no state dict of tensors under {', '.join(WRAPPER_KEYS)}", wrap_fix)


# ------------------------------------------------------------------------- safetensors -----

_ST_DTYPES = {"F32": np.float32, "F64": np.float64, "BOOL": np.bool_,
              "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
              "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64}
_ST_MAX_HEADER = 100_000_000     # the safetensors package's own limit on the JSON header
_ST_FIX = "save it again with safetensors' save_file"


def _read_safetensors(path: str) -> Checkpoint:
    header = _safetensors_header(path)
    entries = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not (isinstance(info, dict) and isinstance(info.get("dtype"), str)
                and isinstance(info.get("shape"), list)
                and all(isinstance(n, int) and n >= 0 for n in info["shape"])
                and isinstance(info.get("data_offsets"), list)
                and len(info["data_offsets"]) == 2
                and all(isinstance(n, int) for n in info["data_offsets"])):
            raise InputError(f"'{path}' has a corrupt safetensors header (entry {key!r})",
                             _ST_FIX)
        code = info["dtype"]
        if code not in _ST_DTYPES:
            if code.startswith(("F", "BF", "C")):
                raise InputError(f"'{path}': {key} is {code}; only float32 and float64 tensors "
                                 "are read", _HALF_FIX)
            raise InputError(f"'{path}': {key} has the safetensors dtype {code}, which is not "
                             "read", "save float32 or float64 tensors")
        dtype = np.dtype(_ST_DTYPES[code])
        nbytes = int(np.prod(info["shape"], dtype=object)) * dtype.itemsize
        resources.guard(nbytes, f"'{path}' tensor {key} {tuple(info['shape'])} {dtype}",
                        "check the file")
        entries.append((info["data_offsets"][0], key, dtype, nbytes))
    resources.guard(sum(e[3] for e in entries), f"the tensors of '{path}'", "check the file")
    tensors, extra = {}, {}
    try:
        from safetensors import safe_open

        with safe_open(path, framework="np") as fh:
            for _, key, dtype, _ in sorted(entries, key=lambda e: e[0]):
                target = tensors if dtype.kind == "f" else extra
                target[key] = np.array(fh.get_tensor(key), order="C", copy=True)
    except Exception as err:  # noqa: BLE001 - SafetensorError and OSError on bad bytes
        raise _corrupt(path, "safetensors file", err, _ST_FIX) from None
    return Checkpoint(path, "safetensors", "torch", tensors, extra)


def _safetensors_header(path: str) -> dict:
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if n < 2 or n > size - 8 or n > _ST_MAX_HEADER:
            raise InputError(f"'{path}' is not a readable safetensors file (its first 8 bytes "
                             f"declare a {n}-byte header in a {size}-byte file: truncated or "
                             f"not safetensors{_looks_like(path)})", _ST_FIX)
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise InputError(f"'{path}' has a corrupt safetensors header ({type(err).__name__}: "
                         "not JSON)", _ST_FIX) from None
    if not isinstance(header, dict):
        raise InputError(f"'{path}' has a corrupt safetensors header (not a JSON object)",
                         _ST_FIX)
    return header


# ---------------------------------------------------------------------------- Keras 3 -----

def _natural(key: str) -> tuple:
    """``vars/2`` before ``vars/10``: digit runs compare as numbers."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key))


def _read_weights_h5(path: str) -> Checkpoint:
    import h5py

    try:
        h5 = h5py.File(path, "r", locking=False)
    except Exception as err:  # noqa: BLE001 - OSError of many kinds on bad bytes
        raise _corrupt(path, "HDF5 file", err, _SAVE_KERAS3) from None
    with h5:
        tensors, extra, skipped = _read_h5(h5, f"'{path}'", path)
    return Checkpoint(path, "weights.h5", "keras", tensors, extra, skipped=tuple(skipped))


def _read_h5(h5, label: str, path: str):
    """(tensors, extra, skipped) of an open Keras 3 weights file (see the module)."""
    try:        # links are looked at before anything is followed (no `name in h5` first)
        datasets, groups, others = _h5_walk(h5, label)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - h5py raises many kinds on corrupt bytes
        raise _corrupt(path, "HDF5 file", err, _SAVE_KERAS3) from None
    if "model_weights" in groups or "layer_names" in h5.attrs:
        raise InputError(f"{label} is a Keras 2 / legacy HDF5 file (model_weights/ or "
                         "layer_names at its root), which is not read",
                         "load the model in Keras 3 and save it with "
                         "model.save_weights('name.weights.h5')")
    has_vars = any(g.rpartition("/")[2] == "vars" for g in groups)
    stray = [key for key, _ in datasets if key.split("/")[-2:-1] != ["vars"]]
    if stray or not has_vars:
        where = f"dataset {stray[0]} is not under a vars/ group" if stray else "no vars/ group"
        raise InputError(f"{label} is an HDF5 file without Keras 3's weights layout ({where})",
                         _SAVE_KERAS3)
    tensors, extra, skipped = {}, {}, list(others)
    kept = []
    for key, ds in sorted(datasets, key=lambda kd: _natural(kd[0])):
        if key.startswith("optimizer/"):
            skipped.append(key)
            continue
        if ds.external:
            raise InputError(f"{label}: dataset {key} stores its data in another file, which "
                             "is never read", _SAVE_KERAS3)
        if ds.is_virtual:
            raise InputError(f"{label}: dataset {key} is virtual (it maps other files), which "
                             "is never read", _SAVE_KERAS3)
        stored = ds.attrs.get("dtype") if "dtype" in ds.attrs else None
        if isinstance(stored, bytes):
            stored = stored.decode("utf-8", "replace")
        if stored == "bfloat16":
            raise InputError(f"{label}: {key} is bfloat16; only float32 and float64 tensors "
                             "are read", "build the model in float32 or float64 and save again")
        if ds.shape is None:
            skipped.append(f"{key} (an empty HDF5 dataspace)")
            continue
        where = _split(label, key, ds.dtype,
                       "build the model in float32 or float64 and save it again")
        if where == "skip":
            skipped.append(f"{key} ({ds.dtype}, not numbers)")
            continue
        nbytes = int(np.prod(ds.shape, dtype=object)) * ds.dtype.itemsize
        resources.guard(nbytes, f"{label} dataset {key} {ds.shape} {ds.dtype}", "check the file")
        kept.append((key, ds, where, nbytes))
    resources.guard(sum(k[3] for k in kept), f"the tensors of {label}", "check the file")
    for key, ds, where, _ in kept:
        try:
            value = np.asarray(ds[()])
        except Exception as err:  # noqa: BLE001 - a corrupt chunk, a missing filter
            raise InputError(f"{label}: dataset {key} cannot be read ({type(err).__name__}: "
                             "truncated or corrupt)", _SAVE_KERAS3) from None
        (tensors if where == "tensor" else extra)[key] = _native(value)
    return tensors, extra, skipped


def _h5_walk(h5, label: str):
    """Every dataset of the file by path, following hard links only, each object once.
    Returns ([(key, dataset)], [group paths], [notes on other objects]); InputError on a soft
    or external link or an object linked twice."""
    import h5py

    datasets, groups, others, seen = [], [], [], set()
    stack = [("", h5)]
    while stack:
        prefix, group = stack.pop()
        for name in group:
            key = prefix + name
            link = group.get(name, getlink=True)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                where = "another file" if isinstance(link, h5py.ExternalLink) else "another path"
                raise InputError(f"{label}: {key} is a link to {where} ({type(link).__name__}),"
                                 " which is never followed", _SAVE_KERAS3)
            if not isinstance(link, h5py.HardLink):
                raise InputError(f"{label}: {key} is a {type(link).__name__}, which is never "
                                 "followed", _SAVE_KERAS3)
            obj = group[name]
            if obj.id in seen:
                raise InputError(f"{label}: {key} links an object a second time, which Keras "
                                 "never writes", _SAVE_KERAS3)
            seen.add(obj.id)
            if isinstance(obj, h5py.Group):
                groups.append(key)
                stack.append((key + "/", obj))
            elif isinstance(obj, h5py.Dataset):
                datasets.append((key, obj))
            else:
                others.append(f"{key} (a {type(obj).__name__}, not a dataset)")
    return datasets, groups, others


_KERAS_MEMBERS = ("config.json", "model.weights.h5")
_KERAS_FIX = "save the model with Keras 3's model.save('name.keras')"
_CODE_FIX = ("replace it by a Keras layer and save again, or give the architecture with --layers "
             "and convert the model's weights saved with model.save_weights('name.weights.h5')")


def _read_keras(path: str) -> Checkpoint:
    import h5py

    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if "config.json" not in infos:
                raise InputError(f"'{path}' has no config.json: not a Keras 3 .keras archive",
                                 _KERAS_FIX)
            if "model.weights.h5" not in infos:
                npz = " (its weights are model.weights.npz, which is not read)" \
                    if "model.weights.npz" in infos else ""
                raise InputError(f"'{path}' has no model.weights.h5{npz}",
                                 "save the model with model.save('name.keras') (h5 weights, "
                                 "the default), or model.save_weights('name.weights.h5')")
            for member in _KERAS_MEMBERS:
                resources.guard(infos[member].file_size,
                                f"'{path}' member {member} (uncompressed)", "check the file")
            resources.guard(sum(infos[m].file_size for m in _KERAS_MEMBERS),
                            f"the members of '{path}'", "check the file")
            config = _keras_config(zf.read("config.json"), path)
            weights = zf.read("model.weights.h5")
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - BadZipFile, zlib.error, CRC errors, ...
        raise _corrupt(path, "zip archive (.keras)", err, _KERAS_FIX) from None
    label = f"'{path}' (model.weights.h5)"
    try:
        h5 = h5py.File(io.BytesIO(weights), "r")
    except Exception as err:  # noqa: BLE001
        raise InputError(f"{label} is not a readable HDF5 file ({type(err).__name__}: "
                         "truncated or corrupt)", _KERAS_FIX) from None
    with h5:
        tensors, extra, skipped = _read_h5(h5, label, path)
    others = [f"{name} (not weights)" for name in infos
              if name not in _KERAS_MEMBERS + ("metadata.json",) and not name.endswith("/")]
    return Checkpoint(path, "keras", "keras", tensors, extra, config=config,
                      skipped=tuple(skipped + others))


def _keras_config(raw: bytes, path: str) -> dict:
    """config.json parsed with json and checked: no Lambda, no bytecode, nothing outside
    Keras. Never deserialized."""
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise InputError(f"'{path}' config.json is not JSON ({type(err).__name__})",
                         _KERAS_FIX) from None
    if not isinstance(config, dict):
        raise InputError(f"'{path}' config.json is not a Keras model config (a JSON "
                         f"{type(config).__name__})", _KERAS_FIX)
    stack = [(config, "the model", True)]
    while stack:
        node, where, is_layer = stack.pop()
        if isinstance(node, list):      # reversed onto the stack: layers checked in order
            stack.extend((item, where, is_layer) for item in reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        inner = node.get("config")
        if is_layer and isinstance(inner, dict) and isinstance(inner.get("name"), str):
            where = f"layer '{inner['name']}'"
        _check_keras_object(node, where, is_layer, path)
        stack.extend((v, where, k in _LAYER_KEYS) for k, v in reversed(node.items())
                     if k != "compile_config")
    return config


# where config.json nests layers: a model's list, a wrapper's layer, an RNN's cell(s)
_LAYER_KEYS = ("layers", "layer", "forward_layer", "backward_layer", "cell", "cells")


def _check_keras_object(node: dict, where: str, is_layer: bool, path: str) -> None:
    """One dict of config.json: refused if it is code or an object from outside Keras."""
    value = node.get("value")
    if set(node) == {"value"} and isinstance(value, list) and value and \
            isinstance(value[0], str):
        raise InputError(f"'{path}' {where} holds a Python function stored as bytecode, which "
                         "is never run", _CODE_FIX)
    if "class_name" not in node:
        return
    cls, module = node.get("class_name"), node.get("module")
    registered = node.get("registered_name")
    if cls == "Lambda":
        raise InputError(f"'{path}' {where} is a Lambda layer: its function is code, which is "
                         "never run", _CODE_FIX)
    if cls == "__lambda__":
        raise InputError(f"'{path}' {where} holds a lambda function: code, which is never run",
                         _CODE_FIX)
    if isinstance(cls, str) and cls.startswith("__") and cls.endswith("__") and module is None:
        return          # Keras' own encodings of values: __tensor__, __numpy__, __bytes__, ...
    outside = not (isinstance(module, str) and (module == "keras" or module.startswith("keras.")))
    if outside or (isinstance(registered, str) and ">" in registered):
        name = registered if isinstance(registered, str) and ">" in registered else cls
        verb = "is" if is_layer else "holds"
        raise InputError(f"'{path}' {where} {verb} a custom object {name} (module {module}): "
                         "custom code is never imported or run",
                         "rebuild the model from Keras' own layers and save again, or give the "
                         "architecture with --layers and convert the model's weights saved with "
                         "model.save_weights('name.weights.h5')")


# ------------------------------------------------------------------------------- .npz -----

def _read_npz(path: str) -> Checkpoint:
    from .. import weights_io

    arrays = weights_io.read(path, what="checkpoint")
    tensors, extra = {}, {}
    for name in arrays:
        dtype = weights_io.meta(arrays, name)[1]
        where = _split(f"'{path}'", name, dtype, _HALF_FIX)
        if where == "skip":
            raise InputError(f"'{path}': {name} has dtype {dtype}, not numbers",
                             "save float32 or float64 arrays with np.savez")
        (tensors if where == "tensor" else extra)[name] = _native(arrays[name])
    return Checkpoint(path, "npz", "canonical", tensors, extra)
