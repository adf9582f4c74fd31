"""How the report trains a model: long enough, and fast enough, to show it learning.

    recipes() -> {spec name: Recipe}     declared by the family modules (``TRAINING`` in
                                         crossframe.models.<family>), like ``BENCHMARKS``

A recipe is the epochs, the learning rate (Adam unless the report is given another optimizer)
and, where the registered preset is too small to reach a useful accuracy, the options it is
trained with (the preset itself is what the parity checks use: it is kept small so that every
gradient check is fast). The figures in ``why`` were measured with ``crossframe train`` on
this project's 2-core machine (seed 0) and are what the report's training section must show;
``parity_tests/test_training_recipes.py`` holds the two that issue 17 names (digits MLP and
ConvNet at least 95% test accuracy) and linear regression's plateau.

Without a recipe a model is not trained in the report; ``crossframe train NAME`` trains any.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    """``spec``: the registered model; ``epochs``; ``lr``: Adam's learning rate (torch's ``lr``,
    Keras' ``learning_rate``); ``options``: the model options it trains with (none: the preset);
    ``batch_size``: None = the spec's default (``lr`` 0: the optimizer's default); ``why``:
    what it reaches and why these settings.
    """

    spec: str
    epochs: int
    lr: float
    options: dict = field(default_factory=dict)
    batch_size: int | None = None
    why: str = ""

    def flags(self) -> str:
        """The same run as a command line: ``crossframe train mlp --epochs 10 --lr 0.01``."""
        opts = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in self.options.items())
        size = f" --batch-size {self.batch_size}" if self.batch_size else ""
        lr = f" --lr {self.lr:g}" if self.lr else ""
        return (f"crossframe train {self.spec} --epochs {self.epochs}{lr}{size}"
                + (f" {opts}" if opts else ""))


def recipes() -> dict[str, Recipe]:
    """{spec name: Recipe} from every family module's ``TRAINING``, in family order."""
    from ..spec import FAMILIES

    out: dict[str, Recipe] = {}
    for family in FAMILIES:
        for r in getattr(importlib.import_module(f"crossframe.models.{family}"), "TRAINING", ()):
            out[r.spec] = r
    return out


__all__ = ["Recipe", "recipes"]
