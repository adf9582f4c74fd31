"""Default initialisers: drawn from the REAL libraries, checked against the documented laws.

The expected laws are written out here from each library's documentation (never read from
crossframe.initializers, the code under test):
- torch (docs of nn.Linear, nn.Conv2d, nn.RNN/LSTM/GRU, nn.Embedding, nn.LayerNorm,
  nn.BatchNorm1d): Linear/Conv2d weight and bias U(-sqrt(k), sqrt(k)), k = 1 / fan_in
  (in_features; C_in * kh * kw); every recurrent weight and bias U(-sqrt(k), sqrt(k)),
  k = 1 / hidden_size; Embedding N(0, 1); norms weight 1, bias 0, running mean 0, var 1.
- Keras (docs of GlorotUniform, Orthogonal, RandomUniform and the layers' signatures): kernels
  glorot_uniform U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); recurrent kernels
  orthogonal; biases zeros (the LSTM's forget block 1, unit_forget_bias=True); Embedding
  "uniform" = RandomUniform(-0.05, 0.05); norms gamma 1, beta 0, moving mean 0, variance 1.

Statistics, for n draws of a law with mean mu, variance s2 and excess kurtosis g2: the sample
mean must lie within Z = 5 standard errors, Z * sqrt(s2 / n), of mu, and the sample variance
within Z * s2 * sqrt((g2 + 2) / n) of s2 (a correct library misses one such bound with
probability ~6e-7); a Kolmogorov-Smirnov test against the law must give p > ALPHA = 1e-4.
The seeds are fixed, so every run draws the same numbers and the verdict is deterministic;
Z and ALPHA say how far off a correct library could land by chance. An orthogonal matrix is
checked by W W^T = I (or W^T W = I) to 1e-12 in float64, and its entries against the law of one
coordinate of a uniform point on the unit sphere in R^n (n its row length): (x + 1) / 2 ~
Beta((n - 1) / 2, (n - 1) / 2), mean 0, variance 1 / n.
"""
from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from crossframe import initializers as I
from crossframe.errors import InputError
from crossframe.tolerances import LIBRARY_MODEL, ORTHONORMAL
from crossframe.keras_impl.backend import keras

Z, ALPHA, ORTHO = 5.0, 1e-4, ORTHONORMAL.rel
F64 = torch.float64
RECURRENT = {"simple_rnn": 1, "lstm": 4, "gru": 3}


# --- the documented laws (scipy distributions) --------------------------------------------------
def uniform(bound):
    return scipy.stats.uniform(loc=-bound, scale=2 * bound)


def normal(std):
    return scipy.stats.norm(0.0, std)


def triangular(bound):
    """X + Y, X and Y independent U(-bound, bound)."""
    return scipy.stats.triang(c=0.5, loc=-2 * bound, scale=4 * bound)


def sphere_entry(n):
    """One coordinate of a uniform point on the unit sphere in R^n."""
    return scipy.stats.beta((n - 1) / 2, (n - 1) / 2, loc=-1, scale=2)


def keras_law(layer, param, s):
    """Keras' documented default (glorot_uniform, orthogonal: see sphere_entry, uniform)."""
    k = RECURRENT.get(layer)
    return {
        ("dense", "W"): lambda: uniform(math.sqrt(6 / (s["F"] + s["U"]))),
        ("conv2d", "W"): lambda: uniform(math.sqrt(6 / (s["kh"] * s["kw"] * (s["C"] + s["O"])))),
        ("rnn", "W_x"): lambda: uniform(math.sqrt(6 / (s["D"] + k * s["H"]))),
        ("rnn", "W_h"): lambda: sphere_entry(k * s["H"]),
        ("embedding", "embeddings"): lambda: uniform(0.05),
    }[("rnn" if k else layer, param)]()


def torch_law(layer, param, s):
    """torch's documented default; a recurrent b is canonical: bias_ih + bias_hh."""
    if layer in RECURRENT:
        if param == "b" and not s.get("rows"):
            return triangular(1 / math.sqrt(s["H"]))
        return uniform(1 / math.sqrt(s["H"]))
    return {"dense": lambda: uniform(1 / math.sqrt(s["F"])),
            "conv2d": lambda: uniform(1 / math.sqrt(s["C"] * s["kh"] * s["kw"])),
            "embedding": lambda: normal(1.0)}[layer]()


