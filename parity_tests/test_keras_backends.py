"""Keras on JAX and on torch: the parity matrix over Keras' backends, and every upstream
difference keras_impl works around, pinned on the Keras it was measured on.

The matrix: every registered model and layer (``crossframe.spec.all_specs()``), default
options, training mode (and inference for the mode-dependent ones), with ``keras-jax`` and
``keras-torch`` each compared against ``keras`` (Keras on TensorFlow, this process) and against
``torch``, every tensor within the table's tolerance: float64 on both backends; float32 on torch
for every spec and on JAX for a subset (``JAX_FLOAT32``: JAX's compiling is the cost);
then non-default options that take other code paths in the backends (padding, strides,
dilation and groups of conv and pool; go_backwards, initial state, bidirectional and stacked
layers, masking in the recurrent ones; the activations swapped on torch), float64. Ids read
``lstm-keras-jax-float64``. Each test runs one backend once and checks both of its pairs; the
backends' worker processes start once per pytest process (crossframe.keras_backends) and are
reused. scripts/backend_table.py prints the worst figures of the full sweep.

The upstream pins run Keras' own code, not crossframe's, in a fresh process per backend
(``KERAS_BACKEND`` set, crossframe imported only where said), and assert the difference as
measured on Keras 3.15.1, torch 2.13.0, JAX 0.10.2: when a release fixes one, its test fails with
"fixed upstream: drop the workaround in ...".

- float64 promotion (keras_impl/backend.py): Keras' ``result_type("float64", "float64")`` is
  float32 on JAX and torch, so ``ops.tanh`` (JAX), ``ops.matmul`` (torch) and ``ops.var`` (both)
  compute float64 input in float32;
- torch's 'same' average pool with asymmetric pads (keras_impl/pooling.py, RealCountSame):
  replicate-padded, the edge counted twice (the averagepool1d check was max_rel 0.28 off);
- torch's hard_sigmoid backward (keras_impl/dense.py, hard_sigmoid_relu6): float32(1/6) in a
  float64 gradient (hard_sigmoid's dL/dx 2.98e-8 off).
"""
import json
import os
import subprocess
import sys
from functools import lru_cache

import numpy as np
import pytest

from crossframe.runner import prepare, run
from crossframe.spec import all_specs
from crossframe.testing import assert_results_match
from crossframe.tolerances import DTYPES, HAND_WRITTEN, tolerance

BACKENDS = ("keras-jax", "keras-torch")
REFERENCES = ("keras", "torch")
SPECS = all_specs()
NAMES = [s.name for s in SPECS]


def _mode_dependent(spec) -> bool:
    return any(cfg.decl.mode_dependent for cfg in spec.sequential(spec.resolve()).layers)


MODE_DEPENDENT = [s.name for s in SPECS if _mode_dependent(s)]

# Keras on JAX compiles a model's pass for each new model, shape and dtype (0.2-12 s of CPU a
# spec, jit-compiled or eager alike): the full float64 sweep costs ~100 s of CPU in the JAX
# worker and the float32 sweep as much again (torch: ~20 s and ~5 s; measured with
# crossframe.keras_backends.call("jax", "time:process_time") around each run). So Keras on
# torch runs every spec in float32 as in float64, and Keras on JAX runs float32 on this
# subset, one or more of each op family, ~12 s: Dense and the MSE loss,
# BatchNormalization, Dropout, LayerNormalization, Softmax, GELU, a max and an average pool, a
# convolution, Embedding, Masking, and each recurrent cell over a sequence.
# scripts/backend_table.py runs every spec on both backends in both dtypes.
JAX_FLOAT32 = ("linear", "dense", "batchnorm", "dropout", "layernorm", "softmax", "gelu",
               "maxpool2d", "averagepool1d", "conv1d", "embedding", "masking", "rnn_seq",
               "lstm_seq", "gru_reset_before_seq")


def _runs(name: str, backend: str, dtype: str) -> bool:
    return backend == "keras-torch" or dtype == "float64" or name in JAX_FLOAT32


def _matrix(names):
    return [pytest.param(n, b, d, id=f"{n}-{b}-{d}") for n in names for b in BACKENDS
            for d in DTYPES if _runs(n, b, d)]


