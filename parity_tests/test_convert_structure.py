"""crossframe.porting.structure: the architecture read off a checkpoint with no --model/--layers.

Every checkpoint here is made by the library itself (torch ``state_dict``, Keras ``model.save``
and ``model.save_weights``), never written by hand. Each reading is checked four ways: its
layers and options (the expected text is written from the model's definition), its input
shape, the notes/alternatives its assumptions must produce, and that it builds — with the
shapes its declared mapping gives each framework equal to the file's, tensor by tensor in
order (so a transposed, swapped or missing tensor fails). Sizes are all different (in != out)
so a transposed reading cannot pass.
"""
from __future__ import annotations

import json
import zipfile

import pytest
import torch

from crossframe.porting import structure as S
from crossframe.errors import InputError
from crossframe.sequential import Sequential, parse_layers

nn = torch.nn


# --- helpers ---------------------------------------------------------------------------------
def torch_shapes(module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def groups(shapes: dict[str, tuple]) -> list[dict[str, tuple]]:
    """{suffix: shape} per module prefix, in order (num_batches_tracked left out: crossframe
    has no tensor for it)."""
    out: dict[str, dict[str, tuple]] = {}
    for key, shape in shapes.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf != "num_batches_tracked":
            out.setdefault(prefix, {})[leaf] = tuple(shape)
    return list(out.values())


def built(reading: S.Reading) -> Sequential:
    """The reading as a model, and its text read back to the same model."""
    model = Sequential(reading.layers, reading.input_shape)
    again = Sequential(reading.text(), reading.input_shape)
    assert again.text() == model.text() == reading.text()
    return model


def framework_shapes(model: Sequential, framework: str) -> dict[str, tuple]:
    return model.mapping(framework).framework_shapes({p.name: p.shape for p in model.params()})


def assert_torch_fits(reading: S.Reading, shapes: dict[str, tuple]) -> None:
    model = built(reading)
    assert groups(framework_shapes(model, "torch")) == groups(shapes)


def assert_keras_fits(reading: S.Reading, kmodel) -> None:
    """Keras' own variables, in the model's order, against the reading's Keras mapping."""
    model = built(reading)
    assert list(framework_shapes(model, "keras").values()) == \
        [tuple(w.shape) for w in kmodel.weights]


def mentions(texts: list[str], *words: str) -> bool:
    return any(all(w in t for w in words) for t in texts)


# --- torch: the cases the brief names ---------------------------------------------------------
def test_sequential_mlp_reads_the_skipped_indices_as_relu():
    net = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 7), nn.ReLU(),
                        nn.Linear(7, 3))
    shapes = torch_shapes(net)
    r = S.from_torch(shapes)
    assert r.text() == "dense(units=16); relu; dense(units=7); relu; dense(units=3)"
    assert r.input_shape == (12,)
    assert mentions(r.notes, "index 1", "relu") and mentions(r.notes, "index 3", "relu")
    assert mentions(r.alternatives, "tanh", "--layers")
    assert_torch_fits(r, shapes)


def test_sequential_without_gaps_reads_no_activation():
    net = nn.Sequential(nn.Linear(6, 9), nn.Linear(9, 4))
    shapes = torch_shapes(net)
    r = S.from_torch(shapes)
    assert r.text() == "dense(units=9); dense(units=4)"
    assert not mentions(r.notes, "relu")
    assert_torch_fits(r, shapes)


