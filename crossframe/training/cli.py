"""``crossframe train``: the optimizer translation table, trajectory parity, real training runs.

    crossframe train --table [--json]
        crossframe's optimizer settings beside torch.optim's and keras.optimizers' arguments and
        defaults, the update rule each library computes, which settings make them agree, and
        the losses (from_logits, reductions).
    crossframe train MODEL --check [--optimizer NAME] [--steps K] [--lr LR] [--json]
        K steps (default 20) in all three from the same canonical weights on the same batches;
        every weight tensor compared after every step (exit 0 all within
        crossframe.tolerances.TRAJECTORY, 1 a mismatch). torch~keras is compared net of the
        documented formula difference, whose size is printed beside it.
    crossframe train MODEL --epochs N [--optimizer NAME] [--lr LR] [--out DIR]
        train on the model's data set (diabetes / digits) in all three, with a progress bar;
        writes DIR/curves.csv (framework, epoch, split, metric, value) and DIR/curves.png (the
        three curves overlaid). DIR defaults to runs/MODEL.

Common flags: --dtype (float64), --seed (0), --batch-size; model options follow the model name
as for ``crossframe check``. Bad input: exit 2, one line, nothing written.
"""
from __future__ import annotations

import argparse
import json

from ..cliargs import add_max_memory, check_seed, emit
from ..errors import InputError
from .config import DECLARATIONS

HELP = "optimizer table, trajectory parity (--check), training runs (--epochs)"


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n")[0]
    p.epilog = "\n".join(__doc__.split("\n")[2:])
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("model", nargs="?", help="a model from `crossframe list` (not with --table)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--table", action="store_true", help="print the translation table")
    mode.add_argument("--check", action="store_true", help="trajectory parity over --steps")
    mode.add_argument("--epochs", type=int, default=None, help="train N epochs on the data set")
    p.add_argument("--optimizer", default="adam",
                   help=f"one of: {', '.join(DECLARATIONS)} (default adam)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the table's)")
    p.add_argument("--steps", type=int, default=None, help="steps of a --check run (default 20)")
    p.add_argument("--out", default=None, help="folder for --epochs output (default runs/MODEL)")
    p.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, batches, split")
    p.add_argument("--batch-size", type=int, default=None, help="rows per step")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--force", action="store_true",
                   help="write curves.csv / curves.png over an earlier run's")
    add_max_memory(p)


def main(args, extra) -> int:
    if args.table:
        if args.model or extra:
            raise InputError("--table takes no model or options",
                             "run `crossframe train --table` alone")
        return print_table(args.json)
    if not args.model:
        raise InputError("train needs a MODEL (or --table)",
                         "e.g. `crossframe train mlp --check` or `crossframe train mlp "
                         "--epochs 20`")
    if not args.check and args.epochs is None:
        raise InputError(f"say what to do with {args.model}",
                         "add --check (trajectory parity) or --epochs N (a training run)")
    if args.steps is not None and not args.check:
        raise InputError("--steps counts the steps of a --check run",
                         "add --check, or use --epochs for a training run")
    if args.out is not None and args.check:
        raise InputError("--out is for --epochs runs", "drop --out, or use --epochs")
    from ..cliargs import model_options
    from ..runner import check_dtype
    from ..spec import get
    from .config import make_config

    spec = get(args.model)
    options = model_options(spec, extra)
    check_dtype(args.dtype)
    check_seed(args.seed)
    config = make_config(args.optimizer, lr=args.lr)
    if spec.kind != "model" or spec.sequential(spec.resolve(options)).loss.upstream:
        raise InputError(f"{args.model} has no loss (a lone-layer check): nothing to train",
                         "train a model from `crossframe list`, or give --loss")
    if args.check:
        steps = 20 if args.steps is None else args.steps
        if steps < 1:
            raise InputError(f"--steps {steps} must be at least 1", "pass e.g. --steps 20")
        return check(args, spec, options, config, steps)
    return fit(args, options)


