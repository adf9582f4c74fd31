"""Port a checkpoint between PyTorch, Keras 3 and canonical .npz, and prove the port.

    result = convert("model.pt", "model.weights.h5")                  # architecture read off
    result = convert("lstm.pt", "lstm.keras", layers="lstm(units=64, num_layers=2); "
                     "dense(units=10)", input_shape=(20, 16))       # or stated
    check = check_port("model.pt", "by_hand.weights.h5")            # a port someone made

The path of a tensor: the file's keys -> the model's framework names (``keys``: by structure,
with a key report) -> the canonical layout (the declared mapping, inverted:
``Mapping.params_to_canonical``) -> the other framework's names -> the file crossframe's
printed code for that framework loads (``native``). Verified after writing: the written file is
read back and loaded into its framework, the source into its own, and one seeded random batch
and upstream gradient goes through both: outputs, loss, every parameter gradient and the input
gradient compared with the tolerance table (``crossframe.tolerances``).

The Keras side of a verification runs on this process' Keras backend (``KERAS_BACKEND``,
TensorFlow where unset), or on the one ``keras_backend`` names (``"jax"``, ``"torch"``,
``"tensorflow"``): Keras' own ``load_weights`` and the forward and backward pass then run in that
backend's worker process (crossframe.keras_backends). The file written is the same whichever
backend verifies it: Keras 3 writes ``.weights.h5`` and ``.keras`` backend-independently.

Shape legend: as ``crossframe describe MODEL`` prints each tensor (canonical / framework).

Errors: ``InputError`` (one line with the fix) for every bad input; ``KeyMismatch`` (an
InputError) carries the full key report. Nothing is written on any error: the file is written
and verified in a temporary folder beside DST and renamed into place only then.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from . import formats, keys, native


class KeyMismatch(InputError):
    """A checkpoint's keys do not fit the model: ``report`` lists each."""

    def __init__(self, report: keys.KeyReport, fix: str):
        super().__init__(report.summary(), fix)
        self.report = report


@dataclass
class Side:
    """One checkpoint read against a model: its tensors under the model's framework names
    (``tensors``), the canonical weights they are (``canonical``) and how the keys matched."""

    checkpoint: formats.Checkpoint
    framework: str                      # "torch" | "keras" | "canonical"
    model: object                       # the Sequential it was read with
    dtype: str
    tensors: dict[str, np.ndarray]
    canonical: dict[str, np.ndarray]
    report: keys.KeyReport
    file_keys: dict[str, str] = field(default_factory=dict)   # model's name -> file key


@dataclass
class Conversion:
    """What ``convert`` did: the model, the notes, the verification table (one row per tensor,
    ``crossframe.result`` columns) and, with ``steps``, the training trajectory table."""

    src: str
    dst: str
    model: object
    dtype: str
    notes: list[str]
    alternatives: list[str]
    table: pd.DataFrame
    trajectory: pd.DataFrame | None = None
    written: bool = False
    keys: list[dict] = field(default_factory=list)   # canonical tensor, src key(s), dst key(s)
    keras: str = "keras"                # the framework name the Keras side ran as

    @property
    def ok(self) -> bool:
        ok = bool(self.table["ok"].all())
        if self.trajectory is not None:
            ok = ok and bool(self.trajectory["ok"].all())
        return ok


@dataclass
class PortCheck:
    """What ``check_port`` found: weights compared tensor by tensor, then outputs and
    gradients, and the diagnosis (``crossframe.porting.diagnose``) when they differ."""

    a: str
    b: str
    model: object
    dtype: str
    notes: list[str]
    weights: pd.DataFrame
    table: pd.DataFrame
    findings: list
    keras: str = "keras"                # the framework name the Keras side ran as

    @property
    def ok(self) -> bool:
        return bool(self.weights["ok"].all()) and bool(self.table["ok"].all())


