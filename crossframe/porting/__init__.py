"""Porting checkpoints between PyTorch, Keras 3 and canonical .npz, proven by parity.

    import crossframe as cf
    result = cf.convert("model.pt", "model.weights.h5")   # read, convert, write, verify
    result.ok, result.table                                # every tensor, max abs/rel error
    check = cf.check_port("model.pt", "by_hand.keras")     # a port someone made by hand
    check.findings                                         # what is wrong, proven

The modules, in the order a tensor goes through them: ``formats`` (read and write each file
kind safely), ``structure`` (the architecture a checkpoint implies), ``keys`` (which tensor is
which: the key report), ``native`` (the plain torch and Keras models the files belong to),
``api`` (convert, check_port, the verification) and ``diagnose`` (why a port differs).
The command is ``crossframe convert`` (``porting.cli``).
"""
from __future__ import annotations


def __getattr__(name: str):
    if name in ("convert", "check_port", "Conversion", "PortCheck", "KeyMismatch"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'crossframe.porting' has no attribute {name!r}")
