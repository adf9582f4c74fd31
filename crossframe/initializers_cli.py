"""``crossframe init``: each library's default initialisers, translated.

    crossframe init --table [--json] [--layer NAME]
        per layer kind and parameter: Keras' default initialiser (its name, the distribution
        as a function of the sizes, the source file), torch's, the torch code that draws
        Keras' default and the Keras argument that draws torch's. --layer keeps one layer kind
        (Keras' or torch's class name works: LSTM, Linear); --json prints the same as JSON.

Sizes in the formulas: F in features, U units, kh x kw a window, C in channels, O filters,
D per-step inputs, H hidden units, V vocabulary, E vector size. To check a model on weights
drawn from a library's defaults: `crossframe check MODEL --init keras` (or torch); to write
them: `crossframe weights MODEL --init torch --out w.npz`. Bad input: exit 2, one line.
"""
from __future__ import annotations

import argparse
import json

from .cliargs import emit
from .errors import InputError

HELP = "default initialisers of torch and Keras, and the call in each that draws the other's"


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n")[0]
    p.epilog = "\n".join(__doc__.split("\n")[2:])
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--table", action="store_true", help="print the translation table")
    p.add_argument("--layer", default=None, help="one layer kind (dense, conv2d, lstm, ...)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def main(args, extra) -> int:
    if extra:
        raise InputError(f"init takes no arguments but its flags: {' '.join(extra)}",
                         "run `crossframe init --table [--layer NAME] [--json]`")
    if not args.table:
        raise InputError("say what to print", "add --table: `crossframe init --table`")
    from .initializers import NOTES, table

    rows = table(args.layer)
    if args.json:
        emit(json.dumps({"initializers": rows.to_dict(orient="records"), "notes": list(NOTES)},
                        indent=1))
        return 0
    emit("Default initialisers, per layer kind and canonical parameter (sizes: F in features, U "
         "units, kh x kw window, C in channels, O filters, D per-step inputs, H hidden units, V "
         "vocabulary, E vector size):\n")
    summary = rows[["layer", "param", "role", "keras_default", "torch_default", "same_law"]].copy()
    summary["same_law"] = summary["same_law"].map({True: "yes", False: "no"})
    emit(summary.rename(columns={"keras_default": "keras", "torch_default": "torch",
                                 "same_law": "same"})
         .to_markdown(index=False, tablefmt="simple"))
    for r in rows.itertuples():
        emit(f"\n{r.layer} {r.param} ({r.role}): {r.keras_class} / {r.torch_class}")
        emit(f"  keras: {r.keras_default}: {r.keras_formula}\n         [{r.keras_source}]")
        emit(f"  torch: {r.torch_default}: {r.torch_formula}\n         [{r.torch_source}]")
        emit(f"  Keras' default in torch: {r.torch_for_keras}")
        emit(f"  torch's default in Keras: {r.keras_for_torch}")
        if r.note:
            emit(f"  note: {r.note}")
    emit("\nNotes:")
    for note in NOTES:
        emit(f"- {note}")
    return 0
