"""`crossframe convert` on checkpoints written by plain torch and plain Keras code.

Every model here is written by hand the way a user writes it (nn.Sequential, a module with an
nn.LSTM attribute, keras.Sequential), with random weights and distinct non-zero biases, saved
with torch.save / model.save_weights / model.save, converted by the command line, and loaded
into the *other* framework's hand-written model with that framework's own loader. Then the two
hand-written models run the same float64 batch: outputs, the input gradient and every
parameter gradient must agree within the tolerance table. The parameter gradients are lined up
by the facts of the two libraries written out here (Linear's weight is Dense's kernel
transposed, ...), not by crossframe's mapping.
"""

import numpy as np
import pytest
import torch
from torch import nn

from crossframe.keras_impl.backend import keras, tf
from crossframe.tolerances import tolerance

TOL = tolerance("float64").rel
RNG = np.random.default_rng(7)
N = 4


def cli(capsys, *args):
    from crossframe.cli import main

    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


@pytest.fixture(autouse=True)
def float64_keras():
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_dtype_policy(policy)
    keras.config.set_floatx(floatx)


def randomize_torch(module):
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(RNG.normal(0, 0.5, p.shape)))
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.from_numpy(RNG.normal(0, 0.5, b.shape)))
            elif name.endswith("running_var"):
                b.copy_(torch.from_numpy(RNG.uniform(0.5, 1.5, b.shape)))
    return module


def randomize_keras(model):
    for v in model.weights:
        if "variance" in v.path:
            v.assign(RNG.uniform(0.5, 1.5, v.shape))
        else:
            v.assign(RNG.normal(0, 0.5, v.shape))
    return model


# --- the five models, by hand in each library ---------------------------------------------------
class LastStep(nn.Module):
    """A 2-layer LSTM read at its last step, then a Linear: what torch users write."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(5, 7, num_layers=2, batch_first=True)
        self.head = nn.Linear(7, 3)

    def forward(self, x):
        out, _ = self.encoder(x)
        return self.head(out[:, -1])


class BiGRU(nn.Module):
    """A bidirectional GRU's two final states, concatenated, then a Linear."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(5, 6, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        _, h_n = self.rnn(x)
        return self.fc(torch.cat([h_n[0], h_n[1]], dim=-1))


def torch_model(name):
    make = {
        "mlp": lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
        "convnet": lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(),
                                         nn.Linear(4 * 4 * 4, 3)),
        "lstm2": LastStep,
        "bigru": BiGRU,
        "batchnorm": lambda: nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                           nn.Linear(8, 3)),
    }[name]
    return randomize_torch(make().double())


def keras_model(name):
    from keras import layers

    make = {
        "mlp": lambda: [keras.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(3)],
        "convnet": lambda: [keras.Input((6, 6, 2)), layers.Conv2D(4, 3, activation="relu"),
                            layers.Flatten(), layers.Dense(3)],
        "lstm2": lambda: [keras.Input((T, 5)), layers.LSTM(7, return_sequences=True),
                          layers.LSTM(7), layers.Dense(3)],
        "bigru": lambda: [keras.Input((T, 5)), layers.Bidirectional(layers.GRU(6)),
                          layers.Dense(3)],
        "batchnorm": lambda: [keras.Input((6,)), layers.Dense(8),
                              layers.BatchNormalization(epsilon=1e-5, momentum=0.9),
                              layers.ReLU(), layers.Dense(3)],
    }[name]
    return keras.Sequential(make())


T = 5
INPUT = {"mlp": (6,), "convnet": (6, 6, 2), "lstm2": (T, 5), "bigru": (T, 5), "batchnorm": (6,)}
MODELS = list(INPUT)


# --- the libraries' facts, written out: torch gradient -> Keras layout, per parameter ----------
def _gates(a, order, axis=-1):
    blocks = np.split(a, 3, axis=axis)
    return np.concatenate([blocks[i] for i in order], axis=axis)