# --- the Keras backend a verification runs on -----------------------------------------------------
def keras_framework(backend: str | None) -> str:
    """The framework name the Keras side of a verification runs as: ``"keras"`` (this
    process' backend) for None, ``"keras-jax"`` for ``"jax"`` (or ``"keras-jax"``), likewise
    tensorflow and torch. InputError, with the closest name, for any other."""
    from ..environment import KERAS_BACKENDS
    from ..errors import did_you_mean

    if backend is None:
        return "keras"
    name = str(backend).strip().lower()
    name = name[len("keras-"):] if name.startswith("keras-") else name
    if name not in KERAS_BACKENDS:
        raise InputError(f"--keras-backend '{backend}': not a Keras backend crossframe runs",
                         did_you_mean(name, KERAS_BACKENDS))
    return f"keras-{name}"


def _check_keras_choice(keras: str, frameworks_: tuple[str, ...], steps: int = 0) -> None:
    """InputError where a chosen Keras backend would be ignored (neither file is a Keras one)
    or cannot be had: --steps trains Keras in this process (crossframe.training), so not on
    another backend."""
    from .. import frameworks
    from ..environment import keras_backend

    if keras == "keras":
        return
    backend = keras.split("-", 1)[1]
    if "keras" not in frameworks_:
        raise InputError(f"--keras-backend {backend} was given, and neither file is a Keras "
                         "one (.weights.h5, .keras)", "drop --keras-backend")
    if steps and frameworks.elsewhere(keras):
        raise InputError(f"--steps trains Keras in this process, on {keras_backend()}, and "
                         f"--keras-backend {backend} is another backend",
                         f"drop --steps, or run with KERAS_BACKEND={backend} instead of "
                         "--keras-backend")


def _keras_side_notes(keras: str) -> list[str]:
    """The line naming the Keras and backend versions the Keras side ran on, where a backend
    was chosen."""
    if keras == "keras":
        return []
    from ..keras_backends import column_notes

    return [f"the Keras side ran as {line}" for line in column_notes([keras]).values()]


def _engine(framework: str, keras: str = "keras") -> str:
    """The framework a side of ``framework``'s file runs in: canonical weights in scratch,
    a Keras file on ``keras`` (``keras_framework``)."""
    if framework == "canonical":
        return "scratch"
    return keras if framework == "keras" else framework


# --- the model ---------------------------------------------------------------------------------
def resolve_model(ck: formats.Checkpoint | None, model: str | None = None,
                  layers: str | None = None, input_shape=None, options: dict | None = None,
                  loss: str = "upstream"):
    """(Sequential, notes, alternatives): a preset ``model`` with ``options``, the user's
    ``layers`` on ``input_shape``, or the checkpoint's own architecture (a .keras archive's
    config, or the structure of a state dict: ``crossframe.porting.structure``)."""
    from ..sequential import Sequential
    from . import structure

    if model is not None and layers is not None:
        raise InputError("both --model and --layers were given", "give one of them")
    if model is not None:
        from ..spec import get

        spec = get(model)
        seq = spec.sequential(spec.resolve(options or {}))
        seq.preset = (model, dict(options or {}))    # its own batch (ids, padding) in checks
        return seq, [], []
    if options:
        raise InputError(f"model options {', '.join(options)} were given without --model",
                         "give --model NAME with them, or state the layers with --layers")
    shape = None if input_shape is None else _shape(input_shape)
    if layers is not None:
        notes = []
        if shape is None:
            shape = _input_of(ck)
            notes.append(f"--input {'x'.join(map(str, shape))} read off "
                         f"{os.path.basename(ck.path)} (give --input if it differs)")
        return Sequential.parse(layers, shape, loss), notes, []
    if ck is None or ck.framework == "canonical":
        raise InputError(f"'{ck.path if ck else 'the file'}' holds canonical names, not the "
                         "architecture", "give --model NAME or --layers ... --input ...")
    if ck.config is not None:
        reading = structure.from_keras_config(ck.config)
    elif ck.framework == "torch":
        reading = structure.from_torch({k: v.shape for k, v in ck.tensors.items()}
                                       | {k: v.shape for k, v in ck.extra.items()}, shape)
    else:
        reading = structure.from_keras_h5({k: v.shape for k, v in ck.tensors.items()}, shape)
    seq = Sequential(reading.layers, shape or reading.input_shape, loss)
    notes = [f"architecture read from {os.path.basename(ck.path)}: {reading.text()}"]
    if ck.wrapped:
        notes.append(f"the state dict is the checkpoint's entry '{ck.wrapped}'")
    return seq, notes + list(reading.notes), list(reading.alternatives)


