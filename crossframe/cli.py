"""crossframe: one model in NumPy from scratch, PyTorch and Keras 3, proven equal.

    crossframe list                     models, lone-layer checks and layer kinds
    crossframe describe NAME            canonical names/shapes, each framework's mapping, the code
    crossframe describe --layer LSTM    a layer kind: options, equations, where it is written
    crossframe describe lstm --lesson   a layer kind's lesson: scratch, torch and Keras code
    crossframe check MODEL              run all three, compare every tensor (exit 0 / 1)
    crossframe check sequential --layers "dense(units=32); tanh; dense(units=1)" --input 13
                                        your own model (--loss, --reduction: see describe)
    crossframe verify my_lstm.py --layer lstm    your own layer, and which mistake it made
    crossframe weights MODEL --out F    write the canonical weights as .npz (a template)
    crossframe convert SRC DST          port a checkpoint torch <-> Keras <-> .npz, verified
    crossframe convert --check A B      is a hand-made port right, and if not, why
    crossframe train --table            optimizer hyper-parameter translation torch <-> Keras
    crossframe train MODEL --check      optimizer trajectory parity, step by step
    crossframe train MODEL --epochs N   real training in all three: CSV + overlaid PNG
    crossframe bench                    forward+backward timings, scratch/torch ratio
    crossframe report                   the comparison report (HTML, Markdown, CSV, plots)

Model options are flags after the model name, under Keras' names: ``crossframe check mlp
--units 64,32``, ``crossframe check conv2d --kernel-size 4 --strides 2 --padding same``;
``describe MODEL`` lists them.

Exit codes: 0 all within tolerance, 1 a mismatch, 2 bad input (one line on stderr, no
traceback, nothing written). The exit code is the comparison's, whatever happens to the output
(``crossframe check ... | head -1`` on a mismatch still exits 1).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading

import numpy as np

from .cliargs import (Parser, add_max_memory, check_seed, emit, framework_list, model_options,
                      silence_stdout, table_records)
from .errors import (InputError, Terminated, clear_signals, raise_if_signalled, raised,
                     record_signal, signal_lost, signalled)
from .keras_backends import WorkerError

# Verbs living in their own modules: each has HELP, configure(parser) and main(args) -> int.
VERB_MODULES = {
    "verify": "crossframe.verification.cli",
    "train": "crossframe.training.cli",
    "bench": "crossframe.bench",
    "report": "crossframe.reports.cli",
    "init": "crossframe.initializers_cli",
    "convert": "crossframe.porting.cli",
}


def _add_common(p, weights=True):
    p.add_argument("model", help="a name from `crossframe list`")
    p.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and batch (default 0)")
    p.add_argument("--batch-size", type=int, default=None, help="rows in the batch")
    if weights:
        p.add_argument("--weights", default=None, help="canonical weights .npz to load")
        _add_init(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_max_memory(p)


def _add_init(p) -> None:
    p.add_argument("--init", default=None,
                   help="draw the weights with a library's default initialisers: keras or "
                        "torch (default canonical: crossframe's own, non-zero distinct biases; "
                        "`crossframe init --table` lists both libraries' defaults)")


def _init(args) -> str:
    """--init's value ("canonical" when not given); with --weights it is bad input."""
    from .initializers import check_library

    if args.init is None:
        return "canonical"
    if getattr(args, "weights", None):
        raise InputError(f"--init {args.init} draws the weights, --weights gives them: not both",
                         "drop --init to check your weights, or drop --weights to draw them")
    return check_library(args.init)




def cmd_list(args, extra) -> int:
    from .layers import all_layers
    from .spec import all_specs

    specs = all_specs()
    if args.json:
        emit(json.dumps({"specs": [{"name": s.name, "kind": s.kind, "family": s.family,
                                    "summary": s.summary} for s in specs],
                         "layers": [{"name": d.name, "title": d.title, "family": d.family,
                                     "keras": d.keras, "torch": d.torch}
                                    for d in all_layers()],
                         "frameworks": {n: w for n, w in FRAMEWORK_HELP}}, indent=1))
        return 0
    for kind, title in (("model", "models"), ("layer", "lone-layer checks")):
        emit(f"{title}:")
        for s in specs:
            if s.kind == kind:
                emit(f"  {s.name:<24} {s.summary}")
    emit("layer kinds (in --layers, `describe --layer NAME`):")
    for d in all_layers():
        emit(f"  {d.name:<24} {d.title}: {d.keras} / {d.torch}")
    emit("frameworks (in --frameworks):")
    for name, what in FRAMEWORK_HELP:
        emit(f"  {name:<24} {what}")
    return 0


