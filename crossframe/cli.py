"""crossframe: one model in NumPy from scratch, PyTorch and Keras 3, proven equal.

    crossframe list                     models and layers known
    crossframe describe MODEL           canonical names/shapes and each framework's mapping
    crossframe check MODEL              run all three, compare every tensor (exit 0 / 1)
    crossframe weights MODEL --out F    write the canonical weights as .npz (a template)
    crossframe train --table            optimizer hyper-parameter translation torch <-> Keras
    crossframe train MODEL --check      optimizer trajectory parity, step by step
    crossframe train MODEL --epochs N   real training in all three: CSV + overlaid PNG
    crossframe bench                    forward+backward timings, scratch/torch ratio
    crossframe report                   the comparison report (HTML, Markdown, CSV, plots)

Model and layer options are flags after the model name: ``crossframe check mlp --hidden 64,32``,
``crossframe check conv2d --kernel 4 --stride 2 --padding same``; ``describe MODEL`` lists them.

Exit codes: 0 all within tolerance, 1 a mismatch, 2 bad input (one line on stderr, no
traceback, nothing written).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from .errors import InputError

# Verbs living in their own modules: each has configure(parser) and main(args) -> int.
VERB_MODULES = {
    "train": "crossframe.training.cli",
    "bench": "crossframe.bench",
    "report": "crossframe.reports.cli",
}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is an InputError (one line, exit 2)."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def _add_common(p, weights=True):
    p.add_argument("model", help="a name from `crossframe list`")
    p.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and batch (default 0)")
    p.add_argument("--batch-size", type=int, default=None, help="rows in the batch")
    if weights:
        p.add_argument("--weights", default=None, help="canonical weights .npz to load")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def model_options(spec, extra: list[str]) -> dict:
    """Parse ``--name value`` flags against the spec's declared options."""
    p = Parser(prog=f"crossframe ... {spec.name}", add_help=False)
    for o in spec.options:
        p.add_argument(f"--{o.name}", dest=o.name, default=None, help=o.help)
    try:
        ns, rest = p.parse_known_args(extra)
    except InputError:
        raise
    if rest:
        names = ", ".join(f"--{o.name}" for o in spec.options) or "none"
        raise InputError(f"unknown option(s) for {spec.name}: {' '.join(rest)}",
                         f"{spec.name} takes: {names}")
    return {k: v for k, v in vars(ns).items() if v is not None}


def cmd_list(args, extra) -> int:
    from .spec import all_specs

    specs = all_specs()
    if args.json:
        print(json.dumps([{"name": s.name, "kind": s.kind, "family": s.family,
                           "summary": s.summary} for s in specs], indent=1))
        return 0
    for kind in ("model", "layer"):
        print(f"{kind}s:")
        for s in specs:
            if s.kind == kind:
                print(f"  {s.name:<18} {s.summary}")
    return 0


def _prepare(args, extra):
    from .run import prepare
    from .spec import get

    spec = get(args.model)
    return prepare(args.model, dtype=args.dtype, seed=args.seed, batch_size=args.batch_size,
                   weights_path=getattr(args, "weights", None),
                   options=model_options(spec, extra))


def cmd_check(args, extra) -> int:
    from .run import check
    from .result import failures

    case = _prepare(args, extra)
    table = check(case)
    ok = bool(table["ok"].all())
    if args.json:
        print(json.dumps(table_records(table), indent=1))
    else:
        _print_table(case, table)
        for line in failures(table):
            print("MISMATCH", line)
    return 0 if ok else 1


def table_records(table) -> list[dict]:
    """Rows as plain JSON values, full float precision (inf -> null: strict JSON)."""
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v.item() if hasattr(v, "item") else v

    return [{k: clean(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def _print_table(case, table):
    worst = table["max_rel"].max()
    tol = table["tol"].iloc[0]
    verdict = "all within tolerance" if table["ok"].all() else "MISMATCH"
    opts = " ".join(f"--{k} {v}" for k, v in case.opts.items() if k != "sizes")
    print(f"{case.spec.name} {opts} dtype={case.dtype} seed={case.seed} "
          f"batch={len(next(iter(case.batch.inputs.values())))}: {verdict} "
          f"(worst max_rel {worst:.2e}, tol {tol:g})")
    show = table.drop(columns=["tol"]).copy()
    show["max_abs"] = show["max_abs"].map(lambda v: f"{v:.2e}")
    show["max_rel"] = show["max_rel"].map(lambda v: f"{v:.2e}")
    show["ok"] = show["ok"].map({True: "ok", False: "FAIL"})
    print(show.to_string(index=False))


def cmd_describe(args, extra) -> int:
    from .describe import describe, render
    from .spec import get

    spec = get(args.model)
    info = describe(spec, spec.resolve(model_options(spec, extra)))
    print(json.dumps(info, indent=1) if args.json else render(info))
    return 0


def cmd_weights(args, extra) -> int:
    from . import data, weights_io
    from .run import check_dtype
    from .spec import get

    spec = get(args.model)
    check_dtype(args.dtype)
    opts = spec.resolve(model_options(spec, extra))
    w = data.init_weights(spec.param_specs(opts), args.seed, args.dtype)
    weights_io.save(args.out, w)
    print(f"wrote {len(w)} canonical parameters of {spec.name} ({args.dtype}) to {args.out}")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="crossframe", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=Parser)

    p = sub.add_parser("list", help="models and layers known")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("check", help="run all three and compare every tensor")
    _add_common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("describe", help="canonical layout and each framework's mapping")
    p.add_argument("model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_describe)

    p = sub.add_parser("weights", help="write canonical weights (.npz) for a model")
    p.add_argument("model")
    p.add_argument("--out", required=True, help="file to write (.npz)")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_weights)

    for verb, module in VERB_MODULES.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name and module.startswith(err.name):
                continue  # that capability is not installed in this tree yet
            raise
        p = sub.add_parser(verb, help=mod.HELP)
        mod.configure(p)
        p.set_defaults(func=lambda a, e, mod=mod: mod.main(a, e))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and args.verb in ("list",):
            raise InputError(f"unknown argument(s): {' '.join(extra)}",
                             "see `crossframe --help`")
        return int(args.func(args, extra) or 0)
    except InputError as err:
        print(f"crossframe: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `crossframe check mlp | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("crossframe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