# Non-default options, each a code path of its own in a backend's Keras: the padding amounts
# each backend computes (symmetric or not), dilated and grouped convolutions, the recurrent
# loop's direction, stacking, initial state and masking, the activations keras_impl swaps on
# torch. All run on torch; on JAX (each new shape ~0.3-12 s of compiling) those marked True,
# ~16 s: the others' JAX code path is another case's (a 2-D dilation is the 1-D's
# rhs_dilation, two stacked layers are two layers' scans).
OPTION_CASES = [
    ("conv2d", {"padding": "valid"}, False),
    ("conv2d", {"strides": (1, 1), "dilation_rate": (2, 2)}, True),
    ("conv2d", {"channels": 4, "filters": 6, "groups": 2}, False),
    ("conv2d", {"strides": (2, 1), "kernel_size": (2, 2), "use_bias": False}, False),
    ("conv1d", {"padding": "same", "strides": 2, "dilation_rate": 1}, False),
    ("conv1d", {"padding": "valid", "strides": 2, "dilation_rate": 1}, True),
    ("conv1d", {"groups": 2, "filters": 4}, True),
    ("maxpool2d", {"padding": "same", "pool_size": (3, 3), "strides": (2, 2)}, True),
    ("maxpool1d", {"padding": "same", "pool_size": 2, "strides": 1}, True),
    ("averagepool2d", {"padding": "same"}, True),                        # pads (0, 1), (1, 1)
    ("averagepool2d", {"padding": "same", "pool_size": (3, 3), "strides": (1, 1)}, True),
    ("averagepool1d", {"padding": "valid"}, True),
    ("averagepool1d", {"padding": "same", "pool_size": 4, "strides": 3}, True),  # pads (1, 2)
    ("conv2dtranspose", {"padding": "valid", "output_padding": (1, 2)}, False),
    ("conv2dtranspose", {"strides": (1, 1)}, True),
    ("rnn_layer", {"go_backwards": True, "return_sequences": False, "initial_state": False,
                   "use_bias": False, "activation": "relu"}, True),
    ("lstm_layer", {"num_layers": 2, "initial_state": False}, False),
    ("lstm_layer", {"recurrent_activation": "hard_sigmoid"}, True),
    ("gru_layer", {"bidirectional": True, "num_layers": 2, "merge_mode": "ave"}, False),
    ("gru_reset_before_layer", {"bidirectional": True, "merge_mode": "mul"}, True),
    ("text_bigru", {"merge_mode": "sum"}, False),
    ("embedding", {"mask_zero": True}, True),
    ("masking", {"mask_value": 0.5}, True),
    ("batchnorm", {"center": False, "scale": False}, True),
    ("layernorm", {"input": "7", "epsilon": 1e-5}, True),
    ("dense", {"activation": "hard_sigmoid"}, False),
    ("dense", {"activation": "softmax", "use_bias": False}, True),
]


def _text(value) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _option_params():
    """``conv2d[strides=1x1,dilation_rate=2x2]-keras-jax``."""
    params = []
    for name, opts, on_jax in OPTION_CASES:
        said = ",".join(f"{k}={_text(v)}" for k, v in opts.items())
        params += [pytest.param(name, opts, backend, id=f"{name}[{said}]-{backend}")
                   for backend in BACKENDS if on_jax or backend == "keras-torch"]
    return params


@lru_cache(maxsize=None)
def _case(name: str, dtype: str, mode: str, options: tuple):
    return prepare(name, dtype=dtype, seed=0, mode=mode, options=dict(options) or None)


@lru_cache(maxsize=None)
def _result(name: str, dtype: str, mode: str, options: tuple, framework: str):
    return run(_case(name, dtype, mode, options), framework)


def assert_backend_matches(name: str, backend: str, dtype: str, mode: str = "train",
                           options: dict | None = None) -> None:
    """``backend`` against keras (TensorFlow) and torch, every tensor within the table."""
    opts = tuple(sorted((options or {}).items()))
    got = _result(name, dtype, mode, opts, backend)
    label = name + (f" {dict(opts)}" if opts else "") + f" {mode}"
    for reference in REFERENCES:
        assert_results_match(_result(name, dtype, mode, opts, reference), got, dtype,
                             f"{label} {reference}~{backend}")


@pytest.mark.parametrize("name, backend, dtype", _matrix(NAMES))
def test_backend_matrix(name, backend, dtype):
    assert_backend_matches(name, backend, dtype)