def check(args, spec, options, config, steps: int) -> int:
    from ..cliargs import table_records
    from ..runner import prepare
    from ..spec import PAIRS
    from ..tolerances import TRAJECTORY
    from .trajectory import compare_traces, growth, run_sides, sides_needed

    case = prepare(spec.name, dtype=args.dtype, seed=args.seed, batch_size=args.batch_size,
                   options=options)
    traces = run_sides(case, config, steps, sides_needed(PAIRS, True))
    table = compare_traces(traces, PAIRS, args.dtype)
    ok = bool(table["ok"].all())
    if args.json:
        emit(json.dumps(table_records(table), indent=1))
        return 0 if ok else 1
    worst = table.loc[table["max_rel"].idxmax()]
    opts = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in case.opts.items())
    verdict = "all within tolerance" if ok else "MISMATCH"
    emit(f"{spec.name} {opts} {config.describe()} {args.dtype} seed={args.seed} "
          f"batch={case.batch.size} steps={steps}: {verdict} "
          f"(worst max_rel {worst.max_rel:.2e} at step {worst.step}, {worst.tensor}, "
          f"{worst.pair}; tol {TRAJECTORY[args.dtype].rel:g})")
    decl = config.declaration
    emit(f"torch:  {decl.torch_rule}\nkeras:  {decl.keras_rule}")
    emit("worst max_rel over all weights and the loss, by step (torch~keras net of the "
          "documented difference, whose size is the last column):")
    emit(growth(table).to_string(float_format=lambda v: f"{v:.2e}"))
    for r in table[~table["ok"]].itertuples():
        emit(f"MISMATCH step {r.step} {r.tensor}: {r.pair} max_rel={r.max_rel:.3g} > tol "
              f"{r.tol:g}" + (f" ({r.note})" if r.note else ""))
    return 0 if ok else 1


def fit(args, options) -> int:
    from .fit import final, train

    df, p, paths = train(args.model, args.epochs, args.optimizer, args.seed, args.dtype,
                         args.lr, args.batch_size, options, args.out, force=args.force)
    if args.json:
        emit(json.dumps({"csv": paths["csv"], "png": paths["png"],
                          "final": final(df).to_dict(orient="index")}, indent=1))
        return 0
    emit(f"{args.model}: {p.config.describe()}, {args.epochs} epochs, batch {p.batch_size}, "
          f"{args.dtype}, seed {args.seed} — after the last epoch:")
    emit(final(df).to_string(float_format=lambda v: f"{v:.4f}"))
    emit(f"wrote {paths['csv']} and {paths['png']}")
    return 0


def print_table(as_json: bool) -> int:
    from .config import NOTES
    from .tables import formula_table, loss_table, translation_table

    tables = {"settings": translation_table(), "formulas": formula_table(),
              "losses": loss_table()}
    if as_json:
        emit(json.dumps({k: t.to_dict(orient="records") for k, t in tables.items()}
                         | {"notes": list(NOTES)}, indent=1, default=str))
        return 0
    emit("Optimizer settings: crossframe's value is handed to both libraries; each library's "
          "own default beside its argument name.\n")
    emit(tables["settings"].to_markdown(index=False, tablefmt="simple"))
    emit("\nUpdate rules (t counts steps from 1; b1, b2 = beta1, beta2; mu = momentum):")
    for r in tables["formulas"].itertuples():
        emit(f"\n{r.optimizer}: {r.summary}  (torch.optim.{r.torch_class} / "
              f"keras.optimizers.{r.keras_class}; same trajectory: {r.same_trajectory})")
        emit(f"  torch: {r.torch_rule}\n  keras: {r.keras_rule}\n  agree: {r.agree_when}")
    emit("\nLosses:")
    for r in tables["losses"].itertuples():
        emit(f"\n{r.loss}: {r.formula}\n  torch: {r.torch}\n  keras: {r.keras}"
              f"\n  from_logits: {r.from_logits}\n  reduction: {r.reduction}")
    emit("\nNotes:")
    for note in NOTES:
        emit(f"- {note}")
    return 0