def torch_grads_in_keras_order(name, module) -> list[np.ndarray]:
    """torch's parameter gradients laid out as the hand-written Keras model's trainable
    variables, in its order."""
    g = {k: p.grad.numpy() for k, p in module.named_parameters()}
    if name in ("mlp", "batchnorm"):
        dense = lambda i: [g[f"{i}.weight"].T, g[f"{i}.bias"]]  # noqa: E731
        if name == "mlp":
            return dense(0) + dense(2)
        return dense(0) + [g["1.weight"], g["1.bias"]] + dense(3)
    if name == "convnet":
        # Linear rows in torch's (c, h, w) flatten order -> Keras' (h, w, c)
        w = g["3.weight"].reshape(3, 4, 4, 4).transpose(2, 3, 1, 0).reshape(64, 3)
        return [g["0.weight"].transpose(2, 3, 1, 0), g["0.bias"], w, g["3.bias"]]
    if name == "lstm2":
        out = []
        for layer in (0, 1):
            s = f"encoder.{{}}_l{layer}"
            # each torch bias receives the whole gradient of Keras' one bias
            assert rel(g[s.format("bias_ih")], g[s.format("bias_hh")]) <= TOL
            out += [g[s.format("weight_ih")].T, g[s.format("weight_hh")].T, g[s.format("bias_ih")]]
        return out + [g["head.weight"].T, g["head.bias"]]
    if name == "bigru":                   # torch rows r, z, n; Keras columns z, r, h
        out = []
        for d in ("", "_reverse"):
            s = f"rnn.{{}}_l0{d}"
            out += [_gates(g[s.format("weight_ih")].T, (1, 0, 2)),
                    _gates(g[s.format("weight_hh")].T, (1, 0, 2)),
                    np.stack([_gates(g[s.format("bias_ih")], (1, 0, 2)),
                              _gates(g[s.format("bias_hh")], (1, 0, 2))])]
        return out + [g["fc.weight"].T, g["fc.bias"]]
    raise KeyError(name)


def assert_same_model(name, module, model, training=False):
    """The torch module and the Keras model on one batch and upstream gradient: outputs, the
    input gradient, every parameter gradient within the float64 tolerance."""
    x = RNG.normal(size=(N, *INPUT[name]))
    module.train(training)
    module.zero_grad()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if x.ndim == 4 else x.copy())
    xt.requires_grad_(True)
    yt = module(xt)
    G = RNG.normal(size=tuple(yt.shape))
    (yt * torch.from_numpy(G)).sum().backward()
    xk = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xk)
        yk = model(xk, training=training)
        loss = tf.reduce_sum(yk * G)
    grads = tape.gradient(loss, model.trainable_variables + [xk])
    assert rel(yt.detach().numpy(), yk.numpy()) <= TOL
    dx = xt.grad.numpy()
    if x.ndim == 4:
        dx = dx.transpose(0, 2, 3, 1)
    assert rel(dx, grads[-1].numpy()) <= TOL
    ours = torch_grads_in_keras_order(name, module)
    assert len(ours) == len(grads) - 1
    for i, (v, a, b) in enumerate(zip(model.trainable_variables, ours, grads[:-1])):
        assert a.shape == tuple(v.shape), v.path
        if training and name == "batchnorm" and i == 1:
            # the bias right before a training-mode BatchNorm: the batch mean removes it, so
            # its gradient is 0 in exact arithmetic and rounding noise (~1e-16) in both
            # libraries; its mapping is proven by the inference-mode call
            assert max(np.max(np.abs(a)), np.max(np.abs(b.numpy()))) <= TOL
            continue
        assert rel(a, b.numpy()) <= TOL, v.path


# --- acceptance: plain torch -> Keras, and plain Keras -> torch ---------------------------------
@pytest.mark.parametrize("ext", [".weights.h5", ".keras"])
@pytest.mark.parametrize("name", MODELS)
def test_plain_torch_checkpoint_loads_into_plain_keras(capsys, tmp_path, name, ext):
    module = torch_model(name)
    src, dst = tmp_path / "model.pt", tmp_path / f"model{ext}"
    torch.save(module.state_dict(), src)
    extra = ["--input", "6x6x2"] if name == "convnet" else []
    rc, out, err = cli(capsys, "convert", src, dst, *extra)
    assert rc == 0, out + err
    assert "all within tolerance" in out and f"wrote {dst}" in out
    model = keras_model(name)
    model.load_weights(dst)                        # Keras' own loader
    assert_same_model(name, module, model)
    if name == "batchnorm":
        assert_same_model(name, module, model, training=True)


