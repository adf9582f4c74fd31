"""The worst max_rel per option group, framework pair and dtype, over the variants of issue 20.

    .venv/bin/python scripts/variants_table.py [--quick] [--csv out.csv]

Each group is a list of models in the --layers syntax (input shape, loss "upstream": a random
upstream gradient on every output, so every output and gradient is compared). For each model
and dtype, scratch, torch and Keras run once on the same canonical weights and batch; the
table keeps the worst max_rel over every tensor (outputs, loss, every parameter gradient, the
input gradient) and model of the group. The tolerance table is crossframe/tolerances.py.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

from crossframe.frameworks import PAIRS
from crossframe.result import compare
from crossframe.runner import prepare, run
from crossframe.sequential import Sequential

REC = "return_sequences=true, return_state=true, initial_state=true"
GROUPS: dict[str, list[tuple[str, str]]] = {
    "conv1d (valid/same/causal, strides, dilation, groups)": [
        ("conv1d(filters=4, kernel_size=3)", "9x3"),
        ("conv1d(filters=4, kernel_size=4, strides=2, padding=same)", "9x3"),
        ("conv1d(filters=6, kernel_size=3, padding=causal, dilation_rate=2, groups=3)", "10x3"),
        ("conv1d(filters=5, kernel_size=2, padding=same, dilation_rate=3)", "8x2"),
    ],
    "conv1d -> flatten -> dense": [
        ("conv1d(filters=4, kernel_size=3, padding=causal); flatten; dense(units=3)", "7x2"),
    ],
    "conv2d dilation and groups": [
        ("conv2d(filters=6, kernel_size=3, dilation_rate=2, padding=same)", "9x8x3"),
        ("conv2d(filters=6, kernel_size=3x2, groups=3, strides=2, padding=same)", "9x8x3"),
        ("conv2d(filters=6, kernel_size=3, groups=3, dilation_rate=2x1)", "9x8x3"),
    ],
    "conv2dtranspose": [
        ("conv2dtranspose(filters=3, kernel_size=3, strides=2, padding=same)", "4x5x2"),
        ("conv2dtranspose(filters=2, kernel_size=4x3, strides=2x3, padding=valid, "
         "output_padding=1)", "3x4x3"),
        ("conv2dtranspose(filters=3, kernel_size=3, strides=3, padding=same)", "3x3x2"),
    ],
    "pooling 1-D (max/average, valid/same)": [
        ("maxpool1d(pool_size=3, strides=2, padding=same)", "9x3"),
        ("averagepool1d(pool_size=3, strides=2, padding=same)", "9x3"),
        ("averagepool1d(pool_size=2)", "7x3"),
    ],
    "pooling 2-D 'same'": [
        ("maxpool2d(pool_size=3, strides=2, padding=same)", "8x7x2"),
        ("averagepool2d(pool_size=2x3, strides=2, padding=same)", "7x8x2"),
    ],
    "global pooling 1-D/2-D": [
        ("globalmaxpool1d", "9x3"), ("globalaveragepool1d", "9x3"),
        ("globalmaxpool2d", "5x4x3"), ("globalaveragepool2d", "5x4x3"),
    ],
    "activations (layers)": [
        (name, "6") for name in ("gelu", "gelu(approximate=true)", "elu(alpha=0.7)", "selu",
                                 "leaky_relu", "leaky_relu(negative_slope=0.01)",
                                 "hard_sigmoid", "hard_sigmoid_keras2", "silu", "softplus")
    ],
    "dense(activation=...)": [
        (f"dense(units=4, activation={a})", "6")
        for a in ("relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "leaky_relu",
                  "hard_sigmoid", "hard_sigmoid_keras2", "silu", "softplus")
    ],
    "recurrent use_bias=false": [
        (f"{c}(units=4, use_bias=false, {REC})", "5x3") for c in ("simple_rnn", "lstm", "gru")
    ],
    "recurrent go_backwards": [
        (f"{c}(units=4, go_backwards=true, {REC})", "5x3") for c in ("simple_rnn", "lstm", "gru")
    ],
    "recurrent num_layers=2": [
        (f"{c}(units=4, num_layers=2, {REC})", "5x3") for c in ("simple_rnn", "lstm", "gru")
    ],
    "recurrent bidirectional (concat/sum/mul/ave)": [
        (f"{c}(units=4, bidirectional=true, merge_mode={m}, return_sequences=true)", "5x3")
        for c in ("simple_rnn", "lstm", "gru") for m in ("concat", "sum", "mul", "ave")
    ],
    "recurrent T=100 (bidirectional, 2 layers)": [
        (f"{c}(units=4, bidirectional=true, num_layers=2, return_sequences=true)", "100x3")
        for c in ("simple_rnn", "lstm", "gru")
    ],
    "masking (mask_zero ids, right-padded, lengths differ)": [
        (f"embedding(input_dim=9, output_dim=3, mask_zero=true); {c}(units=4, {o}"
         "return_sequences=true)", "7")
        for c in ("simple_rnn", "lstm", "gru")
        for o in ("", "bidirectional=true, num_layers=2, ", "zero_output_for_mask=true, ")
    ],
    "text model: embedding -> bigru x2 -> globalmaxpool1d -> dense": [
        ("embedding(input_dim=16, output_dim=6); gru(units=5, num_layers=2, bidirectional=true, "
         "return_sequences=true); globalmaxpool1d; dense(units=3)", "12"),
    ],
}


def worst(layers: str, shape: str, dtype: str) -> dict[str, float]:
    model = Sequential.parse(layers, shape, "upstream")
    case = prepare(model, dtype=dtype, seed=0, batch_size=5)
    results = {fw: run(case, fw) for fw in ("scratch", "torch", "keras")}
    return {f"{a}~{b}": float(compare(results[a], results[b], dtype)["max_rel"].max())
            for a, b in PAIRS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first model of each group")
    parser.add_argument("--groups", default="", help="only groups whose name contains this")
    parser.add_argument("--csv", help="also write the table here")
    args = parser.parse_args(argv)
    rows = []
    for group, models in GROUPS.items():
        if args.groups and args.groups not in group:
            continue
        for layers, shape in models[:1] if args.quick else models:
            for dtype in ("float64", "float32"):
                for pair, value in worst(layers, shape, dtype).items():
                    rows.append({"group": group, "dtype": dtype, "pair": pair,
                                 "max_rel": value, "model": layers})
        print(f"done: {group}", file=sys.stderr)
    table = pd.DataFrame(rows)
    out = table.groupby(["group", "dtype", "pair"], sort=False)["max_rel"].max().unstack("pair")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)
    print(out.map(lambda v: f"{v:.1e}").to_string())
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
