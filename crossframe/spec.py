"""The registry of named models: presets of the Sequential, each with its data and options.

A ``Spec`` names a model (``mlp``, ``lstm``) or a lone-layer check (``dense``, ``lstm_layer``)
and says, framework-neutrally:
- its options (Keras' names where a layer option is meant: ``units``, ``kernel_size``,
  ``strides``, ``use_bias``; older spellings such as ``--hidden`` still work as aliases);
- the model those options make (``model(opts) -> crossframe.sequential.Sequential``): the layers
  and their declarations, the input shape, the loss. Parameters, the three mappings and the
  three implementations all follow from it (``crossframe.layers``, ``crossframe.frameworks``);
- how to make the canonical batch (inputs, target, upstream gradient), from a data set that
  ships with scikit-learn, or random (``random_batch``);
- how to read its options off given weights (``infer``), so ``--weights`` fixes the sizes.

Preset modules in ``crossframe.models`` call ``register`` at import; ``FAMILIES`` lists them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import InputError, did_you_mean
from .difference import Difference, differences  # noqa: F401  (re-exported)
from .frameworks import FRAMEWORKS, PAIRS  # noqa: F401  (re-exported: where they were)
from .layers.base import Option, ParamSpec, boolean, resolve_options  # noqa: F401
from .mapping import Mapping

# One module per family of presets; a new family is one name here and one file in models/.
FAMILIES = ("dense", "conv", "recurrent", "composed")


@dataclass
class Batch:
    """Canonical inputs (by name), the target (or None) and upstream gradients (by output)."""

    inputs: dict[str, np.ndarray]
    target: np.ndarray | None = None
    upstream: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.inputs["x"])


def random_batch(model, dtype: str, seed: int, batch_size: int) -> Batch:
    """Random inputs for ``model`` (a Sequential): x standard normal, initial states x 0.5, and
    for the upstream loss a random upstream gradient per output (never all ones), else a random
    target of the loss' kind (values, labels in [0, K), or 0/1)."""
    from . import data

    N = batch_size
    inputs = {"x": data.random_input((N, *model.input_shape), seed, "x", dtype)}
    if model.ids is not None:           # ids in [0, V): with N*T draws, rows repeat
        rng = data.rng_for(seed, "input", "x")
        if model.layers[0].opts.get("mask_zero"):   # 0 pads: right padding, lengths differ
            T = model.input_shape[0]
            ids = rng.integers(1, model.ids, size=(N, *model.input_shape))
            lengths = np.concatenate([[T], rng.integers(1, T + 1, size=N - 1)])
            ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
            inputs["x"] = ids.astype(np.int64)
        else:
            inputs["x"] = rng.integers(0, model.ids,
                                       size=(N, *model.input_shape)).astype(np.int64)
    for name, shape in model.inputs.items():
        if name != "x":
            inputs[name] = data.random_input((N, *shape), seed, name, dtype) * np.asarray(
                0.5, dtype)
    if model.loss.upstream:
        return Batch(inputs, None, {k: data.upstream((N, *s), seed, k, dtype)
                                    for k, s in model.outputs.items()})
    return Batch(inputs, random_target(model, dtype, seed, N))