def _input_of(ck: formats.Checkpoint | None) -> tuple[int, ...]:
    """The input shape a checkpoint implies (its architecture read off), for --layers given
    without --input; an InputError asking for --input where it implies none."""
    from . import structure

    ask = InputError("--layers was given without --input, and the input shape cannot be read "
                     "off the file", "give the per-sample input shape, e.g. --input 20x16")
    if ck is None or ck.framework == "canonical":
        raise ask
    try:
        if ck.config is not None:
            return tuple(structure.from_keras_config(ck.config).input_shape)
        shapes = {k: v.shape for k, v in {**ck.tensors, **ck.extra}.items()}
        read = structure.from_torch if ck.framework == "torch" else structure.from_keras_h5
        return tuple(read(shapes).input_shape)
    except InputError:
        raise ask from None


def _shape(value) -> tuple[int, ...]:
    from ..geometry import shape as parse_shape

    try:
        return parse_shape(value, "--input")
    except ValueError as err:
        raise InputError(str(err), "give the per-sample shape, e.g. 28x28x3 or 64") from None


# --- reading a checkpoint against a model -----------------------------------------------------
def _dtype(ck: formats.Checkpoint) -> str:
    kinds = {str(v.dtype) for v in ck.tensors.values()}
    if not kinds:
        raise InputError(f"'{ck.path}' holds no floating-point tensors",
                         "check that it is the model's checkpoint")
    return "float64" if "float64" in kinds else "float32"


def read_side(ck: formats.Checkpoint, model, dtype: str | None = None) -> Side:
    """``ck`` against ``model``: keys matched (KeyMismatch with the report if they do not fit),
    values checked (finite, float), and mapped to the canonical layout."""
    from .. import weights_io

    dtype = dtype or _dtype(ck)
    name = os.path.basename(ck.path)
    canonical_shapes = {p.name: p.shape for p in model.params()}
    if ck.framework == "canonical":
        report = keys.match_exact({k: v.shape for k, v in ck.tensors.items()},
                                  canonical_shapes, name)
        _raise_unless(report, "crossframe's canonical names are printed by `crossframe "
                      "describe`")
        w = weights_io.validate(ck.tensors, model.params(), dtype, model.text(), name)
        return Side(ck, "canonical", model, dtype, w, w, report, {k: k for k in w})
    mapping = model.mapping(ck.framework)
    declared = {e.framework for e in mapping.params}
    if ck.framework == "torch":
        layout = native.torch_layout(model)
        received = {k: v.shape for k, v in ck.tensors.items()}
        # an integer buffer (num_batches_tracked) is expected only where the file keeps one
        received |= {k: v.shape for k, v in ck.extra.items() if k.endswith("num_batches_tracked")}
        expected = {k: s for k, s in layout.items() if k in declared or
                    (k.endswith("num_batches_tracked") and
                     any(x.endswith("num_batches_tracked") for x in ck.extra))}
        report = keys.match_torch(received, expected, name)
        fix = ("the model's torch code is printed by `crossframe describe`; give the "
               "architecture with --model or --layers if it was read wrong")
    else:
        layout = native.keras_layout(model, dtype)
        report = keys.match_exact({k: v.shape for k, v in ck.tensors.items()},
                                  {path: shape for path, (_, shape) in layout.items()}, name)
        report.pairs = {k: layout[k][0] for k in report.pairs}
        fix = ("Keras names a file's tensors by layer class and position; the model's Keras "
               "code is printed by `crossframe describe`")
    _raise_unless(report, fix)
    tensors = {report.pairs[k]: v for k, v in ck.tensors.items()
               if report.pairs.get(k) in declared}
    for k, v in tensors.items():
        weights_io.check_array(v, v.shape, dtype, f"{name}: {_file_key(report, k)}")
    canonical = mapping.params_to_canonical(tensors, canonical_shapes)
    canonical = {k: np.ascontiguousarray(v.astype(dtype)) for k, v in canonical.items()}
    return Side(ck, ck.framework, model, dtype, tensors, canonical, report,
                {v: k for k, v in report.pairs.items()})


