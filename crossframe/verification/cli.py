"""``crossframe verify``: your layer against torch, Keras and crossframe's scratch.

    crossframe verify --template lstm > my_lstm.py      a skeleton to fill in
    crossframe verify my_lstm.py --layer lstm           check it, and say which mistake it made
    crossframe verify my_conv.py --layer conv2d --strides 2 --padding same --json
    crossframe verify my_lstm.py --layer lstm --against keras-jax,keras-torch

The file defines ``forward(params, x) -> (y, cache)`` and ``backward(params, cache, dy) ->
(grads, dx)``, or a class with those two methods (``--name`` picks one of several); layer
options (Keras' names, ``crossframe describe --layer NAME`` lists them) follow as flags.
Exit 0: every tensor matches; 1: your layer is not right yet (a tensor differs, or your code
raised, returned a wrong shape, dtype or kind, or ran past --timeout: its file and line shown);
2: bad usage, or a file that cannot be loaded (a syntax error, no forward/backward).
"""
from __future__ import annotations

import json
import types

from ..cliargs import add_max_memory, check_seed, emit, model_options, table_records
from ..errors import InputError

HELP = "check your own layer (NumPy, torch or Keras) against the references; --template"


def configure(p) -> None:
    p.description = __doc__.split("\n")[0]
    p.add_argument("file", nargs="?", help="your .py file")
    p.add_argument("--layer", default=None, help="the layer kind (`crossframe list`)")
    p.add_argument("--template", default=None, metavar="LAYER",
                   help="print a skeleton of LAYER to fill in")
    p.add_argument("--name", default=None, help="the class, where the file has several")
    p.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    p.add_argument("--seed", type=int, default=1, help="seed of weights and batches")
    p.add_argument("--against", default=None, metavar="NAMES",
                   help="the references, comma-separated, as check's --frameworks names them: "
                   "scratch, torch, keras (this process' KERAS_BACKEND), keras-tensorflow, "
                   "keras-jax, keras-torch (default torch,keras,scratch)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="the longest one run of your layer may take (default 60)")
    p.add_argument("--json", action="store_true", help="print JSON rows")
    add_max_memory(p)


def main(args, extra) -> int:
    from ..layers import get

    if args.template is not None:
        if args.file or args.layer or extra:
            raise InputError("--template takes only the layer kind",
                             f"run `crossframe verify --template {args.template}` alone")
        from .template import template

        emit(template(get(args.template)))
        return 0
    if not args.file or not args.layer:
        raise InputError("verify needs your FILE and --layer",
                         "e.g. `crossframe verify my_lstm.py --layer lstm`; "
                         "`crossframe verify --template lstm` writes a skeleton")
    check_seed(args.seed)
    if not (args.timeout > 0 and args.timeout < 1e6):
        raise InputError(f"--timeout {args.timeout:g} must be a positive number of seconds",
                         "pass e.g. --timeout 120")
    from . import REFERENCES, check_references

    references = REFERENCES if args.against is None else check_references(args.against)
    decl = get(args.layer)
    options = model_options(types.SimpleNamespace(name=decl.name, options=decl.options), extra)
    from . import verify

    table = verify(args.file, decl.name, dtype=args.dtype, seed=args.seed, name=args.name,
                   timeout=args.timeout, references=references, **options)
    if args.json:
        emit(json.dumps({"ok": table.attrs["ok"], "summary": table.attrs["summary"],
                         "error": table.attrs["error"], "references": list(references),
                         "rows": table_records(table)},
                        indent=1))
        return 0 if table.attrs["ok"] else 1
    emit(table.attrs["summary"])
    if table.attrs["error"]:
        return 1
    show = table[["case", "tensor", "shape", "max_rel", "ok"]].copy()
    show["max_rel"] = show["max_rel"].map(lambda v: f"{v:.2e}")
    show["ok"] = show["ok"].map({True: "ok", False: "FAIL"})
    emit(show.to_string(index=False))
    bad = table[~table["ok"]].drop_duplicates("tensor")
    for (diagnosis, fix), group in bad.groupby(["diagnosis", "fix"], sort=False):
        emit(f"MISMATCH {', '.join(group['tensor'])}: {diagnosis}"
             + (f" — fix: {fix}" if fix else ""))
    return 0 if table.attrs["ok"] else 1
