"""crossframe.porting.diagnose: why a hand-made Keras port differs from its torch checkpoint.

Every wrong port here is made the way a user's conversion script makes it: a torch checkpoint
(random canonical weights in torch's declared layout, the two recurrent biases split unequally
as a trained model's are), a NumPy script copying its tensors into Keras' names (``hand_port``,
written out by hand, not through crossframe's mapping), with one step of it wrong; then both
sides are read back into the canonical layout with the correct mappings, as ``convert --check``
reads the two files. A hint must name the mistake, the tensor and the blocks or axes; a change
no mistake explains must be "differs" and nothing else.
"""
from __future__ import annotations

import numpy as np
import pytest

from crossframe.porting.diagnose import PortFinding, diagnose_port
from crossframe.data import init_weights
from crossframe.errors import InputError
from crossframe.initializers import to_canonical
from crossframe.runner import prepare
from crossframe.sequential import Sequential

LSTM = "lstm(units=5); dense(units=3)"      # input (6, 4): W_x (4, 20), W_h (5, 20)


def shapes_of(model) -> dict:
    return {p.name: tuple(p.shape) for p in model.params()}


def checkpoint(model, dtype: str = "float64", seed: int = 0) -> dict:
    """A torch state_dict of ``model`` as arrays: random distinct canonical weights in torch's
    layout, with bias_ih and bias_hh split unequally (only their sum is the model's bias)."""
    torch = model.mapping("torch").params_to_framework(init_weights(model.params(), seed, dtype))
    rng = np.random.default_rng(seed + 100)
    for key in [k for k in torch if ".bias_ih" in k]:
        shift = rng.standard_normal(torch[key].shape).astype(dtype)
        other = key.replace(".bias_ih", ".bias_hh")
        torch[key], torch[other] = torch[key] + shift, torch[other] - shift
    return torch


def reference_of(model, torch: dict, dtype: str = "float64") -> dict:
    """The checkpoint read into the canonical layout (the correct mapping)."""
    return to_canonical(model.mapping("torch"), torch, shapes_of(model), dtype)


def swap_rows(a: np.ndarray, k: int, i: int, j: int) -> np.ndarray:
    """``a`` with its row blocks i and j (of k) swapped: gate blocks of a torch tensor."""
    blocks = np.split(a, k, axis=0)
    blocks[i], blocks[j] = blocks[j], blocks[i]
    return np.concatenate(blocks, axis=0)


def hand_port(model, t: dict, **wrong) -> dict:
    """A correct torch -> Keras conversion script, by hand: Keras variable path -> array.
    ``wrong[step]`` (a Keras path with '/' written '__') replaces that step's result with
    ``wrong[step](t)``, the user's mistake."""
    out = {}
    for cfg in model.layers:
        n, kind = cfg.name, cfg.decl.name
        if kind == "dense":
            W = t[f"{n}.weight"]                          # (U, F)
            if cfg.flow_in.flattened is not None:         # torch flattened (c, h, w) / (c, l)
                shape = cfg.flow_in.flattened
                W = np.moveaxis(W.reshape(W.shape[0], shape[-1], *shape[:-1]), 1, -1)
                W = W.reshape(W.shape[0], -1)
            out[f"{n}/kernel"], out[f"{n}/bias"] = W.T, t[f"{n}.bias"]
        elif kind == "conv2d":
            out[f"{n}/kernel"] = t[f"{n}.weight"].transpose(2, 3, 1, 0)
            out[f"{n}/bias"] = t[f"{n}.bias"]
        elif kind == "conv1d":
            out[f"{n}/kernel"] = t[f"{n}.weight"].transpose(2, 1, 0)
            out[f"{n}/bias"] = t[f"{n}.bias"]
        elif kind == "lstm":
            out[f"{n}/lstm_cell/kernel"] = t[f"{n}.weight_ih_l0"].T
            out[f"{n}/lstm_cell/recurrent_kernel"] = t[f"{n}.weight_hh_l0"].T
            out[f"{n}/lstm_cell/bias"] = t[f"{n}.bias_ih_l0"] + t[f"{n}.bias_hh_l0"]
        elif kind == "gru":                               # torch rows r, z, n; Keras z, r, h

            def zrh(a):
                return swap_rows(a, 3, 0, 1)

            out[f"{n}/gru_cell/kernel"] = zrh(t[f"{n}.weight_ih_l0"]).T
            out[f"{n}/gru_cell/recurrent_kernel"] = zrh(t[f"{n}.weight_hh_l0"]).T
            ih, hh = zrh(t[f"{n}.bias_ih_l0"]), zrh(t[f"{n}.bias_hh_l0"])
            out[f"{n}/gru_cell/bias"] = np.stack([ih, hh]) if cfg.opts["reset_after"] \
                else ih + hh
        elif kind == "batchnorm":
            for keras, torch in (("gamma", "weight"), ("beta", "bias"),
                                 ("moving_mean", "running_mean"),
                                 ("moving_variance", "running_var")):
                out[f"{n}/{keras}"] = t[f"{n}.{torch}"]
    for step, mistake in wrong.items():
        path = step.replace("__", "/")
        assert path in out, path
        out[path] = mistake(t)
    return out