FRAMEWORK_HELP = (
    ("scratch", "NumPy from scratch, the textbook layers (scratch/)"),
    ("scratch-fast", "the tuned twins where one exists (scratch/fast/)"),
    ("torch", "PyTorch (torch_impl/)"),
    ("keras", "Keras 3 on KERAS_BACKEND, tensorflow where unset (keras_impl/)"),
    ("keras-tensorflow", "Keras 3 on TensorFlow"),
    ("keras-jax", "Keras 3 on JAX, x64 on (a backend not KERAS_BACKEND's: its own process)"),
    ("keras-torch", "Keras 3 on PyTorch (likewise)"),
)


def _own_data(path: str | None) -> dict:
    """--inputs FILE.npz: inputs by name (x, h0, ...), ``target``, ``upstream:OUTPUT``."""
    if not path:
        return {}
    from . import weights_io

    if path.strip().isdigit() and not os.path.exists(path):
        raise InputError(f"--inputs takes your batch as a .npz file, not a size ({path})",
                         "the input size option of a preset is --features")
    arrays = weights_io.read(path, "inputs")
    inputs = {k: v for k, v in arrays.items() if k != "target" and not k.startswith("upstream:")}
    upstream = {k.split(":", 1)[1]: v for k, v in arrays.items() if k.startswith("upstream:")}
    return {"inputs": inputs, "target": arrays.get("target"), "upstream": upstream or None}


def _pairs(frameworks: list[str]) -> list[tuple[str, str]]:
    from .frameworks import PAIRS

    chosen = [p for p in PAIRS if p[0] in frameworks and p[1] in frameworks]
    chosen += [(a, b) for i, a in enumerate(frameworks) for b in frameworks[i + 1:]
               if (a, b) not in chosen and (b, a) not in chosen]
    return chosen


def cmd_check(args, extra) -> int:
    from .frameworks import FRAMEWORKS
    from .result import failures
    from .runner import check, prepare, run_all
    from .spec import get

    spec = get(args.model)
    options = model_options(spec, extra)
    check_seed(args.seed)
    fws = framework_list(args.frameworks, FRAMEWORKS)
    init = _init(args)
    if args.dump is not None:
        from .writing import check_writable

        check_writable(args.dump, args.force, ".npz")
        for flag, given in (("--weights", args.weights), ("--inputs", args.inputs)):
            if given and os.path.abspath(given) == os.path.abspath(args.dump):
                raise InputError(f"--dump {args.dump} is the {flag} file",
                                 "dump to another file: the input is never overwritten")
    case = prepare(args.model, dtype=args.dtype, seed=args.seed, batch_size=args.batch_size,
                   weights_path=args.weights, options=options, mode=args.mode, init=init,
                   **_own_data(args.inputs))
    results = run_all(case, fws, backward=not args.forward_only)
    table = check(case, _pairs(fws), results=results)
    ok = bool(table["ok"].all())
    if args.dump is not None:
        _dump(args.dump, case, results)
    from .keras_backends import column_notes

    notes = column_notes(fws)
    if args.json:
        emit(json.dumps(_with_backends(table_records(table), notes), indent=1))
    else:
        from .initializers import init_note

        _print_table(case, table, init_note(init, case.weights), list(notes.values()))
        if case.model.ids is not None and not args.forward_only:
            emit("no grad:x: x holds integer ids (an Embedding's input), which have no gradient "
                 "in any library")
        for line in failures(table, case.model):
            emit(f"MISMATCH {line}")
        if args.dump is not None:
            emit(f"wrote every tensor to {args.dump}")
    return 0 if ok else 1


def _with_backends(rows: list[dict], notes: dict[str, str]) -> list[dict]:
    """Each JSON row gains ``ran``: the Keras column notes of its pair (``column_notes``: the
    lines the table prints), joined by "; "; "" for a pair without a Keras column."""
    for row in rows:
        row["ran"] = "; ".join(notes[fw] for fw in row["pair"].split("~") if fw in notes)
    return rows