def random_target(model, dtype: str, seed: int, N: int) -> np.ndarray:
    from . import data

    (shape,) = model.outputs.values()
    rng = data.rng_for(seed, "target")
    kind = model.loss.decl.target
    if kind == "labels":
        return rng.integers(0, shape[-1], size=(N, *shape[:-1])).astype(np.int64)
    if kind == "binary":
        return rng.integers(0, 2, size=(N, *shape)).astype(dtype)
    return rng.standard_normal((N, *shape)).astype(dtype)


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str                                   # "model" or "layer"
    family: str
    summary: str
    model: Callable[[dict], Any]                # options -> crossframe.sequential.Sequential
    options: tuple[Option, ...] = ()
    batch: Callable | None = None               # (opts, model, dtype, seed, N) -> Batch
    dataset: str = ""
    default_batch_size: int = 16
    notes: tuple[str, ...] = ()
    validate: Callable[[dict], None] | None = None
    infer: Callable[[dict], dict] | None = None  # {param: shape} -> options the weights fix
    layer: str = ""                             # the layer kind a lone-layer check covers

    def resolve(self, given: dict | None = None, shapes: dict | None = None) -> dict:
        """Defaults overlaid with ``given`` (Keras names or older aliases), validated by building
        the model; unknown names are an InputError. ``shapes`` (canonical parameter -> shape)
        reach a model that reads sizes off given weights (``sequential``)."""
        opts = resolve_options(self.options, given, self.name)
        if shapes is not None:
            opts["_shapes"] = dict(shapes)
        if self.validate is not None:
            self.validate(opts)
        self.sequential(opts)
        return opts

    def sequential(self, opts: dict):
        return self.model(opts)

    def param_specs(self, opts: dict) -> list[ParamSpec]:
        return self.sequential(opts).params()

    def mapping(self, framework: str, opts: dict) -> Mapping:
        return self.sequential(opts).mapping(framework)

    def make_batch(self, opts: dict, dtype: str, seed: int, batch_size: int) -> Batch:
        model = self.sequential(opts)
        if self.batch is not None:
            return self.batch(opts, model, dtype, seed, batch_size)
        return random_batch(model, dtype, seed, batch_size)

    @property
    def loss(self) -> str:
        return self.sequential(self.resolve()).loss.name

    @property
    def bilinear(self) -> bool:
        return self.sequential(self.resolve()).bilinear


_REGISTRY: dict[str, Spec] = {}
_loaded = False


def register(spec: Spec) -> Spec:
    if spec.name in _REGISTRY:
        raise ValueError(f"spec {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for family in FAMILIES:
            importlib.import_module(f"crossframe.models.{family}")
        _register_lone_layers()


def _register_lone_layers() -> None:
    """A lone-layer check for every declared layer kind that no preset covers: a new layer is
    in ``list``, the parity matrix, the finite differences and the report by itself, checked on
    its declaration's ``example`` (input shape and options; every option a flag)."""
    from .layers import all_layers

    covered = {s.layer for s in _REGISTRY.values()}
    for decl in all_layers():
        if decl.name in covered or decl.name in _REGISTRY or decl.example is None:
            continue
        register(lone_layer_spec(decl))


def lone_layer_spec(decl) -> Spec:
    """The check of one declared layer alone: random input, random upstream gradient."""
    from .geometry import shape_text
    from .sequential import Sequential

    shape, example = decl.example
    names = {o.name for o in decl.options}
    options = (Option("input", shape_text(shape), "per-sample input shape", str),) + tuple(
        Option(o.name, example.get(o.name, o.default), o.help, o.parse, o.choices, o.aliases)
        for o in decl.options)
    return Spec(
        name=decl.name, kind="layer", family=decl.family, layer=decl.name,
        summary=f"one {decl.title} alone ({decl.keras} / {decl.torch}), random input and "
                "upstream gradient",
        model=lambda o: Sequential([decl(**{k: v for k, v in o.items() if k in names})],
                                   o["input"]),
        options=options, default_batch_size=4, notes=decl.notes)


def get(name: str) -> Spec:
    _load()
    if name not in _REGISTRY:
        raise InputError(f"unknown model or layer '{name}'",
                         did_you_mean(name, _REGISTRY) + " (see `crossframe list`)")
    return _REGISTRY[name]


def all_specs(kind: str | None = None) -> list[Spec]:
    _load()
    return [s for s in _REGISTRY.values() if kind is None or s.kind == kind]


def parse_bool(text) -> bool:
    """true/false, yes/no, on/off, 1/0 (kept for older callers; see layers.base.boolean)."""
    return boolean(text)