def port_of(model, keras: dict, dtype: str = "float64") -> dict:
    """The Keras file read into the canonical layout (the correct mapping)."""
    return to_canonical(model.mapping("keras"), keras, shapes_of(model), dtype)


def diagnose(model, dtype: str = "float64", port_model=None, **wrong) -> list[PortFinding]:
    torch = checkpoint(model, dtype)
    port = port_of(model, hand_port(model, torch, **wrong), dtype)
    return diagnose_port(model, reference_of(model, torch, dtype), port, dtype, torch,
                         port_model)


def only(findings: list[PortFinding]) -> PortFinding:
    assert len(findings) == 1, findings
    return findings[0]


MODELS = {
    "lstm": (LSTM, (6, 4)),
    "gru": ("gru(units=4); dense(units=3)", (5, 3)),
    "gru_reset_before": ("gru(units=4, reset_after=false)", (5, 3)),
    "bilstm_2_layers": ("lstm(units=3, num_layers=2, bidirectional=true)", (4, 2)),
    "conv1d_flatten": ("conv1d(filters=3, kernel_size=2); flatten; dense(units=2)", (5, 4)),
    "batchnorm": ("batchnorm(epsilon=1e-5, momentum=0.9); dense(units=4)", (6,)),
}


def model_of(name: str):
    if name == "convnet":
        return prepare("convnet", options={"filters2": 4}).model     # conv2 (3, 3, 4, 4)
    layers, shape = MODELS[name]
    return Sequential.parse(layers, shape)


# --- a correct port ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["lstm", "gru", "gru_reset_before", "conv1d_flatten",
                                  "batchnorm", "convnet"])
def test_a_correct_port_has_no_finding(name, dtype):
    assert diagnose(model_of(name), dtype) == []


def test_rounding_within_the_tolerance_is_no_finding():
    """A float64 checkpoint ported to float32: every tensor off by float32's rounding only."""
    model = model_of("lstm")
    torch = checkpoint(model)
    reference = reference_of(model, torch)
    port = {k: v.astype(np.float32) for k, v in reference.items()}
    assert diagnose_port(model, reference, port, "float32", torch) == []


# --- 1. gate blocks ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lstm_input_and_forget_blocks_swapped(dtype):
    """weight_ih's first two row blocks swapped, then transposed: W_x alone is wrong."""
    model = model_of("lstm")
    f = only(diagnose(model, dtype, lstm__lstm_cell__kernel=lambda t: swap_rows(
        t["lstm.weight_ih_l0"], 4, 0, 1).T))
    assert (f.tensor, f.key) == ("lstm.W_x", "gates-permuted")
    assert "input" in f.says and "forget" in f.says and "swapped" in f.says
    assert "output" not in f.says


