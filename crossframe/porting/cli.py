"""``crossframe convert``: port a checkpoint, verified; or check a port someone made.

    crossframe convert model.pt model.weights.h5            # architecture read off the file
    crossframe convert lstm.pt lstm.keras --steps 5   # and train both 5 steps from it
    crossframe convert w.weights.h5 w.pt --layers "lstm(units=64); dense(units=10)" --input 20x16
    crossframe convert --check model.pt by_hand.weights.h5  # is this hand-made port right?
    crossframe convert model.pt model.weights.h5 --keras-backend jax   # verified on Keras/JAX

Exit 0: verified within the tolerance table (the file written); 1: a mismatch (nothing
written; with --check, the diagnosis says why); 2: bad input, one line (a key report first
when the keys do not fit), nothing written.
"""
from __future__ import annotations

import json
import os

from ..cliargs import check_seed, emit, model_options, table_records
from ..errors import InputError

HELP = "port a checkpoint between torch, Keras and .npz, verified (--check: a hand port)"


def configure(p) -> None:
    p.add_argument("src", nargs="?", help="the checkpoint: .pt/.pth, .safetensors, "
                   ".weights.h5, .keras or .npz")
    p.add_argument("dst", nargs="?", help="the file to write (its extension picks the format)")
    p.add_argument("--check", nargs=2, metavar=("A", "B"), default=None,
                   help="check a port already made: A the original, B the conversion")
    p.add_argument("--model", default=None, help="a preset from `crossframe list` (its options "
                   "as flags after it)")
    p.add_argument("--layers", default=None, help="the architecture, as in check sequential: "
                   "\"lstm(units=64); dense(units=10)\"")
    p.add_argument("--input", default=None, help="per-sample input shape with --layers (20x16), "
                   "or to settle what the file leaves open")
    p.add_argument("--like", default=None, help="a checkpoint of your own torch model: DST "
                   "takes its key names (default: the names of the torch code `describe` "
                   "prints)")
    p.add_argument("--steps", type=int, default=0, help="also train both K steps from the "
                   "converted weights and compare the trajectories")
    p.add_argument("--optimizer", default="sgd", help="with --steps (default sgd)")
    p.add_argument("--lr", type=float, default=None, help="with --steps")
    p.add_argument("--seed", type=int, default=0, help="seed of the verification batch")
    p.add_argument("--batch-size", type=int, default=None, help="rows in that batch")
    p.add_argument("--keras-backend", default=None, metavar="BACKEND",
                   help="verify the Keras side on this backend: tensorflow, jax or torch (or "
                   "keras-jax, ...); default this process' KERAS_BACKEND, tensorflow where "
                   "unset. The file written is the same whichever verifies it")
    p.add_argument("--force", action="store_true", help="overwrite DST")
    p.add_argument("--json", action="store_true", help="print JSON")


def _options(args, extra) -> dict | None:
    if args.model is None:
        if extra:
            raise InputError(f"unknown argument(s): {' '.join(extra)}",
                             "model options follow --model NAME; see `crossframe convert -h`")
        return None
    from ..spec import get

    return model_options(get(args.model), extra)


def main(args, extra) -> int:
    from .api import KeyMismatch, check_port, convert

    check_seed(args.seed)
    options = _options(args, extra)
    common = dict(model=args.model, layers=args.layers, input_shape=args.input,
                  options=options, seed=args.seed, batch_size=args.batch_size,
                  keras_backend=args.keras_backend)
    try:
        if args.check is not None:
            if args.src or args.dst:
                raise InputError("--check takes its two files, and SRC/DST were given too",
                                 "crossframe convert --check A B")
            return _report_check(check_port(*args.check, **common), args.json)
        if not args.src or not args.dst:
            raise InputError("convert needs SRC and DST",
                             "crossframe convert SRC DST, or crossframe convert --check A B")
        result = convert(args.src, args.dst, force=args.force, like=args.like,
                         steps=args.steps, optimizer=args.optimizer, lr=args.lr, **common)
    except KeyMismatch as err:
        if args.json:
            emit(json.dumps({"ok": False, "error": str(err), "keys": err.report.lines()},
                            indent=1))
        else:
            for line in err.report.lines():
                emit(line)
        raise
    return _report_convert(result, args.json)


