"""crossframe.porting.formats: checkpoint files written by plain torch, safetensors, Keras 3 and
NumPy code read back key for key and bit for bit; every bad file refused in one line.

The Keras files come from a Sequential (Dense, BatchNormalization, LSTM, Bidirectional(GRU))
saved with ``save_weights`` and ``model.save``; each variable's dataset is found by shape and
value, and its key checked against Keras 3's layout (keras/src/saving/saving_lib.py,
``H5IOStore``: ``layers/<snake_case class>/[cell/|forward_layer/cell/]vars/<i>``).
"""
from __future__ import annotations

import builtins
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from crossframe import resources
from crossframe.porting.formats import KINDS, WRAPPER_KEYS, kind_of, read_checkpoint, save_torch
from crossframe.errors import InputError

DTYPES = ("float32", "float64")
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ------------------------------------------------------------------------------ helpers ----

class Net(nn.Module):
    """Keys with a Sequential index, a BatchNorm (num_batches_tracked) and an LSTM."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        self.lstm = nn.LSTM(4, 5)


def torch_state(dtype: str, seed: int = 0) -> OrderedDict:
    """A real state dict: random weights of both signs, BatchNorm statistics moved by one
    training-mode batch (num_batches_tracked = 1)."""
    torch.manual_seed(seed)
    net = Net().to(TORCH_DTYPES[dtype])
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p))
    net.train()
    net.body(torch.randn(6, 3, dtype=TORCH_DTYPES[dtype]))
    return net.state_dict()


def as_numpy(state) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in state.items()}


FLOAT_KEYS = ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
              "body.1.running_mean", "body.1.running_var", "lstm.weight_ih_l0",
              "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"]


def assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    """Same keys in the same order, same dtypes, same values bit for bit."""
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype, k
        assert got[k].shape == want[k].shape, k
        assert np.array_equal(got[k], want[k]), k


def truncated(src, dst) -> str:
    data = open(src, "rb").read()
    with open(dst, "wb") as fh:
        fh.write(data[: len(data) // 2])
    return str(dst)


# ------------------------------------------------------------------------------ kind_of ----

@pytest.mark.parametrize("name", ["m.pt", "dir/m.pth", "m.safetensors", "x/model.weights.h5",
                                  "m.keras", "w.npz", "M.PT", "Model.Weights.H5"])
def test_kind_of_known_extensions(name):
    ext = next(e for e in (".weights.h5", ".safetensors", ".keras", ".npz", ".pth", ".pt")
               if name.lower().endswith(e))
    assert kind_of(name) == KINDS[ext]


@pytest.mark.parametrize("name,match", [
    ("model.h5", r"plain \.h5 file: a Keras 2 / legacy HDF5.*save_weights\('name\.weights\.h5'\)"),
    ("pytorch_model.bin", r"\.bin file.*rename it to \.pt"),
    ("last.ckpt", r"TensorFlow or PyTorch Lightning checkpoint"),
    ("m.onnx", r"ONNX graph, which is not read"),
    ("m.pkl", r"pickle, which is never loaded"),
    ("m.npy", r"single array.*np\.savez"),
    ("m.txt", r"unknown checkpoint extension '\.txt'.*\.weights\.h5"),
    ("model", r"has no extension"),
])
def test_kind_of_refuses_other_extensions(name, match):
    with pytest.raises(InputError, match=match):
        kind_of(name)


# -------------------------------------------------------------------------------- torch ----

@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_state_dict_read_key_for_key(tmp_path, dtype):
    state = torch_state(dtype)
    path = tmp_path / "net.pt"
    torch.save(state, path)
    ck = read_checkpoint(str(path))
    assert (ck.kind, ck.framework, ck.wrapped, ck.config) == ("pt", "torch", None, None)
    assert list(ck.tensors) == FLOAT_KEYS
    assert_same(ck.tensors, {k: as_numpy(state)[k] for k in FLOAT_KEYS})
    # the BatchNorm's counter stays aside, as its own integer dtype
    assert list(ck.extra) == ["body.1.num_batches_tracked"]
    assert ck.extra["body.1.num_batches_tracked"].dtype == np.int64
    assert int(ck.extra["body.1.num_batches_tracked"]) == 1


@pytest.mark.parametrize("key", WRAPPER_KEYS)
def test_torch_wrapped_state_dict_found_beside_training_state(tmp_path, key):
    state = torch_state("float32", seed=1)
    net = Net()
    optimizer = torch.optim.Adam(net.parameters())
    net.lstm(torch.randn(2, 1, 4))[0].sum().backward()
    optimizer.step()
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 7, key: state, "optimizer": optimizer.state_dict(), "loss": 0.25}, path)
    ck = read_checkpoint(str(path))
    assert ck.wrapped == key
    assert_same(ck.tensors, {k: as_numpy(state)[k] for k in FLOAT_KEYS})
    assert list(ck.extra) == ["body.1.num_batches_tracked"]


@pytest.mark.parametrize("kind", ["pt", "safetensors"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_save_torch_round_trip_loads_into_the_module(tmp_path, kind, dtype):
    state = torch_state(dtype, seed=2)
    src = tmp_path / "src.pt"
    torch.save(state, src)
    ck = read_checkpoint(str(src))
    dst = tmp_path / f"out.{kind}"
    save_torch(str(dst), ck.tensors, ck.extra, kind=kind)
    if kind == "pt":
        loaded = torch.load(dst, map_location="cpu", weights_only=True)
        assert isinstance(loaded, OrderedDict)
        assert list(loaded) == list(state)      # num_batches_tracked back after running_var
    else:
        from safetensors.torch import load_file

        loaded = load_file(str(dst))
        assert sorted(loaded) == sorted(state)
    assert_same({k: as_numpy(loaded)[k] for k in state}, as_numpy(state))
    fresh = Net().to(TORCH_DTYPES[dtype])
    fresh.load_state_dict(loaded, strict=True)
    again = read_checkpoint(str(dst))
    assert sorted(again.tensors) == sorted(ck.tensors)
    assert_same({k: again.tensors[k] for k in ck.tensors}, ck.tensors)
    assert_same(again.extra, ck.extra)


def test_save_torch_refuses_an_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="'pt' or 'safetensors'"):
        save_torch(str(tmp_path / "x.keras"), {"w": np.ones(2)}, kind="keras")


@pytest.mark.parametrize("dtype", DTYPES)
def test_safetensors_written_by_the_library(tmp_path, dtype):
    from safetensors.torch import save_file

    state = torch_state(dtype, seed=3)
    path = tmp_path / "net.safetensors"
    save_file(dict(state), str(path))
    ck = read_checkpoint(str(path))
    assert (ck.kind, ck.framework) == ("safetensors", "torch")
    assert sorted(ck.tensors) == sorted(FLOAT_KEYS)
    want = as_numpy(state)
    assert_same({k: ck.tensors[k] for k in FLOAT_KEYS}, {k: want[k] for k in FLOAT_KEYS})
    assert_same(ck.extra, {"body.1.num_batches_tracked": want["body.1.num_batches_tracked"]})


# ---------------------------------------------------------------------------------- npz ----

def test_npz_arrays_read_in_file_order(tmp_path):
    rng = np.random.default_rng(4)
    arrays = {"dense.W": rng.standard_normal((3, 4)).astype(np.float32),
              "dense.b": rng.standard_normal(4),
              "steps": np.array(12, dtype=np.int64),
              "lstm.W_x": rng.standard_normal((4, 8))}
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    ck = read_checkpoint(str(path))
    assert (ck.kind, ck.framework) == ("npz", "canonical")
    assert_same(ck.tensors, {k: arrays[k] for k in ("dense.W", "dense.b", "lstm.W_x")})
    assert_same(ck.extra, {"steps": arrays["steps"]})


# -------------------------------------------------------------------------------- Keras ----

# Keras 3's layout for the test model, layer by layer in model.weights order (H5IOStore keys:
# the snake_case class name under layers/, a recurrent layer's variables under cell/, a
# Bidirectional's under forward_layer/ and backward_layer/).
KERAS_KEYS = (
    ["layers/dense/vars/0", "layers/dense/vars/1"]                            # kernel, bias
    + [f"layers/batch_normalization/vars/{i}" for i in range(4)]    # gamma beta mean variance
    + [f"layers/lstm/cell/vars/{i}" for i in range(3)]         # kernel, recurrent kernel, bias
    + [f"layers/bidirectional/forward_layer/cell/vars/{i}" for i in range(3)]
    + [f"layers/bidirectional/backward_layer/cell/vars/{i}" for i in range(3)]
)


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Files written by plain Keras 3 code, built once: per dtype the model's weights
    (save_weights) and the whole model (model.save), with the variables' values; and the
    models a .keras must be refused for."""
    from crossframe.keras_impl.backend import keras

    folder = tmp_path_factory.mktemp("keras")
    rng = np.random.default_rng(5)
    out = {}
    for dtype in DTYPES:            # dtype per layer: Keras' global floatx is left alone
        model = keras.Sequential([
            keras.Input((5, 3), dtype=dtype),
            keras.layers.Dense(4, dtype=dtype),
            keras.layers.BatchNormalization(dtype=dtype),
            keras.layers.LSTM(6, return_sequences=True, dtype=dtype),
            keras.layers.Bidirectional(keras.layers.GRU(2, dtype=dtype), dtype=dtype),
        ])
        model.set_weights([np.abs(rng.standard_normal(w.shape)) if "variance" in w.path
                           else rng.standard_normal(w.shape) for w in model.weights])
        model.compile(optimizer="adam", loss="mse")
        model.optimizer.build(model.trainable_variables)
        weights, archive = folder / f"m_{dtype}.weights.h5", folder / f"m_{dtype}.keras"
        model.save_weights(str(weights))
        model.save(str(archive))
        out[dtype] = dict(weights=str(weights), keras=str(archive),
                          values=[np.array(w.numpy()) for w in model.weights],
                          n_optimizer=len(model.optimizer.variables))
    out["legacy"] = str(folder / "legacy.h5")
    model.save(out["legacy"])       # Keras' legacy HDF5 format (model_weights/ at the root)

    class Counter(keras.layers.Layer):  # an integer state variable beside float weights
        def build(self, shape):
            self.count = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                         trainable=False)

        def call(self, x):
            return x

    counted = keras.Sequential([keras.Input((3,)), Counter(), keras.layers.Dense(2)])
    counted.layers[0].count.assign(7)
    out["counter"] = str(folder / "counter.weights.h5")
    counted.save_weights(out["counter"])
    out["counter_values"] = [np.array(w.numpy()) for w in counted.layers[1].weights]

    lam = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                            keras.layers.Lambda(lambda x: 2 * x)])
    out["lambda"] = str(folder / "lambda.keras")
    lam.save(out["lambda"])

    @keras.saving.register_keras_serializable(package="CrossframeTest")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    custom = keras.Sequential([keras.Input((3,)), Doubler(), keras.layers.Dense(2)])
    out["custom"] = str(folder / "custom.keras")
    custom.save(out["custom"])
    return out