def assert_law(values, law, what):
    x = np.asarray(values, dtype=np.float64).ravel()
    n, mu, s2 = x.size, float(law.mean()), float(law.var())
    g2 = float(law.stats(moments="k"))
    assert abs(x.mean() - mu) <= Z * math.sqrt(s2 / n), (what, "mean", x.mean(), mu, n)
    assert abs(x.var() - s2) <= Z * s2 * math.sqrt((g2 + 2) / n), (what, "var", x.var(), s2, n)
    lo, hi = law.support()
    assert lo <= x.min() and x.max() <= hi, (what, "support", x.min(), x.max(), lo, hi)
    p = scipy.stats.kstest(x, law.cdf).pvalue
    assert p > ALPHA, (what, "KS p", p, n)


def assert_rows_orthonormal(W, what):
    """W (r, c): orthonormal rows if r <= c, else orthonormal columns, to 1e-12."""
    W = np.asarray(W, dtype=np.float64)
    G = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
    assert np.abs(G - np.eye(len(G))).max() <= ORTHO, (what, np.abs(G - np.eye(len(G))).max())


# --- real layers --------------------------------------------------------------------------------
# sizes: large enough for >= ~12,000 values per law (a bias gets its own wide layer)
SIZES = {
    ("dense", "W"): {"F": 400, "U": 300}, ("dense", "b"): {"F": 16, "U": 30000},
    ("conv2d", "W"): {"kh": 3, "kw": 2, "C": 32, "O": 128},
    ("conv2d", "b"): {"kh": 3, "kw": 2, "C": 2, "O": 30000},
    ("rnn", "W_x"): {"D": 100, "H": 128}, ("rnn", "W_h"): {"D": 100, "H": 128},
    ("rnn", "b"): {"D": 1, "H": 256},
    ("embedding", "embeddings"): {"V": 500, "E": 64},
}
BIAS_VALUES = 12000     # recurrent biases: this many values, from as many layers as it takes
TORCH_RNN = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
KERAS_RNN = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def sizes(layer, param):
    return dict(SIZES[("rnn" if layer in RECURRENT else layer, param)])


def layers_needed(layer, param, s):
    return math.ceil(BIAS_VALUES / (RECURRENT[layer] * s["H"])) \
        if layer in RECURRENT and param == "b" else 1


def torch_layer(layer, s):
    return {"dense": lambda: nn.Linear(s["F"], s["U"], dtype=F64),
            "conv2d": lambda: nn.Conv2d(s["C"], s["O"], (s["kh"], s["kw"]), dtype=F64),
            "embedding": lambda: nn.Embedding(s["V"], s["E"], dtype=F64),
            "layernorm": lambda: nn.LayerNorm(s["F"], dtype=F64),
            "batchnorm": lambda: nn.BatchNorm1d(s["C"], dtype=F64),
            }.get(layer, lambda: TORCH_RNN[layer](s["D"], s["H"], dtype=F64))()


def torch_param(module, param, rows=False):
    """The torch tensor standing for a canonical parameter (a recurrent b: the sum of the two
    biases, or with ``rows`` the two stacked, as the reset-after GRU's (2, 3H))."""
    if param == "b" and hasattr(module, "bias_ih_l0"):
        ih, hh = module.bias_ih_l0.detach().numpy(), module.bias_hh_l0.detach().numpy()
        return np.stack([ih, hh]) if rows else ih + hh
    name = {"W": "weight", "b": "bias", "W_x": "weight_ih_l0", "W_h": "weight_hh_l0",
            "embeddings": "weight", "gamma": "weight", "beta": "bias",
            "moving_mean": "running_mean", "moving_variance": "running_var"}[param]
    return getattr(module, name).detach().numpy()


