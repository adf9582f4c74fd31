"""``crossframe train``: the optimizer translation table, trajectory parity, real training runs.

    crossframe train --table [--json]
        crossframe's optimizer settings beside torch.optim's and keras.optimizers' arguments and
        defaults, the update rule each library computes, which settings make them agree, and
        the losses (from_logits, reductions).
    crossframe train MODEL --check [--optimizer NAME] [--steps K] [SETTINGS] [--json]
        K steps (default 20) in each framework (--frameworks; default scratch, torch, keras)
        from the same canonical weights on the same batches;
        every weight tensor compared after every step (exit 0 all within
        crossframe.tolerances.TRAJECTORY, 1 a mismatch). torch~keras is compared net of the
        documented difference, whose size is printed beside it, and split into its two
        sources where torch holds a recurrent bias as bias_ih + bias_hh: those two biases
        (each takes a full step) and the update formula.
    crossframe train MODEL --handover [--optimizer NAME] [--steps K] [SETTINGS] [--json]
        K steps (default 3) in torch, the weights and the optimizer's state (Adam's moments
        and step, momentum buffers, RMSprop / Adagrad accumulators) handed to Keras, K more
        there (and the reverse); compared with uninterrupted runs (round trip, net of the
        documented formula difference, and raw where the formulas agree: exit 0 / 1).
        `crossframe.training.handover` declares each quantity under both libraries' names.
    crossframe train MODEL --epochs N [--optimizer NAME] [--lr LR] [--out DIR]
        train on the model's data set (diabetes / digits) in each framework, with a progress
        bar; writes DIR/curves.csv (framework, epoch, split, metric, value) and DIR/curves.png
        (the curves overlaid). DIR defaults to runs/MODEL.

--frameworks: which to run, of scratch, torch, keras (this process' Keras backend) and Keras on
a named backend, keras-tensorflow, keras-jax, keras-torch (each in a process of its own where
it is not this process' backend); default scratch,torch,keras. --check compares every pair
(two or more); a keras-* side is checked against scratch with Keras' formula, as keras is, and
against keras exactly (one formula). --handover takes two libraries (no scratch) and hands over
both ways. --epochs trains each one named (one or more).
Common flags: --dtype (float64), --seed (0), --batch-size; model options follow the model name
as for ``crossframe check``. SETTINGS: any setting of the optimizer (`train --table` lists
them with each library's argument and default): --lr, --eps, --rho, --beta1, --beta2,
--momentum, --nesterov, --centered, --amsgrad, --initial-accumulator, --weight-decay
(decoupled: Keras' weight_decay, torch's AdamW), --coupled-weight-decay (L2 in the gradient:
torch's weight_decay). --torch-recurrent-bias single trains torch's recurrent layers with the
whole bias in bias_ih and bias_hh frozen at 0: torch then differs from Keras by the update
formula alone (nothing, for SGD, momentum, Nesterov and Adadelta).
Bad input: exit 2, one line, nothing written.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from ..cliargs import add_max_memory, check_seed, emit
from ..errors import InputError
from .config import DECLARATIONS
from .engines import RECURRENT_BIAS, TRAINABLE

DEFAULT_FRAMEWORKS = ("scratch", "torch", "keras")

HELP = "optimizer table, trajectory parity (--check), training runs (--epochs)"

SETTING_FLAGS = {
    "eps": "epsilon (torch eps, Keras epsilon)",
    "rho": "decay of the mean square (torch RMSprop's alpha)",
    "beta1": "Adam-family beta_1 (torch betas[0])",
    "beta2": "Adam-family beta_2 (torch betas[1])",
    "momentum": "momentum coefficient",
    "nesterov": "Nesterov momentum (with --optimizer momentum: the optimizer nesterov)",
    "centered": "centered RMSprop",
    "amsgrad": "Adam's amsgrad",
    "initial_accumulator": "Adagrad's initial accumulator value",
    "weight_decay": "decoupled decay: p <- p - lr wd p (Keras' weight_decay, torch's AdamW)",
    "coupled_weight_decay": "L2 in the gradient: g <- g + wd p (torch's weight_decay)",
}
BOOLEAN_SETTINGS = ("nesterov", "centered", "amsgrad")
# what --table refuses (it prints declarations: nothing runs); dtype and seed keep defaults
TABLE_REFUSES = ("lr", "steps", "out", "batch_size", "init", "force", "frameworks",
                 *SETTING_FLAGS)


def _backends_start(fws) -> None:
    """A Keras backend of ``fws`` that cannot start is an InputError now, not after the other
    frameworks have trained (its worker, started here, is kept for the run)."""
    from ..frameworks import elsewhere
    from ..keras_backends import backend_of, start_problem

    for fw in fws:
        problem = start_problem(backend_of(fw)) if elsewhere(fw) else None
        if problem is not None:
            raise InputError(problem)


def train_frameworks(text: str | None, at_least: int, scratch: bool = True) -> list[str]:
    """``--frameworks scratch,keras,keras-jax`` -> the names, each one ``engines.TRAINABLE``
    (without scratch where ``scratch`` is false), any case, no repeats, not two names for this
    process' Keras, at least ``at_least`` of them; InputError otherwise. None -> the default
    (scratch, torch, keras)."""
    from ..errors import did_you_mean

    known = [n for n in TRAINABLE if scratch or n != "scratch"]
    if text is None:
        return [n for n in DEFAULT_FRAMEWORKS if n in known]
    names = [n.strip().lower() for n in text.split(",")]
    if any(not n for n in names):
        raise InputError(f"--frameworks {text!r} has an empty item",
                         "e.g. --frameworks scratch,keras,keras-jax")
    for n in names:
        if n == "scratch-fast":
            raise InputError("--frameworks scratch-fast: training's scratch already runs the "
                             "fast kernels", "name it scratch")
        if n not in known:
            why = (f"--frameworks: {n} has no optimizer state to hand over" if n == "scratch"
                   else f"--frameworks: unknown framework '{n}'")
            raise InputError(why, did_you_mean(n, known) if n != "scratch" else
                             "name two of " + ", ".join(known))
    if len(set(names)) != len(names):
        raise InputError(f"--frameworks {text!r} names one twice", "name each once")
    from ..cliargs import same_keras

    same_keras(names, "--frameworks")       # keras and keras-tensorflow: one run, twice
    if len(names) < at_least:
        raise InputError(f"--frameworks {text!r}: name {at_least} or more different frameworks",
                         "e.g. --frameworks " + ",".join(known[:max(at_least, 2)]))
    return names


def optimizer_config(args):
    """The OptimizerConfig of the flags: --optimizer and every setting given (InputError for a
    setting the optimizer does not have, e.g. --beta1 with sgd)."""
    from .config import make_config

    name = args.optimizer
    overrides = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k) is not None}
    if overrides.pop("nesterov", None):
        if name not in ("momentum", "nesterov"):
            raise InputError(f"--nesterov is a kind of SGD momentum, not of {name}",
                             "use --optimizer nesterov (or momentum --nesterov)")
        name = "nesterov"
    return make_config(name, lr=args.lr, **overrides)


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n")[0]
    p.epilog = "\n".join(__doc__.split("\n")[2:])
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("model", nargs="?", help="a model from `crossframe list` (not with --table)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--table", action="store_true", help="print the translation table")
    mode.add_argument("--check", action="store_true", help="trajectory parity over --steps")
    mode.add_argument("--handover", action="store_true",
                      help="hand a running optimizer between torch and Keras after --steps K "
                           "(default 3) and compare with uninterrupted runs")
    mode.add_argument("--epochs", type=int, default=None, help="train N epochs on the data set")
    p.add_argument("--optimizer", default=None,
                   help=f"one of: {', '.join(DECLARATIONS)} (default adam; with --table: "
                        "that optimizer's rows only)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the table's)")
    settings = p.add_argument_group("optimizer settings (default: the table's; `train --table`)")
    for name, help_text in SETTING_FLAGS.items():
        flag = "--" + name.replace("_", "-")
        if name in BOOLEAN_SETTINGS:
            settings.add_argument(flag, action="store_true", default=None, help=help_text)
        else:
            settings.add_argument(flag, type=float, default=None, help=help_text)
    p.add_argument("--init", default=None,
                   help="draw the starting weights with keras' or torch's default initialisers "
                        "(`crossframe init --table`); default: crossframe's distinct draw")
    p.add_argument("--torch-recurrent-bias", choices=RECURRENT_BIAS, default="two",
                   help="two (torch's bias_ih + bias_hh, default) or single (bias_hh frozen "
                        "at 0: the whole bias in bias_ih, as Keras' one bias; removes the "
                        "two biases' share of the torch~keras gap, not a formula's)")
    p.add_argument("--steps", type=int, default=None,
                   help="optimizer steps of a --check run (default 20), or before and after "
                        "the hand-over of a --handover run (default 3)")
    p.add_argument("--frameworks", default=None,
                   help="which to run: scratch, torch, keras, keras-tensorflow, keras-jax, "
                        "keras-torch (default scratch,torch,keras; --handover: two, no "
                        "scratch)")
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
        given = [f"--{k.replace('_', '-')}" for k in TABLE_REFUSES
                 if getattr(args, k, None) not in (None, False)]
        given += ["--torch-recurrent-bias"] * (args.torch_recurrent_bias != "two")
        if args.model or extra or given:
            what = " ".join(([args.model] if args.model else []) + list(extra) + given)
            raise InputError(f"--table takes no model or options but --optimizer and --json "
                             f"(got {what})", "run `crossframe train --table [--optimizer "
                                              "NAME]`")
        return print_table(args.json, args.optimizer)
    args.optimizer = args.optimizer or "adam"
    if not args.model:
        raise InputError("train needs a MODEL (or --table)",
                         "e.g. `crossframe train mlp --check` or `crossframe train mlp "
                         "--epochs 20`")
    if not (args.check or args.handover) and args.epochs is None:
        raise InputError(f"say what to do with {args.model}",
                         "add --check (trajectory parity), --handover (optimizer state "
                         "across libraries) or --epochs N (a training run)")
    if args.steps is not None and not (args.check or args.handover):
        raise InputError("--steps counts the steps of a --check or --handover run",
                         "add --check, or use --epochs for a training run")
    if args.force and (args.check or args.handover):
        raise InputError("--force is for --epochs runs (it lets them replace an earlier "
                         "run's files); --check and --handover write nothing", "drop --force")
    if args.out is not None and (args.check or args.handover):
        raise InputError("--out is for --epochs runs", "drop --out, or use --epochs")
    from ..cliargs import model_options
    from ..runner import check_dtype
    from ..spec import get

    spec = get(args.model)
    options = model_options(spec, extra)
    check_dtype(args.dtype)
    check_seed(args.seed)
    config = optimizer_config(args)
    if args.handover:
        fws = train_frameworks(args.frameworks, 2, scratch=False)
        if len(fws) != 2:
            raise InputError(f"--handover hands over between two libraries (got {len(fws)}: "
                             f"{','.join(fws)})", "e.g. --frameworks torch,keras-jax")
    else:
        fws = train_frameworks(args.frameworks, 2 if args.check else 1)
    if args.init is not None:
        from ..initializers import check_library

        args.init = check_library(args.init)
    if spec.kind != "model" or spec.sequential(spec.resolve(options)).loss.upstream:
        raise InputError(f"{args.model} has no loss (a lone-layer check): nothing to train",
                         "train a model from `crossframe list`, or your own with a loss: "
                         "`crossframe train sequential --layers \"dense(units=4); tanh; "
                         "dense(units=1)\" --input 3 --loss mse --check`")
    if args.check or args.handover:
        steps = (20 if args.check else 3) if args.steps is None else args.steps
        if steps < 1:
            raise InputError(f"--steps {steps} must be at least 1",
                             f"pass e.g. --steps {3 if args.handover else 20}")
        _backends_start(fws)
        if args.handover:
            return handover(args, spec, options, config, steps, fws)
        return check(args, spec, options, config, steps, fws)
    _backends_start(fws)
    return fit(args, options, config, fws)


def _keras_lines(fws) -> list[str]:
    """Which Keras and backend each Keras column ran (``keras_backends.column_notes``)."""
    from ..frameworks import base

    if not any(base(fw) == "keras" for fw in fws):
        return []
    from ..keras_backends import column_notes

    return list(column_notes(fws).values())


def check(args, spec, options, config, steps: int, fws=DEFAULT_FRAMEWORKS) -> int:
    from ..cliargs import table_records
    from ..frameworks import base
    from ..keras_backends import backend_of
    from ..runner import prepare
    from ..tolerances import TRAJECTORY
    from .engines import two_bias_names
    from .trajectory import (SINGLE, check_finite, compare_traces, gap_shares, growth,
                             pairs_of, reference, run_sides, sides_needed)

    case = prepare(spec.name, dtype=args.dtype, seed=args.seed, batch_size=args.batch_size,
                   options=options, init=args.init or "canonical")
    bias = args.torch_recurrent_bias
    two = two_bias_names(case.model) if "torch" in fws else ()
    pairs = pairs_of(fws)
    labels = sides_needed(pairs, True, config)
    if two and bias == "two" and {"scratch[torch]", "scratch[keras]"} <= set(labels):
        labels.append(SINGLE)
    traces = run_sides(case, config, steps, labels, bias)
    check_finite(traces, config)
    table = compare_traces(traces, pairs, args.dtype, config=config)
    shares = gap_shares(traces) if SINGLE in traces else None
    ok = bool(table["ok"].all())
    if args.json:
        out = {"rows": table_records(table), "frameworks": list(fws),
               "torch_recurrent_bias": bias, "two_bias_parameters": list(two)}
        if shares is not None:
            out["gap_shares"] = table_records(shares)
        emit(json.dumps(out, indent=1))
        return 0 if ok else 1
    worst = table.loc[table["max_rel"].idxmax()]
    opts = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in case.opts.items())
    verdict = "all within tolerance" if ok else "MISMATCH"
    setup = [f"init={args.init}"] * bool(args.init) + \
        [f"torch-recurrent-bias={bias}"] * (bias != "two")
    emit(f"{spec.name} {opts} {config.describe()} {args.dtype} seed={args.seed} "
          f"batch={case.batch.size} {' '.join(setup + [''])}optimizer steps={steps}: {verdict} "
          f"(worst max_rel {worst.max_rel:.2e} at step {worst.step}, {worst.tensor}, "
          f"{worst.pair}; tol {TRAJECTORY[args.dtype].rel:g})")
    decl = config.declaration
    emit(f"torch:  {decl.torch_rule}\nkeras:  {decl.keras_rule}")
    for name, how in (("coupled_weight_decay", "g <- g + wd p before the update (torch: "
                       "weight_decay; keras: added by crossframe's trainer)"),
                      ("weight_decay", "p <- p - lr wd p before the update (keras: "
                       "weight_decay; torch: " + ("its own argument)" if "weight_decay" in
                                                  config.torch_kwargs() else
                                                  "applied by crossframe's trainer)"))):
        if config.values.get(name):
            emit(f"decay:  {name}={config.values[name]:g}: {how}")
    for line in _keras_lines(fws):
        emit(line)
    own = {fw: reference(fw, config) for fw in fws if base(fw) == "keras"
           and reference(fw, config) != "scratch[keras]"}
    if own:           # Nadam: a Keras formula that differs by backend (trajectory.BY_BACKEND)
        emit(f"{config.name}: Keras casts 0.96 through float32 on TensorFlow and exactly on JAX "
             "and torch (~1e-10 apart within a few steps), so "
             + ", ".join(f"{fw} is checked against {ref}" for fw, ref in own.items())
             + f" (its own backend's cast; keras: {backend_of('keras')}'s), and a pair of Keras "
             "columns on backends that cast differently is explained like torch~keras "
             "(`crossframe train --table --optimizer nadam`).")
    emit("scratch~torch: the real torch run against scratch with torch's formula and torch's "
         "tensors (two recurrent biases where torch has them); scratch~keras: the same for "
         "Keras (on any backend: keras-jax and keras-torch too). So each pair is exact, and the "
         "two scratch runs differ by the documented torch~keras gap; two Keras columns of one "
         "formula are compared directly.")
    explained = "explained" in set(table["kind"])
    emit("worst max_rel over all weights and the loss, by step" + (
        " (an explained pair net of its documented difference, whose size is its "
        "'documented' column):"
        if explained else ":"))
    emit(growth(table).to_string(float_format=lambda v: f"{v:.2e}"))
    if "torch" in fws and any(base(fw) == "keras" for fw in fws):
        emit(two_bias_text(two, bias, shares))
    if args.init:
        from ..initializers import init_note

        emit(init_note(args.init, case.weights) or "")
    for r in table[~table["ok"]].itertuples():
        emit(f"MISMATCH step {r.step} {r.tensor}: {r.pair} max_rel={r.max_rel:.3g} > tol "
              f"{r.tol:g}" + (f" ({r.note})" if r.note else ""))
    return 0 if ok else 1


def handover(args, spec, options, config, steps: int, fws=("torch", "keras")) -> int:
    from ..cliargs import table_records
    from ..tolerances import TRAJECTORY
    from .handover import HandoverError, handover_table, summary
    from .trajectory import non_finite_error

    try:
        with np.errstate(all="ignore"):     # a 0/0 shows as non-finite rows, named below
            table = handover_table(spec.name, config=config, steps=steps, dtype=args.dtype,
                                   seed=args.seed, batch_size=args.batch_size,
                                   options=options, recurrent_bias=args.torch_recurrent_bias,
                                   init=args.init or "canonical",
                                   directions=(tuple(fws), tuple(fws[::-1])))
    except HandoverError as e:
        raise InputError(f"cannot hand the {config.name} state over: {e}",
                         "see `crossframe.training.handover` for what each library keeps") \
            from None
    losses = table[table["tensor"] == "loss"]
    if len(losses) and losses["note"].str.contains("non-finite").all():
        raise non_finite_error(config, "every run's loss")
    ok = bool(table["ok"].all())
    if args.json:
        emit(json.dumps(table_records(table), indent=1))
        return 0 if ok else 1
    verdict = "all within tolerance" if ok else "MISMATCH"
    plural = "s" if steps > 1 else ""
    emit(f"{spec.name} {config.describe()} {args.dtype} seed={args.seed}: {steps} step{plural} "
         f"in one library, the state handed over, {steps} more in the other: {verdict} "
         f"(tol {TRAJECTORY[args.dtype].rel:g})")
    for line in _keras_lines(fws):
        emit(line)
    emit("worst max_rel per direction A->B and kind (roundtrip: A, then B for 0 steps, then A, "
         "against A uninterrupted; explained: A then B, against B uninterrupted, net of the "
         "documented torch~keras difference; raw: the same, nothing subtracted, where the "
         "formulas agree):")
    emit(summary(table).to_string(float_format=lambda v: f"{v:.2e}"))
    explained = table[table["kind"] == "explained"]
    if len(explained):
        emit(f"documented torch~keras difference (explained rows, largest): "
             f"{explained['documented'].max():.2e}")
    from .engines import two_bias_names

    two = two_bias_names(spec.sequential(spec.resolve(options))) if "torch" in fws else ()
    if two:
        emit(two_bias_text(two, args.torch_recurrent_bias))
    for r in table[~table["ok"]].head(20).itertuples():
        emit(f"MISMATCH {r.direction} {r.kind} step {r.step} {r.tensor}: max_rel "
             f"{r.max_rel:.3g} > tol {r.tol:g}" + (f" ({r.note})" if r.note else ""))
    return 0 if ok else 1


def two_bias_text(two: tuple, bias: str, shares=None) -> str:
    """What the run did with torch's two recurrent biases, in a sentence or two."""
    if not two:
        return ("torch holds every tensor once (no recurrent bias split into bias_ih + "
                "bias_hh)" + ("; --torch-recurrent-bias single changes nothing here."
                              if bias == "single" else "."))
    names = ", ".join(two)
    if bias == "single":
        return (f"torch trained with one recurrent bias (--torch-recurrent-bias single): "
                f"{names} frozen at 0, the whole bias in bias_ih, as Keras' one bias. That "
                "removes the two biases' share of the torch~keras gap; what remains (the "
                "documented column) is the update formula's own difference, 0 where the "
                "formulas are the same.")
    text = (f"torch's recurrent biases are two (bias_ih + bias_hh; here {names} is the second): "
            "each receives the full bias gradient and takes its own full step with its own "
            "optimizer state, so their sum moves twice as far per step as Keras' one bias "
            "(exactly twice under SGD).")
    if shares is not None and len(shares):
        last = shares.iloc[-1]
        text += (f" Of the documented torch~keras gap at step {int(last.step)} "
                 f"({last.documented:.2e}), the two biases alone make {last.two_bias:.2e} and "
                 f"the update formula alone {last.formula:.2e}.")
    return text + (" --torch-recurrent-bias single trains torch with bias_hh frozen at 0 and "
                   "removes that share.")