@pytest.mark.parametrize("ext", [".pt", ".safetensors"])
@pytest.mark.parametrize("name", MODELS)
def test_plain_keras_model_loads_into_plain_torch(capsys, tmp_path, name, ext):
    model = randomize_keras(keras_model(name))
    src, dst = tmp_path / "model.keras", tmp_path / f"model{ext}"
    model.save(src)
    like = tmp_path / "init.pt"                    # the user's torch model, saved once
    module = torch_model(name)
    torch.save(module.state_dict(), like)
    rc, out, err = cli(capsys, "convert", src, dst, "--like", like)
    assert rc == 0, out + err
    if ext == ".pt":
        state = torch.load(dst, weights_only=True)
    else:
        from safetensors.torch import load_file
        state = load_file(dst)
    module.load_state_dict(state, strict=True)     # torch's own loader, every key
    assert_same_model(name, module, model)
    if name == "batchnorm":
        assert_same_model(name, module, model, training=True)


def test_weights_h5_with_the_layers_stated(capsys, tmp_path):
    model = randomize_keras(keras_model("lstm2"))
    src, dst = tmp_path / "m.weights.h5", tmp_path / "m.pt"
    model.save_weights(src)
    rc, out, err = cli(capsys, "convert", src, dst, "--layers",
                       "lstm(units=7, num_layers=2); dense(units=3)", "--input", f"{T}x5")
    assert rc == 0, out + err
    module = LastStep().double()
    state = torch.load(dst, weights_only=True)
    # crossframe's printed names: the layer names of `crossframe describe`
    module.load_state_dict({k.replace("lstm.", "encoder.").replace("dense.", "head."): v
                            for k, v in state.items()}, strict=True)
    assert_same_model("lstm2", module, model)


# --- round trips ------------------------------------------------------------------------------
def _load(path):
    from crossframe.porting.formats import read_checkpoint

    ck = read_checkpoint(str(path))
    return {**ck.tensors, **ck.extra}


@pytest.mark.parametrize("name", MODELS)
def test_torch_keras_torch_is_bit_identical_but_the_recurrent_bias_sum(capsys, tmp_path, name):
    a, b, c = tmp_path / "a.pt", tmp_path / "b.weights.h5", tmp_path / "c.pt"
    torch.save(torch_model(name).state_dict(), a)
    extra = ["--input", "6x6x2"] if name == "convnet" else []
    assert cli(capsys, "convert", a, b, *extra)[0] == 0
    rc, out, err = cli(capsys, "convert", b, c, "--like", a, "--layers", _LAYERS[name],
                       "--input", "x".join(map(str, INPUT[name])))
    assert rc == 0, out + err
    ta, tc = _load(a), _load(c)
    assert list(ta) == list(tc)
    for k in ta:
        if "bias_ih" in k and name == "lstm2":     # Keras holds one bias: their sum
            assert np.array_equal(tc[k], ta[k] + ta[k.replace("_ih", "_hh")])
        elif "bias_hh" in k and name == "lstm2":
            assert not tc[k].any()
        else:                                      # moved, never recomputed
            assert np.array_equal(ta[k], tc[k]), k
            assert ta[k].dtype == tc[k].dtype


_LAYERS = {"mlp": "dense(units=8); relu; dense(units=3)",
           "convnet": "conv2d(filters=4, kernel_size=3); relu; flatten; dense(units=3)",
           "lstm2": "lstm(units=7, num_layers=2); dense(units=3)",
           "bigru": "gru(units=6, bidirectional=true); dense(units=3)",
           "batchnorm": "dense(units=8); batchnorm(epsilon=1e-5, momentum=0.9); relu; "
                        "dense(units=3)"}


@pytest.mark.parametrize("name", MODELS)
def test_keras_torch_keras_is_bit_identical(capsys, tmp_path, name):
    a, b, c = tmp_path / "a.keras", tmp_path / "b.pt", tmp_path / "c.weights.h5"
    model = randomize_keras(keras_model(name))
    model.save(a)
    assert cli(capsys, "convert", a, b)[0] == 0
    rc, out, err = cli(capsys, "convert", b, c, "--layers", _LAYERS[name], "--input",
                       "x".join(map(str, INPUT[name])))
    assert rc == 0, out + err
    ta, tc = _load(a), _load(c)
    assert list(ta) == list(tc)
    for k in ta:
        assert np.array_equal(ta[k], tc[k]), k