def _file_key(report: keys.KeyReport, name: str) -> str:
    return next((k for k, v in report.pairs.items() if v == name), name)


def _raise_unless(report: keys.KeyReport, fix: str) -> None:
    if not report.ok:
        raise KeyMismatch(report, fix)


# --- what a file does not hold -------------------------------------------------------------------
def unrecorded(model, framework: str, kind: str) -> list[str]:
    """Notes for what the written file cannot carry but the model needs: a normalization's
    epsilon and momentum (not in a state dict or a .weights.h5; a .keras config holds them)
    where they differ from that library's defaults, and a layer no torch module computes (the
    file loads into the torch module of the same shapes, which computes another formula)."""
    notes = []
    for cfg in model.layers:
        torch_defaults = cfg.decl.torch_defaults          # the options a file leaves out
        keras_defaults = {o.name: o.default for o in cfg.decl.options}
        if framework == "torch" and any(cfg.opts[o] != v for o, v in torch_defaults.items()):
            notes.append(f"{cfg.name}: build it as {cfg.decl.torch_code(cfg)}: a state dict "
                         "does not hold eps or momentum, and torch's defaults differ")
        if framework == "keras" and kind == "weights.h5" and any(
                cfg.opts[o] != keras_defaults[o] for o in torch_defaults):
            notes.append(f"{cfg.name}: build it as {cfg.decl.keras_code(cfg)}: a .weights.h5 "
                         "does not hold epsilon or momentum, and Keras' defaults differ (a "
                         ".keras file holds them)")
        if framework == "torch" and cfg.params and any(
                "crossframe" in line for line in cfg.decl.torch_imports(cfg)):
            module = cfg.decl.torch_code(cfg).split("(", 1)[0]
            notes.append(f"{cfg.name}: no torch layer computes this {cfg.decl.title} "
                         f"({cfg.decl.keras_code(cfg)}): the file is for {module}, "
                         "the module `crossframe describe` prints, which this verification ran; "
                         "the torch layer of the same shapes loads it and computes another "
                         "formula")
    return notes


