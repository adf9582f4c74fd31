"""Each library's default initialiser, per layer kind and parameter, declared as data; and
canonical weights drawn from either library's defaults by the library itself.

    crossframe init --table [--layer lstm]     the table below, printed (initializers_cli.py)
    draw(model, "keras", seed=0)               {canonical name: array}: a real Keras model's
                                               fresh weights, in canonical layout
    prepare("lstm", init="torch")              a Case whose weights torch's defaults drew

Shape legend (canonical layout, Keras'; torch stores the transposes): F in features, U units,
kh x kw a window, C in channels, O out channels (filters), D per-step inputs, H hidden units,
k gate blocks (SimpleRNN 1, LSTM 4 (i, f, g, o), GRU 3 (z, r, h)), V vocabulary, E vector size.
Dense ``W (F, U)``, ``b (U,)``; Conv2D ``W (kh, kw, C, O)``, ``b (O,)``; recurrent ``W_x (D, kH)``,
``W_h (H, kH)``, ``b (kH,)`` or ``(2, 3H)`` (GRU reset_after); Embedding ``embeddings (V, E)``;
norms ``gamma``, ``beta``, ``moving_mean``, ``moving_variance`` ``(F,)`` or ``(C,)``.

Fans, each library's own convention (they agree on every kernel here):
- Keras ``compute_fans(shape)`` (keras/src/initializers/random_initializers.py) reads a kernel
  as ``(..., in, out)``: 2-D ``fan_in = shape[0]``, ``fan_out = shape[1]``; n-D
  ``fan_in = shape[-2] * prod(shape[:-2])``, ``fan_out = shape[-1] * prod(shape[:-2])``.
- torch ``init._calculate_fan_in_and_fan_out(tensor)`` (torch/nn/init.py) reads a weight as
  ``(out, in, *k)``: ``fan_in = size(1) * prod(k)``, ``fan_out = size(0) * prod(k)``.
So Dense: fan_in F, fan_out U in both; Conv2D: fan_in kh*kw*C, fan_out kh*kw*O in both.

Every fact below was read in the installed sources (torch 2.13.0, Keras 3.15.1) and is tested
against the real libraries in parity_tests/test_initializers.py (each distribution by a
Kolmogorov-Smirnov test, mean and variance within 5 standard errors, orthogonality to 1e-12).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import InputError, did_you_mean

LIBRARIES = ("canonical", "keras", "torch")


# --- distributions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Law:
    """A distribution of every entry of a tensor, with its parameters.

    ``kind``:
    - "constant": every entry ``a``;
    - "blocks": the last axis split in equal gate blocks, block i constant ``values[i]``;
    - "uniform": U(a, b), i.i.d.;
    - "normal": N(a, b^2) (mean a, standard deviation b), i.i.d.;
    - "uniform_sum": X + Y, X and Y i.i.d. U(-a, a): the triangular law on [-2a, 2a]
      (torch's two recurrent biases, which the model only ever adds);
    - "orthogonal": ``a`` times a Haar-random matrix with orthonormal rows (fewer rows than
      columns) or columns (otherwise), from the QR factorisation of a normal matrix with the
      signs of diag(R) moved into Q. Each row (or column) is uniform on the unit sphere, so an
      entry has mean 0 and variance a^2 / n, n its length.
    """

    kind: str
    a: float = 0.0
    b: float = 0.0
    values: tuple[float, ...] = ()

    def mean(self, shape: tuple[int, ...] = ()) -> float:
        """The mean of one entry (of all entries, for "blocks")."""
        if self.kind == "constant":
            return self.a
        if self.kind == "blocks":
            return float(np.mean(self.values))
        if self.kind in ("uniform",):
            return (self.a + self.b) / 2
        if self.kind == "normal":
            return self.a
        return 0.0

    def var(self, shape: tuple[int, ...] = ()) -> float:
        """The variance of one entry; "orthogonal" needs the tensor's ``shape`` (rows, cols)."""
        if self.kind in ("constant", "blocks"):
            return 0.0
        if self.kind == "uniform":
            return (self.b - self.a) ** 2 / 12
        if self.kind == "normal":
            return self.b ** 2
        if self.kind == "uniform_sum":
            return 2 * self.a ** 2 / 3
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return self.a ** 2 / max(rows, cols)

    def text(self) -> str:
        g = f"{self.a:.4g}"
        return {
            "constant": f"all {self.a:g}",
            "blocks": "gate blocks " + ", ".join(f"{v:g}" for v in self.values),
            "uniform": f"U({self.a:.4g}, {self.b:.4g})",
            "normal": f"N({self.a:g}, {self.b:.4g}^2)",
            "uniform_sum": f"U(-{g}, {g}) + U(-{g}, {g}) (triangular on [-{2 * self.a:.4g}, "
                           f"{2 * self.a:.4g}])",
            "orthogonal": f"orthogonal x {self.a:g}",
        }[self.kind]


def _uniform(bound: float) -> Law:
    return Law("uniform", -bound, bound)


# --- the declarations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Default:
    """One library's default initialiser of one parameter.

    ``name``: the library's own spelling (Keras' identifier string, torch's init call);
    ``formula``: the distribution as a function of the sizes, with the fans it uses;
    ``law(sizes) -> Law``: the same with numbers (``sizes`` as in ``sizes_of``);
    ``source``: the file (and class or function) of the installed library that does it."""

    name: str
    formula: str
    law: Callable[[dict], Law]
    source: str


@dataclass(frozen=True)
class ParamInit:
    """A canonical parameter of a layer kind, and how each library starts it.

    ``param``: the canonical local name (``W``, ``b``); ``role``: what it is; ``when``: the
    layer options it applies under (``(("reset_after", True),)``); ``torch_for_keras``: torch
    code that draws Keras' default (statements; the layer is the variable ``LayerInits.var``, a
    size is its letter); ``keras_for_torch``: the Keras layer argument(s) that draw torch's
    default (a size is its letter, or its number)."""

    param: str
    role: str
    keras: Default
    torch: Default
    torch_for_keras: str
    keras_for_torch: str
    note: str = ""
    when: tuple[tuple[str, object], ...] = ()

    @property
    def same(self) -> bool:
        """Both libraries start it the same way (the norms)."""
        return self.keras.formula == self.torch.formula


@dataclass(frozen=True)
class LayerInits:
    """The initialisers of one layer kind: ``layer`` its declaration's name, ``var`` the
    torch variable the reproducing code names (``linear``), ``torch_class`` and ``keras_class``
    the real layers, ``sizes(cfg) -> {letter: int}`` the sizes the laws take."""

    layer: str
    var: str
    torch_class: str
    keras_class: str
    sizes: Callable
    params: tuple[ParamInit, ...]


K_RANDOM = "keras/src/initializers/random_initializers.py"
K_CONSTANT = "keras/src/initializers/constant_initializers.py"
T_INIT = "torch/nn/init.py"

GLOROT = "glorot_uniform"
GLOROT_WHY = ("U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (GlorotUniform = "
              "VarianceScaling(scale=1, mode='fan_avg', distribution='uniform'): "
              "limit = sqrt(3 * scale / ((fan_in + fan_out) / 2)))")
KAIMING = "kaiming_uniform_(a=math.sqrt(5))"
KAIMING_WHY = ("U(-bound, bound), bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) "
               "= sqrt(1/3) at a = sqrt(5), so bound = 1 / sqrt(fan_in)")
VS_FOR_KAIMING = ('kernel_initializer=keras.initializers.VarianceScaling(scale=1 / 3, '
                  'mode="fan_in", distribution="uniform")')
VS_WHY = ("VarianceScaling's uniform limit is sqrt(3 * scale / fan_in): scale 1/3 gives "
          "1 / sqrt(fan_in), torch's bound, with the same fan_in (Keras reads its (..., in, out) "
          "kernel as torch reads its (out, in, ...) weight)")
RNN_UNIFORM = "uniform_(-1/sqrt(H), 1/sqrt(H))"
RNN_WHY = "U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias of the layer (no fans)"
RNN_SOURCE = "torch/nn/modules/rnn.py (RNNBase.reset_parameters)"
KERAS_RNN_UNIFORM = "keras.initializers.RandomUniform(-1 / math.sqrt(H), 1 / math.sqrt(H))"
SUM_FOR_TORCH = ("bias_initializer=lambda shape, dtype=None: " + KERAS_RNN_UNIFORM +
                 "(shape, dtype) + " + KERAS_RNN_UNIFORM + "(shape, dtype)")
SUM_WHY = ("torch has two biases, bias_ih and bias_hh, each U(-1/sqrt(H), 1/sqrt(H)), and only "
           "ever adds them: crossframe's canonical b is their sum bias_ih + bias_hh, "
           "triangular on [-2/sqrt(H), 2/sqrt(H)] (variance 2 / (3H)), and a Keras bias drawn as "
           "that sum starts the same function (the two RandomUniform instances get distinct "
           "seeds)")
ZEROS, ONES = Law("constant", 0.0), Law("constant", 1.0)


def _zeros(source: str) -> Default:
    return Default("zeros", "all 0", lambda s: ZEROS, source)


def _ones(source: str) -> Default:
    return Default("ones", "all 1", lambda s: ONES, source)


def _dense_like(layer: str, var: str, torch_class: str, keras_class: str, sizes, fan_in: str,
                fan_out: str, fans, kernel_src: tuple[str, str], torch_shape: str) -> LayerInits:
    """Dense and Conv2D: Keras glorot_uniform / zeros, torch kaiming_uniform(a=sqrt(5)) /
    U(+-1/sqrt(fan_in))."""
    keras_src, torch_src = kernel_src
    return LayerInits(layer, var, torch_class, keras_class, sizes, (
        ParamInit(
            "W", "kernel",
            Default(GLOROT, f"{GLOROT_WHY}; fan_in = {fan_in}, fan_out = {fan_out}",
                    lambda s: _uniform(math.sqrt(6 / sum(fans(s)))),
                    f"{keras_src} (kernel_initializer='glorot_uniform'); {K_RANDOM} "
                    "(GlorotUniform, VarianceScaling, compute_fans)"),
            Default(KAIMING, f"{KAIMING_WHY}; fan_in = {fan_in} (weight {torch_shape})",
                    lambda s: _uniform(1 / math.sqrt(fans(s)[0])),
                    f"{torch_src}.reset_parameters); {T_INIT} (kaiming_uniform_, "
                    "calculate_gain, _calculate_fan_in_and_fan_out)"),
            f"nn.init.xavier_uniform_({var}.weight)",
            VS_FOR_KAIMING,
            f"xavier_uniform_ on torch's {torch_shape} reads the same fans as Keras on its "
            "kernel (and its limit is symmetric in them): no transpose needed. " + VS_WHY),
        ParamInit(
            "b", "bias",
            _zeros(f"{keras_src} (bias_initializer='zeros'); {K_CONSTANT} (Zeros)"),
            Default("uniform_(-1/sqrt(fan_in), 1/sqrt(fan_in))",
                    f"U(-bound, bound), bound = 1 / sqrt(fan_in), fan_in = {fan_in} (the "
                    "weight's)", lambda s: _uniform(1 / math.sqrt(fans(s)[0])),
                    f"{torch_src}.reset_parameters)"),
            f"nn.init.zeros_({var}.bias)",
            f"bias_initializer=keras.initializers.RandomUniform(-1 / math.sqrt({fan_in}), "
            f"1 / math.sqrt({fan_in}))",
            "Keras' bias initializer sees only the bias' shape (U,) or (O,): the weight's "
            "fan_in must be written in as a number"),
    ))


DENSE = _dense_like(
    "dense", "linear", "torch.nn.Linear", "keras.layers.Dense",
    lambda cfg: {"F": cfg.flow_in.features, "U": cfg.opts["units"]}, "F", "U",
    lambda s: (s["F"], s["U"]),
    ("keras/src/layers/core/dense.py", "torch/nn/modules/linear.py (Linear"), "(U, F)")
CONV = _dense_like(
    "conv2d", "conv", "torch.nn.Conv2d", "keras.layers.Conv2D",
    lambda cfg: {"kh": cfg.opts["kernel_size"][0], "kw": cfg.opts["kernel_size"][1],
                 "C": cfg.flow_in.features, "O": cfg.opts["filters"]},
    "kh*kw*C", "kh*kw*O",
    lambda s: (s["kh"] * s["kw"] * s["C"], s["kh"] * s["kw"] * s["O"]),
    ("keras/src/layers/convolutional/conv2d.py",
     "torch/nn/modules/conv.py (_ConvNd"), "(O, C, kh, kw)")


def _recurrent(layer: str, var: str, torch_class: str, keras_class: str, k: int,
               bias: tuple[ParamInit, ...], cell: str) -> LayerInits:
    kH = f"{k}H" if k > 1 else "H"
    keras_src = f"keras/src/layers/rnn/{cell}"
    whole = ("Keras orthogonalises the whole (H, {kH}) recurrent kernel at once: its rows are "
             "orthonormal (W_h W_h^T = I_H); the gate blocks are not each orthogonal. torch's "
             "({kH}, H) weight_hh_l0 is its transpose, so orthogonal_ on it (orthonormal "
             "columns) draws the same law{gru}").format(
        kH=kH, gru="; the GRU's block reorder (z, r -> r, z) permutes rows, which keeps the "
                   "columns orthonormal" if layer == "gru" else "")
    if k == 1:
        whole = ("a square (H, H) matrix: rows and columns orthonormal; torch's weight_hh_l0 is "
                 "its transpose, orthogonal_ draws the same law")
    return LayerInits(
        layer, var, torch_class, keras_class,
        lambda cfg: {"D": cfg.flow_in.features, "H": cfg.opts["units"]}, (
            ParamInit(
                "W_x", "input kernel",
                Default(GLOROT, f"{GLOROT_WHY}; fan_in = D, fan_out = {kH} (the whole (D, {kH}) "
                        "kernel, not per gate block)",
                        lambda s: _uniform(math.sqrt(6 / (s["D"] + k * s["H"]))),
                        f"{keras_src} (kernel_initializer='glorot_uniform'); {K_RANDOM} "
                        "(GlorotUniform, compute_fans)"),
                Default(RNN_UNIFORM, RNN_WHY, lambda s: _uniform(1 / math.sqrt(s["H"])),
                        RNN_SOURCE),
                f"nn.init.xavier_uniform_({var}.weight_ih_l0)",
                f"kernel_initializer={KERAS_RNN_UNIFORM}",
                f"torch's weight_ih_l0 ({kH}, D): fan_in = D, fan_out = {kH}, Keras' fans"),
            ParamInit(
                "W_h", "recurrent kernel",
                Default("orthogonal", "orthogonal (gain 1): QR of a normal matrix, signs of "
                        f"diag(R) moved into Q; (H, {kH})" + (" rows orthonormal" if k > 1
                                                              else ""),
                        lambda s: Law("orthogonal", 1.0),
                        f"{keras_src} (recurrent_initializer='orthogonal'); {K_RANDOM} "
                        "(Orthogonal)"),
                Default(RNN_UNIFORM, RNN_WHY, lambda s: _uniform(1 / math.sqrt(s["H"])),
                        RNN_SOURCE),
                f"nn.init.orthogonal_({var}.weight_hh_l0)",
                f"recurrent_initializer={KERAS_RNN_UNIFORM}",
                whole),
            *bias))


def _sum_bias(var: str, keras_src: str, keras: Default | None = None, torch_extra: str = "",
              keras_extra: str = "", note: str = "", when=()) -> ParamInit:
    return ParamInit(
        "b", "bias",
        keras or _zeros(f"{keras_src} (bias_initializer='zeros')"),
        Default(f"{RNN_UNIFORM} on bias_ih_l0 and bias_hh_l0, b = their sum",
                "U(-1/sqrt(H), 1/sqrt(H)) + U(-1/sqrt(H), 1/sqrt(H)): triangular on "
                "[-2/sqrt(H), 2/sqrt(H)], variance 2 / (3H)",
                lambda s: Law("uniform_sum", 1 / math.sqrt(s["H"])), RNN_SOURCE),
        f"nn.init.zeros_({var}.bias_ih_l0); nn.init.zeros_({var}.bias_hh_l0)" + torch_extra,
        keras_extra + SUM_FOR_TORCH,
        (note + " " if note else "") + SUM_WHY, when)


SIMPLE_RNN = _recurrent("simple_rnn", "rnn", "torch.nn.RNN", "keras.layers.SimpleRNN", 1,
                        (_sum_bias("rnn", "keras/src/layers/rnn/simple_rnn.py"),),
                        "simple_rnn.py")
LSTM = _recurrent("lstm", "lstm", "torch.nn.LSTM", "keras.layers.LSTM", 4, (
    _sum_bias(
        "lstm", "keras/src/layers/rnn/lstm.py",
        keras=Default("zeros, with unit_forget_bias=True",
                      "gate blocks i, f, c, o = 0, 1, 0, 0: LSTMCell.build concatenates "
                      "bias_initializer((H,)), ones((H,)), bias_initializer((2H,))",
                      lambda s: Law("blocks", values=(0.0, 1.0, 0.0, 0.0)),
                      "keras/src/layers/rnn/lstm.py (LSTMCell.build, unit_forget_bias=True)"),
        torch_extra="; lstm.bias_ih_l0.data[H:2 * H].fill_(1.0)",
        keras_extra="unit_forget_bias=False, ",
        note="In torch: its rows are i, f, g, o as Keras' columns, so the forget block is "
             "rows H:2H, and only the sum bias_ih + bias_hh counts (crossframe loads b/2 into "
             "each; 1 in one and 0 in the other computes the same). In Keras: "
             "unit_forget_bias=False is needed, else the forget block is overwritten with "
             "ones (and a random bias_initializer repeats its values: see the notes)."),
), "lstm.py")
GRU = _recurrent("gru", "gru", "torch.nn.GRU", "keras.layers.GRU", 3, (
    ParamInit(
        "b", "bias (2, 3H)",
        _zeros("keras/src/layers/rnn/gru.py (bias_initializer='zeros', bias (2, 3H) with "
               "reset_after=True)"),
        Default(f"{RNN_UNIFORM} on bias_ih_l0 = row 0, bias_hh_l0 = row 1", RNN_WHY,
                lambda s: _uniform(1 / math.sqrt(s["H"])), RNN_SOURCE),
        "nn.init.zeros_(gru.bias_ih_l0); nn.init.zeros_(gru.bias_hh_l0)",
        f"bias_initializer={KERAS_RNN_UNIFORM}",
        "reset_after=True: row 0 (input side) and row 1 (recurrent side) ARE torch's two "
        "biases (gate-reordered), each "
        "U(-1/sqrt(H), 1/sqrt(H)); nothing is summed",
        (("reset_after", True),)),
    _sum_bias("gru", "keras/src/layers/rnn/gru.py",
              note="reset_after=False has no torch layer: crossframe's GRUResetBefore "
                   "(torch_impl/recurrent.py) is given nn.GRU's own reset_parameters.",
              when=(("reset_after", False),)),
), "gru.py")
EMBEDDING = LayerInits(
    "embedding", "emb", "torch.nn.Embedding", "keras.layers.Embedding",
    lambda cfg: {"V": cfg.opts["input_dim"], "E": cfg.opts["output_dim"]}, (
        ParamInit(
            "embeddings", "table",
            Default("uniform", "RandomUniform(minval=-0.05, maxval=0.05): U(-0.05, 0.05), "
                    "whatever the sizes", lambda s: _uniform(0.05),
                    "keras/src/layers/core/embedding.py (embeddings_initializer='uniform'); "
                    f"{K_RANDOM} (RandomUniform)"),
            Default("normal_(weight)", "N(0, 1), whatever the sizes",
                    lambda s: Law("normal", 0.0, 1.0),
                    "torch/nn/modules/sparse.py (Embedding.reset_parameters)"),
            "nn.init.uniform_(emb.weight, -0.05, 0.05)",
            "embeddings_initializer=keras.initializers.RandomNormal(mean=0.0, stddev=1.0)",
            "Keras' RandomNormal defaults to stddev=0.05: give 1.0. The two defaults differ by "
            "a factor 1 / (0.05 / sqrt(3)) ~ 35 in standard deviation"),
    ))


def _norm(layer: str, var: str, torch_class: str, keras_class: str, letter: str,
          keras_src: str, torch_src: str, stats: bool) -> LayerInits:
    params = [
        ParamInit("gamma", "scale", _ones(f"{keras_src} (gamma_initializer='ones')"),
                  Default("ones_(weight)", "all 1", lambda s: ONES, torch_src),
                  f"nn.init.ones_({var}.weight)", 'gamma_initializer="ones"',
                  "the same in both: nothing to change"),
        ParamInit("beta", "offset", _zeros(f"{keras_src} (beta_initializer='zeros')"),
                  Default("zeros_(bias)", "all 0", lambda s: ZEROS, torch_src),
                  f"nn.init.zeros_({var}.bias)", 'beta_initializer="zeros"',
                  "the same in both: nothing to change")]
    if stats:
        stats_src = torch_src.replace("reset_parameters", "reset_running_stats")
        params += [
            ParamInit("moving_mean", "running mean (state)",
                      _zeros(f"{keras_src} (moving_mean_initializer='zeros')"),
                      Default("running_mean.zero_()", "all 0", lambda s: ZEROS, stats_src),
                      f"nn.init.zeros_({var}.running_mean)", 'moving_mean_initializer="zeros"',
                      "the same in both: nothing to change"),
            ParamInit("moving_variance", "running variance (state)",
                      _ones(f"{keras_src} (moving_variance_initializer='ones')"),
                      Default("running_var.fill_(1)", "all 1", lambda s: ONES, stats_src),
                      f"nn.init.ones_({var}.running_var)",
                      'moving_variance_initializer="ones"',
                      "the same in both: nothing to change")]
    return LayerInits(layer, var, torch_class, keras_class,
                      lambda cfg: {letter: cfg.flow_in.features}, tuple(params))


LAYER_NORM = _norm("layernorm", "ln", "torch.nn.LayerNorm", "keras.layers.LayerNormalization",
                   "F", "keras/src/layers/normalization/layer_normalization.py",
                   "torch/nn/modules/normalization.py (LayerNorm.reset_parameters)", False)
BATCH_NORM = _norm("batchnorm", "bn", "torch.nn.BatchNorm1d / BatchNorm2d",
                   "keras.layers.BatchNormalization", "C",
                   "keras/src/layers/normalization/batch_normalization.py",
                   "torch/nn/modules/batchnorm.py (_NormBase.reset_parameters)", True)

INITIALIZERS: tuple[LayerInits, ...] = (DENSE, CONV, SIMPLE_RNN, LSTM, GRU, EMBEDDING,
                                        LAYER_NORM, BATCH_NORM)

NOTES = (
    "Keras draws each unseeded initializer's seed once, when the initializer is made "
    "(keras.random.make_default_seed: Python's random.randint), and an initializer with a fixed "
    "seed draws the same values on every call (stateless random ops; its docstring says so). "
    "One unseeded GlorotUniform() instance handed to two layers of one shape gives them equal "
    "kernels. crossframe.initializers.draw seeds Python's random for that reason.",
    "Keras' LSTM docstring says unit_forget_bias=True 'add[s] 1 to the bias of the forget gate' "
    "and 'will also force bias_initializer=\"zeros\"'. LSTMCell.build does neither: it SETS the "
    "forget block to ones and keeps bias_initializer for the other blocks, called twice, on "
    "(H,) for i and on (2H,) for c, o: with a random bias_initializer the i block repeats the "
    "first H values of the c block. With the default 'zeros' both readings give 0, 1, 0, 0.",
    "torch's recurrent layers have two biases that only ever appear as their sum: crossframe's "
    "canonical b is bias_ih + bias_hh (the GRU with reset_after=True keeps them as the two "
    "rows of b). Loading puts b/2 in each; both ways compute the same function.",
    "Zero biases (Keras' defaults) hide a bias mapping mistake in a parity check: crossframe's "
    "own canonical draw keeps them non-zero and distinct; `check --init keras` says which "
    "tensors came out constant.",
)


# --- lookups ------------------------------------------------------------------------------------
def layer_inits(name: str) -> LayerInits:
    """The declarations of one layer kind, by any name ``crossframe.layers.get`` takes
    (``LSTM``, ``Dense``, ``linear``). Raises InputError for an unknown name or a layer kind
    without parameters."""
    from .layers import get

    known = {li.layer: li for li in INITIALIZERS}
    try:
        decl = get(name)
    except InputError:
        decl = None
    if decl is None or decl.name not in known:
        what = "has no parameters to initialise" if decl is not None else "is not a layer kind"
        raise InputError(f"--layer {name!r} {what}",
                         did_you_mean(str(name), known) + " (layer kinds with parameters)")
    return known[decl.name]


def param_init(cfg, local: str) -> ParamInit | None:
    """The declaration for canonical parameter ``local`` of the placed layer ``cfg`` (a
    ``LayerConfig``), or None where none is declared."""
    for li in INITIALIZERS:
        if li.layer != cfg.decl.name:
            continue
        for p in li.params:
            if p.param == local and all(cfg.opts.get(k) == v for k, v in p.when):
                return p
    return None


def laws(model, library: str) -> dict[str, Law]:
    """{canonical name: the documented Law} of ``library``'s ("keras" / "torch") default for
    every parameter of ``model`` (a Sequential) that is declared here."""
    check_library(library)
    out = {}
    for cfg in model.layers:
        li = next((x for x in INITIALIZERS if x.layer == cfg.decl.name), None)
        for spec in cfg.params:
            local = spec.name.split(".", 1)[1]
            p = param_init(cfg, local)
            if li is not None and p is not None:
                out[spec.name] = getattr(p, library).law(li.sizes(cfg))
    return out


def table(layer: str | None = None):
    """The declarations as a pandas DataFrame, one row per (layer kind, parameter): Keras'
    default, torch's, and the code in each that draws the other's. ``layer`` keeps one kind
    (InputError if unknown)."""
    import pandas as pd

    chosen = INITIALIZERS if layer is None else (layer_inits(layer),)
    rows = []
    for li in chosen:
        for p in li.params:
            when = ", ".join(f"{k}={str(v).lower()}" for k, v in p.when)
            rows.append({
                "layer": li.layer + (f" ({when})" if when else ""), "param": p.param,
                "role": p.role, "keras_class": li.keras_class, "torch_class": li.torch_class,
                "keras_default": p.keras.name, "keras_formula": p.keras.formula,
                "keras_source": p.keras.source, "torch_default": p.torch.name,
                "torch_formula": p.torch.formula, "torch_source": p.torch.source,
                "same_law": p.same, "torch_for_keras": p.torch_for_keras,
                "keras_for_torch": p.keras_for_torch, "note": p.note})
    return pd.DataFrame(rows)


def check_library(library: str) -> str:
    if library not in LIBRARIES:
        raise InputError(f"unknown init {library!r} (--init)",
                         did_you_mean(str(library), LIBRARIES))
    return library


# --- drawing canonical weights from a library's defaults ------------------------------------
def draw(model, library: str, seed: int = 0, dtype: str = "float64",
         options: dict | None = None) -> dict[str, np.ndarray]:
    """Canonical weights of ``model`` drawn by ``library``'s own defaults.

    ``model``: a ``crossframe.Sequential``, or a registered name (``"lstm"``, with
    ``options``). ``library``:
    - "canonical": crossframe's own draw (``crossframe.data.init_weights``: normal kernels,
      non-zero distinct biases);
    - "torch": the model is built as torch modules (``crossframe.frameworks.build``: real
      nn.Linear, nn.Conv2d, nn.LSTM, ...) under ``torch.manual_seed(seed)`` with torch's
      default dtype set to ``dtype``, so every ``reset_parameters`` draws in that precision;
      crossframe's reset-before GRU (no torch layer) gets nn.GRU's own reset_parameters;
    - "keras": the Keras model is built (real keras.layers.*) after ``random.seed(seed)``:
      Keras 3.15 draws each default initializer's seed from Python's ``random``.
    The library's tensors come back through the model's declared mapping as the left inverse
    ``c = D^-1 T^T f`` (``D = T^T T 1``; crossframe/training/engines.py explains it): a
    transpose or a gate reorder is undone, and torch's two recurrent biases come back as their
    sum ``bias_ih + bias_hh``, the only way the model uses them. The global random states of
    torch, Python and NumPy are restored afterwards.

    Returns {canonical name: array (canonical shape, ``dtype``)}, trainable and state tensors.
    Raises InputError for an unknown library, dtype or model name."""
    from .runner import check_dtype

    check_library(library)
    check_dtype(dtype)
    if isinstance(model, str):
        from .spec import get

        spec = get(model)
        model = spec.sequential(spec.resolve(options))
    shapes = {p.name: tuple(p.shape) for p in model.params()}
    if library == "canonical":
        from . import data

        return data.init_weights(model.params(), seed, dtype)
    if not shapes:
        return {}
    tensors = _torch_tensors(model, seed, dtype) if library == "torch" else \
        _keras_tensors(model, seed, dtype)
    return to_canonical(model.mapping(library), tensors, shapes, dtype)


def to_canonical(mapping, tensors: dict, shapes: dict, dtype: str) -> dict[str, np.ndarray]:
    """Framework tensors -> canonical ones, ``c = D^-1 T^T f`` with ``D = T^T T 1``: the left
    inverse of the mapping's parameter transforms (their adjoints divided by how often each
    canonical entry is copied; a pure relayout is undone exactly, shares that the framework
    adds are added). ``shapes``: {canonical name: shape}."""
    names = {e.framework for e in mapping.params if e.canonical in shapes}
    missing = sorted(names - set(tensors))
    if missing:
        raise ValueError(f"{mapping.framework} model has no {', '.join(missing)}")
    ones = {k: np.ones(s) for k, s in shapes.items()}
    copies = mapping.param_grads_to_canonical(
        {k: v for k, v in mapping.params_to_framework(ones).items() if k in names}, shapes)
    back = mapping.param_grads_to_canonical(
        {k: np.asarray(tensors[k], dtype=np.float64) for k in names}, shapes)
    return {k: np.ascontiguousarray(back[k] / copies[k]).astype(dtype) for k in shapes}


def _torch_tensors(model, seed: int, dtype: str) -> dict[str, np.ndarray]:
    import torch

    from . import frameworks
    from .torch_impl.recurrent import GRUResetBefore

    previous = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_default_dtype(getattr(torch, dtype))
        try:
            module = frameworks.build("torch", model, dtype)
            for sub in module.modules():
                if isinstance(sub, GRUResetBefore):       # torch.empty: nn.GRU's init
                    torch.nn.GRU.reset_parameters(sub)
        finally:
            torch.set_default_dtype(previous)
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def _keras_tensors(model, seed: int, dtype: str) -> dict[str, np.ndarray]:
    from . import frameworks

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        random.seed(seed)
        built = frameworks.build("keras", model, dtype)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return {v.path: np.asarray(v.numpy()) for v in built.weights}


def constant_tensors(weights: dict[str, np.ndarray], most: int = 4) -> dict[str, tuple]:
    """{name: its distinct values} of the tensors holding at most ``most`` distinct values,
    repeated (a zero bias, a ones gamma, Keras' LSTM bias 0, 1, 0, 0 by gate block): a parity
    check on them cannot tell a dropped, shifted or block-swapped tensor from the right one."""
    out = {}
    for k, v in weights.items():
        values = np.unique(v)
        if 0 < values.size <= most and values.size < v.size:
            out[k] = tuple(float(x) for x in values)
    return out


LIBRARY = {"keras": "Keras'", "torch": "torch's"}


def drawn_by(init: str) -> str:
    """"Keras' default initialisers on jax; ...": whose draw, and for Keras its backend,
    whose random numbers a seed picks (the same seed draws other weights on another one)."""
    words = f"{LIBRARY[init]} default initialisers"
    if init == "keras":
        from .environment import keras_backend

        words += (f" on {keras_backend()}; each Keras backend draws other numbers from the "
                  "same seed")
    return words


def init_note(init: str, weights: dict) -> str | None:
    """What weights from a library's defaults cannot show: the tensors of one or few values
    (None for crossframe's own draw, or a model without weights)."""
    if init == "canonical" or not weights:   # a layer without weights: nothing was drawn
        return None
    drawn = f"--init {init}: weights drawn by {drawn_by(init)}"
    constant = constant_tensors(weights)
    if not constant:
        return drawn
    said = ", ".join(f"{k} ({'all ' if len(v) == 1 else 'only '}"
                     f"{', '.join(f'{x:g}' for x in v)})" for k, v in constant.items())
    return (f"{drawn}; {said} — a mistake that drops, shifts or swaps blocks of such a tensor "
            "may not show here (the default --init canonical draws every entry distinct)")
