"""The translation tables as pandas DataFrames, built from the declarations in ``config`` (for
``crossframe train --table`` and the report)."""
from __future__ import annotations

import pandas as pd

from .config import DECLARATIONS, FIXED_DEFAULTS, LOSSES, setting_text


def translation_table(typed: bool = False) -> pd.DataFrame:
    """One row per (optimizer, setting): crossframe's name and value, then torch's argument and
    default and Keras' argument and default, side by side; arguments an optimizer's name fixes
    (``nesterov=True``) in parentheses. The update rules are in ``formula_table()``, the losses
    in ``loss_table()``. ``typed``: the values and defaults as numbers, booleans and None (for
    JSON) instead of the printed text ("1e-07", "" where a library has no argument)."""
    def value(v):
        return v if typed else setting_text(v)

    def default(argument, v):
        """A library's default of ``argument`` (None: the library has no such argument)."""
        if typed:
            return None if argument is None else v
        return "" if argument is None else "None" if v is None else setting_text(v)

    rows = []
    for d in DECLARATIONS.values():
        rows += [dict(optimizer=d.name, setting=s.name, crossframe=value(s.value),
                      torch=f"{d.torch}({s.argument('torch')})",
                      torch_default=default(s.torch, s.torch_default),
                      keras=f"{d.keras}({s.argument('keras')})",
                      keras_default=default(s.keras, s.keras_default),
                      note=s.doc) for s in d.settings]
        rows += [dict(optimizer=d.name, setting=f"({k})", crossframe=value(v),
                      torch=f"{d.torch}({k}={setting_text(v)})",
                      torch_default=default(k, FIXED_DEFAULTS[("torch", k)]),
                      keras=(f"{d.keras}({k}={setting_text(d.keras_fixed[k])})"
                             if k in d.keras_fixed else f"{d.keras}(none)"),
                      keras_default=default(k if k in d.keras_fixed else None,
                                            FIXED_DEFAULTS.get(("keras", k))),
                      note="fixed by crossframe for this optimizer")
                 for k, v in d.torch_fixed.items()]
    return pd.DataFrame(rows, columns=["optimizer", "setting", "crossframe", "torch",
                                       "torch_default", "keras", "keras_default", "note"],
                        dtype=object if typed else None)


TRAJECTORY_NOTE = (
    "the same formula is the same trajectory on a model whose tensors each library holds once; "
    "torch holds a recurrent bias (SimpleRNN, LSTM, reset-before GRU) as bias_ih + bias_hh, "
    "two tensors that each take a full step, so under every optimizer here the bias moves "
    "twice as far as Keras' one bias (`--torch-recurrent-bias single` freezes bias_hh at 0)")


def formula_table() -> pd.DataFrame:
    """One row per optimizer: the update rule each library computes, whether it is the same
    formula, when they agree, and when the same formula still is not the same trajectory."""
    return pd.DataFrame([dict(optimizer=d.name, summary=d.summary, torch_class=d.torch,
                              keras_class=d.keras,
                              torch_rule=d.torch_rule, keras_rule=d.keras_rule,
                              same_formula=d.same_formula, agree_when=d.agree_when,
                              trajectory=TRAJECTORY_NOTE)
                         for d in DECLARATIONS.values()])


def loss_table() -> pd.DataFrame:
    """One row per loss: the formula, each library's call, from_logits and the reduction."""
    return pd.DataFrame([dict(loss=x.name, formula=x.formula, torch=x.torch, keras=x.keras,
                              from_logits=x.from_logits, reduction=x.reduction)
                         for x in LOSSES])