def _dump(path: str, case, results) -> None:
    """Inputs, weights and every framework's tensors by canonical name, written atomically."""
    from . import weights_io

    arrays = {f"input:{k}": v for k, v in case.batch.inputs.items()}
    arrays.update({f"weight:{k}": v for k, v in case.weights.items()})
    arrays.update({f"upstream:{k}": v for k, v in case.batch.upstream.items()})
    if case.batch.target is not None:
        arrays["target"] = case.batch.target
    for fw, r in results.items():
        arrays.update({f"{fw}/{name}": value for name, (_, value) in r.tensors().items()})
    weights_io.save(path, arrays, force=True)


def _print_table(case, table, note: str | None = None, columns=()):
    worst = table["max_rel"].max()
    tol = table["tol"].iloc[0]
    verdict = "all within tolerance" if table["ok"].all() else "MISMATCH"
    opts = " ".join(f"--{k.replace('_', '-')} {_flag(v)}" for k, v in case.opts.items()
                    if not k.startswith("_") and v is not None)
    emit(f"{case.spec.name} {opts} dtype={case.dtype} mode={case.mode} seed={case.seed} "
         f"batch={case.batch.size}: {verdict} (worst max_rel {worst:.2e}, tol {tol:g})")
    for line in ([note] if note else []) + list(case.model.notes):
        emit(f"note: {line}")
    for line in columns:
        emit(line)
    show = table.drop(columns=["tol"]).copy()
    show["max_abs"] = show["max_abs"].map(lambda v: f"{v:.2e}")
    show["max_rel"] = show["max_rel"].map(lambda v: f"{v:.2e}")
    show["ok"] = show["ok"].map({True: "ok", False: "FAIL"})
    emit(show.to_string(index=False))


def _flag(v) -> str:
    if isinstance(v, tuple):
        return "x".join(map(str, v))
    if isinstance(v, str) and (" " in v or ";" in v):
        return repr(v)
    return str(v).lower() if isinstance(v, bool) else str(v)


def cmd_describe(args, extra) -> int:
    from .describe import describe, describe_layer, render, render_layer
    from .layers import get as get_layer
    from .spec import all_specs, get

    presets = {s.name for s in all_specs()}
    if args.lesson:
        return describe_lesson(args, extra)
    if args.reductions and (args.layer or args.model not in presets):
        raise InputError(f"--reductions measures a model's loss; {args.model} is a layer kind",
                         "pick a model from `crossframe list`, e.g. `crossframe describe mlp "
                         "--reductions`")
    if args.layer or args.model not in presets:
        if args.model not in presets:
            try:
                decl = get_layer(args.model)
            except InputError:
                raise InputError(f"unknown model or layer '{args.model}'",
                                 "see `crossframe list`") from None
        else:
            decl = get_layer(args.model)
        if extra:
            raise InputError(f"describe --layer takes no options: {' '.join(extra)}",
                             f"drop them; `crossframe describe --layer {decl.name}`")
        info = describe_layer(decl)
        emit(json.dumps(info, indent=1) if args.json else render_layer(info))
        return 0
    spec = get(args.model)
    opts = spec.resolve(model_options(spec, extra))
    if args.reductions:
        return describe_reductions(spec, opts, args.json)
    info = describe(spec, opts)
    emit(json.dumps(info, indent=1) if args.json else render(info))
    return 0


def describe_lesson(args, extra) -> int:
    """``describe LAYER --lesson``: the layer kind's lesson (crossframe.lesson), its
    differences measured and its lone-layer checks run in float64 and float32."""
    from . import lesson

    if args.reductions:
        raise InputError("--lesson and --reductions do not go together",
                         "give one of them")
    if extra:
        raise InputError(f"describe --lesson takes no options: {' '.join(extra)}",
                         f"drop them; `crossframe describe {args.model} --lesson`")
    info = lesson.lesson(args.model)
    emit(json.dumps(info, indent=1) if args.json else lesson.render(info))
    return 0