def keras_layer(layer, s, **kw):
    """A built Keras layer (float64): {canonical local name: array}."""
    d = {"dtype": "float64", **kw}
    if layer == "dense":
        lay, shape = keras.layers.Dense(s["U"], **d), (None, s["F"])
    elif layer == "conv2d":
        lay, shape = keras.layers.Conv2D(s["O"], (s["kh"], s["kw"]), **d), (None, 8, 8, s["C"])
    elif layer == "embedding":
        lay, shape = keras.layers.Embedding(s["V"], s["E"], **d), (None, 3)
    elif layer == "layernorm":
        lay, shape = keras.layers.LayerNormalization(**d), (None, s["F"])
    elif layer == "batchnorm":
        lay, shape = keras.layers.BatchNormalization(**d), (None, s["C"])
    else:
        lay, shape = getattr(keras.layers, KERAS_RNN[layer])(s["H"], **d), (None, 5, s["D"])
    lay.build(shape)
    cell = getattr(lay, "cell", None)
    if cell is not None:
        return {"W_x": cell.kernel.numpy(), "W_h": cell.recurrent_kernel.numpy(),
                "b": cell.bias.numpy()}
    names = {"kernel": "W", "bias": "b"}
    return {names.get(v.name, v.name): v.numpy() for v in lay.weights}


def keras_seeded(seed):
    """Keras 3.15 takes an unseeded initializer's seed from Python's random (make_default_seed):
    seeding it makes a build reproducible. The caller restores the state."""
    state = random.getstate()
    random.seed(seed)
    return state


def torch_sample(layer, param, s, code=None, seed=0, layers=None):
    """Values of ``param`` from fresh seeded torch layers (``code`` run on each first)."""
    torch.manual_seed(seed)
    out = []
    for _ in range(layers or layers_needed(layer, param, s)):
        module = torch_layer(layer, s)
        if code:
            exec(code, {"nn": nn, "torch": torch, "math": math, **s,
                        _var(layer): module})
        out.append(torch_param(module, param, s.get("rows", False)))
    return np.concatenate([o.ravel() for o in out])


def keras_sample(layer, param, s, seed=0, **kw):
    state = keras_seeded(seed)
    try:
        return np.concatenate([keras_layer(layer, s, **kw)[param].ravel()
                               for _ in range(layers_needed(layer, param, s))])
    finally:
        random.setstate(state)


def _var(layer):
    return next(li.var for li in I.INITIALIZERS if li.layer == layer)


RANDOM_TORCH = [("dense", "W"), ("dense", "b"), ("conv2d", "W"), ("conv2d", "b"),
                *[(r, p) for r in RECURRENT for p in ("W_x", "W_h", "b")],
                ("embedding", "embeddings")]


# --- torch's defaults ---------------------------------------------------------------------------
@pytest.mark.parametrize("layer, param", RANDOM_TORCH)
def test_torch_default_follows_its_documented_law(layer, param):
    s = sizes(layer, param)
    assert_law(torch_sample(layer, param, s), torch_law(layer, param, s), f"torch {layer}.{param}")


@pytest.mark.parametrize("layer", list(RECURRENT))
def test_torch_recurrent_biases_each_follow_the_documented_uniform(layer):
    """Each of bias_ih and bias_hh alone (the docs' statement; the canonical b is their sum)."""
    s = {**sizes(layer, "b"), "rows": True}
    assert_law(torch_sample(layer, "b", s), uniform(1 / math.sqrt(s["H"])), f"torch {layer}")


def test_torch_norms_start_at_ones_and_zeros():
    ln, bn = nn.LayerNorm(7, dtype=F64), nn.BatchNorm1d(5, dtype=F64)
    for module, params in ((ln, ("gamma", "beta")),
                           (bn, ("gamma", "beta", "moving_mean", "moving_variance"))):
        for p in params:
            want = 1.0 if p in ("gamma", "moving_variance") else 0.0
            np.testing.assert_array_equal(torch_param(module, p), want)


# --- Keras' defaults ----------------------------------------------------------------------------
@pytest.mark.parametrize("layer, param", [("dense", "W"), ("conv2d", "W"),
                                          *[(r, "W_x") for r in RECURRENT],
                                          ("embedding", "embeddings")])
def test_keras_default_follows_its_documented_law(layer, param):
    s = sizes(layer, param)
    assert_law(keras_sample(layer, param, s), keras_law(layer, param, s), f"keras {layer}.{param}")


@pytest.mark.parametrize("layer", list(RECURRENT))
def test_keras_recurrent_kernel_is_orthogonal_as_a_whole(layer):
    """(H, kH) with orthonormal rows, not per gate block: each block's rows have norm^2 ~ 1/k,
    and an (H, H) block is far from orthogonal unless k = 1."""
    s, k = sizes(layer, "W_h"), RECURRENT[layer]
    H = s["H"]
    W = keras_sample(layer, "W_h", s).reshape(H, k * H)
    assert_rows_orthonormal(W, f"keras {layer}.W_h")
    assert_law(W, sphere_entry(k * H), f"keras {layer}.W_h entries")
    if k > 1:
        block = W[:, :H]
        assert np.abs(block @ block.T - np.eye(H)).max() > 0.5
    else:
        np.testing.assert_allclose(W.T @ W, np.eye(H), rtol=0, atol=ORTHO)


