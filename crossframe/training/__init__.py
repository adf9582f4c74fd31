"""Training in every framework (scratch, torch, Keras on each backend): optimizers, trajectory
parity, real training runs.

    translation_table()                        optimizer settings: crossframe / torch / keras
    formula_table(), loss_table()              the update rule each library computes; losses
    trajectory_table(model, optimizer, steps)  K steps in all three, compared after each step
    curves(model, epochs, optimizer)           a training run, per-epoch metrics (long format)
    train(model, epochs, ..., out)             the same, plus CSV and an overlaid PNG
    DIFFERENCES                                where torch.optim and keras.optimizers differ,
                                               each with a measure() (see crossframe.spec)

Importing this package is cheap (``crossframe --help`` imports its CLI): the functions above
are loaded on first use, and torch / TensorFlow only when a framework actually runs.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "DIFFERENCES": ".differences",
    "translation_table": ".tables", "formula_table": ".tables", "loss_table": ".tables",
    "trajectory_table": ".trajectory", "growth": ".trajectory",
    "curves": ".fit", "train": ".fit",
    "make_config": ".config", "OptimizerConfig": ".config",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
