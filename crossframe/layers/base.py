"""What every layer declaration is made of.

A *declaration* (``LayerDecl``) is everything the framework-neutral side knows about one kind
of layer: its options under Keras' names (types, defaults, validation), its canonical
parameters (shapes and role), how shapes flow through it, its canonical -> torch and canonical
-> Keras mappings, the equations, the notes, and where it is implemented. The three
implementations (``scratch/``, ``torch_impl/``, ``keras_impl/``) each hold one class per
declaration that names it (``declaration = layers.Dense``), and nothing else is needed: the
registry, the Sequential, the parity matrix, the finite differences, ``describe`` and the
report find a declared layer by themselves.

Shape legend: every shape here is *per sample* (no batch axis), in the canonical layout:
``(F,)`` features, ``(H, W, C)`` an image (NHWC), ``(T, D)`` a sequence (batch-first).
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import InputError, did_you_mean
from ..mapping import Entry

# --- option parsers: value (a CLI string or a Python value) -> normalised value ---------------


def integer(minimum: int = 1) -> Callable[[Any], int]:
    def parse(value) -> int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not an integer")
        if isinstance(value, str):
            text = value.strip()
            if not text.lstrip("+-").isdigit():
                raise ValueError(f"{value!r} is not an integer")
            value = int(text)
        if not isinstance(value, numbers.Integral):
            raise ValueError(f"{value!r} is not an integer")
        if value < minimum:
            raise ValueError(f"{value} must be at least {minimum}")
        return int(value)
    parse.__name__ = f"integer >= {minimum}"
    return parse


def boolean(value) -> bool:
    """true/false, yes/no, on/off, 1/0 (any case), or a Python bool."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not true or false")


boolean.__name__ = "true/false"


def number(minimum: float | None = None, maximum: float | None = None,
           open_min: bool = False) -> Callable[[Any], float]:
    def parse(value) -> float:
        import math

        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
        if isinstance(value, bool) or not math.isfinite(out):
            raise ValueError(f"{value!r} is not a finite number")
        if minimum is not None and (out < minimum or (open_min and out == minimum)):
            raise ValueError(f"{out:g} must be {'>' if open_min else '>='} {minimum:g}")
        if maximum is not None and out > maximum:
            raise ValueError(f"{out:g} must be <= {maximum:g}")
        return out
    parse.__name__ = "number"
    return parse


def size2(value):
    """A 2-D window or stride: 3 -> (3, 3); "3x2" or (3, 2) -> (3, 2)."""
    from ..geometry import pair

    return pair(value)


size2.__name__ = "size (e.g. 3 or 3x2)"