@pytest.mark.parametrize("name, backend, dtype", _matrix(MODE_DEPENDENT))
def test_backend_matrix_in_inference(name, backend, dtype):
    assert_backend_matches(name, backend, dtype, mode="eval")


@pytest.mark.parametrize("name, options, backend", _option_params())
def test_backend_options_float64(name, options, backend):
    assert_backend_matches(name, backend, "float64", options=options)


def test_the_matrix_covers_every_registered_spec_in_float64_on_both_backends():
    ran = {(p.values[0], p.values[1], p.values[2]) for p in _matrix(NAMES)}
    assert {(n, b, "float64") for n in NAMES for b in BACKENDS} <= ran
    assert {(n, "keras-torch", "float32") for n in NAMES} <= ran
    # a renamed spec must not drop out of the float32 or options subsets unseen
    assert set(JAX_FLOAT32) <= set(NAMES) and {c[0] for c in OPTION_CASES} <= set(NAMES)
    assert {"mlp_bn", "batchnorm", "dropout"} <= set(MODE_DEPENDENT)


# --- upstream, pinned --------------------------------------------------------------------------
# Run as a script in a fresh interpreter: plain Keras first (crossframe not imported), then with
# crossframe's keras_impl imported (its float64 fix applied), then Keras' own layers on torch.
UPSTREAM = r'''
import json, os, sys
import numpy as np
import keras
from keras.src.backend.common import dtypes

backend = keras.backend.backend()
x = np.linspace(-2.0, 2.0, 12).reshape(3, 4)


def kinds():
    name = keras.backend.standardize_dtype
    ops = keras.ops
    return {"result_type": str(dtypes.result_type("float64", "float64")),
            "tanh": name(ops.tanh(x).dtype), "matmul": name(ops.matmul(x, x.T).dtype),
            "var": name(ops.var(x).dtype)}


out = {"backend": backend, "plain": kinds(), "crossframe_imported_before": any(
    m.startswith("crossframe") for m in sys.modules)}
import crossframe.keras_impl.backend  # noqa: E402
out["crossframe"] = kinds()

if backend == "torch":
    import torch
    from crossframe.keras_impl.dense import hard_sigmoid_relu6
    from crossframe.keras_impl.pooling import (AveragePooling1DRealCount,
                                               AveragePooling2DRealCount)

    def as_list(t):
        return keras.ops.convert_to_numpy(t).tolist()

    seq = np.arange(1.0, 9.0).reshape(1, 8, 1)              # [1..8], k=3, s=2, pads (0, 1)
    img = np.arange(1.0, 17.0).reshape(1, 4, 4, 1) ** 1.5   # 4x4, k=3, s=2, pads (0, 1) both
    out["pool1d"] = {
        "keras": as_list(keras.layers.AveragePooling1D(3, 2, "same", dtype="float64")(seq)),
        "workaround": as_list(AveragePooling1DRealCount(3, 2, "same", dtype="float64")(seq))}
    out["pool1d_symmetric"] = as_list(                      # k=3, s=1: pads (1, 1)
        keras.layers.AveragePooling1D(3, 1, "same", dtype="float64")(seq))
    out["pool2d"] = {
        "keras": as_list(keras.layers.AveragePooling2D(3, 2, "same", dtype="float64")(img)),
        "workaround": as_list(AveragePooling2DRealCount(3, 2, "same", dtype="float64")(img))}
    points = [-2.5, -0.4, 0.7, 2.9]                          # inside (-3, 3): dy/dx = 1/6
    functions = {"keras": keras.activations.hard_sigmoid, "workaround": hard_sigmoid_relu6}
    for key, fn in functions.items():
        t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        y = fn(t)
        (grad,) = torch.autograd.grad(y.sum(), t)
        out.setdefault("hard_sigmoid", {})[key] = {"y": y.tolist(), "grad": grad.tolist()}
print("UPSTREAM " + json.dumps(out))
'''


@lru_cache(maxsize=None)
def upstream(backend: str) -> dict:
    """What the script above measured on ``backend`` (one fresh process per backend)."""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_ENABLE_X64": "1",
           "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", UPSTREAM], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("UPSTREAM ")]
    got = json.loads(line[len("UPSTREAM "):])
    assert got["backend"] == backend and not got["crossframe_imported_before"]
    return got