def test_keras_biases_and_norms_start_at_their_documented_constants():
    s = {"F": 4, "U": 3, "kh": 2, "kw": 2, "C": 3, "O": 5, "D": 3, "H": 4}
    assert not keras_layer("dense", s)["b"].any()
    assert not keras_layer("conv2d", s)["b"].any()
    assert not keras_layer("simple_rnn", s)["b"].any()
    np.testing.assert_array_equal(keras_layer("lstm", s)["b"].reshape(4, 4),
                                  np.repeat([[0.0], [1.0], [0.0], [0.0]], 4, axis=1))
    gru = keras_layer("gru", s)["b"]
    assert gru.shape == (2, 12) and not gru.any()
    before = keras_layer("gru", s, reset_after=False)["b"]
    assert before.shape == (12,) and not before.any()
    ln, bn = keras_layer("layernorm", s), keras_layer("batchnorm", s)
    for got, want in ((ln["gamma"], 1), (ln["beta"], 0), (bn["gamma"], 1), (bn["beta"], 0),
                      (bn["moving_mean"], 0), (bn["moving_variance"], 1)):
        np.testing.assert_array_equal(got, want)


# --- the declared code in one library draws the other's default -------------------------------
def _declared(layer, param, reset_after=True):
    li = next(x for x in I.INITIALIZERS if x.layer == layer)
    return next(p for p in li.params if p.param == param
                and dict(p.when).get("reset_after", reset_after) == reset_after)


RANDOM_KERAS = [("dense", "W"), ("conv2d", "W"), *[(r, p) for r in RECURRENT
                                                  for p in ("W_x", "W_h")],
                ("embedding", "embeddings")]


@pytest.mark.parametrize("layer, param", RANDOM_KERAS)
def test_torch_code_draws_keras_default(layer, param):
    s = sizes(layer, param)
    code = _declared(layer, param).torch_for_keras
    values = torch_sample(layer, param, s, code=code)
    if param == "W_h":      # torch's (kH, H): orthonormal columns = Keras' rows, transposed
        values = values.reshape(RECURRENT[layer] * s["H"], s["H"])
        assert_rows_orthonormal(values, f"{code}")
    assert_law(values, keras_law(layer, param, s), code)


@pytest.mark.parametrize("layer, param", [("dense", "b"), ("conv2d", "b"),
                                          *[(r, "b") for r in RECURRENT]])
def test_torch_code_draws_keras_constant_biases(layer, param):
    s = {"F": 4, "U": 3, "kh": 2, "kw": 2, "C": 3, "O": 5, "D": 3, "H": 4}
    b = torch_sample(layer, param, s, code=_declared(layer, param).torch_for_keras, layers=1)
    want = np.repeat([0.0, 1.0, 0.0, 0.0], 4) if layer == "lstm" else 0.0
    np.testing.assert_array_equal(b, want)


def test_torch_code_draws_keras_norm_constants():
    for layer, letter in (("layernorm", "F"), ("batchnorm", "C")):
        li = next(x for x in I.INITIALIZERS if x.layer == layer)
        module = torch_layer(layer, {letter: 6})
        with torch.no_grad():
            for t in module.state_dict().values():
                t.fill_(7.0)                 # not the default: the code must set it
        for p in li.params:
            exec(p.torch_for_keras, {"nn": nn, "torch": torch, li.var: module})
            want = 1.0 if p.param in ("gamma", "moving_variance") else 0.0
            np.testing.assert_array_equal(torch_param(module, p.param), want)


