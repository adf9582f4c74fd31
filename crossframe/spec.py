"""Specs and the registry: every model and layer exists once here, three times as code.

A ``Spec`` names a model or a layer and says, framework-neutrally:
- its options (sizes, kernel, stride, ...) with defaults and types;
- its canonical parameters (name, shape, role) for given options;
- how to make the canonical batch (inputs, target, upstream gradient) from a shipped data set;
- its loss (``"mse"``, ``"softmax_ce"``, or ``"upstream"``: sum(G * output) with a random G,
  which is how a lone layer is checked: dL/d(output) = G, never all ones);
- for each framework, the ``Mapping`` (the declarations in ``crossframe.mapping``) and where
  the builder lives (``"module:function"``, imported lazily so ``list`` and ``describe`` never
  import torch or TensorFlow).

Family modules in ``crossframe.models`` call ``register`` at import; ``FAMILIES`` lists them.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import InputError, did_you_mean
from .mapping import Mapping

FRAMEWORKS = ("scratch", "torch", "keras")
PAIRS = (("scratch", "torch"), ("scratch", "keras"), ("torch", "keras"))

# One module per family; a new family is one line here and one file in crossframe/models/.
FAMILIES = ("dense", "conv", "recurrent")


@dataclass(frozen=True)
class ParamSpec:
    """A canonical parameter: ``role`` is "weight" (fan_in scaled normal) or "bias"."""

    name: str
    shape: tuple[int, ...]
    role: str = "weight"
    fan_in: int | None = None
    doc: str = ""


@dataclass(frozen=True)
class Option:
    """A user-settable size or switch, reachable from the CLI as ``--name value``."""

    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str
    choices: tuple | None = None


def parse_bool(text) -> bool:
    """An option value such as true/false, yes/no, on/off, 1/0."""
    if str(text).lower() in ("1", "true", "yes", "on"):
        return True
    if str(text).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


parse_bool.__name__ = "bool (true/false)"


@dataclass
class Batch:
    """Canonical inputs (by name), the target (or None) and upstream gradients (by output)."""

    inputs: dict[str, np.ndarray]
    target: np.ndarray | None = None
    upstream: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # "model" or "layer"
    family: str
    summary: str
    loss: str  # "mse" | "softmax_ce" | "upstream"
    params: Callable[[dict], list[ParamSpec]]
    batch: Callable[[dict, str, int, int], Batch]
    mappings: dict[str, Callable[[dict], Mapping]]
    builders: dict[str, str]  # framework -> "module:function"(*builder_args, options, dtype)
    options: tuple[Option, ...] = ()
    dataset: str = ""
    default_batch_size: int = 16
    notes: tuple[str, ...] = ()  # teaching notes printed by describe and the report
    validate: Callable[[dict], None] | None = None
    builder_args: tuple = ()  # leading arguments of the builder (e.g. the recurrent cell)
    # Every gradient entry is a sum of products of one weight or input entry and one upstream
    # entry (a lone linear layer under the "upstream" loss): the layer run on absolute values
    # then gives each entry's sum of |terms|, the scale its error is measured against
    # (crossframe.tolerances, crossframe.run.Case.sum_of_terms).
    bilinear: bool = False

    def resolve(self, given: dict | None = None) -> dict:
        """Defaults overlaid with ``given``; unknown names are an InputError."""
        known = {o.name: o for o in self.options}
        opts = {o.name: o.default for o in self.options}
        for key, value in (given or {}).items():
            if key not in known:
                raise InputError(
                    f"{self.name} has no option '{key}'",
                    did_you_mean(key, known) if known else f"{self.name} takes no options",
                )
            opt = known[key]
            if isinstance(value, str) and opt.type is not str:
                try:
                    value = opt.type(value)
                except (TypeError, ValueError):
                    raise InputError(f"--{key} {value!r} is not a valid {opt.type.__name__}",
                                     opt.help) from None
            if opt.choices is not None and value not in opt.choices:
                raise InputError(f"--{key} {value!r} is not allowed",
                                 f"choose one of: {', '.join(map(str, opt.choices))}")
            opts[key] = value
        if self.validate is not None:
            self.validate(opts)
        return opts

    def param_specs(self, opts: dict) -> list[ParamSpec]:
        return self.params(opts)

    def mapping(self, framework: str, opts: dict) -> Mapping:
        return self.mappings[framework](opts)

    def builder(self, framework: str) -> Callable:
        module, _, func = self.builders[framework].partition(":")
        build = getattr(importlib.import_module(module), func)
        return functools.partial(build, *self.builder_args) if self.builder_args else build


@dataclass(frozen=True)
class Difference:
    """Where PyTorch and Keras compute different formulas (or hide one behind a default).

    ``measure`` returns the measured size of the difference (a normwise relative error, see
    crossframe.tolerances) on the canonical data, so the report shows a number, not a claim.
    Family modules list theirs in ``DIFFERENCES``; ``differences()`` collects them.
    """

    topic: str
    torch: str
    keras: str
    agree_when: str
    measure: Callable[[], float] | None = None


def differences() -> list[Difference]:
    """Every declared Difference, from the family modules and from crossframe.training."""
    out: list[Difference] = []
    modules = [f"crossframe.models.{f}" for f in FAMILIES] + ["crossframe.training"]
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name and name.startswith(err.name):
                continue  # that capability is not in this tree
            raise
        out.extend(getattr(module, "DIFFERENCES", ()))
    return out


_REGISTRY: dict[str, Spec] = {}
_loaded = False


def register(spec: Spec) -> Spec:
    if spec.name in _REGISTRY:
        raise ValueError(f"spec {spec.name!r} registered twice")
    missing = set(FRAMEWORKS) - set(spec.mappings) | set(FRAMEWORKS) - set(spec.builders)
    if missing:
        raise ValueError(f"spec {spec.name!r} lacks {sorted(missing)}")
    _REGISTRY[spec.name] = spec
    return spec


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for family in FAMILIES:
            importlib.import_module(f"crossframe.models.{family}")


def get(name: str) -> Spec:
    _load()
    if name not in _REGISTRY:
        raise InputError(f"unknown model or layer '{name}'",
                         did_you_mean(name, _REGISTRY) + " (see `crossframe list`)")
    return _REGISTRY[name]


def all_specs(kind: str | None = None) -> list[Spec]:
    _load()
    return [s for s in _REGISTRY.values() if kind is None or s.kind == kind]