def fit(args, options, config, fws=DEFAULT_FRAMEWORKS) -> int:
    from .engines import two_bias_names
    from .fit import final, train

    df, p, paths = train(args.model, args.epochs, config, args.seed, args.dtype,
                         None, args.batch_size, options, args.out, force=args.force,
                         recurrent_bias=args.torch_recurrent_bias,
                         init=args.init or "canonical", frameworks=fws)
    if args.json:
        emit(json.dumps({"csv": paths["csv"], "png": paths["png"], "frameworks": list(fws),
                         "init": args.init or "canonical",
                         "torch_recurrent_bias": args.torch_recurrent_bias,
                          "final": final(df).to_dict(orient="index")}, indent=1))
        return 0
    setup = "".join([f", init {args.init}"] * bool(args.init) + [
        f", torch recurrent bias {args.torch_recurrent_bias}"] * (
        args.torch_recurrent_bias != "two"))
    epochs = f"{args.epochs} epoch{'s' * (args.epochs != 1)}"
    emit(f"{args.model}: {p.config.describe()}, {epochs}, batch {p.batch_size}, "
          f"{args.dtype}, seed {args.seed}{setup} — after the last epoch:")
    emit(final(df).to_string(float_format=lambda v: f"{v:.4f}"))
    for line in _keras_lines(fws):
        emit(line)
    two = two_bias_names(p.case.model) if "torch" in fws else ()
    if two:
        emit(two_bias_text(two, args.torch_recurrent_bias))
    emit(f"wrote {paths['csv']} and {paths['png']}")
    return 0


def print_table(as_json: bool, optimizer: str | None = None) -> int:
    from .config import NOTES, make_config
    from .tables import TRAJECTORY_NOTE, formula_table, loss_table, translation_table

    tables = {"settings": translation_table(typed=as_json), "formulas": formula_table(),
              "losses": loss_table()}
    if optimizer is not None:
        make_config(optimizer)  # an unknown name: one line, with the choices
        tables = {k: t[t["optimizer"] == optimizer] if "optimizer" in t else t
                  for k, t in tables.items()}
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
              f"keras.optimizers.{r.keras_class}; same formula: {r.same_formula})")
        emit(f"  torch: {r.torch_rule}\n  keras: {r.keras_rule}\n  agree: {r.agree_when}")
    emit(f"\nSame formula, same trajectory? {TRAJECTORY_NOTE}.")
    emit("\nLosses:")
    for r in tables["losses"].itertuples():
        emit(f"\n{r.loss}: {r.formula}\n  torch: {r.torch}\n  keras: {r.keras}"
              f"\n  from_logits: {r.from_logits}\n  reduction: {r.reduction}")
    emit("\nNotes:")
    for note in NOTES:
        emit(f"- {note}")
    return 0