# --- writing ------------------------------------------------------------------------------------
def framework_tensors(side: Side, framework: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """The canonical weights of ``side`` as ``framework``'s tensors (crossframe's names), and
    what the user must know about them. torch's two recurrent biases: the whole bias in
    ``bias_ih``, zeros in ``bias_hh`` (only their sum is computed with)."""
    from ..training.engines import single_bias

    model = side.model
    if framework == "canonical":
        return dict(side.canonical), []
    mapping = model.mapping(framework)
    notes = []
    if framework == "torch":
        mapping, frozen = single_bias(mapping)
        full = model.mapping("torch").params_to_framework(side.canonical)
        out = mapping.params_to_framework(side.canonical)
        out = {e.framework: out[e.framework] for e in mapping.params}
        out.update({k: np.zeros_like(full[k]) for k in frozen})
        if frozen:
            notes.append(
                f"torch's two recurrent biases: the whole Keras bias is in bias_ih and zeros "
                f"in {', '.join(frozen)} (torch adds them; only the sum is computed with). "
                "Trained as it is, torch steps each of the two with the full bias gradient, so "
                "their sum moves twice as far under SGD and differently under momentum, Adagrad, "
                "RMSprop and Adam: to follow the Keras run, freeze them "
                "(`bias_hh.requires_grad_(False)`) or give them a parameter group with lr=0")
        return out, notes
    out = mapping.params_to_framework(side.canonical)
    return {e.framework: out[e.framework] for e in mapping.params}, notes


def _torch_payload(side: Side, tensors: dict, like: str | None, name: str) -> dict:
    """The state dict to write: crossframe's printed-code names, or ``like``'s (a checkpoint
    of the user's own torch model, matched by structure); integer buffers (a BatchNorm's
    num_batches_tracked) as the printed module holds them."""
    layout = native.torch_layout(side.model)
    payload = {k: tensors[k] for k in layout if k in tensors}
    for k, shape in layout.items():
        if k not in payload and k.endswith("num_batches_tracked"):
            payload[k] = np.zeros(shape, dtype=np.int64)
    if like is None:
        return payload
    ref = formats.read_checkpoint(like)
    if ref.framework != "torch":
        raise InputError(f"--like {like} is not a torch checkpoint",
                         "give a .pt/.pth/.safetensors of your torch model (its state_dict)")
    received = {k: v.shape for k, v in {**ref.tensors, **ref.extra}.items()}
    expected = {k: np.shape(v) for k, v in payload.items()
                if not k.endswith("num_batches_tracked") or
                any(x.endswith("num_batches_tracked") for x in ref.extra)}
    report = keys.match_torch(received, expected, os.path.basename(like))
    _raise_unless(report, f"--like names the tensors of {name}: it must hold the same layers")
    return {theirs: payload[ours] for theirs, ours in report.pairs.items()}


def _write(path: str, kind: str, source: Side, framework: str, like: str | None) -> list[str]:
    """Write ``source``'s weights to exactly ``path`` as ``kind`` for ``framework``; returns
    notes."""
    if framework == source.framework and framework != "canonical" and like is None:
        # the same framework (a .pt to .safetensors, a .keras to .weights.h5): the file's
        # tensors as they are, nothing goes through the canonical layout
        tensors, notes = dict(source.tensors), []
    else:
        tensors, notes = framework_tensors(source, framework)
    if framework != source.framework:
        notes = unrecorded(source.model, framework, kind) + notes
    if framework == "torch":
        if framework == source.framework and like is None:
            payload = {source.file_keys.get(k, k): v for k, v in tensors.items()}
            payload |= dict(source.checkpoint.extra)
        else:
            payload = _torch_payload(source, tensors, like, os.path.basename(path))
        floats = {k: v for k, v in payload.items() if np.asarray(v).dtype.kind == "f"}
        extra = {k: v for k, v in payload.items() if k not in floats}
        formats.save_torch(path, floats, extra, kind)
    elif framework == "keras":
        native.write_keras(path, source.model, tensors, kind)
    else:
        with open(path, "wb") as fh:
            np.savez(fh, **tensors)
    return notes


# --- verifying ----------------------------------------------------------------------------------
def run_side(side: Side, seed: int = 0, batch_size: int | None = None, model=None,
             mode: str = "train", keras: str = "keras"):
    """One forward + backward pass of ``side``'s own tensors in its own framework (canonical
    weights in scratch, a Keras file on ``keras``: ``keras_framework``) on the seeded batch of
    its model, in ``mode``; a Result, canonical layout."""
    from ..runner import prepare, run

    model = model or side.model
    preset = getattr(model, "preset", None)
    case = prepare(preset[0] if preset else model, dtype=side.dtype, seed=seed,
                   batch_size=batch_size, weights=side.canonical, mode=mode,
                   options=preset[1] if preset else None)
    params = None if side.framework == "canonical" else side.tensors
    return run(case, _engine(side.framework, keras), params=params)


def modes(model) -> list[str]:
    """The modes a verification runs: inference, where every weight and running statistic
    enters the outputs, and training too where a layer computes differently in it (batch
    statistics, the running statistics' update)."""
    return ["eval", "train"] if any(c.decl.mode_dependent for c in model.layers) else ["train"]


def cancelled(model) -> dict[str, str]:
    """Gradients that are 0 in exact arithmetic in training mode, with why: the bias of a
    layer whose output goes straight into a BatchNormalization (the batch mean removes it, so
    the output does not depend on it: both libraries return rounding noise). They are compared
    in inference mode, where the running mean does not remove them."""
    out = {}
    for cfg, nxt in zip(model.layers, model.layers[1:]):
        if nxt.decl.centers and cfg.has("b"):
            out[f"grad:{cfg.p('b')}"] = (f"0 in exact arithmetic in training: {nxt.name}'s "
                                         "batch mean removes this bias; compared in eval mode, "
                                         "not in a --steps trajectory (Adam and the like scale "
                                         "its rounding noise up to full steps)")
    return out


def compare_sides(a: Side, b: Side, seed: int = 0, batch_size: int | None = None,
                  model_b=None, keras: str = "keras") -> pd.DataFrame:
    """Outputs, loss, every parameter gradient and the input gradient of ``a`` in its framework
    against ``b`` in its own (a Keras side on ``keras``), on the same batch and upstream
    gradient, in each of ``modes``; a ``mode`` column says which."""
    from ..result import compare

    tables = []
    for mode in modes(a.model):
        ra = run_side(a, seed, batch_size, mode=mode, keras=keras)
        rb = run_side(b, seed, batch_size, model_b, mode=mode, keras=keras)
        if ra.framework == rb.framework:        # same engine on both sides: label them apart
            ra.framework, rb.framework = "source", "written"
        table = compare(ra, rb, a.dtype)
        if mode == "train":
            skip = cancelled(a.model)
            table = table[~table["tensor"].isin(skip)]
        table.insert(1, "mode", mode)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _native_load(path: str, kind: str, framework: str, side: Side, written: dict,
                 keras: str = "keras") -> None:
    """The written file through the framework's own loader into a fresh copy of crossframe's
    printed model: torch's load_state_dict(strict=True), Keras' load_weights (on ``keras``'s
    backend: in its worker where that is not this process'); the tensors it then holds must be
    the ones written, bit for bit."""
    if framework == "torch":
        ck = formats.read_checkpoint(path)
        named = {side.report.pairs.get(k, k): v for k, v in {**ck.tensors, **ck.extra}.items()}
        native.torch_loads(named, side.model, side.dtype)
    elif framework == "keras":
        held = native.keras_loads_on(keras, path, side.model, kind, side.dtype)
        bad = [k for k, v in side.tensors.items() if not np.array_equal(held[k], v)]
        if bad:
            raise AssertionError(f"Keras loaded {', '.join(bad)} differently from what was "
                                 "written")


# --- convert ------------------------------------------------------------------------------------
def convert(src: str, dst: str, model: str | None = None, layers: str | None = None,
            input_shape=None, options: dict | None = None, force: bool = False,
            like: str | None = None, steps: int = 0, optimizer: str = "sgd",
            lr: float | None = None, seed: int = 0, batch_size: int | None = None,
            keras_backend: str | None = None) -> Conversion:
    """Convert checkpoint ``src`` to ``dst`` (formats by extension: .pt/.pth/.safetensors,
    .weights.h5/.keras, .npz) and verify it; see the module docstring.

    ``model``/``options`` (a preset) or ``layers`` + ``input_shape`` state the architecture;
    else it is read off ``src``. ``like``: a checkpoint of the user's own torch model whose key
    names a torch ``dst`` takes. ``steps`` > 0 also trains both ``steps`` steps of
    ``optimizer`` from the converted weights and compares the trajectories. ``keras_backend``:
    the Keras backend the Keras side is verified on (``keras_framework``; None: this
    process'), the file written the same whichever it is.

    Raises InputError (KeyMismatch with the key report) on bad input; ``dst`` is then absent
    (or as it was). ``dst`` is written only when the verification passes."""
    from ..writing import check_writable

    if not isinstance(steps, int) or steps < 0:
        raise InputError(f"--steps {steps} must be a whole number >= 0", "e.g. --steps 5")
    keras = keras_framework(keras_backend)
    formats.check_path(src)
    s_kind, s_fw = formats.kind_of(src)
    d_kind, d_fw = formats.kind_of(dst)
    _check_keras_choice(keras, (s_fw, d_fw), steps)
    if os.path.abspath(src) == os.path.abspath(dst):
        raise InputError(f"SRC and DST are the same file '{src}'", "write to another path")
    check_writable(dst, force)
    if like is not None and d_fw != "torch":
        raise InputError("--like names torch tensors, and DST is not a torch file",
                         "drop --like, or write a .pt/.pth/.safetensors")
    ck = formats.read_checkpoint(src)
    seq, notes, alternatives = resolve_model(ck, model, layers, input_shape, options)
    source = read_side(ck, seq)
    notes += [f"{k} {why}" for k, why in cancelled(seq).items()]
    notes += _keras_side_notes(keras)
    folder = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(dst)),
                              prefix=".crossframe-convert-")
    try:
        tmp = os.path.join(folder, os.path.basename(dst))
        notes += _write(tmp, d_kind, source, d_fw, like)
        written = read_side(formats.read_checkpoint(tmp), seq, source.dtype)
        _native_load(tmp, d_kind, d_fw, written, written.tensors, keras)
        table = compare_sides(source, written, seed, batch_size, keras=keras)
        result = Conversion(src, dst, seq, source.dtype, notes, alternatives, table,
                            keys=key_rows(source, written), keras=keras)
        if steps:
            result.trajectory = _trajectory(source, written, steps, optimizer, lr, seed,
                                            batch_size)
        if result.ok:
            os.replace(tmp, dst)
            result.written = True
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def key_rows(source: Side, written: Side) -> list[dict]:
    """One row per canonical tensor: the source file's key(s) and the written file's (two
    where torch holds it in two tensors)."""
    def where(side):
        if side.framework == "canonical":
            return {k: [k] for k in side.canonical}
        keys_: dict[str, list[str]] = {}
        for e in side.model.mapping(side.framework).params:
            key = side.file_keys.get(e.framework, e.framework)
            if side.framework == "keras":        # the h5 path, and the variable it holds
                key += f" ({e.framework})"
            keys_.setdefault(e.canonical, []).append(key)
        return keys_
    a, b = where(source), where(written)
    return [dict(tensor=k, src=", ".join(a[k]), dst=", ".join(b.get(k, []))) for k in a]