def test_lstm_cell_and_output_blocks_swapped_in_every_tensor():
    model = model_of("lstm")

    def co(a):
        return swap_rows(a, 4, 2, 3)

    findings = diagnose(model,
                        lstm__lstm_cell__kernel=lambda t: co(t["lstm.weight_ih_l0"]).T,
                        lstm__lstm_cell__recurrent_kernel=lambda t: co(t["lstm.weight_hh_l0"]).T,
                        lstm__lstm_cell__bias=lambda t: co(t["lstm.bias_ih_l0"]
                                                           + t["lstm.bias_hh_l0"]))
    assert [(f.tensor, f.key) for f in findings] == [
        ("lstm.W_x", "gates-permuted"), ("lstm.W_h", "gates-permuted"),
        ("lstm.b", "gates-permuted")]
    for f in findings:
        assert "cell candidate (c)" in f.says and "output (o)" in f.says
        assert "input" not in f.says


@pytest.mark.parametrize("name", ["gru", "gru_reset_before"])
def test_gru_rows_copied_in_torch_order(name):
    """torch's r, z, n rows transposed without the r/z swap, in every tensor (the reset-after
    bias (2, 3H) stacked from the unswapped biases)."""
    model = model_of(name)
    after = model.layers[0].opts["reset_after"]
    findings = diagnose(
        model, gru__gru_cell__kernel=lambda t: t["gru.weight_ih_l0"].T,
        gru__gru_cell__recurrent_kernel=lambda t: t["gru.weight_hh_l0"].T,
        gru__gru_cell__bias=lambda t: np.stack([t["gru.bias_ih_l0"], t["gru.bias_hh_l0"]])
        if after else t["gru.bias_ih_l0"] + t["gru.bias_hh_l0"])
    assert [(f.tensor, f.key) for f in findings] == [
        ("gru.W_x", "gates-permuted"), ("gru.W_h", "gates-permuted"),
        ("gru.b", "gates-permuted")]
    for f in findings:
        assert "torch's order r, z, n" in f.says and "z, r, h" in f.says
        assert "without swapping r and z" in f.says


# --- 2. transposed ------------------------------------------------------------------------------
def test_square_dense_kernel_not_transposed():
    model = Sequential.parse("dense(units=6); relu; dense(units=2)", (6,))
    f = only(diagnose(model, dense1__kernel=lambda t: t["dense1.weight"]))
    assert (f.tensor, f.key) == ("dense1.W", "transposed")
    assert "dense1.weight.T" in f.fix


@pytest.mark.parametrize("wrong", [(2, 3, 0, 1), (3, 2, 1, 0)])
def test_conv_kernel_moved_with_the_wrong_transpose(wrong):
    """torch's (O, I, kh, kw) moved with (2, 3, 0, 1) (C_in and C_out swapped) or (3, 2, 1, 0)
    (every kernel mirrored across its diagonal) instead of (2, 3, 1, 0)."""
    model = model_of("convnet")
    f = only(diagnose(model, conv2__kernel=lambda t: t["conv2.weight"].transpose(wrong)))
    assert (f.tensor, f.key) == ("conv2.W", "transposed")
    assert f"transpose{wrong}" in f.says and "transpose(2, 3, 1, 0)" in f.says


def test_recurrent_gate_blocks_laid_side_by_side_untransposed():
    """weight_hh (4H, H) cut into its gate blocks and put side by side: each (H, H) block is
    transposed."""
    model = model_of("lstm")
    f = only(diagnose(model, lstm__lstm_cell__recurrent_kernel=lambda t: np.concatenate(
        np.split(t["lstm.weight_hh_l0"], 4, axis=0), axis=1)))
    assert (f.tensor, f.key) == ("lstm.W_h", "transposed")
    assert "gate block" in f.says and "lstm.weight_hh_l0" in f.says


