"""``crossframe report``: the comparison report (HTML, Markdown, CSV, plots) into one folder.

Imports nothing heavy: numpy, pandas, torch and TensorFlow are loaded only when ``main`` runs.
"""
from __future__ import annotations

from crossframe.errors import InputError

HELP = "write the comparison report (index.html, report.md, CSV, plots) into a folder"


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise InputError(f"--models {text!r} has an empty item", "e.g. --models mlp,lstm")
    return names


def configure(p) -> None:
    p.add_argument("--out", default="reports/out",
                   help="folder to write (default reports/out); a folder crossframe did not "
                        "write must be new or empty, unless --force")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder crossframe did not write (nothing of "
                        "yours is removed or overwritten: a file of yours under a name the "
                        "report uses is refused)")
    p.add_argument("--models", default=None,
                   help="comma-separated names from `crossframe list` (default: all)")
    p.add_argument("--dtype", action="append", default=None,
                   help="float64 and/or float32 (default both); repeatable")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, batches and training")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed runs per benchmark (default 5: the report stays fast)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs for every model (default: each model's recipe, "
                        "long enough to show it learning: crossframe.training.recipes)")
    p.add_argument("--optimizer", default="adam", help="optimizer of the training curves")
    p.add_argument("--no-bench", action="store_true", help="leave out the speed section")
    p.add_argument("--no-train", action="store_true", help="leave out the training section")
    p.add_argument("--no-differences", action="store_true",
                   help="leave out the sections measuring where the libraries differ (their "
                        "formulas; Keras' float64 on JAX and torch without crossframe's fix)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from crossframe.cliargs import add_max_memory

    add_max_memory(p)


def main(args, extra) -> int:
    from crossframe.errors import InputError

    if extra:
        raise InputError(f"unknown argument(s): {' '.join(extra)}", "see `crossframe report -h`")
    from crossframe.runner import check_dtype
    from crossframe.tolerances import DTYPES

    from .build import build_report

    dtypes = tuple(dict.fromkeys(check_dtype(d) for d in (args.dtype or DTYPES)))
    models = None if args.models is None else _names(args.models)
    report = build_report(args.out, models=models, dtypes=dtypes, seed=args.seed,
                          repeats=args.repeats, epochs=args.epochs, bench=not args.no_bench,
                          train=not args.no_train, differ=not args.no_differences,
                          optimizer=args.optimizer,
                          progress=not args.quiet, force=args.force)
    from crossframe.cliargs import emit

    emit(f"wrote {args.out}/index.html and {args.out}/report.md — {report.verdict.text}")
    return 0 if report.ok else 1