def assert_keras_variables(tensors: dict[str, np.ndarray], values: list[np.ndarray],
                           dtype: str) -> None:
    """Every variable's dataset found by shape and value (exactly one), at Keras' key."""
    assert sorted(tensors) == sorted(KERAS_KEYS)
    for key, value in zip(KERAS_KEYS, values):
        found = [k for k, a in tensors.items()
                 if a.shape == value.shape and np.array_equal(a, value)]
        assert found == [key]
        assert tensors[key].dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_keras_save_weights_read_at_keras_keys(keras_files, dtype):
    files = keras_files[dtype]
    ck = read_checkpoint(files["weights"])
    assert (ck.kind, ck.framework, ck.config) == ("weights.h5", "keras", None)
    assert_keras_variables(ck.tensors, files["values"], dtype)
    assert ck.extra == {}
    # the optimizer's variables are training state, named to the user, not read as weights
    assert len(ck.skipped) == files["n_optimizer"] > 0
    assert all(s.startswith("optimizer/") for s in ck.skipped)


@pytest.mark.parametrize("dtype", DTYPES)
def test_keras_archive_read_with_its_config(keras_files, dtype):
    files = keras_files[dtype]
    ck = read_checkpoint(files["keras"])
    assert (ck.kind, ck.framework) == ("keras", "keras")
    assert_keras_variables(ck.tensors, files["values"], dtype)
    assert ck.config["class_name"] == "Sequential"
    assert [layer["class_name"] for layer in ck.config["config"]["layers"]] == \
        ["InputLayer", "Dense", "BatchNormalization", "LSTM", "Bidirectional"]
    assert len(ck.skipped) == files["n_optimizer"]
    assert all(s.startswith("optimizer/") for s in ck.skipped)