# --- 3. reshaped --------------------------------------------------------------------------------
@pytest.mark.parametrize("name, step, torch_name, tensor", [
    ("lstm", "lstm__lstm_cell__kernel", "lstm.weight_ih_l0", "lstm.W_x"),
    ("gru", "gru__gru_cell__recurrent_kernel", "gru.weight_hh_l0", "gru.W_h"),
    ("convnet", "conv1__kernel", "conv1.weight", "conv1.W"),
    ("conv1d_flatten", "dense__kernel", "dense.weight", "dense.W"),
])
def test_reshaped_instead_of_transposed(name, step, torch_name, tensor):
    """``weight.reshape(canonical shape)`` where a transpose (and a reorder) was meant."""
    model = model_of(name)
    shape = shapes_of(model)[tensor]
    f = only(diagnose(model, **{step: lambda t: t[torch_name].reshape(shape)}))
    assert (f.tensor, f.key) == (tensor, "reshaped-not-transposed")
    assert torch_name in f.says and "reshape" in f.says


# --- 4. biases ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key, bias", [
    ("bias-halved", lambda t: (t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"]) / 2),
    ("bias-doubled", lambda t: 2 * (t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"])),
])
def test_bias_halved_or_doubled(key, bias):
    f = only(diagnose(model_of("lstm"), lstm__lstm_cell__bias=bias))
    assert (f.tensor, f.key) == ("lstm.b", key)
    assert "bias_ih_l0 + lstm.bias_hh_l0" in f.fix


@pytest.mark.parametrize("side", ["bias_ih", "bias_hh"])
def test_lstm_bias_from_one_side(side):
    f = only(diagnose(model_of("lstm"), lstm__lstm_cell__bias=lambda t: t[f"lstm.{side}_l0"]))
    assert (f.tensor, f.key) == ("lstm.b", "bias-one-side")
    assert f"torch's {side} alone" in f.says and "bias_ih + bias_hh" in f.says


def test_gru_reset_before_bias_from_one_side():
    """The r/z swap done right, but only bias_hh copied."""
    f = only(diagnose(model_of("gru_reset_before"), gru__gru_cell__bias=lambda t: swap_rows(
        t["gru.bias_hh_l0"], 3, 0, 1)))
    assert (f.tensor, f.key) == ("gru.b", "bias-one-side")
    assert "bias_hh alone" in f.says


def test_one_side_needs_torchs_own_biases():
    """Without torch's tensors the reference holds only the sum: no one-side hint."""
    model = model_of("lstm")
    torch = checkpoint(model)
    port = port_of(model, hand_port(model, torch, lstm__lstm_cell__bias=lambda t: t[
        "lstm.bias_ih_l0"]))
    f = only(diagnose_port(model, reference_of(model, torch), port, "float64"))
    assert (f.tensor, f.key) == ("lstm.b", "differs")


# --- 5. flatten order ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, torch_order, keras_order", [
    ("convnet", "(c, h, w)", "(h, w, c)"), ("conv1d_flatten", "(c, l)", "(l, c)")])
def test_dense_rows_in_torchs_flatten_order(name, torch_order, keras_order):
    model = model_of(name)
    f = only(diagnose(model, dense__kernel=lambda t: t["dense.weight"].T))
    assert (f.tensor, f.key) == ("dense.W", "flatten-order")
    assert torch_order in f.says and keras_order in f.says


# --- 6. BatchNormalization tensors swapped ------------------------------------------------------
@pytest.mark.parametrize("a, b, torch_a, torch_b", [
    ("moving_mean", "moving_variance", "running_mean", "running_var"),
    ("gamma", "beta", "weight", "bias")])