@pytest.mark.parametrize("layer, param", [*RANDOM_TORCH, ("gru_rows", "b")])
def test_keras_argument_draws_torch_default(layer, param):
    """The declared Keras argument, given to a real Keras layer. A recurrent bias: one layer
    (its kH values, and no constant block left: unit_forget_bias=False), and the same
    initializer called as the layer calls it on BIAS_VALUES values, for a sharper test."""
    rows = layer == "gru_rows"
    layer = "gru" if rows else layer
    s = {**sizes(layer, param), "rows": rows}
    snippet = _declared(layer, param, reset_after=rows or layer != "gru").keras_for_torch
    kw = eval(f"dict({snippet})", {"keras": keras, "math": math, **s})
    if layer == "gru" and param == "b" and not rows:
        kw["reset_after"] = False
    law = torch_law(layer, param, s)
    if layer in RECURRENT and param == "b":
        state = keras_seeded(0)
        try:
            values = keras_layer(layer, s, **kw)["b"]
            many = np.asarray(kw["bias_initializer"]((BIAS_VALUES,), "float64"))
        finally:
            random.setstate(state)
        assert values.shape == ((2, 3 * s["H"]) if rows else (RECURRENT[layer] * s["H"],))
        assert_law(many, law, snippet)
    else:
        values = keras_sample(layer, param, s, **kw)
    assert_law(values, law, snippet)


def test_keras_argument_keeps_norm_constants():
    for layer, letter in (("layernorm", "F"), ("batchnorm", "C")):
        li = next(x for x in I.INITIALIZERS if x.layer == layer)
        kw = {k: v for p in li.params for k, v in eval(f"dict({p.keras_for_torch})").items()}
        got = keras_layer(layer, {letter: 6}, **kw)
        for p in li.params:
            want = 1.0 if p.param in ("gamma", "moving_variance") else 0.0
            np.testing.assert_array_equal(got[p.param], want)


def test_two_sample_keras_default_and_torch_reproduction_agree():
    """Two-sample KS: Keras' real Dense kernel vs torch's xavier_uniform_, and torch's real
    Linear weight vs Keras' VarianceScaling(1/3, fan_in, uniform), on the same shapes."""
    s = sizes("dense", "W")
    keras_kernel = keras_sample("dense", "W", s)
    xavier = torch_sample("dense", "W", s, code=_declared("dense", "W").torch_for_keras, seed=1)
    assert scipy.stats.ks_2samp(keras_kernel, xavier).pvalue > ALPHA
    kw = eval(f"dict({_declared('dense', 'W').keras_for_torch})", {"keras": keras})
    assert scipy.stats.ks_2samp(torch_sample("dense", "W", s),
                                keras_sample("dense", "W", s, seed=1, **kw)).pvalue > ALPHA


def test_keras_unit_forget_bias_sets_not_adds_and_repeats_a_random_initializer():
    """Keras' LSTM docstring: unit_forget_bias=True 'add[s] 1 to the bias of the forget gate'
    and 'force[s] bias_initializer="zeros"'. LSTMCell.build sets the forget block to ones and
    calls the (fixed-seed) bias_initializer twice, on (H,) and (2H,): block i repeats block c."""
    H = 512
    state = keras_seeded(0)
    try:
        b = keras_layer("lstm", {"D": 1, "H": H}, unit_forget_bias=True,
                        bias_initializer=keras.initializers.RandomUniform(-1.0, 1.0))["b"]
    finally:
        random.setstate(state)
    b = b.reshape(4, H)
    np.testing.assert_array_equal(b[1], 1.0)          # set, not 1 + U(-1, 1): no spread at all
    np.testing.assert_array_equal(b[0], b[2])         # i == the first H values of (c, o)
    assert_law(b[[2, 3]], uniform(1.0), "the c, o blocks keep the random initializer")


# --- the declarations' numbers -----------------------------------------------------------------
def test_declared_laws_match_the_documented_formulas():
    from crossframe.sequential import Sequential

    model = Sequential("conv2d(filters=6, kernel_size=3x2); flatten; dense(units=5)", (7, 6, 4))
    (ch, cw, C, O), F, U = (3, 2, 4, 6), 5 * 5 * 6, 5   # conv out (5, 5, 6)
    keras, torch_ = I.laws(model, "keras"), I.laws(model, "torch")
    doc = {"conv.W": (uniform(math.sqrt(6 / (ch * cw * (C + O)))),
                      uniform(1 / math.sqrt(ch * cw * C))),
           "conv.b": (None, uniform(1 / math.sqrt(ch * cw * C))),
           "dense.W": (uniform(math.sqrt(6 / (F + U))), uniform(1 / math.sqrt(F))),
           "dense.b": (None, uniform(1 / math.sqrt(F)))}
    for name, (k, t) in doc.items():
        for declared, law in ((keras[name], k), (torch_[name], t)):
            if law is None:
                assert declared.kind == "constant" and declared.a == 0.0
            else:
                assert declared.kind == "uniform"
                assert math.isclose(declared.b, law.support()[1], rel_tol=1e-15)
                assert math.isclose(declared.var(), law.var(), rel_tol=1e-12)
    rnn = Sequential("lstm(units=6); dense(units=2)", (4, 3))
    t = I.laws(rnn, "torch")
    assert math.isclose(t["lstm.b"].var(), triangular(1 / math.sqrt(6)).var(), rel_tol=1e-12)
    assert I.laws(rnn, "keras")["lstm.b"].values == (0.0, 1.0, 0.0, 0.0)
    assert math.isclose(I.laws(rnn, "keras")["lstm.W_h"].var((6, 24)), 1 / 24, rel_tol=1e-15)