def _trajectory(source: Side, written: Side, steps: int, optimizer: str, lr, seed: int,
                batch_size) -> pd.DataFrame:
    """Both frameworks trained ``steps`` steps from the converted weights, compared after each
    step (``crossframe.training.trajectory``); torch with its recurrent bias whole in bias_ih and
    bias_hh frozen, as written (the two-bias note)."""
    from ..runner import prepare
    from ..training.config import make_config
    from ..training.trajectory import compare_traces, run_sides, sides_needed

    fws = [_engine(s.framework) for s in (source, written)]
    if fws[0] == fws[1]:
        raise InputError("--steps compares two frameworks, and SRC and DST are the same one",
                         "drop --steps, or convert to the other framework")
    pair = tuple(sorted(fws, key=["scratch", "torch", "keras"].index))
    model = source.model
    if model.loss.upstream:     # training needs a loss with a target: MSE on a random one
        from ..sequential import Sequential

        model = Sequential(list(model.items), model.input_shape, "mse")
    case = prepare(model, dtype=source.dtype, seed=seed, batch_size=batch_size,
                   weights=written.canonical)
    config = make_config(optimizer, lr=lr)
    traces = run_sides(case, config, steps, sides_needed([pair], True, config),
                       recurrent_bias="single")
    table = compare_traces(traces, [pair], source.dtype, explain=True, config=config)
    # a bias before a training-mode BatchNorm: its gradient is rounding noise, which Adam,
    # RMSprop or Adagrad scale up to a full step in a direction of its own in each library;
    # it changes nothing the model computes in training, so it is not compared
    skip = {k[len("grad:"):] for k in cancelled(source.model)}
    return table[~table["tensor"].isin(skip)].reset_index(drop=True)