def test_batchnorm_tensors_swapped(a, b, torch_a, torch_b):
    model = model_of("batchnorm")
    findings = diagnose(model, **{f"batchnorm__{a}": lambda t: t[f"batchnorm.{torch_b}"],
                                  f"batchnorm__{b}": lambda t: t[f"batchnorm.{torch_a}"]})
    assert [(f.tensor, f.key) for f in findings] == [
        (f"batchnorm.{a}", "running-stats-swapped"), (f"batchnorm.{b}", "running-stats-swapped")]
    assert f"torch's {torch_b}" in findings[0].says
    assert f"torch's {torch_a}" in findings[1].says


# --- 7. options of the Keras file ---------------------------------------------------------------
def test_options_that_differ_in_the_keras_config():
    """The Keras layers built with Keras' default epsilon, torch's momentum number, and
    without the Dense's activation: each named with both values; the weights are right."""
    model = Sequential.parse("batchnorm(epsilon=1e-5, momentum=0.9); dense(units=4, "
                             "activation=relu)", (6,))
    port_model = Sequential.parse("batchnorm(momentum=0.1); dense(units=4)", (6,))
    findings = diagnose(model, port_model=port_model)
    assert [(f.tensor, f.key) for f in findings] == [
        ("batchnorm", "momentum"), ("batchnorm", "epsilon"), ("dense", "differs")]
    momentum, epsilon, activation = findings
    assert "momentum=0.1" in momentum.says and "0.9" in momentum.says
    assert "1 - torch's" in momentum.says and "momentum=0.9" in momentum.fix
    assert "epsilon=0.001" in epsilon.says and "eps=1e-05" in epsilon.says
    assert "epsilon=1e-05" in epsilon.fix
    assert "activation" in activation.says and "relu" in activation.says \
        and "linear" in activation.says


def test_the_same_options_give_no_finding():
    model = model_of("batchnorm")
    assert diagnose(model, port_model=model_of("batchnorm")) == []


# --- 8. anything else ---------------------------------------------------------------------------
def _perturbed_cases():
    for name in ("lstm", "gru", "bilstm_2_layers", "convnet", "batchnorm"):
        model = model_of(name)
        for p in model.params():
            yield name, p.name


@pytest.mark.parametrize("name, tensor", list(_perturbed_cases()))
def test_an_unrelated_change_is_differs_and_nothing_else(name, tensor):
    """Noise on one tensor of a correct port: no mistake reproduces it, so no hint."""
    model = model_of(name)
    torch = checkpoint(model)
    reference = reference_of(model, torch)
    port = dict(reference)
    rng = np.random.default_rng(7)
    port[tensor] = reference[tensor] + 0.05 * rng.standard_normal(reference[tensor].shape)
    f = only(diagnose_port(model, reference, port, "float64", torch))
    assert (f.tensor, f.key) == (tensor, "differs")
    assert "max_rel" in f.says and "no known porting mistake" in f.says


def test_a_tensor_of_another_shape_is_differs():
    model = model_of("lstm")
    torch = checkpoint(model)
    reference = reference_of(model, torch)
    port = {**reference, "dense.b": reference["dense.b"][:2]}
    f = only(diagnose_port(model, reference, port, "float64", torch))
    assert (f.tensor, f.key) == ("dense.b", "differs") and "2 in the port" in f.says


def test_findings_come_in_layer_order():
    model = model_of("convnet")
    findings = diagnose(model,
                        dense__kernel=lambda t: t["dense.weight"].T,
                        conv2__kernel=lambda t: t["conv2.weight"].transpose(2, 3, 0, 1),
                        conv1__bias=lambda t: t["conv1.bias"] / 2)
    assert [(f.tensor, f.key) for f in findings] == [
        ("conv1.b", "bias-halved"), ("conv2.W", "transposed"), ("dense.W", "flatten-order")]


def test_an_unknown_dtype_is_an_input_error():
    model = model_of("lstm")
    reference = reference_of(model, checkpoint(model))
    with pytest.raises(InputError, match="unknown dtype 'float16'"):
        diagnose_port(model, reference, reference, "float16")
