"""Models a user states (crossframe.sequential): composed from declared layers, checked in all
three frameworks, in both dtypes, with every loss and reduction; the code ``describe`` prints
for them runs and computes the same numbers; your own data goes in and comes out.

The three models of the design issue's acceptance are here by name: the Conv example at
28x28x3, a ``dense(32); tanh; dense(1)`` regression with MAE summed, and a classifier with the
softmax inside the model and the loss on its probabilities.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from crossframe.cli import main
from crossframe.errors import InputError
from crossframe.frameworks import PAIRS
from crossframe.result import compare_arrays, compare_expected, failures
from crossframe.runner import check, prepare, run
from crossframe.sequential import NCHW, Sequential
from crossframe.tolerances import DTYPES, tolerance

MODELS = {
    "conv-28x28x3": dict(layers="conv2d(filters=8, kernel_size=3, strides=2, padding=same); "
                                "relu; maxpool2d(pool_size=2); flatten; dense(units=10)",
                         input="28x28x3", loss="softmax_ce"),
    "mae-sum": dict(layers="dense(units=32); tanh; dense(units=1)", input="13", loss="mae",
                    reduction="sum"),
    "softmax-inside": dict(layers="dense(units=16); relu; dense(units=5); softmax", input="12",
                           loss="softmax_ce(from_logits=false)"),
    "sigmoid-bce-sum": dict(layers="dense(units=16); tanh; dense(units=3); sigmoid", input="12",
                            loss="binary_ce(from_logits=false, reduction=sum)"),
    "bce-logits": dict(layers="dense(units=8); tanh; dense(units=3)", input="12",
                       loss="binary_ce"),
    "per-step-ce-sum": dict(layers="lstm(units=6, return_sequences=true); dense(units=4)",
                            input="5x3", loss="softmax_ce(reduction=sum)"),
    "per-step-mse-sum": dict(layers="gru(units=6, return_sequences=true); dense(units=4)",
                             input="5x3", loss="mse", reduction="sum"),
    "stacked-recurrent": dict(layers="simple_rnn(5, return_sequences=true, initial_state=true);"
                                     " gru(4, reset_after=false); dense(3)",
                              input="6x2", loss="softmax_ce"),
    "dense-on-an-image": dict(layers="conv2d(4, 3); dense(5); softmax", input="6x6x2",
                              loss="upstream"),
    "avgpool-flatten": dict(layers="conv2d(3, 2, padding=same); averagepool2d(2); flatten; "
                                   "dense(4)", input="7x6x2", loss="mse"),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", MODELS)
def test_composed_model_agrees_in_all_three(name, dtype):
    case = prepare("sequential", dtype=dtype, options=MODELS[name])
    table = check(case)
    assert table["ok"].all(), "; ".join(failures(table, case.model))
    assert set(table["pair"]) == {f"{a}~{b}" for a, b in PAIRS}


def test_the_flatten_after_nhwc_layers_maps_onto_torchs_nchw_flatten_by_itself():
    model = Sequential.parse(MODELS["conv-28x28x3"]["layers"], "28x28x3")
    torch_dense = {e.canonical: e for e in model.mapping("torch").params}["dense.W"]
    assert torch_dense.transform.describe() == "rows (H,W,C) = (7,7,8) order -> (C,H,W) order, " \
                                               "then transpose"


# --- the code describe prints runs, and computes the same numbers ---------------------------
CODE_MODELS = ["conv-28x28x3", "mae-sum", "dense-on-an-image", "stacked-recurrent",
               "sigmoid-bce-sum", "per-step-ce-sum", "per-step-mse-sum", "softmax-inside"]
CODE_PRESETS = ["lstm_layer", "gru_reset_before_layer", "rnn", "convnet"]


def _case(name):
    if name in CODE_PRESETS:
        return prepare(name, batch_size=3)
    return prepare("sequential", options=MODELS[name], batch_size=3)


def _outputs(y, names) -> dict:
    return y if isinstance(y, dict) else {names[0]: y}


@pytest.mark.parametrize("name", CODE_MODELS + CODE_PRESETS)
def test_printed_torch_code_computes_what_the_torch_side_computes(name):
    import torch

    case = _case(name)
    namespace: dict = {}
    exec(case.model.torch_code(), namespace)          # the printed code, as a user runs it
    module = namespace["model"]
    mapping = case.mapping("torch")
    module.load_state_dict({k: torch.from_numpy(v) for k, v in
                            mapping.params_to_framework(case.weights).items()})
    inputs = {k: torch.from_numpy(v) for k, v in
              mapping.inputs_to_framework(case.batch.inputs).items()}
    pred = module(**inputs)
    ours = run(case, "torch")
    for out, y in _outputs(pred, list(case.model.outputs)).items():
        y = y.detach().numpy()
        if len(case.model.input_shape) == 3 and y.ndim == 4:
            y = NCHW.adjoint(y, None)
        table = compare_arrays(y, ours.outputs[out], "float64", name=out)
        assert table["ok"].all(), table.to_string()
    if not case.model.loss.upstream:
        labels = case.model.loss.decl.target == "labels"
        target = torch.from_numpy(mapping.target_to_framework(case.batch.target, labels))
        value = namespace["loss_fn"](pred, target).detach().numpy()
        assert compare_arrays(value, ours.loss, "float64")["ok"].all()


@pytest.mark.parametrize("name", CODE_MODELS + CODE_PRESETS)
def test_printed_keras_code_computes_what_the_keras_side_computes(name):
    from crossframe.keras_impl.backend import keras

    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    try:
        case = _case(name)
        namespace: dict = {}
        exec(case.model.keras_code(), namespace)
        model = namespace["model"]
        weights = case.mapping("keras").params_to_framework(case.weights)
        sequential = isinstance(model, keras.Sequential)
        # a keras.Sequential puts its variables under its own name: sequential/conv/kernel
        for v in model.weights:
            v.assign(weights[v.path.split("/", 1)[1] if sequential else v.path])
        given = case.batch.inputs["x"] if sequential else case.batch.inputs
        pred = model(given, training=False)
        value = None
        if not case.model.loss.upstream:
            value = np.asarray(namespace["loss_fn"](case.batch.target, pred))
    finally:
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)
    ours = run(case, "keras")
    for out, y in _outputs(pred, list(case.model.outputs)).items():
        table = compare_arrays(np.asarray(y), ours.outputs[out], "float64", name=out)
        assert table["ok"].all(), table.to_string()
    if value is not None:
        assert compare_arrays(value, ours.loss, "float64")["ok"].all(), (value, ours.loss)


# --- your own data ---------------------------------------------------------------------------
def test_own_inputs_with_the_upstream_gradient_drawn_to_match():
    x = np.random.default_rng(5).standard_normal((3, 12))
    case = prepare("dense", inputs={"x": x})
    assert case.batch.size == 3 and np.array_equal(case.batch.inputs["x"], x)
    assert case.batch.upstream["output"].shape == (3, 7)
    assert check(case)["ok"].all()


def test_own_inputs_target_and_upstream_are_used_as_given():
    rng = np.random.default_rng(6)
    x, target = rng.standard_normal((4, 13)), rng.standard_normal((4, 1))
    case = prepare("sequential", options=MODELS["mae-sum"], inputs={"x": x}, target=target)
    assert np.array_equal(case.batch.target, target)
    G = rng.standard_normal((4, 7))
    case = prepare("dense", inputs={"x": rng.standard_normal((4, 12))}, upstream={"output": G})
    assert np.array_equal(case.batch.upstream["output"], G)


@pytest.mark.parametrize("inputs, match", [
    ({"x": np.ones((3, 11))}, r"inputs: x: expected shape \(N, 12\), got \(3, 11\)"),
    ({"x": np.ones((3, 12)), "h0": np.ones((3, 4))}, "unexpected h0"),
    ({}, "missing x"),
    ({"x": np.full((2, 12), np.nan)}, "NaN/Inf"),
    ({"x": np.ones((2, 12), dtype=np.int64)}, "dtype int64"),
])
def test_bad_own_inputs_are_named(inputs, match):
    with pytest.raises(InputError, match=match):
        prepare("dense", inputs=inputs)


def test_forward_only_compares_outputs_and_the_loss():
    table = check(prepare("lstm"), backward=False)
    assert set(table["tensor"]) == {"out:logits", "loss"} and table["ok"].all()


def test_a_result_against_arrays_from_elsewhere():
    case = prepare("mlp")
    result = run(case, "scratch")
    expected = {"out:logits": run(case, "torch").outputs["logits"],
                "grad:dense1.W": result.grads["dense1.W"] * 1.01}
    table = compare_expected(result, expected, "float64")
    assert list(table["ok"]) == [True, False]
    with pytest.raises(InputError, match="unknown tensor"):
        compare_expected(result, {"out:nope": np.zeros(1)}, "float64")


def test_cli_inputs_and_dump(tmp_path, capsys):
    rng = np.random.default_rng(7)
    own, dump = tmp_path / "batch.npz", tmp_path / "dump.npz"
    x, h0, G = rng.standard_normal((5, 3, 2)), rng.standard_normal((5, 4)), \
        rng.standard_normal((5, 4))
    np.savez(own, x=x, h0=h0, **{"upstream:h_last": G})
    code = main(["check", "gru_layer", "--inputs", str(own), "--steps", "3",
                 "--return-sequences", "false", "--features", "2", "--dump", str(dump),
                 "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and all(r["ok"] for r in rows)
    with np.load(dump, allow_pickle=False) as saved:
        assert np.array_equal(saved["input:x"], x) and np.array_equal(saved["input:h0"], h0)
        assert np.array_equal(saved["upstream:h_last"], G)
        assert {"torch/out:h_last", "keras/grad:gru.W_h", "scratch/grad:h0", "torch/loss",
                "weight:gru.b"} <= set(saved.files)
        assert np.array_equal(saved["torch/out:h_last"],
                              run(prepare("gru_layer", options={"steps": 3, "features": 2,
                                                               "return_sequences": False},
                                          inputs={"x": x, "h0": h0},
                                          upstream={"h_last": G}), "torch").outputs["h_last"])


def test_cli_inputs_of_the_wrong_shape_and_an_existing_dump_are_refused(tmp_path, capsys):
    own, dump = tmp_path / "batch.npz", tmp_path / "dump.npz"
    np.savez(own, x=np.ones((5, 3, 2)), h0=np.ones((5, 4)))
    code = main(["check", "gru_layer", "--inputs", str(own), "--steps", "3",
                 "--dump", str(dump)])
    err = capsys.readouterr().err
    assert code == 2 and "inputs: x: expected shape (N, 3, 3), got (5, 3, 2)" in err
    assert not dump.exists()
    dump.write_bytes(b"mine")
    code = main(["check", "gru_layer", "--dump", str(dump)])
    assert code == 2 and "exists" in capsys.readouterr().err and dump.read_bytes() == b"mine"
    code = main(["check", "dense", "--inputs", "12"])
    assert code == 2 and "is --features" in capsys.readouterr().err


def test_check_eval_mode_and_frameworks_subset_through_the_cli(capsys):
    code = main(["check", "mlp", "--mode", "eval", "--frameworks", "scratch,torch", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and {r["pair"] for r in rows} == {"scratch~torch"}
    code = main(["check", "mlp", "--frameworks", "scratch-fast,scratch", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and {r["pair"] for r in rows} == {"scratch-fast~scratch"}


def test_mode_is_passed_the_same_way_to_all_three():
    # no layer here depends on the mode: train and eval agree to the bit within a framework
    train, eval_ = (prepare("convnet", mode=m) for m in ("train", "eval"))
    for fw in ("scratch", "torch", "keras"):
        a, b = run(train, fw), run(eval_, fw)
        assert compare_arrays(a.grads["conv1.W"], b.grads["conv1.W"], "float64",
                              tol=type(tolerance("float64"))(0.0, "bitwise"))["ok"].all()
    with pytest.raises(InputError, match="unknown mode 'test'"):
        prepare("mlp", mode="test")