# --- draw: the library's own model, in canonical layout ----------------------------------------
def test_torch_draw_is_the_seeded_torch_model_in_canonical_layout():
    """prepare(init="torch") holds what nn.LSTM + nn.Linear built after torch.manual_seed hold,
    transposed to canonical, b = bias_ih + bias_hh; and computes what that model computes."""
    from crossframe.runner import prepare, run

    case = prepare("lstm", init="torch", seed=3, options={"initial_state": "false"})
    torch.manual_seed(3)
    lstm, dense = nn.LSTM(8, 8, batch_first=True, dtype=F64), nn.Linear(8, 10, dtype=F64)
    w = case.weights
    np.testing.assert_array_equal(w["lstm.W_x"], lstm.weight_ih_l0.detach().numpy().T)
    np.testing.assert_array_equal(w["lstm.W_h"], lstm.weight_hh_l0.detach().numpy().T)
    np.testing.assert_array_equal(w["lstm.b"], torch_param(lstm, "b"))
    np.testing.assert_array_equal(w["dense.W"], dense.weight.detach().numpy().T)
    x = torch.from_numpy(case.batch.inputs["x"])
    logits = dense(lstm(x)[0][:, -1]).detach().numpy()
    for fw in ("scratch", "torch"):
        np.testing.assert_allclose(run(case, fw, backward=False).outputs["logits"], logits,
                                   rtol=LIBRARY_MODEL.rel, atol=1e-3 * LIBRARY_MODEL.rel)


def test_keras_draw_is_the_seeded_keras_model():
    from crossframe.runner import prepare

    case = prepare("lstm", init="keras", seed=3)
    state = keras_seeded(3)
    try:
        lstm, dense = keras.layers.LSTM(8, dtype="float64"), keras.layers.Dense(10,
                                                                               dtype="float64")
    finally:
        random.setstate(state)
    lstm.build((None, 8, 8))
    dense.build((None, 8))
    w = case.weights
    np.testing.assert_array_equal(w["lstm.W_x"], lstm.cell.kernel.numpy())
    np.testing.assert_array_equal(w["lstm.W_h"], lstm.cell.recurrent_kernel.numpy())
    np.testing.assert_array_equal(w["lstm.b"], np.repeat([0.0, 1.0, 0.0, 0.0], 8))
    np.testing.assert_array_equal(w["dense.W"], dense.kernel.numpy())
    assert_rows_orthonormal(w["lstm.W_h"], "keras draw lstm.W_h")


def test_draw_is_seeded_and_leaves_the_global_generators_alone():
    for library in ("torch", "keras"):
        torch_state, py_state = torch.get_rng_state(), random.getstate()
        np_state = np.random.get_state()
        a = I.draw("gru", library, seed=1)
        assert torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == py_state
        assert np.array_equal(np.random.get_state()[1], np_state[1])
        b, c = I.draw("gru", library, seed=1), I.draw("gru", library, seed=2)
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert not np.array_equal(a["gru.W_x"], c["gru.W_x"])
        assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in
                                                      I.draw("gru", "canonical").items()}
    f32 = I.draw("gru", "torch", seed=1, dtype="float32")
    assert all(v.dtype == np.float32 for v in f32.values())


