"""`crossframe convert --check A B` on hand-made ports: a torch checkpoint A and the Keras file
B someone converted with their own script. Each wrong port below is the mistake as a user's
NumPy script makes it; the check must exit 1 and name that mistake, and a right port exit 0.
"""
import numpy as np
import pytest
import torch
from torch import nn

from crossframe.keras_impl.backend import keras
# the command line in-process, Keras in float64 for every test here, random weights
from test_convert import cli, float64_keras, randomize_torch  # noqa: F401 (a fixture)


def randomized(module):
    return randomize_torch(module).double()


def state(module):
    return {k: v.numpy() for k, v in module.state_dict().items()}


def blocks(a, order, k, axis=0):
    parts = np.split(a, k, axis=axis)
    return np.concatenate([parts[i] for i in order], axis=axis)


# --- the users' scripts: torch state -> the Keras model's weights, right or with one mistake --
class Recurrent(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](4, 5, batch_first=True)
        self.fc = nn.Linear(5, 3)


def recurrent_port(s, kind, mistake=None):
    """[kernel, recurrent_kernel, bias] of the Keras cell, then the Dense."""
    W, U, bi, bh = (s[f"rnn.{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    if kind == "lstm":
        order = (1, 0, 2, 3) if mistake == "gates" else (0, 1, 2, 3)
        W, U = blocks(W, order, 4), blocks(U, order, 4)
        bias = {"halved": (bi + bh) / 2, "one-side": bi, "doubled": 2 * (bi + bh)}.get(
            mistake, blocks(bi + bh, order, 4))
        if mistake == "reshape":
            cell = [W.reshape(W.shape[::-1]), U.T, bias]
        else:
            cell = [W.T, U.T, bias]
    else:                           # torch r, z, n -> Keras z, r, h, unless forgotten
        order = (0, 1, 2) if mistake == "gates" else (1, 0, 2)
        cell = [blocks(W, order, 3).T, blocks(U, order, 3).T,
                np.stack([blocks(bi, order, 3), blocks(bh, order, 3)])]
    return cell + [s["fc.weight"].T, s["fc.bias"]]


def keras_recurrent(kind):
    from keras import layers

    cls = {"lstm": layers.LSTM, "gru": layers.GRU}[kind]
    return keras.Sequential([keras.Input((6, 4)), cls(5), layers.Dense(3)])


def dense_port(s, mistake=None):
    kernel = s["0.weight"] if mistake == "transposed" else s["0.weight"].T
    return [kernel, s["0.bias"], s["2.weight"].T, s["2.bias"]]


def conv_port(s, mistake=None):
    w = s["3.weight"]                              # (3, 4*4*4) in torch's (c, h, w) order
    if mistake != "flatten":
        w = w.reshape(3, 4, 4, 4).transpose(0, 2, 3, 1).reshape(3, 64)
    return [s["0.weight"].transpose(2, 3, 1, 0), s["0.bias"], w.T, s["3.bias"]]


def bn_port(s, mistake=None):
    mean, var = s["1.running_mean"], s["1.running_var"]
    if mistake == "stats":
        mean, var = var, mean
    return [s["0.weight"].T, s["0.bias"], s["1.weight"], s["1.bias"], mean, var,
            s["3.weight"].T, s["3.bias"]]


def keras_bn(epsilon=1e-5, momentum=0.9):
    from keras import layers

    return keras.Sequential([keras.Input((6,)), layers.Dense(8),
                             layers.BatchNormalization(epsilon=epsilon, momentum=momentum),
                             layers.ReLU(), layers.Dense(3)])


def save_port(tmp_path, module, model, weights, ext=".weights.h5"):
    a, b = tmp_path / "a.pt", tmp_path / f"b{ext}"
    torch.save(module.state_dict(), a)
    model.set_weights(weights)
    if ext == ".keras":
        model.save(b)
    else:
        model.save_weights(b)
    return a, b


def check(capsys, a, b, *extra):
    return cli(capsys, "convert", "--check", a, b, *extra)


# --- recurrent gates and biases ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_a_right_recurrent_port_passes(capsys, tmp_path, kind):
    module = randomized(Recurrent(kind))
    a, b = save_port(tmp_path, module, keras_recurrent(kind),
                     recurrent_port(state(module), kind))
    rc, out, err = check(capsys, a, b)
    assert rc == 0, out + err
    assert "the port is right" in out


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gate_blocks_in_the_wrong_order_are_named(capsys, tmp_path, kind):
    module = randomized(Recurrent(kind))
    a, b = save_port(tmp_path, module, keras_recurrent(kind),
                     recurrent_port(state(module), kind, "gates"))
    rc, out, err = check(capsys, a, b)
    assert rc == 1, out + err
    diagnosis = [line for line in out.splitlines() if line.startswith("DIAGNOSIS")]
    assert diagnosis and all("rnn.W_x" in out or "W_x" in line for line in diagnosis[:1])
    if kind == "lstm":
        assert "input" in out and "forget" in out
    else:
        assert "r, z, n" in out


@pytest.mark.parametrize("mistake,expect", [("halved", "bias-halved"),
                                            ("one-side", "bias_ih"),
                                            ("doubled", "bias-doubled"),
                                            ("reshape", "reshape")])
def test_lstm_bias_and_layout_mistakes_are_named(capsys, tmp_path, mistake, expect):
    module = randomized(Recurrent("lstm"))
    a, b = save_port(tmp_path, module, keras_recurrent("lstm"),
                     recurrent_port(state(module), "lstm", mistake))
    rc, out, err = check(capsys, a, b, "--json")
    import json

    report = json.loads(out)
    assert rc == 1 and not report["ok"]
    said = " ".join(f"{f['mistake']} {f['says']} {f['fix']}" for f in report["findings"])
    assert expect in said, said


# --- dense, flatten, batchnorm ----------------------------------------------------------------
def test_an_untransposed_square_kernel_is_named(capsys, tmp_path):
    from keras import layers

    module = randomized(nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3)))
    model = keras.Sequential([keras.Input((6,)), layers.Dense(6, activation="relu"),
                              layers.Dense(3)])
    a, b = save_port(tmp_path, module, model, dense_port(state(module), "transposed"))
    rc, out, err = check(capsys, a, b)
    assert rc == 1, out + err
    assert "transpos" in out and "DIAGNOSIS" in out
    a, b = save_port(tmp_path, module, model, dense_port(state(module)))
    assert check(capsys, a, b)[0] == 0