def text(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not text")
    return value.strip()


text.__name__ = "text"


@dataclass(frozen=True)
class Option:
    """One option of a layer (or of a preset) under its Keras name.

    ``default`` None with ``required=False`` means "inferred" (from the weights, or from the
    size of the input), and is filled in by the declaration. ``aliases`` are other spellings
    the CLI accepts (older crossframe names such as ``hidden`` for ``units``)."""

    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = text
    choices: tuple | None = None
    aliases: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        """The CLI spelling: ``return_sequences`` -> ``--return-sequences``."""
        return "--" + self.name.replace("_", "-")

    def value(self, raw, owner: str):
        """``raw`` parsed and checked against ``choices``; an InputError names owner and fix."""
        try:
            value = self.parse(raw)
        except (TypeError, ValueError) as err:
            raise InputError(f"{owner}: {self.name}={raw!r} is not valid ({err})",
                             f"{self.name} is {getattr(self.parse, '__name__', 'a value')}: "
                             f"{self.help}") from None
        if self.choices is not None and value not in self.choices:
            raise InputError(f"{owner}: {self.name}={raw!r} is not allowed",
                             f"choose one of: {', '.join(map(str, self.choices))}")
        return value


def resolve_options(options: tuple[Option, ...], given: dict | None, owner: str) -> dict:
    """Defaults overlaid with ``given`` (Keras names or aliases), each parsed; unknown names are
    an InputError listing the known ones."""
    known = {o.name: o for o in options}
    alias = {a: o.name for o in options for a in o.aliases}
    out = {o.name: o.default for o in options}
    for key, raw in (given or {}).items():
        name = key.replace("-", "_")
        name = alias.get(name, name)
        if name not in known:
            raise InputError(f"{owner} has no option '{key}'",
                             did_you_mean(key, known) if known else f"{owner} takes no options")
        out[name] = known[name].value(raw, owner) if raw is not None else None
    return out


# --- canonical parameters --------------------------------------------------------------------
ROLES = ("trainable", "state")


@dataclass(frozen=True)
class ParamSpec:
    """A canonical tensor a layer owns.

    ``role``: "trainable" (receives a gradient; an optimizer steps it) or "state" (carried
    between calls, updated by the forward pass in training mode, never differentiated: a
    BatchNorm's running statistics). ``init``: how the canonical weights are drawn
    (crossframe.data.init_param): "weight" (normal, std 1/sqrt(fan_in)), "bias" (non-zero,
    distinct), "ones"/"zeros" or "positive"."""

    name: str
    shape: tuple[int, ...]
    init: str = "weight"
    fan_in: int | None = None
    doc: str = ""
    role: str = "trainable"


# --- what flows from one layer to the next ---------------------------------------------------
LAYOUTS = ("flat", "image", "sequence", "signal")
TORCH_LAYOUT = {"flat": "(N, F)", "image": "(N, C, H, W)", "sequence": "(N, T, D) batch_first",
                "signal": "(N, C, L)"}


@dataclass(frozen=True)
class Flow:
    """The per-sample tensor between two layers, canonical, and how torch holds it.

    ``shape``: canonical per-sample shape. ``layout``: "flat" (F,), "image" (H, W, C) — torch
    holds it as (C, H, W) —, "sequence" (T, D) — batch-first in all three —, or "signal"
    (L, C), the feature map of a 1-D convolution or pool — torch holds it as (C, L), what
    nn.Conv1d returns (Keras' Conv1D is channels_last: (L, C)).
    ``flattened``: for a flat tensor that torch flattened from a channels-first map (NCHW or
    NCL), that map's canonical shape, (H, W, C) or (L, C); torch then orders the features
    channel first, (c, h, w) or (c, l), Keras channel last (``flatten_order``). None: torch's
    order is the canonical one."""

    shape: tuple[int, ...]
    layout: str
    flattened: tuple[int, ...] | None = None

    def __post_init__(self):
        assert self.layout in LAYOUTS, self.layout

    @property
    def features(self) -> int:
        """The size of the last axis (features, channels or per-step inputs)."""
        return self.shape[-1]

    @property
    def channels_first(self) -> bool:
        """torch holds this tensor's channels on axis 1 (NCHW, NCL), not last as canonical."""
        return self.layout in ("image", "signal")

    def text(self) -> str:
        return str(tuple(self.shape))


def flatten_order(*shape: int) -> tuple[int, ...]:
    """``index[f]`` = the canonical (channels-last) feature at torch's (channels-first)
    flattened feature ``f``, for a map of canonical ``shape`` (H, W, C) or (L, C).

    Image: torch's feature f = (c*H + h)*W + w is Keras' feature (h*W + w)*C + c. 1-D map:
    torch's c*L + l is Keras' l*C + c. A torch tensor along the flattened axis is
    ``canonical.take(index)``; the adjoint puts it back."""
    import numpy as np

    size = int(np.prod(shape))
    order = (len(shape) - 1, *range(len(shape) - 1))
    return tuple(int(i) for i in np.arange(size).reshape(shape).transpose(order).ravel())


def flatten_text(shape: tuple[int, ...]) -> str:
    """"(H,W,C) = (2,3,4) order -> (C,H,W) order" for the Permute that ``flatten_order`` makes."""
    names = ("H", "W", "C") if len(shape) == 3 else ("L", "C")
    first = (names[-1], *names[:-1])
    return (f"({','.join(names)}) = ({','.join(map(str, shape))}) order -> "
            f"({','.join(first)}) order")


def flow_for(shape: tuple[int, ...]) -> Flow:
    """The layout a model input of ``shape`` has: 1-D flat, 2-D a sequence, 3-D an image."""
    layout = {1: "flat", 2: "sequence", 3: "image"}.get(len(shape))
    if layout is None:
        raise InputError(f"input shape {tuple(shape)} has {len(shape)} axes",
                         "give (F,) features, (T, D) a sequence or (H, W, C) an image")
    return Flow(tuple(shape), layout)


@dataclass(frozen=True)
class LayerConfig:
    """One layer as placed in a model: declaration, name, resolved options, what flows in and
    out, its canonical parameters (full names ``name.local``) and its position."""

    decl: "LayerDecl"
    name: str
    opts: dict
    flow_in: Flow
    flow_out: Flow
    params: tuple[ParamSpec, ...]
    index: int
    last: bool
    state_inputs: tuple[str, ...] = ()   # model inputs holding this layer's initial states

    def p(self, local: str) -> str:
        """The canonical name of a local parameter: ``p("W")`` -> ``"dense1.W"``."""
        return f"{self.name}.{local}"

    def has(self, local: str) -> bool:
        return any(q.name == self.p(local) for q in self.params)

    def shape(self, local: str) -> tuple[int, ...]:
        return next(q.shape for q in self.params if q.name == self.p(local))

    def where(self) -> str:
        return f"layer {self.index + 1} '{self.name}' ({self.decl.name})"


@dataclass(frozen=True)
class Layer:
    """A declared layer with options, before shapes are known: an item of a Sequential."""

    decl: "LayerDecl"
    options: dict = field(default_factory=dict)
    name: str | None = None

    def text(self) -> str:
        """The layer in the --layers syntax: ``dense(units=10)``."""
        if not self.options:
            return self.decl.name
        args = ", ".join(f"{k}={_literal(v)}" for k, v in self.options.items())
        return f"{self.decl.name}({args})"


def _literal(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "x".join(map(str, v))
    return str(v)


# --- the declaration -------------------------------------------------------------------------
class LayerDecl:
    """One kind of layer. Subclasses set the class attributes and override the methods whose
    behaviour differs from the default (no parameters, shape unchanged)."""

    name: str = ""                       # in --layers and `crossframe list`: "dense"
    title: str = ""                      # "Dense"
    family: str = ""                     # "dense" | "conv" | "recurrent"
    stem: str = ""                       # default layer-name stem: "dense" -> dense, dense1
    keras: str = ""                      # the Keras class: "keras.layers.Dense"
    torch: str = ""                      # the torch class: "torch.nn.Linear"
    aliases: tuple[str, ...] = ()        # other spellings in --layers: "Dense", "linear"
    options: tuple[Option, ...] = ()
    equations: str = ""                  # forward and backward, printed by describe
    notes: tuple[str, ...] = ()
    layouts: tuple[str, ...] = LAYOUTS   # the input layouts it accepts
    recurrent: bool = False              # takes states, returns (h_seq, h_last[, c_last])
    mode_dependent: bool = False         # computes differently in training and inference
    takes_ids: bool = False              # its input is integer ids (Embedding): no gradient
    bilinear: bool = False               # every gradient a sum of products (tolerances.py)
    # what it does with a sequence mask reaching it (Keras 3.15, crossframe.layers.masking):
    # "passes" it on unchanged, "ends" it (ignored, not passed on), or "refuses" (not modelled)
    mask: str = "refuses"
    # options torch's module takes but its state dict does not record, at torch's defaults in
    # Keras' terms (a BatchNorm's eps and momentum): what a port reads a bare state dict with
    torch_defaults: dict = {}
    # subtracts the batch mean in training: the bias of the layer right before it is removed,
    # so that bias' gradient is 0 in exact arithmetic (crossframe.porting's verification)
    centers: bool = False
    # (input shape, options) of a lone check when no preset covers it (crossframe.spec)
    example: tuple[tuple[int, ...], dict] | None = None

    # -- identity ----------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """Where this declaration is written: ``crossframe/layers/dense.py::Dense``."""
        module = inspect.getmodule(type(self))
        path = module.__name__.replace(".", "/") + ".py" if module else "?"
        return f"{path}::{type(self).__name__}"

    def __repr__(self) -> str:
        return f"<layer {self.name}: {self.source}>"

    def __call__(self, *values, name: str | None = None, **options) -> Layer:
        """``Dense(10)`` or ``Dense(units=10)`` -> a Layer for a Sequential: positional values
        fill the options in their declared order, as in Keras (checked when it is built)."""
        if len(values) > len(self.options):
            raise InputError(f"{self.title} takes at most {len(self.options)} positional "
                             f"value(s), got {len(values)}",
                             ", ".join(o.name for o in self.options) or "it takes no options")
        for option, value in zip(self.options, values):
            if option.name in options:
                raise InputError(f"{self.title}: {option.name} given twice", "give it once")
            options[option.name] = value
        return Layer(self, options, name)

    # -- options -----------------------------------------------------------------------------
    def resolve(self, given: dict | None, flow: Flow, where: str = "") -> dict:
        """Options parsed and validated against the input; ``where`` names the layer."""
        opts = resolve_options(self.options, given, where or self.name)
        self.validate(opts, flow, where or self.name)
        return opts

    def validate(self, opts: dict, flow: Flow, where: str) -> None:
        """Raise an InputError naming ``where`` when options and input do not fit."""
        if flow.layout not in self.layouts:
            wanted = " or ".join(f"{lay} {_layout_shape(lay)}" for lay in self.layouts)
            raise InputError(f"{where}: {self.title} takes {wanted}, got {flow.text()}",
                             self.wrong_layout_fix(flow))

    def wrong_layout_fix(self, flow: Flow) -> str:
        if flow.layout in ("image", "signal"):
            return "put a flatten (or a global pooling) before it"
        return "check the layer order and the --input shape"

    def infer(self, shapes: dict[str, tuple], flow: Flow) -> dict:
        """Options the given weights fix, from their shapes by local name (``{"W": (12, 7)}``).
        Only options the user did not give are taken from here."""
        return {}

    # -- shapes and parameters ---------------------------------------------------------------
    def output(self, opts: dict, flow: Flow) -> Flow:
        return flow

    def params(self, opts: dict, flow: Flow) -> list[ParamSpec]:
        """Local names (``W``, ``b``); the model prefixes the layer name."""
        return []

    # -- the mappings ------------------------------------------------------------------------
    def torch_params(self, cfg: LayerConfig) -> list[Entry]:
        return []

    def keras_params(self, cfg: LayerConfig) -> list[Entry]:
        return []

    # -- the equivalent code (describe) ------------------------------------------------------
    def check_batch(self, cfg: LayerConfig, batch_size: int, mode: str) -> None:
        """Refuse (an InputError) a batch this layer cannot compute in ``mode``; most can."""

    def torch_states(self, cfg: LayerConfig) -> list[Entry]:
        """How the state (role "state") is read back from torch after a pass: by default
        through the entries that load it."""
        states = {p.name for p in cfg.params if p.role == "state"}
        return [e for e in self.torch_params(cfg) if e.canonical in states]

    def keras_states(self, cfg: LayerConfig) -> list[Entry]:
        states = {p.name for p in cfg.params if p.role == "state"}
        return [e for e in self.keras_params(cfg) if e.canonical in states]

    def torch_code(self, cfg: LayerConfig) -> str:
        return f"{self.torch}()"

    def keras_code(self, cfg: LayerConfig) -> str:
        return f"{self.keras}()"

    def torch_imports(self, cfg: LayerConfig) -> list[str]:
        """Import lines the code of ``torch_code`` needs beyond torch itself."""
        return []

    def torch_forward(self, cfg: LayerConfig) -> list[str]:
        """The lines of a torch ``forward`` applying this layer to ``x``."""
        return [f"x = self.{cfg.name}(x)"]

    def formula(self, cfg: LayerConfig, framework: str) -> str:
        """One line: what ``framework`` computes for this layer at these sizes."""
        return ""

    # -- recurrent layers --------------------------------------------------------------------
    def states(self, opts: dict) -> tuple[str, ...]:
        """Names of the initial states it takes (``("h0", "c0")``)."""
        return ()

    def outputs(self, opts: dict) -> tuple[str, ...]:
        """Its outputs when it is the last layer with ``return_state``."""
        return ()


def _layout_shape(layout: str) -> str:
    return {"flat": "(F,)", "image": "(H, W, C)", "sequence": "(T, D)",
            "signal": "(L, C)"}[layout]


def full_params(cfg_name: str, params: list[ParamSpec]) -> tuple[ParamSpec, ...]:
    """Local parameter specs with the layer name prefixed."""
    from dataclasses import replace

    return tuple(replace(p, name=f"{cfg_name}.{p.name}") for p in params)