def test_two_bias_note_and_training_steps(capsys, tmp_path):
    src, dst = tmp_path / "m.keras", tmp_path / "m.pt"
    randomize_keras(keras_model("lstm2")).save(src)
    rc, out, err = cli(capsys, "convert", src, dst, "--steps", "3", "--optimizer", "adam")
    assert rc == 0, out + err
    assert "bias_hh" in out and "requires_grad_(False)" in out
    assert "trained 3 step(s) from the converted weights: all within tolerance" in out


# --- what a user meets beyond the five models -------------------------------------------------
def test_a_keras_formula_no_torch_layer_computes_is_said(capsys, tmp_path):
    from keras import layers

    src, dst = tmp_path / "g.keras", tmp_path / "g.pt"
    randomize_keras(keras.Sequential([keras.Input((T, 4)), layers.GRU(6, reset_after=False),
                                      layers.Dense(2)])).save(src)
    rc, out, err = cli(capsys, "convert", src, dst)
    assert rc == 0, out + err                    # verified with the cell that computes it
    assert "no torch layer computes this GRU" in out and "GRUResetBefore" in out


def test_normalization_options_a_file_cannot_hold_are_said(capsys, tmp_path):
    from keras import layers

    src, dst = tmp_path / "bn.keras", tmp_path / "bn.pt"
    randomize_keras(keras.Sequential([keras.Input((6,)), layers.Dense(8),
                                      layers.BatchNormalization(), layers.Dense(3)])).save(src)
    rc, out, err = cli(capsys, "convert", src, dst)
    assert rc == 0, out + err
    assert "nn.BatchNorm1d(8, eps=0.001, momentum=0.01)" in out
    back = tmp_path / "back.weights.h5"          # and the other way, into a .weights.h5
    rc, out, err = cli(capsys, "convert", dst, back, "--layers", "dense(units=8); "
                       "batchnorm(epsilon=1e-5, momentum=0.9); dense(units=3)", "--input", "6")
    assert rc == 0, out + err
    assert "layers.BatchNormalization(momentum=0.9, epsilon=1e-05): a .weights.h5 does not " \
           "hold epsilon" in out


def test_a_long_sequential_in_safetensors_is_read_in_index_order(capsys, tmp_path):
    from safetensors.torch import save_file

    mods = []
    for _ in range(6):                            # 12 modules: keys sort as 0, 10, 2, ...
        mods += [nn.Linear(5, 5), nn.Tanh()]
    module = randomize_torch(nn.Sequential(*mods[:-1], nn.Linear(5, 2)).double())
    src, dst = tmp_path / "deep.safetensors", tmp_path / "deep.weights.h5"
    save_file(module.state_dict(), src)
    rc, out, err = cli(capsys, "convert", src, dst)
    assert rc == 0, out + err
    assert out.count("dense(units=5)") >= 6


def test_steps_with_adam_and_a_bias_before_batchnorm(capsys, tmp_path):
    src, dst = tmp_path / "bn.pt", tmp_path / "bn.keras"
    torch.save(torch_model("batchnorm").state_dict(), src)
    rc, out, err = cli(capsys, "convert", src, dst, "--steps", "4", "--optimizer", "adam")
    assert rc == 0, out + err
    assert "not in a --steps trajectory" in out


def test_stacked_recurrent_weights_h5_meets_a_num_layers_torch_model(capsys, tmp_path):
    model = randomize_keras(keras_model("lstm2"))
    src, dst, like = tmp_path / "l.weights.h5", tmp_path / "l.pt", tmp_path / "init.pt"
    model.save_weights(src)
    module = torch_model("lstm2")
    torch.save(module.state_dict(), like)
    rc, out, err = cli(capsys, "convert", src, dst, "--like", like)
    assert rc == 0, out + err
    module.load_state_dict(torch.load(dst, weights_only=True), strict=True)
    assert_same_model("lstm2", module, model)