def test_flatten_order_is_named(capsys, tmp_path):
    from keras import layers

    module = randomized(nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(),
                                      nn.Linear(64, 3)))
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(4, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(3)])
    a, b = save_port(tmp_path, module, model, conv_port(state(module), "flatten"))
    rc, out, err = check(capsys, a, b, "--input", "6x6x2")
    assert rc == 1, out + err
    assert "(c, h, w)" in out
    a, b = save_port(tmp_path, module, model, conv_port(state(module)))
    assert check(capsys, a, b, "--input", "6x6x2")[0] == 0


def _bn_module():
    return randomized(nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                    nn.Linear(8, 3)))


def test_swapped_running_statistics_are_named(capsys, tmp_path):
    module = _bn_module()
    a, b = save_port(tmp_path, module, keras_bn(), bn_port(state(module), "stats"))
    rc, out, err = check(capsys, a, b, "--json")
    import json

    findings = {(f["tensor"], f["mistake"]) for f in json.loads(out)["findings"]}
    assert rc == 1, out + err
    assert findings == {("batchnorm.moving_mean", "running-stats-swapped"),
                        ("batchnorm.moving_variance", "running-stats-swapped")}


@pytest.mark.parametrize("kw,expect", [({"epsilon": 1e-3}, "epsilon"),
                                       ({"momentum": 0.1}, "momentum")])
def test_batchnorm_hyper_parameters_are_named(capsys, tmp_path, kw, expect):
    module = _bn_module()
    a, b = save_port(tmp_path, module, keras_bn(**kw), bn_port(state(module)), ext=".keras")
    rc, out, err = check(capsys, a, b)
    assert rc == 1, out + err
    assert expect in out.split("DIAGNOSIS", 1)[-1], out


def test_a_right_batchnorm_port_passes_with_its_config(capsys, tmp_path):
    module = _bn_module()
    a, b = save_port(tmp_path, module, keras_bn(), bn_port(state(module)), ext=".keras")
    rc, out, err = check(capsys, a, b)
    assert rc == 0, out + err


def test_the_check_is_the_same_either_way_round(capsys, tmp_path):
    module = _bn_module()
    a, b = save_port(tmp_path, module, keras_bn(epsilon=1e-3), bn_port(state(module)),
                     ext=".keras")
    rc, out, err = check(capsys, b, a)            # the Keras file first
    assert rc == 1, out + err
    assert "epsilon" in out.split("DIAGNOSIS", 1)[-1], out


def test_a_diagnosis_names_the_users_own_keys(capsys, tmp_path):
    from keras import layers

    module = randomized(nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3)))
    model = keras.Sequential([keras.Input((6,)), layers.Dense(6, activation="relu"),
                              layers.Dense(3)])
    a, b = save_port(tmp_path, module, model, dense_port(state(module), "transposed"))
    rc, out, err = check(capsys, a, b)
    diagnosis = out.split("DIAGNOSIS", 1)[-1]
    assert rc == 1 and "0.weight" in diagnosis and "dense1.weight" not in diagnosis, out
