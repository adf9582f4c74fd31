"""crossframe: classic models written three times (NumPy from scratch, PyTorch, Keras 3) and
proven equal — forward outputs, the loss, and the gradient of the loss for every parameter and
for the input.

    import crossframe as cf
    from crossframe import layers as L

    model = cf.Sequential([L.Dense(units=32), L.Tanh(), L.Dense(units=1)], input_shape=(13,),
                          loss=cf.Loss("mae", reduction="sum"))
    case = cf.prepare(model, dtype="float64")            # or a name: cf.prepare("lstm")
    table = cf.check(case)                               # pandas: one row per pair and tensor
    torch_result = cf.run(case, "torch")                 # outputs, loss, every gradient
    cf.compare_expected(torch_result, {"out:output": my_y}, "float64")
    cf.convert("model.pt", "model.keras")                # a checkpoint ported, verified

Everything is imported on first use, so ``import crossframe`` imports neither torch nor
TensorFlow.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Sequential": "crossframe.sequential", "parse_layers": "crossframe.sequential",
    "Loss": "crossframe.losses",
    "prepare": "crossframe.runner", "run": "crossframe.runner", "check": "crossframe.runner",
    "run_all": "crossframe.runner", "Case": "crossframe.runner",
    "compare": "crossframe.result", "compare_expected": "crossframe.result",
    "compare_arrays": "crossframe.result", "failures": "crossframe.result",
    "Result": "crossframe.result",
    "list_specs": "crossframe.spec", "get": "crossframe.spec",
    "tolerance": "crossframe.tolerances",
    "verify": "crossframe.verification",
    "convert": "crossframe.porting.api", "check_port": "crossframe.porting.api",
}

__all__ = ["__version__", "layers", *_LAZY]


def __dir__():
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str):
    if name == "layers":
        return importlib.import_module("crossframe.layers")
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        return getattr(module, "all_specs" if name == "list_specs" else name)
    raise AttributeError(f"module 'crossframe' has no attribute {name!r}")