def test_keras_keys_in_natural_order(tmp_path):
    """HDF5 lists a group's members by name (vars/10 before vars/2); keys come with numbers
    compared as numbers, layers dense, dense_2, dense_10 in that order."""
    rng = np.random.default_rng(7)
    want = {f"layers/{layer}/vars/{i}": rng.standard_normal(i + 1)
            for layer in ("dense", "dense_2", "dense_10") for i in range(12)}
    path = tmp_path / "many.weights.h5"
    with h5py.File(path, "w") as f:
        for key in sorted(want, reverse=True):
            f[key] = want[key]
    assert_same(read_checkpoint(str(path)).tensors, want)


def test_keras_integer_variable_kept_aside(keras_files):
    ck = read_checkpoint(keras_files["counter"])
    assert list(ck.extra) == ["layers/counter/vars/0"]
    assert ck.extra["layers/counter/vars/0"].dtype == np.int64
    assert int(ck.extra["layers/counter/vars/0"]) == 7
    kernel, bias = keras_files["counter_values"]
    assert_same(ck.tensors, {"layers/dense/vars/0": kernel, "layers/dense/vars/1": bias})


# -------------------------------------------------------------------- bad torch files ----

class Marker:
    """A pickle whose loading creates a file: the test of never running a file's code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.open, (self.path, "w")


@pytest.mark.parametrize("how", ["torch.save", "pickle.dumps"])
def test_malicious_pt_is_refused_and_runs_nothing(tmp_path, how):
    probe = tmp_path / "probe"                  # the payload does what it says when unpickled
    pickle.loads(pickle.dumps(Marker(probe))).close()
    assert probe.exists()
    marker, path = tmp_path / "marker", tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"w": torch.ones(2), "x": Marker(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Marker(marker)))
    with pytest.raises(InputError, match="refused because loading it would run code"):
        read_checkpoint(str(path))
    assert not marker.exists()


def _bad_torch_payloads():
    t = torch.randn(2, 3)
    return {
        "module": (nn.Linear(2, 2), r"torch\.nn\.modules\.linear\.Linear.*would run code.*"
                   r"model\.state_dict\(\)"),
        "list": ([t, t], r"holds a list, not a state dict"),
        "tensor": (t, r"holds a single tensor, not a state dict"),
        "empty": ({}, r"holds an empty dict"),
        "nested": ({"encoder": {"layer": {"w": 1}}, "decoder": 2},
                   r"dict of encoder, decoder with no state dict of tensors under state_dict"),
        "mixed": ({"w": t, "epoch": 3}, r"mixes tensors with other entries \(epoch: int\)"),
        "float16": ({"w": t.half()}, r"w is float16; only float32 and float64.*\.float\(\)"),
        "bfloat16": ({"w": t.bfloat16()}, r"w is bfloat16.*\.double\(\)"),
        "complex": ({"w": torch.randn(2, dtype=torch.complex64)}, r"w is complex64"),
        "ints only": ({"n": torch.ones(2, dtype=torch.int64)},
                      r"no float32 or float64 tensor \(1 non-float"),
    }


@pytest.mark.parametrize("case", list(_bad_torch_payloads()))
def test_bad_torch_payloads_refused_in_one_line(tmp_path, case):
    payload, match = _bad_torch_payloads()[case]
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(InputError, match=match) as err:
        read_checkpoint(str(path))
    assert "\n" not in str(err.value)


def test_torch_file_above_the_memory_budget_is_refused(tmp_path):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.randn(64, 64)}, path)
    resources.set_budget("4K")
    try:
        with pytest.raises(InputError, match="above the memory budget"):
            read_checkpoint(str(path))
    finally:
        resources.set_budget(None)


# ---------------------------------------------------------------- bad files, any kind ----

@pytest.mark.parametrize("ext", list(KINDS))
def test_empty_file_refused(tmp_path, ext):
    path = tmp_path / f"empty{ext}"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)"):
        read_checkpoint(str(path))


def test_missing_directory_and_pipe_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_checkpoint(str(tmp_path / "nowhere.pt"))
    (tmp_path / "folder.keras").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        read_checkpoint(str(tmp_path / "folder.keras"))
    os.mkfifo(tmp_path / "pipe.npz")
    with pytest.raises(InputError, match=r"not a regular file \(a pipe or a device\)"):
        read_checkpoint(str(tmp_path / "pipe.npz"))


TRUNCATED = {
    "pt": r"not a readable PyTorch file \(RuntimeError: truncated or corrupt",
    "safetensors": r"not a readable safetensors file",
    "weights.h5": r"not a readable HDF5 file \(\w+: truncated",
    "keras": r"not a readable zip archive \(\.keras\)",
    "npz": r"not a readable \.npz file",
}


@pytest.mark.parametrize("kind", list(TRUNCATED))
def test_truncated_copy_of_each_format_refused(tmp_path, request, kind):
    state = torch_state("float64", seed=6)
    src = tmp_path / {"pt": "w.pt", "safetensors": "w.safetensors", "npz": "w.npz"}.get(kind, "x")
    if kind == "pt":
        torch.save(state, src)
    elif kind == "safetensors":
        save_torch(str(src), as_numpy(state), kind="safetensors")
    elif kind == "npz":
        np.savez(src, **as_numpy(state))
    else:
        files = request.getfixturevalue("keras_files")["float64"]
        src = files["weights" if kind == "weights.h5" else "keras"]
    dst = truncated(src, tmp_path / f"half.{kind}")
    with pytest.raises(InputError, match=TRUNCATED[kind]):
        read_checkpoint(dst)


# -------------------------------------------------------------- bad safetensors files ----

def test_safetensors_corrupt_header_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    header = b'{"w": {"dtype": "F32", "shape": [2]'         # cut JSON
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(InputError, match=r"corrupt safetensors header \(JSONDecodeError"):
        read_checkpoint(str(path))
    path.write_bytes((10 ** 6).to_bytes(8, "little") + b"{}")
    with pytest.raises(InputError, match=r"declare a 1000000-byte header in a 10-byte file"):
        read_checkpoint(str(path))


def test_safetensors_half_precision_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "half.safetensors"
    save_file({"w": np.ones((2, 2), np.float16)}, str(path))
    with pytest.raises(InputError, match=r"w is F16; only float32 and float64.*\.float\(\)"):
        read_checkpoint(str(path))


# ---------------------------------------------------------------------- bad HDF5 files ----

def test_keras2_legacy_hdf5_refused(tmp_path, keras_files):
    path = tmp_path / "legacy.weights.h5"
    path.write_bytes(open(keras_files["legacy"], "rb").read())
    with pytest.raises(InputError, match=r"Keras 2 / legacy HDF5 file \(model_weights/ .*"
                                         r"model\.save_weights\('name\.weights\.h5'\)"):
        read_checkpoint(str(path))
    # Keras 2's save_weights layout: layer_names at the root, kernel:0 under each layer
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f.create_dataset("dense/dense/kernel:0", data=np.ones((2, 3)))
    with pytest.raises(InputError, match=r"Keras 2 / legacy HDF5 file"):
        read_checkpoint(str(path))


def _h5(path, build) -> str:
    with h5py.File(path, "w") as f:
        build(f)
    return str(path)


def test_hdf5_without_keras3_layout_refused(tmp_path):
    path = _h5(tmp_path / "other.weights.h5", lambda f: f.create_dataset("data", data=np.ones(3)))
    with pytest.raises(InputError, match=r"without Keras 3's weights layout \(dataset data is "
                                         r"not under a vars/ group\).*save_weights"):
        read_checkpoint(path)
    path = _h5(tmp_path / "bare.weights.h5", lambda f: f.create_group("model"))
    with pytest.raises(InputError, match=r"without Keras 3's weights layout \(no vars/ group\)"):
        read_checkpoint(path)


@pytest.mark.parametrize("link,match", [
    (lambda: h5py.SoftLink("/elsewhere"), r"link to another path \(SoftLink\), which is never"),
    (lambda: h5py.ExternalLink("/etc/other.h5", "/x"), r"link to another file \(ExternalLink\)"),
])
def test_hdf5_links_never_followed(tmp_path, link, match):
    def build(f):
        f.create_dataset("elsewhere", data=np.ones(3))
        f.create_group("layers/dense/vars")["0"] = link()
    path = _h5(tmp_path / "links.weights.h5", build)
    with pytest.raises(InputError, match=match):
        read_checkpoint(path)


def test_hdf5_shape_bomb_refused_before_reading(tmp_path):
    # a few KB on disk declaring a 128 GiB float64 dataset (chunked, never written)
    path = _h5(tmp_path / "bomb.weights.h5", lambda f: f.create_dataset(
        "layers/dense/vars/0", shape=(1 << 17, 1 << 17), dtype="f8", chunks=(64, 64)))
    assert os.path.getsize(path) < 100_000
    with pytest.raises(InputError, match=r"layers/dense/vars/0 \(131072, 131072\) float64: "
                                         r"about 128\.0 GiB, above the memory budget"):
        read_checkpoint(path)


def test_hdf5_half_precision_and_not_hdf5_refused(tmp_path):
    path = _h5(tmp_path / "half.weights.h5", lambda f: f.create_dataset(
        "layers/dense/vars/0", data=np.ones(3, np.float16)))
    with pytest.raises(InputError, match=r"layers/dense/vars/0 is float16; only float32"):
        read_checkpoint(path)
    path = tmp_path / "text.weights.h5"
    path.write_text("not hdf5 at all")
    with pytest.raises(InputError, match=r"not a readable HDF5 file"):
        read_checkpoint(str(path))


# --------------------------------------------------------------------- bad .keras files ----

def test_keras_lambda_layer_refused(keras_files):
    with pytest.raises(InputError, match=r"layer 'lambda\w*' is a Lambda layer: its function "
                                         r"is code, which is never run.*--layers"):
        read_checkpoint(keras_files["lambda"])


def test_keras_custom_registered_layer_refused(keras_files):
    with pytest.raises(InputError, match=r"layer 'doubler\w*' is a custom object "
                                         r"CrossframeTest>Doubler .*never imported or run"):
        read_checkpoint(keras_files["custom"])


def test_keras_archive_missing_members_or_corrupt_refused(tmp_path, keras_files):
    with zipfile.ZipFile(keras_files["float32"]["keras"]) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    for missing, match in (("config.json", r"has no config\.json"),
                           ("model.weights.h5", r"has no model\.weights\.h5")):
        path = tmp_path / f"no_{missing}.keras"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                if name != missing:
                    zf.writestr(name, data)
        with pytest.raises(InputError, match=match):
            read_checkpoint(str(path))
    path = tmp_path / "garbage.keras"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match=r"not a readable zip archive \(\.keras\) \(BadZipFile"):
        read_checkpoint(str(path))
    path = tmp_path / "badjson.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", "{not json")
        zf.writestr("model.weights.h5", members["model.weights.h5"])
    with pytest.raises(InputError, match=r"config\.json is not JSON"):
        read_checkpoint(str(path))


def test_keras_config_is_parsed_not_deserialized(tmp_path, keras_files):
    """A config naming a function stored as bytecode (a lambda activation) is refused from the
    JSON alone."""
    with zipfile.ZipFile(keras_files["float32"]["keras"]) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["activation"] = {"value": ["4wEAAAAA", None, None]}
    path = tmp_path / "bytecode.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, json.dumps(config) if name == "config.json" else data)
    with pytest.raises(InputError, match=r"layer 'dense\w*' holds a Python function stored as "
                                         r"bytecode"):
        read_checkpoint(str(path))


# ------------------------------------------------------------------------ bad npz files ----

def test_npz_half_precision_refused(tmp_path):
    path = tmp_path / "half.npz"
    np.savez(path, w=np.ones(2, np.float16))
    with pytest.raises(InputError, match=r"w is float16; only float32 and float64"):
        read_checkpoint(str(path))
