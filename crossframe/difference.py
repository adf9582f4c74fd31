"""``Difference``: a place where PyTorch and Keras compute different formulas, with its size.

Declared beside what it is about (``DIFFERENCES`` in crossframe/layers/*.py, crossframe/losses.py,
crossframe/models/*.py and crossframe.training); ``differences()`` collects them for the report.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Difference:
    """Where PyTorch and Keras compute different formulas (or hide one behind a default).

    ``measure`` returns the measured size of the difference (a normwise relative error, see
    crossframe.tolerances) on the canonical data, so the report shows a number, not a claim.
    Layer and preset modules list theirs in ``DIFFERENCES``; ``differences()`` collects them.
    ``layers``: the layer kinds it concerns (``("lstm", "gru")``), so that each layer's lesson
    (crossframe.lesson) lists its own; () for a loss' or an optimizer's.
    """

    topic: str
    torch: str
    keras: str
    agree_when: str
    measure: Callable[[], float] | None = None
    layers: tuple[str, ...] = ()


def differences() -> list[Difference]:
    """Every declared Difference: the layers', the losses', the presets' and training's."""
    from .layers import FAMILIES as LAYER_FAMILIES
    from .spec import FAMILIES

    modules = ([f"crossframe.layers.{f}" for f in LAYER_FAMILIES] + ["crossframe.losses"]
               + [f"crossframe.models.{f}" for f in FAMILIES] + ["crossframe.training"])
    out: list[Difference] = []
    for name in modules:
        out.extend(getattr(importlib.import_module(name), "DIFFERENCES", ()))
    return out