class ConvPoolNet(nn.Module):
    """conv -> relu -> maxpool -> flatten -> linear, the parameterless steps in forward."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8 * 5 * 5, 4)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.fc(torch.flatten(x, 1))


def test_named_conv_module_with_the_input_given_solves_the_pooling():
    net = ConvPoolNet()
    net(torch.zeros(1, 3, 12, 12))                  # the model does run on this input
    shapes = torch_shapes(net)
    r = S.from_torch(shapes, (12, 12, 3))
    assert r.text() == ("conv2d(filters=8, kernel_size=3x3); relu; maxpool2d(pool_size=2); "
                        "flatten; dense(units=4)")
    assert r.input_shape == (12, 12, 3)
    assert mentions(r.notes, "strides 1", "padding valid")
    assert mentions(r.notes, "max pooling of 2")
    assert mentions(r.notes, "relu is assumed", "named modules")
    assert mentions(r.alternatives, "averagepool2d(pool_size=2)")
    assert_torch_fits(r, shapes)


def test_sequential_conv_flatten_linear_solves_the_input():
    net = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 7 * 7, 5))
    net(torch.zeros(1, 1, 9, 9))                    # the input the reading must find
    shapes = torch_shapes(net)
    r = S.from_torch(shapes)
    assert r.text() == "conv2d(filters=6, kernel_size=3x3); relu; flatten; dense(units=5)"
    assert r.input_shape == (9, 9, 1)
    assert mentions(r.notes, "square 7x7", "no pooling", "9x9x1")
    assert_torch_fits(r, shapes)


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(16, 64, num_layers=2, batch_first=True)
        self.head = nn.Linear(64, 3)


def test_lstm_with_any_attribute_name_then_linear_reads_the_last_step():
    shapes = torch_shapes(Tagger())
    r = S.from_torch(shapes)
    assert r.text() == "lstm(units=64, num_layers=2); dense(units=3)"
    assert r.input_shape == (S.STEPS, 16)
    assert mentions(r.notes, "steps", "--input")
    assert mentions(r.notes, "'head'", "last step")
    assert mentions(r.alternatives, "return_sequences=true", "dense(units=3)")
    assert_torch_fits(r, shapes)


def test_the_given_input_overrides_the_steps():
    shapes = torch_shapes(Tagger())
    r = S.from_torch(shapes, (20, 16))
    assert r.input_shape == (20, 16)
    assert not mentions(r.notes, "steps")
    assert_torch_fits(r, shapes)


class BiGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(8, 6, bidirectional=True, batch_first=True)
        self.out = nn.Linear(12, 2)


def test_bidirectional_gru():
    shapes = torch_shapes(BiGRU())
    assert "rnn.weight_hh_l0_reverse" in shapes
    r = S.from_torch(shapes)
    assert r.text() == "gru(units=6, bidirectional=true); dense(units=2)"
    assert r.input_shape == (S.STEPS, 8)
    assert mentions(r.notes, "h_n[-2]")          # torch's out[:, -1] is not the same there
    assert_torch_fits(r, shapes)


def test_batchnorm_mlp_states_torchs_defaults_in_keras_terms():
    net = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                        nn.Linear(16, 3))
    shapes = torch_shapes(net)
    assert "1.num_batches_tracked" in shapes
    r = S.from_torch(shapes)
    assert r.text() == ("dense(units=16); batchnorm(momentum=0.9, epsilon=1e-05); relu; "
                        "dense(units=3)")
    bn = r.layers[1].options
    assert bn["momentum"] == pytest.approx(1 - 0.1) and bn["epsilon"] == net[1].eps
    assert mentions(r.notes, "BatchNorm", "momentum 0.1")
    assert mentions(r.notes, "indices 2..3", "Dropout")
    assert_torch_fits(r, shapes)


class EmbedLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 12, batch_first=True)
        self.fc = nn.Linear(12, 3)


def test_embedding_then_lstm():
    shapes = torch_shapes(EmbedLSTM())
    r = S.from_torch(shapes)
    assert r.text() == "embedding(input_dim=20, output_dim=8); lstm(units=12); dense(units=3)"
    assert r.input_shape == (S.STEPS,)
    assert mentions(r.notes, "token ids")
    assert_torch_fits(r, shapes)


# --- torch: more kinds ------------------------------------------------------------------------
class TwoLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(5, 11)
        self.output = nn.Linear(11, 2, bias=False)


def test_named_linears_assume_relu_and_say_so():
    shapes = torch_shapes(TwoLinear())
    r = S.from_torch(shapes)
    assert r.text() == "dense(units=11); relu; dense(units=2, use_bias=false)"
    assert mentions(r.notes, "'hidden'", "'output'", "relu is assumed")
    assert mentions(r.alternatives, "dense(units=11); tanh; dense(units=2, use_bias=false)")
    assert_torch_fits(r, shapes)


class Stacked(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.GRU(4, 7, batch_first=True)
        self.b = nn.RNN(7, 5, bias=False, batch_first=True)


def test_recurrent_then_recurrent_returns_sequences_and_rnn_says_tanh():
    shapes = torch_shapes(Stacked())
    r = S.from_torch(shapes)
    assert r.text() == "gru(units=7, return_sequences=true); simple_rnn(units=5, use_bias=false)"
    assert mentions(r.notes, "nn.RNN", "tanh")
    assert mentions(r.alternatives, "simple_rnn(units=5, use_bias=false, activation=relu)")
    assert mentions(r.alternatives, "simple_rnn(units=5, use_bias=false, return_sequences=true)")
    assert_torch_fits(r, shapes)


def test_grouped_conv_and_global_pooling_on_a_given_input():
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3, groups=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    net(torch.zeros(1, 2, 10, 10))
    shapes = torch_shapes(net)
    r = S.from_torch(shapes, (10, 10, 2))
    assert r.text() == ("conv2d(filters=4, kernel_size=3x3); relu; "
                        "conv2d(filters=6, kernel_size=3x3, groups=2); relu; "
                        "globalaveragepool2d; dense(units=3)")
    assert mentions(r.notes, "groups=2")
    assert mentions(r.alternatives, "globalmaxpool2d")
    assert_torch_fits(r, shapes)


def test_conv1d_and_layernorm():
    net = nn.Sequential(nn.Conv1d(3, 5, 4), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 7, 6),
                        nn.LayerNorm(6), nn.Linear(6, 2))
    net(torch.zeros(1, 3, 10))
    shapes = torch_shapes(net)
    r = S.from_torch(shapes)
    assert r.text() == ("conv1d(filters=5, kernel_size=4); relu; flatten; dense(units=6); "
                        "layernorm(epsilon=1e-05); dense(units=2)")
    assert r.input_shape == (10, 3)
    assert mentions(r.notes, "LayerNorm", "1e-5")
    assert_torch_fits(r, shapes)


def test_a_size_keeping_conv_is_read_with_same_padding_when_valid_does_not_fit():
    net = nn.Sequential(nn.Conv1d(2, 8, 5, padding=2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8 * 24, 1))
    net(torch.zeros(1, 2, 24))
    shapes = torch_shapes(net)
    r = S.from_torch(shapes, (24, 2))
    assert r.text() == ("conv1d(filters=8, kernel_size=5, padding=same); relu; flatten; "
                        "dense(units=1)")
    assert mentions(r.notes, "padding='same'")
    assert mentions(r.alternatives, "conv1d(filters=8, kernel_size=5, padding=causal)")
    assert_torch_fits(r, shapes)


# --- torch: what cannot be read ---------------------------------------------------------------
def test_lstm_projection_is_refused_by_key():
    shapes = torch_shapes(nn.Sequential(nn.LSTM(4, 8, proj_size=3)))
    with pytest.raises(InputError, match=r"'0\.weight_hr_l0'.*--model NAME, or --layers"):
        S.from_torch(shapes)


def test_a_3d_weight_with_extra_keys_is_refused():
    shapes = {"x.weight": (4, 3, 2), "x.bias": (4,), "x.scale": (4,)}
    with pytest.raises(InputError, match=r"'x\.scale' is not read.*--layers"):
        S.from_torch(shapes)


def test_a_layernorm_without_bias_is_refused():
    shapes = torch_shapes(nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6, bias=False)))
    with pytest.raises(InputError, match=r"'1\.weight' is not read.*LayerNorm\(bias=False\)"):
        S.from_torch(shapes)


def test_an_input_size_that_is_not_a_square_asks_for_the_input():
    net = nn.Sequential(nn.Conv2d(1, 6, 3), nn.Flatten(), nn.Linear(6 * 12, 5))
    with pytest.raises(InputError, match=r"72 / 6 is not an integer square.*--input H,W,C"):
        S.from_torch(torch_shapes(net))


def test_linears_that_do_not_chain_are_refused():
    shapes = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (2, 9), "2.bias": (2,)}
    with pytest.raises(InputError, match=r"module '2' takes 9 input features.*give 8"):
        S.from_torch(shapes)


def test_a_given_input_no_pooling_fits_is_refused():
    net = ConvPoolNet()
    with pytest.raises(InputError, match=r"'fc' takes 200 features.*no pooling"):
        S.from_torch(torch_shapes(net), (13, 17, 3))


# --- Keras: a .keras archive's config ---------------------------------------------------------
@pytest.fixture(scope="module")
def keras():
    from crossframe.keras_impl.backend import keras

    return keras


def saved_config(kmodel, tmp_path) -> dict:
    path = tmp_path / "model.keras"
    kmodel.save(path)
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def weights_h5(kmodel, tmp_path) -> dict[str, tuple]:
    import h5py

    path = tmp_path / "model.weights.h5"
    kmodel.save_weights(path)
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, tuple(obj.shape))
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def test_keras_stacked_lstms_become_num_layers(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([keras.Input((6, 4)), L.LSTM(5, return_sequences=True),
                           L.LSTM(5, return_sequences=True), L.LSTM(5),
                           L.Dense(3, activation="relu"), L.BatchNormalization(momentum=0.8),
                           L.Dropout(0.25), L.Dense(2)])
    r = S.from_keras_config(saved_config(km, tmp_path))
    assert r.text() == ("lstm(units=5, num_layers=3); dense(units=3, activation=relu); "
                        "batchnorm(momentum=0.8); dropout(rate=0.25); dense(units=2)")
    assert r.input_shape == (6, 4)
    names = ", ".join(repr(layer.name) for layer in km.layers[:3])   # Keras' auto names
    assert mentions(r.notes, names, "num_layers=3")
    assert mentions(r.alternatives, "lstm(units=5, return_sequences=true); "
                    "lstm(units=5, return_sequences=true); lstm(units=5); ")
    assert_keras_fits(r, km)


def test_keras_conv_layers_and_activation_layers(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([
        keras.Input((9, 9, 3)), L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.MaxPooling2D(pool_size=2, strides=1), L.Conv2DTranspose(2, (3, 2), strides=2),
        L.Activation("gelu"), L.LeakyReLU(negative_slope=0.1), L.Activation("leaky_relu"),
        L.GlobalAveragePooling2D(), L.LayerNormalization(epsilon=1e-5),
        L.Dense(3, use_bias=False)])
    r = S.from_keras_config(saved_config(km, tmp_path))
    assert r.text() == (
        "conv2d(filters=4, kernel_size=3x3, strides=2x2, padding=same); relu; "
        "maxpool2d(strides=1x1); conv2dtranspose(filters=2, kernel_size=3x2, strides=2x2); "
        "gelu; leaky_relu(negative_slope=0.1); leaky_relu(negative_slope=0.2); "
        "globalaveragepool2d; layernorm(epsilon=1e-05); dense(units=3, use_bias=false)")
    assert r.input_shape == (9, 9, 3)
    assert_keras_fits(r, km)


def test_keras_embedding_bidirectional_gru(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([keras.Input((7,), dtype="int32"),
                           L.Embedding(11, 4, mask_zero=True),
                           L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum"),
                           L.GlobalMaxPooling1D(), L.Dense(2, activation="softmax")])
    r = S.from_keras_config(saved_config(km, tmp_path))
    assert r.text() == ("embedding(input_dim=11, output_dim=4, mask_zero=true); "
                        "gru(units=3, return_sequences=true, bidirectional=true, merge_mode=sum); "
                        "globalmaxpool1d; dense(units=2, activation=softmax)")
    assert r.input_shape == (7,)
    assert_keras_fits(r, km)


def test_keras_functional_chain_with_open_time_axis(keras, tmp_path):
    L = keras.layers
    x = keras.Input((None, 3))
    h = L.Conv1D(5, 3, padding="causal", dilation_rate=2)(x)
    h = L.SimpleRNN(4, activation="relu", go_backwards=True)(h)
    km = keras.Model(x, L.Dense(2)(h))
    r = S.from_keras_config(saved_config(km, tmp_path))
    assert r.text() == ("conv1d(filters=5, kernel_size=3, padding=causal, dilation_rate=2); "
                        "simple_rnn(units=4, go_backwards=true, activation=relu); "
                        "dense(units=2)")
    assert r.input_shape == (S.STEPS, 3)
    assert mentions(r.notes, "None", "--input")
    assert_keras_fits(r, km)


@pytest.fixture(scope="module")
def conv_config(keras, tmp_path_factory):
    L = keras.layers
    km = keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(3, 2), L.LayerNormalization(),
                           L.Flatten(), L.Dense(4), L.Dense(2)])
    return saved_config(km, tmp_path_factory.mktemp("conv"))


def _edited(config: dict, index: int, **changes) -> dict:
    out = json.loads(json.dumps(config))
    out["config"]["layers"][index]["config"].update(changes)
    return out


@pytest.mark.parametrize("index, changes, match", [
    (1, {"data_format": "channels_first"}, r"Conv2D 'conv2d.*data_format='channels_first'"),
    (2, {"center": False}, r"LayerNormalization '.*center=False is not read"),
    (4, {"activation": "relu6"}, r"Dense '.*activation='relu6'.*choose one of"),
])
def test_keras_options_crossframe_lacks_are_refused(conv_config, index, changes, match):
    with pytest.raises(InputError, match=match):
        S.from_keras_config(_edited(conv_config, index, **changes))


def test_keras_recurrent_dropout_is_refused(keras, tmp_path):
    km = keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(2, recurrent_dropout=0.1)])
    with pytest.raises(InputError, match=r"GRU 'gru.*recurrent_dropout=0.1"):
        S.from_keras_config(saved_config(km, tmp_path))


def test_keras_unknown_class_and_branching_are_refused(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([keras.Input((4,)), L.Dense(3), L.PReLU()])
    with pytest.raises(InputError, match=r"\(PReLU\) is not read.*crossframe list"):
        S.from_keras_config(saved_config(km, tmp_path))
    x = keras.Input((5,))
    km = keras.Model(x, L.Add()([L.Dense(4)(x), L.Dense(4)(x)]))
    with pytest.raises(InputError, match=r"branch"):
        S.from_keras_config(saved_config(km, tmp_path))


# --- Keras: a .weights.h5 ---------------------------------------------------------------------
def test_h5_of_one_class_reads_in_keras_numbering(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([keras.Input((5,)), L.Dense(9), L.Dense(6), L.Dense(2)])
    shapes = weights_h5(km, tmp_path)
    assert set(shapes) >= {"layers/dense/vars/0", "layers/dense_2/vars/1"}
    r = S.from_keras_h5(shapes)
    assert r.text() == "dense(units=9); relu; dense(units=6); relu; dense(units=2)"
    assert r.input_shape == (5,)
    assert mentions(r.notes, "does not record activations")
    assert mentions(r.alternatives, "tanh")
    assert_keras_fits(r, km)


def test_h5_chain_whose_shapes_connect_in_one_order(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([keras.Input((8, 3)), L.Conv1D(6, 3),
                           L.Bidirectional(L.LSTM(4, return_sequences=True)), L.GRU(5),
                           L.Dense(2)])
    shapes = weights_h5(km, tmp_path)
    r = S.from_keras_h5(shapes, (8, 3))
    assert r.text() == ("conv1d(filters=6, kernel_size=3); lstm(units=4, bidirectional=true, "
                        "return_sequences=true); gru(units=5); dense(units=2)")
    assert mentions(r.notes, "conv1d -> bidirectional -> gru -> dense")
    assert mentions(r.notes, "concatenated")
    assert_keras_fits(r, km)


def test_h5_whose_order_is_ambiguous_is_refused(keras, tmp_path):
    L = keras.layers
    km = keras.Sequential([keras.Input((8,)), L.Dense(8), L.BatchNormalization(), L.Dense(8),
                           L.BatchNormalization(), L.Dense(3)])
    with pytest.raises(InputError, match=r"does not record the order.*more than one order.*"
                                         r"convert the \.keras archive"):
        S.from_keras_h5(weights_h5(km, tmp_path))


def test_h5_paths_that_are_not_read(keras, tmp_path):
    with pytest.raises(InputError, match=r"'layers/p_re_lu' \(p_re_lu\) is not read"):
        S.from_keras_h5({"layers/p_re_lu/vars/0": (4,)})
    with pytest.raises(InputError, match=r"'layers/sequential/layers/dense/vars/0' is not read"):
        S.from_keras_h5({"layers/sequential/layers/dense/vars/0": (4, 3)})


def test_a_cnn_of_unknown_input_offers_the_pooled_reading():
    # Conv -> ReLU -> MaxPool -> Flatten -> Linear: with the input unknown the map before the
    # Linear is read without pooling; the usual conv-relu-pool reading is offered, on the input
    # it needs, and it has the very same tensors
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 12 * 12, 10))
    shapes = torch_shapes(net)
    r = S.from_torch(shapes)
    assert r.input_shape == (14, 14, 3)
    alt = next(a for a in r.alternatives if "max pooling of 2" in a)
    layers, given = alt.split('--layers "')[1].split('"')[0], alt.split("--input ")[1]
    assert given == "26x26x3" and "maxpool2d(pool_size=2); flatten" in layers
    pooled = S.Reading(parse_layers(layers), (26, 26, 3), [], [])
    assert_torch_fits(pooled, shapes)