def describe_reductions(spec, opts, as_json: bool) -> int:
    """``describe MODEL --reductions``: each loss reduction's factor on every gradient,
    measured with the real libraries (crossframe.training.reductions)."""
    from .training.reductions import reduction_table

    table = reduction_table(spec.name, options=opts)
    if as_json:
        emit(json.dumps(table_records(table), indent=1))
        return 0
    emit(f"{spec.name}: loss reductions, measured on its own output and batch with the real "
         "libraries (factor: on every gradient, relative to torch's mean)\n")
    emit(table.to_markdown(index=False, tablefmt="simple", floatfmt=".6g"))
    emit("\nEvery parameter gradient is linear in dL/d(prediction), so one factor scales them "
         "all. Under SGD and momentum a sum reduction is a learning rate times the factor "
         "(sgd_lr_for_the_mean_run: the lr that follows a mean run at lr 1); Adam, RMSprop "
         "and Adagrad divide it out up to eps (adam_first_step_ratio: a first torch Adam "
         "step, lr 1e-3 and eps 1e-7, over the mean's; the median over the entries).")
    return 0


def cmd_weights(args, extra) -> int:
    from . import weights_io
    from .runner import check_dtype
    from .spec import get
    from .writing import check_writable

    from . import resources

    spec = get(args.model)
    check_dtype(args.dtype)
    check_seed(args.seed)
    init = _init(args)
    opts = spec.resolve(model_options(spec, extra))
    check_writable(args.out, args.force, ".npz")
    params = spec.param_specs(opts)
    if not params:
        raise InputError(f"{spec.name} has no parameters: there are no weights to write",
                         "pick a model or layer with parameters (`crossframe list`)")
    size = sum(int(np.prod(p.shape)) for p in params) * np.dtype(args.dtype).itemsize
    resources.guard(2 * size, f"the weights of {spec.name}", "use smaller sizes")
    from .initializers import draw

    w = draw(spec.sequential(opts), init, args.seed, args.dtype)
    weights_io.save(args.out, w, force=args.force)
    from .initializers import drawn_by

    drawn = "" if init == "canonical" else f", drawn by {drawn_by(init)}"
    emit(f"wrote {len(w)} canonical parameters of {spec.name} ({args.dtype}{drawn}) to "
         f"{args.out}")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="crossframe", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=Parser)

    p = sub.add_parser("list", help="models, lone-layer checks and layer kinds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("check", help="run all three and compare every tensor",
                       epilog="Model options follow the model name under Keras' names "
                              "(`crossframe describe MODEL` lists them); your own model: "
                              "`check sequential --layers \"dense(units=32); tanh; "
                              "dense(units=1)\" --input 13 --loss mae --reduction sum`.")
    _add_common(p)
    p.add_argument("--frameworks", default=None,
                   help="two or more of scratch, scratch-fast, torch, keras (default: the "
                        "three); only those are imported and run")
    p.add_argument("--mode", default="train", help="train (default) or eval, for all three")
    p.add_argument("--inputs", default=None,
                   help="your own batch (.npz): every input (x, and h0, c0 where the model "
                        "takes them), optionally target and upstream:OUTPUT; a target or "
                        "upstream gradient not given is drawn to match")
    p.add_argument("--dump", default=None,
                   help="write inputs, weights and every framework's tensors to this .npz")
    p.add_argument("--forward-only", action="store_true",
                   help="compare outputs and the loss only, no backward pass")
    p.add_argument("--force", action="store_true", help="overwrite an existing --dump file")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("describe", help="canonical layout, each framework's mapping, the code")
    p.add_argument("model", help="a name from `crossframe list` (a model or a layer kind)")
    p.add_argument("--layer", action="store_true", help="describe the layer kind NAME")
    p.add_argument("--lesson", action="store_true",
                   help="the lesson of the layer kind NAME: equations, scratch code, torch and "
                        "Keras code, mapping, differences (measured), parity (checked)")
    p.add_argument("--reductions", action="store_true",
                   help="measure each loss reduction's factor on every gradient (torch mean / "
                        "sum, Keras sum_over_batch_size / sum) with the real libraries")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_describe)

    p = sub.add_parser("weights", help="write canonical weights (.npz) for a model")
    p.add_argument("model")
    p.add_argument("--out", required=True, help="file to write (.npz)")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    _add_init(p)
    add_max_memory(p)
    p.set_defaults(func=cmd_weights)

    for verb, module in VERB_MODULES.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(verb, help=mod.HELP)
        mod.configure(p)
        p.set_defaults(func=lambda a, e, mod=mod: mod.main(a, e))
    return parser


