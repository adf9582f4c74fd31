"""The layer declarations: one object per kind of layer, the framework-neutral truth about it.

    from crossframe import layers as L
    L.Dense(units=10)            # a Layer for a Sequential (crossframe.sequential)
    L.get("maxpool2d")           # a declaration by name or alias ("MaxPooling2D" works too)
    L.all_layers()               # every declaration, in family order

Each family module (``dense``, ``conv``, ``pooling``, ``recurrent``) declares its layers as
``LayerDecl`` subclasses and binds one instance per kind under the Keras class name. The
implementations name their declaration (``declaration = L.Dense``); nothing else lists them.
"""
from __future__ import annotations

import importlib

from ..errors import InputError, did_you_mean
from .base import Flow, Layer, LayerConfig, LayerDecl, Option, ParamSpec

# One module per family; a new family is one name here and one file beside this one.
FAMILIES = ("dense", "conv", "pooling", "recurrent", "conv_transpose", "masking")

_BY_NAME: dict[str, LayerDecl] = {}
_ALIASES: dict[str, LayerDecl] = {}


def _load() -> None:
    if _BY_NAME:
        return
    for family in FAMILIES:
        module = importlib.import_module(f"{__name__}.{family}")
        for value in vars(module).values():
            if isinstance(value, LayerDecl) and value.name and value.name not in _BY_NAME:
                _BY_NAME[value.name] = value
    for decl in _BY_NAME.values():
        for alias in (decl.name, decl.title, *decl.aliases):
            _ALIASES.setdefault(alias.lower(), decl)


def all_layers() -> list[LayerDecl]:
    _load()
    return list(_BY_NAME.values())


# Keras classes that are an option of a declared layer here, not a layer of their own
AS_AN_OPTION = {
    "depthwiseconv2d": "a DepthwiseConv2D is conv2d(groups=C_in, filters=C_in * "
                       "depth_multiplier): see `crossframe describe --layer conv2d`",
    "bidirectional": "write the recurrent layer with bidirectional=true, e.g. "
                     "lstm(units=8, bidirectional=true, merge_mode=concat)",
    "activation": "write the activation's own name (gelu, relu, ...) or "
                  "dense(units=..., activation=NAME)",
}


def get(name: str) -> LayerDecl:
    """The declaration called ``name`` (any case; Keras' class names and aliases work)."""
    _load()
    decl = _ALIASES.get(str(name).strip().lower())
    if decl is None:
        hint = AS_AN_OPTION.get(str(name).strip().lower())
        raise InputError(f"unknown layer '{name}'", hint or did_you_mean(str(name), _BY_NAME)
                         + " (see `crossframe list`)")
    return decl


def __getattr__(name: str):
    """``crossframe.layers.Dense`` and friends: the declarations under their Keras names."""
    _load()
    for decl in _BY_NAME.values():
        if name in (decl.title, type(decl).__name__, *decl.aliases) and name[:1].isupper():
            return decl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    _load()
    return sorted(set(globals()) | {d.title for d in _BY_NAME.values()}
                  | {a for d in _BY_NAME.values() for a in d.aliases if a[:1].isupper()})


__all__ = ["Flow", "Layer", "LayerConfig", "LayerDecl", "Option", "ParamSpec", "all_layers",
           "get"]
