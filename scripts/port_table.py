"""The porting acceptance table: five models written with plain torch and plain Keras,
converted both ways by ``crossframe.convert``, with the verification's worst errors.

    .venv/bin/python scripts/port_table.py [--dtype float64]

One row per (model, direction): the worst max_rel over outputs and loss, over parameter
gradients, and over the input gradient (crossframe.tolerances' measure), each in the modes the
verification runs, and the seconds the conversion took (reading, writing, verifying).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "parity_tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    args = parser.parse_args()

    import torch

    import crossframe as cf
    from crossframe.keras_impl.backend import keras
    import test_convert as plain          # the hand-written models of the acceptance tests

    keras.config.set_floatx(args.dtype)
    keras.config.set_dtype_policy(args.dtype)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in plain.MODELS:
            module = plain.torch_model(name)
            model = plain.randomize_keras(plain.keras_model(name))
            if args.dtype == "float32":
                module = module.float()
            pt, keras_file = os.path.join(folder, f"{name}.pt"), os.path.join(folder,
                                                                              f"{name}.keras")
            torch.save(module.state_dict(), pt)
            model.save(keras_file)
            extra = {"input_shape": "6x6x2"} if name == "convnet" else {}
            for src, dst, direction in ((pt, f"{name}_port.weights.h5", "torch -> keras"),
                                        (keras_file, f"{name}_port.pt", "keras -> torch")):
                start = time.perf_counter()
                result = cf.convert(src, os.path.join(folder, dst), **extra)
                seconds = time.perf_counter() - start
                t = result.table
                kind = t["kind"]
                rows.append(dict(
                    model=name, direction=direction, ok=result.ok,
                    modes="+".join(dict.fromkeys(t["mode"])),
                    outputs=t[kind.isin(["forward", "loss"])]["max_rel"].max(),
                    param_grads=t[kind == "param grad"]["max_rel"].max(),
                    input_grad=t[kind == "input grad"]["max_rel"].max(),
                    seconds=f"{seconds:.2f}"))
    frame = pd.DataFrame(rows)
    with pd.option_context("display.float_format", "{:.2e}".format):
        print(frame.to_string(index=False))
    print(f"worst over all: {np.nanmax(frame[['outputs', 'param_grads', 'input_grad']]):.2e} "
          f"({args.dtype})")
    return 0 if frame["ok"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