def _verdict(table) -> str:
    worst, tol = table["max_rel"].max(), table["tol"].iloc[0]
    ok = "all within tolerance" if table["ok"].all() else "MISMATCH"
    return f"{ok} (worst max_rel {worst:.2e}, tol {tol:g})"


def _report_convert(result, as_json: bool) -> int:
    if as_json:
        out = dict(ok=result.ok, written=result.written, src=result.src, dst=result.dst,
                   model=result.model.text(), input=list(result.model.input_shape),
                   dtype=result.dtype, keras=result.keras, notes=result.notes,
                   alternatives=result.alternatives,
                   keys=result.keys, table=table_records(result.table))
        if result.trajectory is not None:
            out["trajectory"] = table_records(result.trajectory)
        emit(json.dumps(out, indent=1))
        return 0 if result.ok else 1
    m = result.model
    emit(f"{result.src} -> {result.dst}: {m.text()} on {tuple(m.input_shape)}, {result.dtype}")
    for line in result.notes:
        emit(f"note: {line}")
    for line in result.alternatives:
        emit(f"or: {line}")
    if result.keys:
        import pandas as pd

        emit(pd.DataFrame(result.keys).rename(columns={
            "tensor": "canonical", "src": os.path.basename(result.src),
            "dst": os.path.basename(result.dst)}).to_string(index=False))
    emit(f"verified, one batch through both: {_verdict(result.table)}")
    show = result.table.drop(columns=["tol"]).copy()
    for col in ("max_abs", "max_rel"):
        show[col] = show[col].map(lambda v: f"{v:.2e}")
    show["ok"] = show["ok"].map({True: "ok", False: "FAIL"})
    emit(show.to_string(index=False))
    if result.trajectory is not None:
        t = result.trajectory
        steps = int(t["step"].max())
        emit(f"trained {steps} step(s) from the converted weights: {_verdict(t)}")
        documented = t["documented"].max()
        if documented == documented and documented > 0:   # not NaN
            emit(f"  the two optimizers' formulas differ by a documented amount (`crossframe "
                 f"train --table`), up to {documented:.2e} here; each run matches its own "
                 "library's formula (crossframe's reference of it) within the tolerance")
        bad = t[~t["ok"]]
        if len(bad) and (bad["note"] == "non-finite values").any():
            emit("  the run went non-finite (training diverged): give a smaller --lr")
        for _, row in bad.head(5).iterrows():
            emit(f"  step {row['step']} {row['tensor']}: max_rel {row['max_rel']:.2e}"
                 + (f" ({row['note']})" if row["note"] else ""))
    if result.written:
        emit(f"wrote {result.dst}")
    else:
        emit(f"MISMATCH: {result.dst} not written")
    return 0 if result.ok else 1


def _report_check(check, as_json: bool) -> int:
    findings = [dict(tensor=f.tensor, mistake=f.key, says=f.says, fix=f.fix)
                for f in check.findings]
    if as_json:
        emit(json.dumps(dict(ok=check.ok, a=check.a, b=check.b, model=check.model.text(),
                             dtype=check.dtype, keras=check.keras, notes=check.notes,
                             weights=table_records(check.weights),
                             table=table_records(check.table), findings=findings), indent=1))
        return 0 if check.ok else 1
    a, b = os.path.basename(check.a), os.path.basename(check.b)
    emit(f"{a} vs {b}: {check.model.text()} on {tuple(check.model.input_shape)}, {check.dtype}")
    for line in check.notes:
        emit(f"note: {line}")
    emit(f"weights: {_verdict(check.weights)}")
    bad = check.weights[~check.weights["ok"]]
    for _, row in bad.iterrows():
        emit(f"  {row['tensor']}: max_rel {row['max_rel']:.2e}")
    emit(f"outputs and gradients, one batch through both: {_verdict(check.table)}")
    for f in check.findings:
        emit(f"DIAGNOSIS {f.tensor}: {f.says} Fix: {f.fix}")
    if check.ok:
        emit("the port is right")
    elif not check.findings:
        emit("no known mistake reproduces the difference")
    return 0 if check.ok else 1