# --- check a port -------------------------------------------------------------------------------
def _from_config_of(ck: formats.Checkpoint, other: formats.Checkpoint, input_shape):
    """The model of ``ck``, a bare state dict, when only ``other`` (a .keras archive) records
    the architecture: ``other``'s layers, with the options ``ck``'s library does not record in
    a state dict at that library's defaults (torch's BatchNorm eps 1e-5 and momentum 0.1,
    LayerNorm eps 1e-5), so that a port left at Keras' defaults shows."""
    import dataclasses

    from ..sequential import Sequential
    from . import structure

    reading = structure.from_keras_config(other.config)
    layers, changed = [], []
    for layer in reading.layers:
        fixed = layer.decl.torch_defaults if ck.framework == "torch" else {}
        if fixed:
            layer = dataclasses.replace(layer, options={**layer.options, **fixed})
            changed.append(layer.decl.name)
        layers.append(layer)
    shape = reading.input_shape if input_shape is None else _shape(input_shape)
    seq = Sequential(layers, shape)
    name, theirs = os.path.basename(ck.path), os.path.basename(other.path)
    notes = [f"{name} is read with the layers of {theirs}'s config"]
    if changed:
        notes.append(f"{name} does not record its {', '.join(sorted(set(changed)))} options: "
                     "torch's defaults are assumed for it (eps 1e-5, momentum 0.1 = Keras' "
                     "0.9); state them with --layers if the torch model set others")
    return seq, notes