def test_torch_draw_gives_the_reset_before_gru_nn_grus_init():
    """No torch layer computes reset_after=False: crossframe's cell starts as torch.empty, and
    draw gives it nn.GRU's reset_parameters (each tensor in U(-1/sqrt(H), 1/sqrt(H)))."""
    from crossframe.sequential import Sequential

    H = 64
    model = Sequential(f"gru(units={H}, reset_after=false)", (3, 40))
    w = I.draw(model, "torch", seed=0)
    for name, law in (("gru.W_x", uniform(1 / math.sqrt(H))),
                      ("gru.W_h", uniform(1 / math.sqrt(H)))):
        assert_law(w[name], law, f"reset-before {name}")
    assert np.abs(w["gru.b"]).max() <= 2 / math.sqrt(H) and np.unique(w["gru.b"]).size == 3 * H


def test_canonical_draw_is_crossframe_own():
    from crossframe import data
    from crossframe.spec import get

    spec = get("mlp")
    model = spec.sequential(spec.resolve())
    want = data.init_weights(model.params(), 5, "float64")
    got = I.draw(model, "canonical", seed=5)
    assert all(np.array_equal(got[k], want[k]) for k in want)


def test_bad_input_is_one_line():
    from crossframe.runner import prepare

    with pytest.raises(InputError, match=r"unknown init 'tf' .*choose one of: canonical, keras, "
                                         r"torch"):
        I.draw("mlp", "tf")
    with pytest.raises(InputError, match="weights were given too"):
        prepare("mlp", init="keras", weights=I.draw("mlp", "canonical"))
    with pytest.raises(InputError, match=r"--layer 'relu' has no parameters"):
        I.table("relu")
    with pytest.raises(InputError, match=r"did you mean 'lstm'"):
        I.table("lstn")
    assert set(I.table("LSTM")["layer"]) == {"lstm"}


# --- the command line -----------------------------------------------------------------------
def cli(capsys, *args):
    from crossframe.cli import main

    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("init", ["keras", "torch"])
@pytest.mark.parametrize("model", ["mlp", "lstm", "gru"])
def test_check_with_a_library_init_passes(capsys, model, init):
    rc, out, err = cli(capsys, "check", model, "--init", init, "--batch-size", "4")
    assert rc == 0, out + err
    if init == "keras":     # zero biases: said, not hidden
        assert re.search(r"note: --init keras: .*dense\d?\.b \(all 0\)", out), out[:800]
        if model == "lstm":
            assert "lstm.b (only 0, 1)" in out


def test_weights_with_init_writes_the_library_draw(capsys, tmp_path):
    path = tmp_path / "w.npz"
    rc, out, err = cli(capsys, "weights", "lstm", "--init", "torch", "--out", str(path))
    assert rc == 0, err
    with np.load(path, allow_pickle=False) as f:
        written = dict(f)
    want = I.draw("lstm", "torch", seed=0)
    assert written.keys() == want.keys() and all(np.array_equal(written[k], want[k])
                                                 for k in want)


@pytest.mark.parametrize("args, expect", [
    (["check", "mlp", "--init", "keras", "--weights", "WEIGHTS"], "not both"),
    (["check", "mlp", "--init", "tensorflow"], "unknown init 'tensorflow'"),
    (["weights", "mlp", "--init", "jax", "--out", "OUT"], "unknown init 'jax'"),
    (["init", "--table", "--layer", "frobnicate"], "--layer 'frobnicate' is not a layer kind"),
    (["init"], "add --table"),
], ids=["with-weights", "check-unknown", "weights-unknown", "layer-unknown", "no-table"])
def test_bad_init_input_is_exit_2_and_one_line(capsys, tmp_path, args, expect):
    weights = tmp_path / "w.npz"
    np.savez(weights, **I.draw("mlp", "canonical"))
    args = [str(weights) if a == "WEIGHTS" else str(tmp_path / "o.npz") if a == "OUT" else a
            for a in args]
    rc, out, err = cli(capsys, *args)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expect in err, err
    assert not (tmp_path / "o.npz").exists()


def test_init_table_prints_every_layer_kind_and_json(capsys):
    rc, out, _ = cli(capsys, "init", "--table")
    assert rc == 0
    for li in I.INITIALIZERS:
        assert f"\n{li.layer}" in out
    assert "nn.init.xavier_uniform_(linear.weight)" in out
    assert 'VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")' in out
    rc, out, _ = cli(capsys, "init", "--table", "--json", "--layer", "Linear")
    rows = json.loads(out)["initializers"]
    assert rc == 0 and {r["layer"] for r in rows} == {"dense"} and len(rows) == 2