FLOAT32_ON = {"jax": ("result_type", "tanh", "var"), "torch": ("result_type", "matmul", "var")}
BACKEND_FIX = "Keras fixed this upstream: drop the float64 promotion fix in keras_impl/backend.py"
POOL_FIX = ("Keras fixed this upstream: drop RealCountSame (the torch 'same' average) in "
            "keras_impl/pooling.py")
HARD_SIGMOID_FIX = ("torch/Keras fixed this upstream: drop hard_sigmoid_relu6 (the torch "
                    "hard_sigmoid) in keras_impl/dense.py")


def relative(got, want) -> float:
    """max |got - want| / max |want|: the table's normwise measure."""
    got, want = np.asarray(got), np.asarray(want)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def same_average(x: np.ndarray, k: int, s: int, pad: str) -> np.ndarray:
    """A 'same' average of axis 1 of (N, L, ...), written out here independently of keras_impl:
    out = ceil(L / s), pad_total = max((out - 1) s + k - L, 0), the odd pad after (TensorFlow's
    rule). ``pad="real"``: each window the mean of its real elements (TensorFlow, JAX);
    ``pad="edge"``: the input edge-replicated first and every window divided by k (what Keras'
    torch backend computes for asymmetric pads)."""
    L = x.shape[1]
    out = -(-L // s)
    total = max((out - 1) * s + k - L, 0)
    before = total // 2
    if pad == "edge":
        widths = [(0, 0)] * x.ndim
        widths[1] = (before, total - before)
        x, before = np.pad(x, widths, mode="edge"), 0
    windows = [x[:, max(i * s - before, 0):min(i * s - before + k, x.shape[1])]
               for i in range(out)]
    return np.stack([w.mean(axis=1) for w in windows], axis=1)


def same_average_2d(img: np.ndarray, k: int, s: int, pad: str) -> np.ndarray:
    """``same_average`` over H, then W, of (N, H, W, C): the mean of a rectangle of elements
    is the mean of its rows' means."""
    rows = same_average(img, k, s, pad)
    return same_average(rows.swapaxes(1, 2), k, s, pad).swapaxes(1, 2)


def test_upstream_on_jax():
    """Keras on JAX, crossframe not imported: float64 computed in float32 by tanh and var;
    with keras_impl.backend imported, float64."""
    got = upstream("jax")
    problems = _promotion_problems("jax", got)
    assert not problems, "; ".join(problems)


def test_upstream_on_torch():
    """Keras on torch: float64 computed in float32 by matmul and var (keras_impl.backend keeps
    it); a 'same' average over asymmetric pads counting the replicated edge (keras_impl's
    RealCountSame divides by the real elements; symmetric pads are right upstream, torch's own
    count_include_pad=False); hard_sigmoid's gradient with a float32 1/6
    (keras_impl's hard_sigmoid_relu6 exact). Every difference is checked, all named at once."""
    got = upstream("torch")
    problems = _promotion_problems("torch", got)

    seq = np.arange(1.0, 9.0).reshape(1, 8, 1)              # [1..8], k=3, s=2, pads (0, 1)
    real, edge = same_average(seq, 3, 2, "real"), same_average(seq, 3, 2, "edge")
    assert real[0, -1, 0] == 7.5 and edge[0, -1, 0] == 23 / 3    # (7 + 8) / 2, (7 + 8 + 8) / 3
    if relative(got["pool1d"]["keras"], edge) > HAND_WRITTEN.rel:
        problems.append(f"AveragePooling1D same: {got['pool1d']['keras']}, no longer the "
                        f"replicated edge {edge.ravel().tolist()}: {POOL_FIX}")
    if relative(got["pool1d"]["workaround"], real) > HAND_WRITTEN.rel:
        problems.append(f"RealCountSame 1D: {got['pool1d']['workaround']}, not {real.ravel()}")

    symmetric = same_average(seq, 3, 1, "real")             # torch's padding=1 and
    if relative(got["pool1d_symmetric"], symmetric) > HAND_WRITTEN.rel:   # count_include_pad
        problems.append("Keras' torch AveragePooling1D same with symmetric pads is no longer "
                        "the mean of the real elements: RealCountSame's docstring says it is")

    img = np.arange(1.0, 17.0).reshape(1, 4, 4, 1) ** 1.5   # 4x4, k=3, s=2, pads (0, 1) twice
    real, edge = same_average_2d(img, 3, 2, "real"), same_average_2d(img, 3, 2, "edge")
    assert relative(edge, real) > 0.05                      # 0.092: the two rules differ here
    if relative(got["pool2d"]["keras"], edge) > HAND_WRITTEN.rel:
        problems.append(f"AveragePooling2D same: no longer the replicated edge: {POOL_FIX}")
    if relative(got["pool2d"]["workaround"], real) > HAND_WRITTEN.rel:
        problems.append("RealCountSame 2D: not the mean of the real elements")

    hard = got["hard_sigmoid"]
    points = np.array([-2.5, -0.4, 0.7, 2.9])               # inside (-3, 3): dy/dx = 1/6
    for key in ("keras", "workaround"):                     # the forward is exact in both
        if relative(hard[key]["y"], points / 6 + 0.5) > HAND_WRITTEN.rel:
            problems.append(f"hard_sigmoid forward ({key}): {hard[key]['y']}")
    sixth32 = float(np.float32(1 / 6))                       # 1/6 (1 + 2.98e-8)
    if hard["keras"]["grad"] != [sixth32] * 4:
        problems.append(f"hard_sigmoid dL/dx {hard['keras']['grad']}, no longer float32(1/6) "
                        f"= {sixth32}: {HARD_SIGMOID_FIX}")
    if hard["workaround"]["grad"] != [1 / 6] * 4:
        problems.append(f"hard_sigmoid_relu6 dL/dx {hard['workaround']['grad']}, not 1/6")
    assert not problems, "; ".join(problems)


def _promotion_problems(backend: str, got: dict) -> list[str]:
    plain, fixed = got["plain"], got["crossframe"]
    problems = [f"plain Keras on {backend}: {op} of float64 is {plain[op]}, no longer float32: "
                f"{BACKEND_FIX}" for op in FLOAT32_ON[backend] if plain[op] != "float32"]
    problems += [f"with keras_impl.backend on {backend}: {op} of float64 is {kind}"
                 for op, kind in fixed.items() if kind != "float64"]
    return problems


# --- the Keras code describe prints, run as a user would on JAX and torch -------------------
PRINTED = r"""
import sys
import numpy as np
code, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
source = open(code).read()
line = "dtypes.BIT64_TO_BIT32_DTYPE['float64'] = 'float64'"
assert line in source
arrays = np.load(data, allow_pickle=False)
got = {}
# first as a user who leaves out the float64 line gets it, then as printed (the line changes
# Keras for the rest of the process, so the order matters)
for how, text in (("as shipped", source.replace(line, "")), ("fixed", source)):
    namespace = {}
    exec(text, namespace)
    keras, model = namespace["keras"], namespace["model"]
    sequential = isinstance(model, keras.Sequential)
    for v in model.weights:
        v.assign(arrays["weight:" + (v.path.split("/", 1)[1] if sequential else v.path)])
    inputs = {k[len("input:"):]: arrays[k] for k in arrays.files if k.startswith("input:")}
    y = model(inputs["x"] if sequential else inputs, training=False)
    (y,) = y.values() if isinstance(y, dict) else (y,)
    got[how] = keras.ops.convert_to_numpy(y)
assert "crossframe" not in sys.modules
np.savez(out, **got)
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_printed_keras_code_keeps_float64_on_jax_and_torch(backend, tmp_path):
    """describe's Keras code, run by plain Keras on ``backend`` (crossframe not imported), agrees
    with Keras on TensorFlow here in float64; without its float64 line the LSTM's output is
    float32-rounded there (tanh on JAX, matmul on torch), the difference the line exists for."""
    case = prepare("lstm", batch_size=3)
    weights = case.mapping("keras").params_to_framework(case.weights)
    code, data = tmp_path / "model.py", tmp_path / "data.npz"
    code.write_text(case.model.keras_code())
    np.savez(data, **{f"weight:{k}": v for k, v in weights.items()},
             **{f"input:{k}": v for k, v in case.batch.inputs.items()})
    want = run(case, "keras", backward=False).outputs
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_ENABLE_X64": "1",
           "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    out = tmp_path / "outputs.npz"
    done = subprocess.run([sys.executable, "-c", PRINTED, str(code), str(data), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (want,) = want.values()
    with np.load(out) as ys:
        got = {how: relative(ys[how], want) for how in ("fixed", "as shipped")}
    assert got["fixed"] <= tolerance("float64").rel, got
    assert 1e-9 < got["as shipped"] < tolerance("float32").rel, \
        f"{got}: {BACKEND_FIX} (and the line describe prints)"