def check_port(a: str, b: str, model: str | None = None, layers: str | None = None,
               input_shape=None, options: dict | None = None, seed: int = 0,
               batch_size: int | None = None, keras_backend: str | None = None) -> PortCheck:
    """Check a port someone made: ``a`` (usually the torch original) and ``b`` (their
    conversion), each read in its own framework and mapped to the canonical layout, compared
    weight by weight, then outputs and gradients on the same batch (a Keras file's on
    ``keras_backend``, as in ``convert``); where they differ, the diagnosis names the mistake
    when applying it to ``a`` reproduces ``b``."""
    from ..result import compare_tensors
    from . import structure
    from .diagnose import diagnose_port
    from ..sequential import Sequential

    keras = keras_framework(keras_backend)
    ck_a, ck_b = formats.read_checkpoint(a), formats.read_checkpoint(b)
    _check_keras_choice(keras, (ck_a.framework, ck_b.framework))
    stated = model is not None or layers is not None or options
    port_model = None
    if stated:
        seq, notes, _ = resolve_model(ck_a, model, layers, input_shape, options)
    elif ck_a.config is None and ck_b.config is not None:
        # B's config knows what A's state dict cannot (activations, paddings)
        seq, notes = _from_config_of(ck_a, ck_b, input_shape)
    else:
        first = ck_a if ck_a.framework != "canonical" else ck_b
        seq, notes, _ = resolve_model(first, input_shape=input_shape)
    if ck_b.config is not None:
        reading = structure.from_keras_config(ck_b.config)
        port_model = Sequential(reading.layers, seq.input_shape, seq.loss)
        notes.append(f"{os.path.basename(b)} is read with its own config: {port_model.text()}")
    elif not stated and ck_a.config is not None and ck_b.framework != "canonical":
        port_model, more = _from_config_of(ck_b, ck_a, input_shape)
        notes += more
    if _dtype(ck_a) != _dtype(ck_b):
        raise InputError(f"{os.path.basename(a)} holds {_dtype(ck_a)} tensors and "
                         f"{os.path.basename(b)} {_dtype(ck_b)}: the check runs both in one "
                         "dtype", "compare two files of the same dtype (convert writes the "
                         "source's dtype)")
    dtype = _dtype(ck_a)
    notes += [f"{k} {why}" for k, why in cancelled(seq).items()]
    notes += _keras_side_notes(keras)
    side_a = read_side(ck_a, seq, dtype)
    side_b = read_side(ck_b, port_model or seq, dtype)
    weights = compare_tensors({k: ("weight", v) for k, v in side_a.canonical.items()},
                              {k: ("weight", v) for k, v in side_b.canonical.items()},
                              (os.path.basename(a), os.path.basename(b)), dtype)
    table = compare_sides(side_a, side_b, seed, batch_size, model_b=port_model, keras=keras)
    findings = []
    if not (weights["ok"].all() and table["ok"].all()):
        torch_tensors = side_a.tensors if side_a.framework == "torch" else None
        findings = diagnose_port(seq, side_a.canonical, side_b.canonical, dtype,
                                 torch_tensors=torch_tensors, port_model=port_model)
        findings = [_in_file_keys(f, side_a, side_b) for f in findings]
    return PortCheck(a, b, seq, dtype, notes, weights, table, findings, keras)


def _in_file_keys(finding, *sides):
    """A finding's sentences with crossframe's torch names (``dense1.weight``) replaced by the
    keys of the user's own torch file (``0.weight``), where a side is a torch file."""
    import dataclasses
    import re

    names = {}
    for side in sides:
        if side.framework == "torch":
            names.update({k: v for k, v in side.file_keys.items() if k != v})
    if not names:
        return finding

    def swap(text: str) -> str:
        for name in sorted(names, key=len, reverse=True):
            text = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w])", names[name], text)
        return text
    return dataclasses.replace(finding, says=swap(finding.says), fix=swap(finding.fix))