# A signal put off (it came in the middle of an import) is sent again this much later.
RESEND_AFTER_S = 0.05
_sending = threading.Lock()     # held while a put-off signal is sent, so main's finally waits
_catching = [False]             # whether main's handlers are in place and want the signal


def _importing(frame) -> bool:
    """Whether ``frame`` runs inside an import begun after ``main`` started: a native module's
    initialiser that calls back into Python can abort the process on an exception raised
    there (torch's ``_c10d_init`` gave "terminate called after throwing an instance of
    'pybind11::error_already_set'" and SIGABRT)."""
    while frame is not None and frame.f_code is not main.__code__:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _send_again(signum: int) -> None:
    """Send ``signum`` to this process again after RESEND_AFTER_S, unless main has ended."""
    def send():
        with _sending:
            if _catching[0]:
                os.kill(os.getpid(), signum)
    timer = threading.Timer(RESEND_AFTER_S, send)
    timer.daemon = True
    timer.start()


def _on_signal(signum, frame):
    """SIGINT and SIGTERM: recorded, then raised (KeyboardInterrupt, ``Terminated``) where the
    process is, so every writer cleans up; put off while an import runs; nothing more once
    raised, so a second signal does not cut the clean-up short."""
    record_signal(signum)        # kept, should a gc callback swallow the raise
    if not _catching[0] or raised():
        return
    if _importing(frame):
        _send_again(signum)
        return
    raise_if_signalled()


def _catch_signals() -> dict:
    """Install the SIGINT and SIGTERM handlers; returns the handlers they replace. SIGINT is
    left alone unless it has Python's own handler (an ignored SIGINT stays ignored); neither
    is touched off the main thread (an embedding application)."""
    previous = {}
    wanted = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        wanted.append(signal.SIGINT)
    for signum in wanted:
        try:
            previous[signum] = signal.signal(signum, _on_signal)
        except ValueError:   # not the main thread
            break
    _catching[0] = bool(previous)
    return previous


def _release_signals(previous: dict) -> None:
    """Put back the handlers ``_catch_signals`` replaced; a put-off signal still on its way is
    taken by ``_on_signal`` (signal.signal runs pending handlers first) and dropped."""
    _catching[0] = False
    with _sending:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _quiet_lost_signal(previous_hook):
    """A sys.unraisablehook for an interrupt a gc callback (or a ``__del__``) swallowed: it
    prints nothing (main's one line is the last word) and the signal is sent again, so it is
    raised where it can be (``raise_if_signalled`` also raises it at each step of a report or
    a training run). Anything else goes to ``previous_hook``."""
    def hook(unraisable):
        error = unraisable.exc_value
        if isinstance(error, (KeyboardInterrupt, Terminated)) and signalled():
            signal_lost()
            if _catching[0]:
                _send_again(signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT)
            return
        previous_hook(unraisable)
    return hook


def _quiet_at_exit() -> None:
    """After an interrupt the one line is the last word: TensorFlow's shutdown warnings
    (a function traced but not finished) are not shown."""
    import logging

    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    clear_signals()
    previous = _catch_signals()
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_lost_signal(previous_hook)
    try:
        from .environment import prepare

        prepare()
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and args.verb in ("list",):
            raise InputError(f"unknown argument(s): {' '.join(extra)}",
                             "see `crossframe --help`")
        if getattr(args, "max_memory", None) is not None:
            from . import resources

            resources.set_budget(args.max_memory)
        return int(args.func(args, extra) or 0)
    except InputError as err:
        print(f"crossframe: error: {err}", file=sys.stderr)
        return 2
    except WorkerError as err:   # a Keras backend's process died: said, and nothing compared
        print(f"crossframe: error: {err} — run again; if it stops again, run the command with "
              "KERAS_BACKEND set to that backend to see its own error", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output closed before the verb decided: nothing was compared
        silence_stdout()
        return 0
    except KeyboardInterrupt:
        _quiet_at_exit()
        print("crossframe: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Terminated:
        _quiet_at_exit()
        print("crossframe: terminated; nothing was written", file=sys.stderr)
        return 143
    finally:
        _release_signals(previous)
        sys.unraisablehook = previous_hook
        clear_signals()
        from . import resources

        resources.set_budget(None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
