"""The worst max_rel of Keras on each backend, over every registered model and layer.

    .venv/bin/python scripts/backend_table.py [--dtypes float64,float32] [--csv out.csv]

For each spec of ``crossframe.spec.all_specs()`` (default options, training mode; inference too
for the mode-dependent ones) and each dtype, scratch, torch, keras (this process' backend:
TensorFlow unless KERAS_BACKEND says otherwise), keras-jax and keras-torch run once on the same
canonical weights and batch (``crossframe check NAME --frameworks
scratch,torch,keras,keras-jax,keras-torch``); the table keeps, per dtype and pair, the worst
max_rel over every tensor (outputs, loss, every gradient, state) and spec, and names the spec
and tensor where it is reached. Below it: the worst per backend (over that backend's pairs).
The bounds are crossframe/tolerances.py's: 1e-12 in float64, 1e-5 in float32. A few minutes:
Keras on JAX compiles each model's pass anew per shape and dtype.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

from crossframe.runner import check, prepare
from crossframe.spec import all_specs
from crossframe.tolerances import tolerance

PAIRS = (("keras", "keras-jax"), ("keras", "keras-torch"), ("torch", "keras-jax"),
         ("torch", "keras-torch"), ("scratch", "keras-jax"), ("scratch", "keras-torch"))
BACKENDS = ("keras-jax", "keras-torch")


def measure(dtypes) -> pd.DataFrame:
    """One row per (dtype, spec, mode, pair, tensor): the comparison tables, concatenated."""
    rows = []
    for dtype in dtypes:
        for spec in all_specs():
            model = spec.sequential(spec.resolve())
            modes = ["train"] + (["eval"] if any(c.decl.mode_dependent for c in model.layers)
                                 else [])
            for mode in modes:
                table = check(prepare(spec.name, dtype=dtype, mode=mode), pairs=PAIRS)
                rows.append(table.assign(dtype=dtype, spec=spec.name, mode=mode))
                worst = table.loc[table.max_rel.idxmax()]
                print(f"  {dtype} {spec.name} {mode}: worst {worst.max_rel:.2e} "
                      f"({worst.pair} {worst.tensor})", file=sys.stderr, flush=True)
    return pd.concat(rows, ignore_index=True)


def worst(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The row of the largest max_rel in each group of ``by``."""
    at = table.groupby(by)["max_rel"].idxmax()
    out = table.loc[at, [*by, "max_rel", "spec", "mode", "tensor", "ok"]]
    out["tol"] = [tolerance(d).rel for d in out["dtype"]]
    return out.reset_index(drop=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--csv", help="write every row here too")
    args = parser.parse_args(argv)
    table = measure(args.dtypes.split(","))
    if args.csv:
        table.to_csv(args.csv, index=False)
    pd.set_option("display.width", 140)
    print("worst max_rel per pair (every spec, every tensor):")
    print(worst(table, ["dtype", "pair"]).to_string(index=False, float_format="%.2e"))
    table["backend"] = [next(b for b in BACKENDS if b in p.split("~")) for p in table.pair]
    print("\nworst max_rel per backend (over its pairs):")
    print(worst(table, ["dtype", "backend"]).to_string(index=False, float_format="%.2e"))
    bad = table[~table.ok]
    print(f"\n{len(bad)} of {len(table)} rows over the tolerance")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
