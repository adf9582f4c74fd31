"""The architecture a checkpoint records, read as crossframe layers (when no --model/--layers).

    from crossframe.porting import structure
    reading = structure.from_torch({"0.weight": (32, 64), "0.bias": (32,),
                                    "2.weight": (10, 32), "2.bias": (10,)})
    reading.text()            # "dense(units=32); relu; dense(units=10)"
    reading.input_shape       # (64,)
    reading.notes             # every assumption, one sentence each
    reading.alternatives      # other readings of the same tensors, as --layers/--input text

Shape legend: every input shape is per sample, canonical: ``(F,)`` features, ``(T, D)`` a
sequence, ``(H, W, C)`` an image, ``(L, C)`` a 1-D signal, ``(T,)`` integer ids for an Embedding.

Three sources, each recording less than the one before:

- a ``.keras`` archive's ``config.json`` (``from_keras_config``): every layer with its options,
  in order; read as it is, Keras class by Keras class (keras/src/models/sequential.py,
  functional.py ``get_config``).
- a torch ``state_dict`` (``from_torch``): tensor names and shapes only. Modules are the keys'
  dotted prefixes in order of appearance (``torch.nn.Module.state_dict`` writes them in
  registration order, which is the forward order in an ``nn.Sequential`` and in most modules);
  each is classified by its parameter names and shapes (torch/nn/modules/linear.py, conv.py,
  batchnorm.py, normalization.py, sparse.py, rnn.py). Modules without parameters (activations,
  pooling, flatten) leave no key; in an ``nn.Sequential`` their indices are skipped numbers.
  Strides, padding, activations, epsilon and momentum are not recorded: each value chosen is
  a note.
- a Keras 3 ``.weights.h5`` (``from_keras_h5``): dataset paths ``layers/<class>[_k]/vars/<i>``,
  named by the layer's class (keras/src/saving/saving_lib.py ``_save_container_state``:
  ``to_snake_case(class name)``, numbered per class in model order), which h5py lists
  alphabetically: the order across classes is lost. It is read only where one order fits.

Raises ``crossframe.errors.InputError`` (problem and fix on one line) for a key, class or option
that cannot be read, and for a file that does not record what a reading needs.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import InputError
from ..geometry import shape_text
from ..layers import get as get_decl
from ..layers.base import Layer

STEPS = 5          # the sequence length assumed when none is recorded (weights do not depend on it)
SPATIAL = 8        # the image side / signal length assumed when nothing fixes it
ASK = "give --model NAME, or --layers \"...\" with --input"
CONV = ("conv1d", "conv2d", "convt2d")
CELLS = {4: "lstm", 3: "gru", 1: "simple_rnn"}    # gate blocks per cell -> crossframe kind
TORCH_CELL = {"lstm": "nn.LSTM", "gru": "nn.GRU", "simple_rnn": "nn.RNN"}


@dataclass
class Reading:
    """An architecture read off a checkpoint.

    ``layers``: crossframe Layers (``decl(**options)``) in forward order; ``input_shape``: per
    sample, canonical (see the module's legend); ``notes``: each assumption in one sentence,
    what was chosen and why; ``alternatives``: other readings that fit the same tensors, each
    with the --layers/--input text that chooses it."""

    layers: list
    input_shape: tuple
    notes: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The reading in the --layers syntax: ``dense(units=32); relu; dense(units=10)``."""
        return _text(self.layers)


def _text(layers) -> str:
    return "; ".join(layer.text() for layer in layers)


def _layer(kind: str, **options) -> Layer:
    """``kind(**options)`` with the options equal to the declared default left out (so the
    text reads ``dense(units=8)``, not every option)."""
    decl = get_decl(kind)
    defaults = {o.name: o.default for o in decl.options}
    return decl(**{k: v for k, v in options.items() if k not in defaults or v != defaults[k]})


def _with(layer: Layer, **options) -> Layer:
    return _layer(layer.decl.name, **{**layer.options, **options})


def _flow(layers: list, input_shape: tuple):
    """The Flow after ``layers`` on ``input_shape`` (the model's own shape inference)."""
    from ..layers.base import flow_for
    from ..sequential import Sequential

    if not layers:
        return flow_for(tuple(input_shape))
    return Sequential(list(layers), tuple(input_shape)).output_flow


def _build(reading: Reading, source: str) -> Reading:
    """Check that the reading builds (crossframe.sequential.Sequential), or say why not."""
    try:
        _flow(reading.layers, reading.input_shape)
    except InputError as err:
        raise InputError(f"{source}: the architecture read as \"{reading.text()}\" on input "
                         f"{shape_text(reading.input_shape)} does not build ({err.problem})",
                         err.fix or ASK) from None
    return reading


# --- a module found in a file: what the shapes say ------------------------------------------
@dataclass
class _Module:
    """One layer with weights, as a file records it.

    ``kind``: linear, conv1d, conv2d, convt2d, batchnorm, layernorm, embedding, rnn.
    ``n``: its sizes — linear ``fan_in``/``out``/``bias``; conv ``per_group`` (input channels
    per group), ``out``, ``kernel``, ``bias``; convt2d ``fan_in``, ``out``, ``kernel``,
    ``bias``; batchnorm/layernorm ``channels`` (+ ``affine``); embedding ``vocab``, ``dim``;
    rnn ``cell``, ``fan_in``, ``units``, ``num_layers``, ``bidirectional``, ``bias``
    (+ ``reset_after``). ``gap``: parameterless modules visible just before it (an
    ``nn.Sequential``'s skipped indices), None where they cannot be seen."""

    kind: str
    name: str
    n: dict
    gap: int | None = None
    index: int | None = None
    parent: str | None = None

    @property
    def fan_in(self) -> int:
        n = self.n
        return {"linear": n.get("fan_in"), "conv1d": n.get("per_group"),
                "conv2d": n.get("per_group"), "convt2d": n.get("fan_in"),
                "batchnorm": n.get("channels"), "layernorm": n.get("channels"),
                "rnn": n.get("fan_in")}.get(self.kind, 0)

    def label(self) -> str:
        if not self.name:
            return "the top-level module"
        return f"module '{self.name}'" if self.index is not None else f"'{self.name}'"


def _torch_modules(shapes: dict) -> list[_Module]:
    """state_dict key -> shape, grouped by module prefix (order of first appearance) and
    classified by the parameter names and shapes (torch.nn's own: linear.py, conv.py,
    batchnorm.py, normalization.py, sparse.py, rnn.py)."""
    groups: dict[str, dict[str, tuple]] = {}
    for key, shape in shapes.items():
        prefix, _, leaf = str(key).rpartition(".")
        groups.setdefault(prefix, {})[leaf] = tuple(int(s) for s in shape)
    if not groups:
        raise InputError("the state dict holds no tensors", "check that it is a checkpoint")
    if all(p.split(".", 1)[0].isdigit() for p in groups):
        # an nn.Sequential's indices are its order; a .safetensors file sorts its keys as
        # text (0, 10, 11, 2, ...) and a file may list them in any order
        groups = dict(sorted(groups.items(), key=lambda kv: _natural(kv[0])))
    mods = []
    for i, (prefix, params) in enumerate(groups.items()):
        mod = _torch_module(prefix, params, first=i == 0)
        parent, _, last = prefix.rpartition(".")
        if last.isdigit():
            mod.index, mod.parent = int(last), parent
        mods.append(mod)
    for prev, mod in zip(mods, mods[1:]):
        if mod.index is not None and prev.index is not None and mod.parent == prev.parent:
            mod.gap = mod.index - prev.index - 1
    return mods


def _natural(prefix: str) -> tuple:
    """``features.10`` after ``features.2``: integer parts compare as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prefix.split("."))


RNN_KEY = re.compile(r"^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$")


def _unread(prefix: str, key: str, why: str) -> InputError:
    full = f"{prefix}.{key}" if prefix else key
    return InputError(f"the state dict key '{full}' is not read ({why})", ASK)


def _torch_module(prefix: str, p: dict[str, tuple], first: bool) -> _Module:
    keys = set(p)
    weight, bias = p.get("weight"), p.get("bias")
    if any(RNN_KEY.match(k) for k in keys):
        odd = sorted(k for k in keys if not RNN_KEY.match(k))
        if odd:
            raise _unread(prefix, odd[0], "an LSTM with proj_size has no crossframe layer"
                          if odd[0].startswith("weight_hr") else "beside recurrent weights")
        return _torch_rnn(prefix, p)
    if keys & {"running_mean", "running_var"}:
        rest = keys - {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
        if rest or not {"running_mean", "running_var"} <= keys or ("weight" in keys) != (
                "bias" in keys):
            key = sorted(rest or keys)[0]
            raise _unread(prefix, key, "a BatchNorm holds weight, bias, running_mean, "
                                       "running_var and num_batches_tracked")
        C = p["running_mean"]
        if len(C) != 1 or any(p[k] != C for k in ("running_var", "weight", "bias") if k in p):
            raise _unread(prefix, "running_mean", f"BatchNorm statistics {C} are not one "
                                                  "vector per channel")
        return _Module("batchnorm", prefix, {"channels": C[0], "affine": "weight" in keys})
    if weight is None:
        key = sorted(keys)[0]
        raise _unread(prefix, key, "no module kind of torch.nn read here holds it")
    extra = keys - {"weight", "bias"}
    if extra:
        raise _unread(prefix, sorted(extra)[0], f"beside a {len(weight)}-D weight")
    if bias is not None and (len(bias) != 1 or (len(weight) > 1 and bias[0] not in (
            weight[0], weight[1] if len(weight) == 4 else -1))):
        raise _unread(prefix, "bias", f"shape {bias} does not fit the weight {weight}")
    has_bias = bias is not None
    if len(weight) == 1:
        if not has_bias or bias != weight:
            raise _unread(prefix, "weight", "a 1-D weight without a bias of the same size "
                                            "(LayerNorm(bias=False), RMSNorm) has no "
                                            "crossframe layer")
        return _Module("layernorm", prefix, {"channels": weight[0]})
    if len(weight) == 2:
        if first and not has_bias and "emb" in prefix.lower():
            return _Module("embedding", prefix, {"vocab": weight[0], "dim": weight[1]})
        return _Module("linear", prefix, {"fan_in": weight[1], "out": weight[0],
                                          "bias": has_bias})
    if len(weight) == 3:
        if has_bias and bias[0] != weight[0]:
            raise _unread(prefix, "bias", f"shape {bias} does not fit the weight {weight}")
        return _Module("conv1d", prefix, {"per_group": weight[1], "out": weight[0],
                                          "kernel": weight[2], "bias": has_bias})
    if len(weight) == 4:
        if any(w in prefix.lower() for w in ("transpose", "deconv", "convt")):
            if has_bias and bias[0] != weight[1]:
                raise _unread(prefix, "bias", f"shape {bias} does not fit the weight {weight}")
            return _Module("convt2d", prefix, {"fan_in": weight[0], "out": weight[1],
                                               "kernel": tuple(weight[2:]), "bias": has_bias})
        if has_bias and bias[0] != weight[0]:
            raise _unread(prefix, "bias", f"shape {bias} does not fit the weight {weight}")
        return _Module("conv2d", prefix, {"per_group": weight[1], "out": weight[0],
                                          "kernel": tuple(weight[2:]), "bias": has_bias})
    raise _unread(prefix, "weight", f"a {len(weight)}-D weight")


def _torch_rnn(prefix: str, p: dict[str, tuple]) -> _Module:
    """nn.RNN / nn.LSTM / nn.GRU: weight_ih_l{k}[_reverse] (G*H, D or H*dirs), weight_hh
    (G*H, H), bias_ih / bias_hh (G*H,); G = 4 (LSTM), 3 (GRU), 1 (RNN) — torch/nn/modules/
    rnn.py ``RNNBase.__init__``."""
    cells: dict[tuple[int, bool], dict[str, tuple]] = {}
    for key, shape in p.items():
        kind, side, layer, rev = RNN_KEY.match(key).groups()
        cells.setdefault((int(layer), bool(rev)), {})[f"{kind}_{side}"] = shape
    hh = cells.get((0, False), {}).get("weight_hh")
    ih = cells.get((0, False), {}).get("weight_ih")
    if hh is None or ih is None or len(hh) != 2 or len(ih) != 2:
        raise _unread(prefix, sorted(p)[0], "a recurrent module needs 2-D weight_ih_l0 and "
                                            "weight_hh_l0")
    rows, H = hh
    G = rows // H if rows % H == 0 else 0
    if G not in CELLS:
        raise _unread(prefix, "weight_hh_l0", f"{rows} rows for {H} units is not 4 (LSTM), 3 "
                                              "(GRU) or 1 (RNN) gate blocks")
    num_layers = max(layer for layer, _ in cells) + 1
    bidirectional = any(rev for _, rev in cells)
    dirs = 2 if bidirectional else 1
    has_bias = "bias_ih" in cells[(0, False)]
    D = ih[1]
    for layer in range(num_layers):
        for rev in (False, True)[:dirs]:
            suffix = f"_l{layer}" + ("_reverse" if rev else "")
            want = {"weight_ih": (rows, D if layer == 0 else H * dirs), "weight_hh": (rows, H)}
            if has_bias:
                want |= {"bias_ih": (rows,), "bias_hh": (rows,)}
            got = cells.get((layer, rev), {})
            for name, shape in want.items():
                if got.get(name) != shape:
                    raise _unread(prefix, name + suffix,
                                  f"expected {shape} for {TORCH_CELL[CELLS[G]]}"
                                  f"({D}, {H}, num_layers={num_layers}, bidirectional="
                                  f"{bidirectional}), found {got.get(name, 'nothing')}")
            extra = set(got) - set(want)
            if extra:
                raise _unread(prefix, sorted(extra)[0] + suffix, "bias present for some "
                                                                  "cells only")
    return _Module("rnn", prefix, {"cell": CELLS[G], "fan_in": D, "units": H,
                                   "num_layers": num_layers, "bidirectional": bidirectional,
                                   "bias": has_bias, "reset_after": True})


# --- from modules to a reading ---------------------------------------------------------------
ACTIVE = ("linear", "conv1d", "conv2d", "convt2d", "batchnorm", "layernorm")


class _Composer:
    """Lays modules out as crossframe layers: the parameterless layers between them (relu,
    flatten, pooling), return_sequences from what follows a recurrent layer, the input shape.
    ``origin``: "torch" (a state dict) or "keras" (a .weights.h5)."""

    def __init__(self, mods: list[_Module], input_shape, origin: str):
        self.mods, self.origin = mods, origin
        self.layers: list[Layer] = []
        self.notes: list[str] = []
        self.alternatives: list[str] = []
        self.relus: list[int] = []            # positions of relus read by assumption
        self.rnn_alts: list[int] = []         # recurrent layers whose return_sequences is a guess
        self.global_alt: tuple[int, str] | None = None
        self.pool_alt: tuple[int, str] | None = None    # a max pooling before the flatten
        self.swaps: list[tuple[str, int, Layer]] = []     # (what, position, other layer)
        self.rnn_relu: int | None = None      # an nn.RNN read with tanh
        self.conv_noted = False
        self.given = input_shape is not None
        self.input_shape = tuple(input_shape) if self.given else self._guess_input()

    # the input --------------------------------------------------------------------------------
    def _guess_input(self) -> tuple:
        first = self.mods[0]
        if first.kind == "embedding":
            self.notes.append(f"the input is {STEPS} token ids per sample: the sequence length "
                              f"is not in the weights (choose it with --input T)")
            return (STEPS,)
        if first.kind in CONV:
            return self._solve_spatial()
        F = first.fan_in
        sequence = next((m.kind == "rnn" for m in self.mods if m.kind not in
                         ("linear", "batchnorm", "layernorm")), False)
        if first.kind == "rnn" or sequence:
            self.notes.append(f"the input is a sequence of {STEPS} steps of {F} features: the "
                              f"number of steps does not change the weights (choose it with "
                              f"--input Tx{F})")
            return (STEPS, F)
        return (F,)

    def _solve_spatial(self) -> tuple:
        """The input of a convolutional stack from the first Linear after it: its in_features
        = C * H' * W' (a square map, stride 1, no padding, no pooling), or the default size."""
        first = self.mods[0]
        two_d = first.kind != "conv1d"
        C_in = first.n["per_group"] if first.kind != "convt2d" else first.n["fan_in"]
        shrink, channels, j = [0, 0], C_in, None
        for j, m in enumerate(self.mods):
            if m.kind in CONV:
                k = m.n["kernel"] if two_d else (m.n["kernel"],)
                sign = 1 if m.kind != "convt2d" else -1
                shrink = [s + sign * (kk - 1) for s, kk in zip(shrink, k)]
                channels = m.n["out"]
            elif m.kind == "linear":
                break
            elif m.kind not in ("batchnorm", "layernorm"):
                j = None
                break
        else:
            j = None
        dims = 2 if two_d else 1
        if j is None:
            side = max(SPATIAL, *(s + 1 for s in shrink[:dims]))
            shape = (side, side, C_in) if two_d else (side, C_in)
            self.notes.append(f"the input is {shape_text(shape)}: no Linear after the "
                              f"convolutions fixes its size, and the size does not change the "
                              f"weights (choose it with --input)")
            return shape
        lin = self.mods[j]
        n = lin.n["fan_in"]
        per = n / channels
        side = round(per ** (1 / dims)) if per > 0 else 0
        if per != int(per) or side < 1 or side ** dims != per:
            what = "an integer square" if two_d else "an integer"
            raise InputError(
                f"{lin.label()} takes {n} features after a convolution of {channels} channels: "
                f"{n} / {channels} is not {what}, so the input size cannot be solved (strides, "
                f"padding and pooling are not in the checkpoint)",
                f"give --input {'H,W,C' if two_d else 'L,C'}, or --layers with --input")
        spatial = tuple(side + s for s in shrink[:dims])
        if not self._fits(spatial, dims, j):
            if n != channels:
                raise InputError(f"{lin.label()}: no input size fits the convolutions before "
                                 "it with stride 1 and no padding", "give --layers and --input")
            side = max(SPATIAL, *(s + 1 for s in shrink[:dims]))
            while not self._fits((side,) * dims, dims, j):
                side += 1
            shape = (*[side] * dims, C_in)
            self.notes.append(f"the input size is not in the checkpoint, and {lin.label()} "
                              f"takes one feature per channel ({n}), which no input fits "
                              f"without a global pooling: the input is {shape_text(shape)} "
                              "(choose it with --input)")
            return shape
        shape = (*spatial, C_in)
        where = "x".join([str(side)] * dims)
        self.notes.append(
            f"the input size is not in the checkpoint: {lin.label()} takes {n} = {channels} x "
            f"{' x '.join([str(side)] * dims)} features, read as a "
            f"{'square ' + where if two_d else f'length-{side}'} map after the convolutions "
            f"with stride 1, no padding and no pooling, so the input is {shape_text(shape)} "
            "(give --input if it differs)")
        if side == 1 and n == channels:
            self.global_alt = (j, shape_text((*[SPATIAL + s for s in shrink[:dims]], C_in)))
        if lin.gap is None or lin.gap >= 2:        # room for a pooling and the flatten
            bigger = (*[2 * side + s for s in shrink[:dims]], C_in)
            self.pool_alt = (j, shape_text(bigger))
        return shape

    def _fits(self, spatial: tuple, dims: int, j: int) -> bool:
        """Every convolution of mods[:j] has room for its kernel (stride 1, no padding)."""
        sizes = list(spatial)
        for m in self.mods[:j]:
            if m.kind not in CONV:
                continue
            k = m.n["kernel"] if dims == 2 else (m.n["kernel"],)
            if m.kind == "convt2d":
                sizes = [s + kk - 1 for s, kk in zip(sizes, k)]
            elif any(s < kk for s, kk in zip(sizes, k)):
                return False
            else:
                sizes = [s - kk + 1 for s, kk in zip(sizes, k)]
        return True

    # the layers -------------------------------------------------------------------------------
    def flow(self):
        try:
            return _flow(self.layers, self.input_shape)
        except InputError as err:
            raise InputError(f"the architecture read so far, \"{_text(self.layers)}\" on input "
                             f"{shape_text(self.input_shape)}, does not build ({err.problem})",
                             ASK) from None

    def compose(self) -> Reading:
        for i, m in enumerate(self.mods):
            if i:
                self._between(self.mods[i - 1], m)
            self._add(m, first=i == 0)
        if self.mods[-1].kind == "rnn":
            self.rnn_alts.append(len(self.layers) - 1)
            self.notes.append(f"{self.mods[-1].label()} is the last module: read as returning "
                              "the output at the last step (return_sequences=false)")
        return self._finish()

    def _relu(self, prev: _Module, m: _Module, gap: int | None, extra: str = "") -> None:
        self.relus.append(len(self.layers))
        self.layers.append(_layer("relu"))
        if gap is None:
            where = ("a .weights.h5 does not record activations"
                     if self.origin == "keras" else
                     "they are named modules, so the parameterless ones between them cannot be "
                     "seen")
            self.notes.append(f"between {prev.label()} and {m.label()} a relu is assumed: "
                              f"{where}")
        else:
            first = prev.index + 1
            span = f"index {first}" if gap == 1 else f"indices {first}..{first + gap - 1}"
            owner = f"'{m.parent}'" if m.parent else "the nn.Sequential"
            more = ""
            if gap > 1 and not extra:
                more = (" (a pooling among them is not read: it changes no weight, only the "
                        "input size solved)" if prev.kind in CONV and m.kind in CONV else
                        " (a Dropout among them is the identity at inference)")
            self.notes.append(f"{span} of {owner} hold{'s' if gap == 1 else ''} "
                              f"{gap} parameterless module{'s' if gap > 1 else ''} between "
                              f"{prev.label()} and {m.label()}{extra}: read as one relu (an "
                              f"activation is not in a state dict){more}")

    def _between(self, prev: _Module, m: _Module) -> None:
        if prev.kind == "rnn":
            self._after_rnn(prev, m)
        flow = self.flow()
        gap = m.gap
        if flow.layout in ("image", "signal") and m.kind == "linear":
            self._flatten(prev, m, flow, gap)
            return
        if gap is not None:
            if gap and prev.kind in ACTIVE and m.kind != "embedding":
                self._relu(prev, m, gap)
            elif gap:
                self.notes.append(f"{gap} parameterless module(s) between {prev.label()} and "
                                  f"{m.label()} are not read (a Dropout is the identity at "
                                  "inference; an activation there needs --layers)")
            return
        if prev.kind in ("linear", "batchnorm", *CONV) and m.kind in ("linear", *CONV):
            self._relu(prev, m, None)

    def _after_rnn(self, prev: _Module, m: _Module) -> None:
        i = len(self.layers) - 1
        rnn = self.layers[i]
        seq = m.kind in ("rnn", "conv1d")
        self.layers[i] = _with(rnn, return_sequences=seq)
        if self.origin == "keras" and prev.n["bidirectional"] and m.fan_in == prev.n["units"]:
            self.layers[i] = _with(self.layers[i], merge_mode="sum")
            self.notes.append(f"{m.label()} takes {prev.n['units']} features from the "
                              f"bidirectional {prev.label()}: its two directions are read as "
                              "summed (merge_mode=sum; ave and mul fit the same shapes)")
        if seq:
            return
        self.rnn_alts.append(i)
        cut = ("out[:, -1] — for two directions crossframe takes both final states, "
               "h_n[-2] and h_n[-1], as Keras does" if prev.n["bidirectional"] else
               "out[:, -1], which is h_n[-1]")
        if self.origin == "torch":
            self.notes.append(f"{m.label()} after {TORCH_CELL[prev.n['cell']]} {prev.label()} "
                              f"is read as applied to the output at the last step ({cut})")
        else:
            self.notes.append(f"{m.label()} after {prev.label()} is read as applied to the "
                              "output at the last step (return_sequences=false): a .weights.h5 "
                              "does not record return_sequences")

    def _flatten(self, prev: _Module, m: _Module, flow, gap: int | None) -> None:
        """A Linear after a feature map: flatten, and a pooling where its in_features say so
        (the map's size is known here: given, or solved without pooling)."""
        *spatial, C = flow.shape
        n = m.fan_in
        pool, glob = 1, False
        if n != math.prod(flow.shape) and n == C:
            glob = True
        elif n != math.prod(flow.shape):
            pool = next((p for p in range(2, min(spatial) + 1)
                         if C * math.prod(s // p for s in spatial) == n), 0)
            if not pool and self._same_padding(m, n):
                flow = self.flow()
                *spatial, C = flow.shape
            elif not pool:
                raise InputError(
                    f"{m.label()} takes {n} features, the feature map before it is "
                    f"{shape_text(flow.shape)} ({math.prod(flow.shape)} values), and no "
                    f"pooling of it gives {n}: strides, padding or pooling are not in the "
                    "checkpoint", "give --layers with --input")
        needed = 1 + (pool > 1 or glob)
        if gap is not None and gap < needed:
            raise InputError(f"{m.label()} follows {prev.label()} with {gap} module(s) between "
                             f"them, but a flatten{' and a pooling' if needed > 1 else ''} "
                             f"are needed to reach {n} features", "give --layers with --input")
        if gap is None or gap > needed:
            self._relu(prev, m, gap, " (a flatten among them)" if gap else "")
        dims = len(spatial)
        if glob:
            self.layers.append(_layer(f"globalaveragepool{dims}d"))
            self.notes.append(f"{m.label()} takes {n} features, one per channel of the "
                              f"{shape_text(flow.shape)} map before it: read as a global "
                              "average pooling (a global max pooling fits the same shapes)")
            self.swaps.append(("a global max pooling instead of the average",
                               len(self.layers) - 1, _layer(f"globalmaxpool{dims}d")))
            return
        if pool > 1:
            self.layers.append(_layer(f"maxpool{dims}d", pool_size=pool))
            self.notes.append(f"{m.label()} takes {n} = {C} x "
                              f"{' x '.join(str(s // pool) for s in spatial)} features from "
                              f"the {shape_text(flow.shape)} map before it: read as a max "
                              f"pooling of {pool} (an average pooling fits the same shapes)")
            self.swaps.append(("an average pooling instead of the max pooling",
                               len(self.layers) - 1,
                               _layer(f"averagepool{dims}d", pool_size=pool)))
        self.layers.append(_layer("flatten"))
        if gap is None and self.origin == "torch":
            self.notes.append(f"{m.label()} after the feature map of {prev.label()}: a flatten "
                              "(torch's nn.Flatten, channels first) is assumed between them")

    def _same_padding(self, m: _Module, n: int) -> bool:
        """Re-read every convolution with padding='same' when that, and only that, gives the
        Linear ``m`` its ``n`` features (the size-keeping convolutions of many models)."""
        convs = [i for i, layer in enumerate(self.layers)
                 if layer.decl.name in ("conv1d", "conv2d")]
        if not convs:
            return False
        same = [_with(layer, padding="same") if i in convs else layer
                for i, layer in enumerate(self.layers)]
        try:
            fits = math.prod(_flow(same, self.input_shape).shape) == n
        except InputError:
            return False
        if not fits:
            return False
        self.layers = same
        self.notes.append(f"{m.label()} takes {n} features, which the convolutions give with "
                          "padding='same' (the map keeps its size), not with 'valid': read "
                          "with padding='same'")
        if any(self.layers[i].decl.name == "conv1d" for i in convs):
            other = [_with(layer, padding="causal") if layer.decl.name == "conv1d" else layer
                     for layer in self.layers]
            self.alternatives.append(f"padding='causal' (zeros on the left only) fits the "
                                     f"same shapes: --layers \"{_text(other)}; ...\"")
        return True

    def _add(self, m: _Module, first: bool) -> None:
        flow = self.flow()
        n, F = m.n, flow.features
        if not first or self.given:
            want = m.fan_in
            if m.kind in ("conv1d", "conv2d"):
                ok = F % want == 0 and n["out"] % (F // want) == 0
            elif m.kind == "embedding":
                ok = len(flow.shape) == 1
            else:
                ok = F == want
            if not ok:
                raise InputError(f"{m.label()} takes {want} input features, the layers read "
                                 f"before it give {F} ({_text(self.layers) or 'the input'}): "
                                 "the order or the modules without weights cannot be read "
                                 "from the checkpoint", ASK)
        if m.kind == "linear":
            self.layers.append(_layer("dense", units=n["out"], use_bias=n["bias"]))
        elif m.kind == "embedding":
            self.layers.append(_layer("embedding", input_dim=n["vocab"], output_dim=n["dim"]))
            if self.origin == "torch":
                self.notes.append(f"{m.label()} is read as an Embedding: the first module, a "
                                  "2-D weight without bias, named so (padding_idx and max_norm "
                                  "are not in a state dict)")
        elif m.kind in ("conv1d", "conv2d"):
            groups = F // n["per_group"]
            kernel = n["kernel"]
            self.layers.append(_layer(m.kind, filters=n["out"], kernel_size=kernel,
                                      groups=groups, use_bias=n["bias"]))
            self._conv_note(m, groups)
        elif m.kind == "convt2d":
            self.layers.append(_layer("conv2dtranspose", filters=n["out"],
                                      kernel_size=n["kernel"], use_bias=n["bias"]))
            self.notes.append(f"{m.label()} is read as a transposed convolution (its name "
                              "says so; the weight's shape alone would read as a Conv2d), "
                              "with strides 1, padding valid and no output_padding")
        elif m.kind == "batchnorm":
            self._norm("batchnorm", m)
        elif m.kind == "layernorm":
            self._norm("layernorm", m)
        elif m.kind == "rnn":
            self._rnn(m)

    def _conv_note(self, m: _Module, groups: int) -> None:
        if not self.conv_noted:
            self.conv_noted = True
            self.notes.append(f"the convolutions (from {m.label()} on) are read with strides "
                              "1, padding valid and dilation 1: a checkpoint does not record "
                              "them")
        if groups > 1:
            self.notes.append(f"{m.label()} sees {m.n['per_group']} input channels per filter "
                              f"of {m.n['per_group'] * groups}: read as groups={groups}")

    def _norm(self, kind: str, m: _Module) -> None:
        affine = m.n.get("affine", True)
        extra = {} if affine else {"center": False, "scale": False}
        if self.origin == "torch":
            self.layers.append(_layer(kind, **get_decl(kind).torch_defaults, **extra))
            if kind == "batchnorm":
                self.notes.append(f"{m.label()} is a BatchNorm read with torch's defaults, eps "
                                  "1e-5 and momentum 0.1 (Keras' epsilon=1e-05, momentum=0.9): "
                                  "a state dict does not record them")
            else:
                self.notes.append(f"{m.label()} (1-D weight and bias, no running statistics) "
                                  "is read as a LayerNorm with torch's default eps 1e-5 "
                                  "(epsilon=1e-05): a state dict does not record it (a "
                                  "BatchNorm with track_running_stats=False holds the same "
                                  "tensors, and has no crossframe layer)")
        else:
            self.layers.append(_layer(kind, **extra))
            self.notes.append(f"{m.label()} is read with Keras' default epsilon"
                              f"{' and momentum' if kind == 'batchnorm' else ''}: a "
                              ".weights.h5 does not record them")

    def _rnn(self, m: _Module) -> None:
        n = m.n
        opts = {"units": n["units"], "num_layers": n["num_layers"],
                "bidirectional": n["bidirectional"], "use_bias": n["bias"]}
        if n["cell"] == "gru":
            opts["reset_after"] = n["reset_after"]
        self.layers.append(_layer(n["cell"], **opts))
        if n["cell"] == "simple_rnn" and self.origin == "torch":
            self.notes.append(f"{m.label()} is an nn.RNN read with tanh (nonlinearity is not "
                              "in a state dict)")
            self.rnn_relu = len(self.layers) - 1
        if n["bidirectional"] and self.origin == "keras":
            self.notes.append(f"the two directions of {m.label()} are read as concatenated "
                              "(Bidirectional's default merge_mode='concat')")

    def _finish(self) -> Reading:
        layers = self.layers
        inp = f" --input {shape_text(self.input_shape)}"
        if self.relus:
            other = [(_layer("tanh") if i in self.relus else layer)
                     for i, layer in enumerate(layers)]
            self.alternatives.append(f"another activation where relu was assumed (tanh, "
                                     f"sigmoid, gelu, ...), e.g.: --layers \"{_text(other)}\""
                                     f"{inp}")
        for i in self.rnn_alts:
            other = layers[:i] + [_with(layers[i], return_sequences=True)] + layers[i + 1:]
            self.alternatives.append(f"{layers[i].decl.title} returning every step "
                                     "(return_sequences=true; a layer after it then applies at "
                                     f"every step): --layers \"{_text(other)}\"{inp}")
        for what, i, other_layer in self.swaps:
            other = layers[:i] + [other_layer] + layers[i + 1:]
            self.alternatives.append(f"{what}: --layers \"{_text(other)}\"{inp}")
        if self.rnn_relu is not None:
            i = self.rnn_relu
            other = layers[:i] + [_with(layers[i], activation="relu")] + layers[i + 1:]
            self.alternatives.append(f"nn.RNN(nonlinearity='relu'): --layers "
                                     f"\"{_text(other)}\"{inp}")
        if self.global_alt is not None:
            j, bigger = self.global_alt
            i = next(k for k, layer in enumerate(layers) if layer.decl.name == "flatten")
            dims = 2 if len(self.input_shape) == 3 else 1
            other = layers[:i] + [_layer(f"globalaveragepool{dims}d")] + layers[i + 1:]
            self.alternatives.append(f"a global average pooling (nn.AdaptiveAvgPool{dims}d(1)) "
                                     f"before {self.mods[j].label()}, on an input of any size: "
                                     f"--layers \"{_text(other)}\" --input {bigger}")
        names = [layer.decl.name for layer in layers]
        if self.pool_alt is not None and "flatten" in names and not any(
                n.startswith(("maxpool", "averagepool", "global")) for n in names):
            j, bigger = self.pool_alt
            i = names.index("flatten")
            dims = 2 if len(self.input_shape) == 3 else 1
            other = layers[:i] + [_layer(f"maxpool{dims}d", pool_size=2)] + layers[i:]
            self.alternatives.append(f"a max pooling of 2 before the flatten (conv, relu, "
                                     f"pool), on a larger input: --layers \"{_text(other)}\" "
                                     f"--input {bigger}")
        return Reading(layers, self.input_shape, self.notes, self.alternatives)


def from_torch(shapes: dict, input_shape: tuple | None = None) -> Reading:
    """The architecture of a torch state dict, from its keys and shapes.

    ``shapes``: state_dict key -> shape, in the file's order (``0.weight``, ``lstm.weight_ih_l1
    _reverse``, ``bn.num_batches_tracked``). ``input_shape``: per sample, canonical; None to
    read it off the weights (a Linear's in_features, a recurrent layer's D with T = 5, a
    convolution's size solved from the Linear after it). Raises InputError for a key that no
    module kind read here holds, and where the shapes do not chain."""
    mods = _torch_modules(shapes)
    reading = _Composer(mods, input_shape, "torch").compose()
    return _build(reading, "the state dict")


# --- Keras: a .keras archive's config.json ---------------------------------------------------
def _snake(name: str) -> str:
    """Keras' naming.to_snake_case: ``Conv2DTranspose`` -> ``conv2d_transpose``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _refuse(cls: str, name: str, option: str, value, fix: str | None = None) -> InputError:
    return InputError(f"Keras {cls} '{name}': {option}={value!r} is not read (crossframe's "
                      f"layer has no such option)", fix or ASK)


def _activation(value, cls: str, name: str, option: str = "activation") -> str:
    from .. import activations as A

    if isinstance(value, dict):        # a serialized function: {"class_name": "function", ...}
        inner = value.get("config")
        value = inner if isinstance(inner, str) else value.get("class_name")
    try:
        return A.parse(value)
    except ValueError:
        raise _refuse(cls, name, option, value, f"choose one of {', '.join(A.names())}, or "
                      "give --layers") from None


def _size(value, dims: int):
    """[3, 3] -> (3, 3) (2-D) or [3] -> 3 (1-D): Keras' stored tuples as crossframe options."""
    if value is None:
        return None
    seq = tuple(value) if isinstance(value, (list, tuple)) else (value,) * dims
    return seq[0] if dims == 1 else seq


def _last_axis(axis, rank: int) -> bool:
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    return len(axes) == 1 and axes[0] in (-1, rank)


ACTIVATION_LAYERS = {"ReLU", "LeakyReLU", "ELU", "Softmax", "Activation"}
POOLS = {"MaxPooling2D": "maxpool2d", "AveragePooling2D": "averagepool2d",
         "MaxPooling1D": "maxpool1d", "AveragePooling1D": "averagepool1d",
         "GlobalMaxPooling2D": "globalmaxpool2d", "GlobalAveragePooling2D": "globalaveragepool2d",
         "GlobalMaxPooling1D": "globalmaxpool1d", "GlobalAveragePooling1D": "globalaveragepool1d"}
RNNS = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}


def _activation_layer(name: str) -> list[Layer]:
    """The crossframe layer for keras.activations.NAME (Activation(NAME), a conv's
    activation=NAME): the activation *function*'s defaults (leaky_relu's slope 0.2)."""
    from ..activations import LEAKY_SLOPE_KERAS_FUNCTION

    if name == "linear":
        return []
    if name == "leaky_relu":
        return [_layer("leaky_relu", negative_slope=LEAKY_SLOPE_KERAS_FUNCTION)]
    return [_layer(name)]


class _KerasReader:
    """Keras 3 layer configs -> crossframe layers, one Keras class at a time."""

    def __init__(self, input_shape: tuple):
        self.input_shape = input_shape
        self.layers: list[Layer] = []
        self.origins: list[list[str]] = []      # per crossframe layer: its Keras layers' names
        self.notes: list[str] = []
        self.alternatives: list[str] = []

    def rank(self) -> int:
        """Axes per sample of what the next layer receives (for an ``axis`` option)."""
        return len(_flow(self.layers, self.input_shape).shape)

    def add(self, item: dict) -> None:
        cls, c = item.get("class_name"), item.get("config") or {}
        name = c.get("name", cls)
        made = self.convert(cls, c, name)
        for layer in made:
            self.layers.append(layer)
            self.origins.append([name])

    @staticmethod
    def _check(cls, c, name, **required) -> None:
        """Options crossframe does not have must hold the value that means "not used"."""
        for option, want in required.items():
            value = c.get(option, want)
            if value != want:
                raise _refuse(cls, name, option, value)

    def convert(self, cls: str, c: dict, name: str) -> list[Layer]:
        check = self._check
        if cls == "Dense":
            check(cls, c, name, lora_rank=None, quantization_config=None)
            return [_layer("dense", units=c["units"], use_bias=c.get("use_bias", True),
                           activation=_activation(c.get("activation"), cls, name))]
        if cls in ("Conv1D", "Conv2D", "Conv2DTranspose"):
            if c.get("data_format", "channels_last") != "channels_last":
                raise _refuse(cls, name, "data_format", c["data_format"],
                              "crossframe's convolutions are channels_last (NHWC): give "
                              "--layers, or save the model channels_last")
            check(cls, c, name, lora_rank=None)
            dims = 1 if cls == "Conv1D" else 2
            act = _activation(c.get("activation"), cls, name)
            opts = {"filters": c["filters"], "kernel_size": _size(c["kernel_size"], dims),
                    "strides": _size(c.get("strides", 1), dims),
                    "padding": c.get("padding", "valid"), "use_bias": c.get("use_bias", True)}
            if cls == "Conv2DTranspose":
                if _size(c.get("dilation_rate", 1), 2) != (1, 1):
                    raise _refuse(cls, name, "dilation_rate", c["dilation_rate"])
                op = c.get("output_padding")
                opts["output_padding"] = None if op is None else _size(op, 2)
                return [_layer("conv2dtranspose", **opts), *_activation_layer(act)]
            opts |= {"dilation_rate": _size(c.get("dilation_rate", 1), dims),
                     "groups": c.get("groups", 1)}
            return [_layer(f"conv{dims}d", **opts), *_activation_layer(act)]
        if cls in POOLS:
            if c.get("data_format", "channels_last") not in (None, "channels_last"):
                raise _refuse(cls, name, "data_format", c["data_format"])
            if cls.startswith("Global"):
                check(cls, c, name, keepdims=False)
                return [_layer(POOLS[cls])]
            dims = 1 if cls.endswith("1D") else 2
            size = _size(c.get("pool_size", 2), dims)
            strides = _size(c.get("strides"), dims)
            return [_layer(POOLS[cls], pool_size=size, padding=c.get("padding", "valid"),
                           **({} if strides in (None, size) else {"strides": strides}))]
        if cls == "Flatten":
            if c.get("data_format", "channels_last") not in (None, "channels_last"):
                raise _refuse(cls, name, "data_format", c["data_format"])
            return [_layer("flatten")]
        if cls == "Dropout":
            check(cls, c, name, noise_shape=None)
            return [_layer("dropout", rate=c.get("rate", 0.5))]
        if cls == "BatchNormalization":
            check(cls, c, name, renorm=False)
            if not _last_axis(c.get("axis", -1), self.rank()):
                raise _refuse(cls, name, "axis", c.get("axis"), "crossframe normalizes the "
                              "last axis (channels_last): give --layers")
            return [_layer("batchnorm", momentum=c.get("momentum", 0.99),
                           epsilon=c.get("epsilon", 1e-3), center=c.get("center", True),
                           scale=c.get("scale", True))]
        if cls == "LayerNormalization":
            check(cls, c, name, center=True, scale=True, rms_scaling=False)
            if not _last_axis(c.get("axis", -1), self.rank()):
                raise _refuse(cls, name, "axis", c.get("axis"), "crossframe normalizes the "
                              "last axis: give --layers")
            return [_layer("layernorm", epsilon=c.get("epsilon", 1e-3))]
        if cls == "Embedding":
            check(cls, c, name, lora_rank=None, quantization_config=None)
            return [_layer("embedding", input_dim=c["input_dim"], output_dim=c["output_dim"],
                           mask_zero=c.get("mask_zero", False))]
        if cls == "Masking":
            return [_layer("masking", mask_value=c.get("mask_value", 0.0))]
        if cls in ACTIVATION_LAYERS:
            return self._activation_class(cls, c, name)
        if cls in RNNS:
            return [self._rnn(cls, c, name)]
        if cls == "Bidirectional":
            return [self._bidirectional(c, name)]
        if cls in ("Sequential", "Functional", "Model"):
            raise InputError(f"Keras layer '{name}' is a nested {cls} model, which is not read",
                             ASK)
        raise InputError(f"Keras layer '{name}' ({cls}) is not read: crossframe has no such "
                         "layer kind", ASK + " (see `crossframe list`)")

    def _activation_class(self, cls, c, name) -> list[Layer]:
        if cls == "Activation":
            return _activation_layer(_activation(c.get("activation"), cls, name))
        if cls == "ReLU":
            check = {k: c.get(k) for k in ("max_value", "threshold")}
            if check["max_value"] is not None:
                raise _refuse(cls, name, "max_value", check["max_value"])
            if (check["threshold"] or 0) != 0:
                raise _refuse(cls, name, "threshold", check["threshold"])
            slope = c.get("negative_slope", 0.0) or 0.0
            return [_layer("relu") if slope == 0 else _layer("leaky_relu",
                                                             negative_slope=slope)]
        if cls == "LeakyReLU":
            slope = c.get("negative_slope", c.get("alpha", 0.3))
            return [_layer("leaky_relu", negative_slope=slope)]
        if cls == "ELU":
            return [_layer("elu", alpha=c.get("alpha", 1.0))]
        if not _last_axis(c.get("axis", -1), self.rank()):          # Softmax
            raise _refuse(cls, name, "axis", c.get("axis"), "crossframe's softmax is over the "
                          "last axis: give --layers")
        return [_layer("softmax")]

    def _rnn(self, cls: str, c: dict, name: str, **extra) -> Layer:
        if cls not in RNNS:
            raise InputError(f"Keras layer '{name}' wraps a {cls}, which is not read", ASK)
        self._check(cls, c, name, stateful=False, dropout=0.0, recurrent_dropout=0.0)
        kind = RNNS[cls]
        opts = {"units": c["units"], "return_sequences": c.get("return_sequences", False),
                "return_state": c.get("return_state", False),
                "go_backwards": c.get("go_backwards", False),
                "use_bias": c.get("use_bias", True),
                "activation": _activation(c.get("activation", "tanh"), cls, name)}
        if kind != "simple_rnn":
            opts["recurrent_activation"] = _activation(
                c.get("recurrent_activation", "sigmoid"), cls, name, "recurrent_activation")
        if kind == "gru":
            opts["reset_after"] = c.get("reset_after", True)
        if c.get("zero_output_for_mask") and not extra:
            opts["zero_output_for_mask"] = True
        return _layer(kind, **opts, **extra)

    def _bidirectional(self, c: dict, name: str) -> Layer:
        inner = c.get("layer") or {}
        mode = c.get("merge_mode", "concat")
        if mode is None:
            raise _refuse("Bidirectional", name, "merge_mode", None, "merge_mode=None returns "
                          "the two directions as a list: give --layers")
        fwd = inner.get("config") or {}
        back = (c.get("backward_layer") or {}).get("config")
        if fwd.get("go_backwards"):
            raise _refuse("Bidirectional", name, "layer go_backwards", True)
        if back is not None:
            keys = set(fwd) - {"name", "go_backwards", "zero_output_for_mask"}
            diff = sorted(k for k in keys if "initializer" not in k and "regularizer" not in k
                          and "constraint" not in k and k not in ("seed", "dtype")
                          and back.get(k) != fwd.get(k))
            other = c["backward_layer"].get("class_name")
            if diff or other != inner.get("class_name"):
                option = f"backward_layer.{diff[0]}" if diff else "backward_layer"
                raise _refuse("Bidirectional", name, option,
                              back.get(diff[0]) if diff else other,
                              "crossframe's two directions share one configuration: give "
                              "--layers")
        return self._rnn(inner.get("class_name"), fwd, name, bidirectional=True,
                         merge_mode=None if mode == "concat" else mode)

    def merge_stacks(self) -> None:
        """Consecutive recurrent layers forming one stack become one layer (``_merge_stacks``)."""
        self.layers, self.origins = _merge_stacks(self.layers, self.origins, self.input_shape,
                                                  self.notes, self.alternatives)

    @staticmethod
    def _stacks(a: Layer, b: Layer) -> bool:
        if not (a.decl.recurrent and a.decl is b.decl):
            return False
        oa, ob = dict(a.options), dict(b.options)
        if not oa.get("return_sequences") or oa.get("return_state") or oa.get(
                "go_backwards") or ob.get("go_backwards") or oa.get("num_layers", 1) != 1 \
                or ob.get("num_layers", 1) != 1:
            return False
        if oa.get("bidirectional") and oa.get("merge_mode", "concat") != "concat":
            return False
        if oa.get("zero_output_for_mask") or ob.get("zero_output_for_mask"):
            return False
        skip = ("return_sequences", "return_state", "merge_mode")
        return {k: v for k, v in oa.items() if k not in skip} == \
            {k: v for k, v in ob.items() if k not in skip}


def _merge_stacks(layers: list, origins: list, input_shape: tuple, notes: list,
                  alternatives: list) -> tuple[list, list]:
    """Consecutive recurrent layers of one kind and configuration, all but the last
    returning sequences, become one layer with num_layers = k (torch's nn.LSTM(...,
    num_layers=k); crossframe writes it back to Keras as the same k layers). ``origins``: per
    layer, the file's names for it; a note and an alternative are added per stack."""
    out, merged_origins, i = [], [], 0
    while i < len(layers):
        j = i
        while j + 1 < len(layers) and _KerasReader._stacks(layers[j], layers[j + 1]):
            j += 1
        if j > i:
            last = layers[j].options
            merged = _with(layers[i], num_layers=j - i + 1,
                           return_sequences=last.get("return_sequences", False),
                           return_state=last.get("return_state", False),
                           merge_mode=last.get("merge_mode"))
            names = [n for k in range(i, j + 1) for n in origins[k]]
            notes.append(f"the Keras layers {', '.join(repr(n) for n in names)} are "
                         f"one stack of {j - i + 1} {layers[i].decl.title} layers, each "
                         f"but the last returning sequences: read as one layer with "
                         f"num_layers={j - i + 1} (torch's num_layers idiom; the same "
                         "numbers)")
            alternatives.append(
                f"separate layers instead of num_layers={j - i + 1}: --layers "
                f"\"{_text(out + layers[i:j + 1] + layers[j + 1:])}\" --input "
                f"{shape_text(input_shape)}")
            out.append(merged)
            merged_origins.append(names)
        else:
            out.append(layers[i])
            merged_origins.append(origins[i])
        i = j + 1
    return out, merged_origins


def _chain(cfg: dict) -> list[dict]:
    """A Functional model's layers in call order, when they form one chain (one input, one
    output, every layer called once on the one before it); else InputError."""
    layers = cfg.get("layers") or []
    by_name = {item.get("config", {}).get("name", item.get("name")): item for item in layers}
    parent: dict[str, str | None] = {}
    for item in layers:
        name = item.get("name") or item.get("config", {}).get("name")
        nodes = item.get("inbound_nodes") or []
        if item.get("class_name") == "InputLayer":
            parent[name] = None
            continue
        if len(nodes) != 1:
            raise InputError(f"the Keras model calls layer '{name}' {len(nodes)} times (a "
                             "shared layer or branches), which is not read as a chain", ASK)
        node = nodes[0] if isinstance(nodes[0], dict) else {}
        tensors = _tensors(node.get("args"))
        if len(tensors) != 1 or _tensors(list((node.get("kwargs") or {}).values())):
            raise InputError(f"the Keras model's layer '{name}' takes "
                             f"{len(tensors) or 'several'} inputs (or keyword inputs): a "
                             "branching model is not read", ASK)
        parent[name] = tensors[0]
    children: dict[str, list[str]] = {}
    for child, par in parent.items():
        if par is not None:
            children.setdefault(par, []).append(child)
    inputs = [n for n, p in parent.items() if p is None]
    branch = next((p for p, c in children.items() if len(c) > 1), None)
    outs = cfg.get("output_layers") or []
    n_out = 1 if outs and isinstance(outs[0], str) else len(outs)   # [name, 0, 0]: one
    if len(inputs) != 1 or branch is not None or n_out != 1:
        raise InputError("the Keras model branches (" + (f"layer '{branch}' feeds "
                         f"{len(children[branch])} layers" if branch else
                         f"{len(inputs)} inputs, {n_out} outputs") + "): only a single chain "
                         "of layers is read", ASK)
    order, name = [], inputs[0]
    while True:
        order.append(by_name[name])
        nxt = children.get(name)
        if not nxt:
            break
        name = nxt[0]
    if len(order) != len(layers):
        raise InputError("the Keras model's layers do not form one chain from its input",
                         ASK)
    return order


def _tensors(args) -> list[str]:
    """The layer names a node's ``args`` read (``__keras_tensor__`` entries, nested lists)."""
    out = []
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            out.append(args["config"]["keras_history"][0])
        return out
    if isinstance(args, (list, tuple)):
        for a in args:
            out += _tensors(a)
    return out


def from_keras_config(config: dict) -> Reading:
    """The architecture a ``.keras`` archive records: its parsed ``config.json``
    (``{"class_name": "Sequential" | "Functional", "config": {"layers": [...]}}``, written by
    keras/src/models/sequential.py and functional.py ``get_config``).

    Every Keras class crossframe declares is read with its options; consecutive recurrent
    layers forming one stack become one layer with num_layers (a note says so). Raises
    InputError for a class or option value crossframe does not have (naming both), a
    channels_first layer, a nested or branching model, and a model without an input shape."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise InputError("the .keras config is not a Keras model config (no class_name)",
                         "give the archive's config.json, or --layers")
    cls, cfg = config["class_name"], config.get("config") or {}
    if cls == "Sequential":
        items = list(cfg.get("layers") or [])
    elif cls in ("Functional", "Model"):
        items = _chain(cfg)
    else:
        raise InputError(f"the .keras archive holds a {cls}, not a Sequential or Functional "
                         "model", ASK)
    inputs = [it for it in items if it.get("class_name") == "InputLayer"]
    items = [it for it in items if it.get("class_name") != "InputLayer"]
    if not items:
        raise InputError("the Keras model has no layers", ASK)
    notes = []
    shape = None
    if inputs:
        c = inputs[0].get("config") or {}
        shape = c.get("batch_shape") or c.get("batch_input_shape")
    shape = shape or cfg.get("build_input_shape") or \
        (items[0].get("build_config") or {}).get("input_shape")
    if not shape or len(shape) < 2:
        raise InputError("the Keras config records no input shape",
                         "give --layers with --input")
    per = list(shape[1:])
    if any(s is None for s in per):
        steps = len(per) <= 2
        fill = STEPS if steps else SPATIAL
        per = [fill if s is None else int(s) for s in per]
        notes.append(f"the Keras input shape {tuple(shape[1:])} leaves sizes open (None): "
                     f"{fill} is assumed ({'steps' if steps else 'pixels'}; the weights do not "
                     f"depend on it; choose it with --input)")
    reader = _KerasReader(tuple(int(s) for s in per))
    reader.notes = notes
    for item in items:
        reader.add(item)
    reader.merge_stacks()
    reading = Reading(reader.layers, reader.input_shape, reader.notes, reader.alternatives)
    return _build(reading, "the .keras config")


# --- Keras: a .weights.h5 --------------------------------------------------------------------
H5_KINDS = {"dense": "linear", "conv1d": "conv1d", "conv2d": "conv2d",
            "conv2d_transpose": "convt2d", "batch_normalization": "batchnorm",
            "layer_normalization": "layernorm", "embedding": "embedding", "simple_rnn": "rnn",
            "lstm": "rnn", "gru": "rnn", "bidirectional": "rnn"}
H5_KEY = re.compile(r"^layers/([^/]+)/((?:forward_layer/|backward_layer/)?(?:cell/)?)vars/(\d+)$")


def _h5_layers(shapes: dict) -> dict[str, dict[str, dict[int, tuple]]]:
    """layers/<name>/[forward_layer|backward_layer/][cell/]vars/<i> -> {name: {part: {i:
    shape}}}; the optimizer's variables are left out."""
    out: dict[str, dict[str, dict[int, tuple]]] = {}
    for key, shape in shapes.items():
        key = str(key).strip("/")
        if key.startswith("optimizer/") or key.startswith("vars/"):
            continue
        m = H5_KEY.match(key)
        if m is None:
            raise InputError(f"the .weights.h5 path '{key}' is not read (expected "
                             "layers/<layer>/vars/<i>; a nested model or a layer inside a "
                             "layer is not read)", ASK + ", or convert the .keras archive")
        name, part, i = m.group(1), m.group(2).rstrip("/").replace("/cell", "").replace(
            "cell", ""), int(m.group(3))
        out.setdefault(name, {}).setdefault(part, {})[i] = tuple(int(s) for s in shape)
    if not out:
        raise InputError("the .weights.h5 holds no layer weights", "check the file")
    return out


def _h5_class(name: str) -> tuple[str, int]:
    m = re.match(r"^(.*?)(?:_(\d+))?$", name)
    base, k = m.group(1), int(m.group(2) or 0)
    if base not in H5_KINDS and name in H5_KINDS:
        return name, 0
    return base, k


def _h5_module(name: str, parts: dict[str, dict[int, tuple]]) -> _Module:
    base, _ = _h5_class(name)
    kind = H5_KINDS.get(base)
    path = f"layers/{name}"
    if kind is None:
        raise InputError(f"the .weights.h5 layer '{path}' ({base}) is not read: crossframe "
                         "has no such layer kind", ASK + ", or convert the .keras archive")

    def vars_of(part: str) -> list[tuple]:
        got = parts.get(part, {})
        if sorted(got) != list(range(len(got))):
            raise InputError(f"'{path}' has variables {sorted(got)}, not 0..{len(got) - 1}",
                             "check the file")
        return [got[i] for i in range(len(got))]

    def bad(what: str) -> InputError:
        return InputError(f"the .weights.h5 layer '{path}' is not read ({what})",
                          ASK + ", or convert the .keras archive")

    if base == "bidirectional" or kind == "rnn":
        dirs = ("forward_layer", "backward_layer") if base == "bidirectional" else ("",)
        cells = [vars_of(d) for d in dirs]
        if any(len(v) not in (2, 3) for v in cells) or (len(dirs) == 2 and cells[0] != cells[1]):
            raise bad("a recurrent cell holds kernel, recurrent_kernel and bias, the same in "
                      "both directions")
        kernel, rec, *b = cells[0]
        H = rec[0]
        G = rec[1] // H if len(rec) == 2 and rec[1] % H == 0 else 0
        if G not in CELLS or len(kernel) != 2 or kernel[1] != rec[1]:
            raise bad(f"kernel {kernel} and recurrent kernel {rec} are not (D, G*H) and (H, "
                      "G*H) with G = 4, 3 or 1")
        cell = CELLS[G]
        if base != "bidirectional" and cell != base:
            raise bad(f"a {base} layer with {G} gate block(s)")
        reset_after = True
        if b:
            if b[0] == (2, G * H) and cell == "gru":
                reset_after = True
            elif b[0] == (G * H,):
                reset_after = cell != "gru"
            else:
                raise bad(f"bias {b[0]}")
        return _Module("rnn", path, {"cell": cell, "fan_in": kernel[0], "units": H,
                                     "num_layers": 1, "bidirectional": len(dirs) == 2,
                                     "bias": bool(b), "reset_after": reset_after})
    v = vars_of("")
    if kind in ("batchnorm", "layernorm"):
        ok = len(v) in ((2, 4) if kind == "batchnorm" else (2,)) and len(set(v)) == 1 and \
            len(v[0]) == 1
        if not ok:
            raise bad(f"{len(v)} variables {v}" + ("; crossframe's layernorm has gamma and beta"
                                                   if kind == "layernorm" else
                                                   "; 3 variables leave gamma or beta unknown"))
        return _Module(kind, path, {"channels": v[0][0], "affine": len(v) == 4 or
                                    kind == "layernorm"})
    if not v or len(v) > 2:
        raise bad(f"{len(v)} variables")
    w, bias = v[0], (v[1] if len(v) == 2 else None)
    if kind == "embedding" and len(w) == 2 and bias is None:
        return _Module(kind, path, {"vocab": w[0], "dim": w[1]})
    out_axis = {"linear": 1, "conv1d": 2, "conv2d": 3, "convt2d": 2}[kind] \
        if kind != "embedding" else None
    rank = {"linear": 2, "conv1d": 3, "conv2d": 4, "convt2d": 4}.get(kind)
    if rank is None or len(w) != rank or (bias is not None and bias != (w[out_axis],)):
        raise bad(f"kernel {w}, bias {bias}")
    if kind == "linear":
        return _Module(kind, path, {"fan_in": w[0], "out": w[1], "bias": bias is not None})
    if kind == "conv1d":
        return _Module(kind, path, {"per_group": w[1], "out": w[2], "kernel": w[0],
                                    "bias": bias is not None})
    if kind == "conv2d":
        return _Module(kind, path, {"per_group": w[2], "out": w[3], "kernel": w[:2],
                                    "bias": bias is not None})
    return _Module(kind, path, {"fan_in": w[3], "out": w[2], "kernel": w[:2],
                                "bias": bias is not None})


def _out(m: _Module) -> int:
    n = m.n
    if m.kind == "rnn":
        return n["units"] * (2 if n["bidirectional"] else 1)
    return {"embedding": n.get("dim"), "batchnorm": n.get("channels"),
            "layernorm": n.get("channels")}.get(m.kind, n.get("out"))


def _step(state: tuple | None, m: _Module) -> tuple | None:
    """The (layout, features) after ``m`` if it can follow ``state`` (None: the start), else
    None. Layouts: vec (flat, or a sequence), image, signal, rnn (a recurrent output)."""
    k = m.kind
    out = _out(m)
    if state is None:
        start = {"embedding": "vec", "conv2d": "image", "convt2d": "image", "conv1d": "signal",
                 "rnn": "rnn"}.get(k, "vec")
        return (start, out)
    layout, F = state
    if k == "embedding":
        return None
    if k in ("batchnorm", "layernorm"):
        return (layout, out) if F == m.fan_in else None
    if k == "linear":
        if layout in ("image", "signal"):
            return ("vec", out) if m.fan_in % F == 0 else None
        return ("vec", out) if F == m.fan_in else None
    if k in ("conv2d", "convt2d"):
        return ("image", out) if layout == "image" and F == m.fan_in else None
    if k == "conv1d":
        return ("signal", out) if layout in ("vec", "signal", "rnn") and F == m.fan_in else None
    if k == "rnn":
        return ("rnn", out) if layout in ("vec", "signal", "rnn") and F == m.fan_in else None
    return None


def _orders(classes: list[list[_Module]], limit: int = 2, budget: int = 200_000) -> list:
    """The interleavings of the per-class sequences whose shapes chain (``_step``), up to
    ``limit`` of them; InputError when the search passes ``budget`` steps."""
    found: list[list[_Module]] = []
    steps = [0]

    def walk(pos: list[int], state, path: list[_Module]) -> None:
        if len(found) >= limit:
            return
        steps[0] += 1
        if steps[0] > budget:
            raise InputError("the .weights.h5 does not record the order of its layers, and too "
                             "many orders fit its shapes to check", ASK + ", or convert the "
                             ".keras archive")
        if all(p == len(seq) for p, seq in zip(pos, classes)):
            found.append(list(path))
            return
        for c, seq in enumerate(classes):
            if pos[c] == len(seq):
                continue
            m = seq[pos[c]]
            nxt = _step(state, m)
            if nxt is None:
                continue
            pos[c] += 1
            path.append(m)
            walk(pos, nxt, path)
            path.pop()
            pos[c] -= 1

    walk([0] * len(classes), None, [])
    return found


def from_keras_h5(shapes: dict, input_shape: tuple | None = None) -> Reading:
    """The architecture of a Keras 3 ``.weights.h5``, from its dataset paths and shapes.

    ``shapes``: path -> shape (``layers/dense/vars/0``, ``layers/lstm/cell/vars/1``,
    ``layers/bidirectional/forward_layer/cell/vars/2``). The file names each layer by its class,
    numbered per class in model order, and keeps no order across classes: the layers are put
    in the one order whose shapes chain, or an InputError says the order is not recorded.
    Activations, strides, padding and return_sequences are not recorded either (notes say what
    is assumed). ``input_shape`` as for ``from_torch``."""
    parts = _h5_layers(shapes)
    classes: dict[str, list[tuple[int, _Module]]] = {}
    for name, p in parts.items():
        base, k = _h5_class(name)
        classes.setdefault(base, []).append((k, _h5_module(name, p)))
    seqs = [[m for _, m in sorted(v, key=lambda t: t[0])] for v in classes.values()]
    notes = []
    if len(seqs) == 1:
        mods = seqs[0]
        if len(mods) > 1:
            notes.append(f"the layers are all {_h5_class(mods[0].name.split('/')[-1])[0]}: "
                         "read in the order Keras numbers them (model order)")
    else:
        orders = _orders(seqs)
        names = ", ".join(sorted(parts))
        if len(orders) != 1:
            why = "no order of its layers chains" if not orders else \
                "more than one order of its layers fits the shapes"
            raise InputError(f"the .weights.h5 does not record the order of its layers "
                             f"({names}) across classes, and {why}",
                             "give --model or --layers with --input, or convert the .keras "
                             "archive (its config records the order)")
        mods = orders[0]
        notes.append("a .weights.h5 does not record the order across layer classes: the one "
                     "order whose shapes chain is read (" +
                     " -> ".join(m.name.split("/")[-1] for m in mods) + ")")
    composer = _Composer(mods, input_shape, "keras")
    composer.notes[:0] = notes
    reading = composer.compose()
    # consecutive recurrent layers read as one stack with num_layers, as from a config
    files = iter([m.name.split("/")[-1] for m in mods if m.kind == "rnn"])
    origins = [[next(files) if layer.decl.recurrent else layer.decl.name]
               for layer in reading.layers]
    reading.layers, _ = _merge_stacks(list(reading.layers), origins, reading.input_shape,
                                      reading.notes, reading.alternatives)
    return _build(reading, "the .weights.h5")


__all__ = ["Reading", "from_torch", "from_keras_config", "from_keras_h5"]
