"""The optimizers one step at a time, and the translation table against the installed sources.

- Every declared library default equals the installed signature (torch 2.13, Keras 3.15), and
  the built torch / Keras objects carry crossframe's values under the translated names.
- One step from p = 1 with a gradient spanning eight orders of magnitude (and an exact 0):
  scratch's torch formula, the real torch.optim, scratch's Keras formula and the real
  keras.optimizers each equal the *closed form* the translation table documents for that
  library. Where the table says the formulas differ, the two closed forms really differ
  (the tests could not pass with one formula for both).
- Momentum under a learning-rate change: the torch~keras gap equals the documented formula,
  in scratch's two variants and in the real libraries.
"""
import inspect

import numpy as np
import pytest
import torch

from crossframe.errors import InputError
from crossframe.keras_impl.backend import keras, tf
from crossframe.keras_impl.optimizers import build as keras_build
from crossframe.scratch import optimizers as scratch
from crossframe.tolerances import rel_error, tolerance
from crossframe.torch_impl.optimizers import build as torch_build
from crossframe.torch_impl.optimizers import default_dtype
from crossframe.training.config import DECLARATIONS, make_config
from crossframe.training.trajectory import trajectory_table

TOL = tolerance("float64").rel  # one step: rounding only, as for a single forward/backward
NAMES = list(DECLARATIONS)
G = np.array([0.3, -0.02, 1e-3, -4e-5, 2e-6, -1e-7, 0.0])  # |g| from ~eps to O(1), and 0


# --- the declared defaults are the installed ones ---------------------------------------------
def _installed_default(library: str, cls: str, arg: str):
    owner = torch.optim if library == "torch" else keras.optimizers
    name, _, index = arg.partition("[")
    default = inspect.signature(getattr(owner, cls).__init__).parameters[name].default
    return default[int(index.rstrip("]"))] if index else default


def row_of(optimizer: str, setting: str):
    """The table's row for one setting of one optimizer."""
    return next(s for s in DECLARATIONS[optimizer].settings if s.name == setting)


# a setting a library has no argument for (None) is applied by crossframe's trainer: tested
# below with the trajectories (test_weight_decay_*)
SETTINGS = [(d.name, s.name, lib) for d in DECLARATIONS.values() for s in d.settings
            for lib in ("torch", "keras") if getattr(s, lib) is not None]


@pytest.mark.parametrize("optimizer,setting,library", SETTINGS,
                         ids=["-".join(x) for x in SETTINGS])
def test_declared_default_is_the_installed_default(optimizer, setting, library):
    decl, row = DECLARATIONS[optimizer], row_of(optimizer, setting)
    installed = _installed_default(library, getattr(decl, library), getattr(row, library))
    assert installed == getattr(row, f"{library}_default"), (
        f"{optimizer}.{setting}: {library} default is {installed!r}, the table says "
        f"{getattr(row, f'{library}_default')!r}")


FIXED = [(d.name, k, lib) for d in DECLARATIONS.values()
         for lib in ("torch", "keras") for k in getattr(d, f"{lib}_fixed")]


@pytest.mark.parametrize("optimizer,argument,library", FIXED, ids=["-".join(x) for x in FIXED])
def test_declared_default_of_a_fixed_argument_is_the_installed_one(optimizer, argument,
                                                                   library):
    from crossframe.training.config import FIXED_DEFAULTS

    installed = _installed_default(library, getattr(DECLARATIONS[optimizer], library), argument)
    assert installed == FIXED_DEFAULTS[(library, argument)]


def _built_value(library: str, optimizer: str, arg: str):
    config = make_config(optimizer)
    name, _, index = arg.partition("[")
    if library == "torch":
        value = torch_build(config, [torch.nn.Parameter(torch.zeros(2))]).defaults[name]
        return value[int(index.rstrip("]"))] if index else value
    built = keras_build(config, "float64")
    value = built.learning_rate if arg == "learning_rate" else getattr(built, arg)
    return 0.0 if arg == "weight_decay" and value is None else value  # None: no decay


@pytest.mark.parametrize("optimizer,setting,library", SETTINGS,
                         ids=["-".join(x) for x in SETTINGS])
def test_built_optimizer_carries_crossframe_value(optimizer, setting, library):
    row = row_of(optimizer, setting)
    assert float(_built_value(library, optimizer, getattr(row, library))) == float(row.value)


# --- one step, four implementations, two documented closed forms ------------------------------
KERAS_096 = float(np.float32(0.96))  # Keras' ops.cast(0.96, float64) goes through float32
# the gradients of each step: Adamax's two formulas part only on the second step (torch's eps
# is remembered in the running maximum), so it takes a second step with a zero gradient
STEPS = {"adamax": (G, 0.0 * G)}


def closed_form(optimizer: str, library: str, c: dict) -> np.ndarray:
    """p_0 - p_K for p_0 = 1 and the gradients of STEPS (default: one step with G), as the
    table documents each library's rule."""
    lr, g, keras_side = c["lr"], G, library == "keras"
    if optimizer == "adamax":  # m_2 = b1 (1-b1) G; u_1 = |G| (+ eps in torch)
        b1, b2, eps = c["beta1"], c["beta2"], c["eps"]
        m1, m2 = (1 - b1) * g, b1 * (1 - b1) * g
        if keras_side:
            u1, u2 = np.abs(g), b2 * np.abs(g)
            return lr * m1 / ((1 - b1) * (u1 + eps)) + lr * m2 / ((1 - b1 ** 2) * (u2 + eps))
        u1 = np.abs(g) + eps
        u2 = np.maximum(b2 * u1, eps)
        return lr / (1 - b1) * m1 / u1 + lr / (1 - b1 ** 2) * m2 / u2
    if optimizer == "nadam":  # P_1 = mu_1 (exact 0.96 in both), m_1 = (1-b1) g, v_hat = g^2
        b1, decay = c["beta1"], KERAS_096 if keras_side else 0.96
        mu1, mu2 = b1 * (1 - 0.5 * decay), b1 * (1 - 0.5 * decay ** 2)
        p1 = b1 * (1 - 0.5 * 0.96)
        d = np.abs(g) + c["eps"]
        return lr * (1 - mu1) / (1 - p1) * g / d + lr * mu2 / (1 - p1 * mu2) * (1 - b1) * g / d
    if optimizer == "adadelta":  # v_1 = (1-rho) g^2, u_0 = 0
        rho, eps = c["rho"], c["eps"]
        return lr * np.sqrt(eps) / np.sqrt((1 - rho) * g * g + eps) * g
    if optimizer in ("sgd", "momentum"):
        return lr * g  # b_1 = g and v_1 = -lr g
    if optimizer == "nesterov":
        return lr * (1 + c["momentum"]) * g
    if optimizer.startswith("rmsprop"):  # v_1 = (1-rho) g^2; centered: minus a_1^2
        rho = c["rho"]
        var = (1 - rho) * g * g - ((1 - rho) * g) ** 2 * c["centered"]
        return lr * g / (np.sqrt(var + c["eps"]) if keras_side else np.sqrt(var) + c["eps"])
    if optimizer in ("adam", "adamw"):  # m_hat = g, v_hat = g^2 on the first step
        eps = c["eps"] / np.sqrt(1 - c["beta2"]) if keras_side else c["eps"]
        return lr * g / (np.abs(g) + eps) + lr * c.get("weight_decay", 0.0)
    if optimizer == "adagrad":
        s = c["initial_accumulator"] + g * g
        return lr * g / (np.sqrt(s + c["eps"]) if keras_side else np.sqrt(s) + c["eps"])
    raise AssertionError(f"no closed form for {optimizer}")


def step_scratch(optimizer: str, variant: str) -> np.ndarray:
    p, opt = np.ones_like(G), scratch.build(make_config(optimizer), variant)
    for g in STEPS.get(optimizer, (G,)):
        opt.step({"p": p}, {"p": g.copy()})
    return 1.0 - p


def step_torch(optimizer: str) -> np.ndarray:
    p = torch.nn.Parameter(torch.ones(len(G), dtype=torch.float64))
    opt = torch_build(make_config(optimizer), [p])
    for g in STEPS.get(optimizer, (G,)):
        p.grad = torch.from_numpy(g.copy())
        with default_dtype("float64"):  # NAdam's mu_product (see the trainer)
            opt.step()
    return 1.0 - p.detach().numpy()


def step_keras(optimizer: str) -> np.ndarray:
    v = keras.Variable(np.ones_like(G), dtype="float64")
    opt = keras_build(make_config(optimizer), "float64")
    for g in STEPS.get(optimizer, (G,)):
        opt.apply_gradients([(tf.constant(g), v)])
    return 1.0 - np.asarray(v)


IMPLEMENTATIONS = {
    "scratch[torch]": ("torch", lambda name: step_scratch(name, "torch")),
    "torch": ("torch", step_torch),
    "scratch[keras]": ("keras", lambda name: step_scratch(name, "keras")),
    "keras": ("keras", step_keras),
}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("optimizer", NAMES)
def test_first_step_is_the_documented_formula(optimizer, implementation):
    library, step = IMPLEMENTATIONS[implementation]
    want = closed_form(optimizer, library, make_config(optimizer).values)
    err = rel_error(step(optimizer), want)
    assert err <= TOL, f"{optimizer} {implementation}: {err:.3g} from {library}'s formula"


@pytest.mark.parametrize("optimizer", NAMES)
def test_documented_difference_is_real_exactly_where_declared(optimizer):
    values = make_config(optimizer).values
    gap = rel_error(closed_form(optimizer, "torch", values),
                    closed_form(optimizer, "keras", values))
    same = DECLARATIONS[optimizer].same_formula
    assert (gap <= TOL) == same, f"{optimizer}: torch~keras first-step gap {gap:.3g}"


# --- momentum under a learning-rate change ----------------------------------------------------
GRADS = [G, G[::-1].copy(), 0.5 * G]
LRS = [0.1, 0.05, 0.05]  # lr -> lr' at step T = 2


def schedule_gap(optimizer: str, mu: float) -> np.ndarray:
    """p_keras - p_torch after the steps: sum_t sum_(s<=t) mu^(t-s) (lr_t - lr_s) g_s, times mu
    for Nesterov (the table's agree_when)."""
    factor = mu if optimizer == "nesterov" else 1.0
    return factor * sum(mu ** (t - s) * (LRS[t] - LRS[s]) * GRADS[s]
                        for t in range(len(GRADS)) for s in range(t + 1))


def scheduled_scratch(optimizer: str, variant: str) -> np.ndarray:
    p, opt = np.ones_like(G), scratch.build(make_config(optimizer), variant)
    for lr, g in zip(LRS, GRADS):
        opt.lr = lr
        opt.step({"p": p}, {"p": g.copy()})
    return p


def scheduled_torch(optimizer: str) -> np.ndarray:
    p = torch.nn.Parameter(torch.ones(len(G), dtype=torch.float64))
    opt = torch_build(make_config(optimizer), [p])
    for lr, g in zip(LRS, GRADS):
        opt.param_groups[0]["lr"] = lr
        p.grad = torch.from_numpy(g.copy())
        opt.step()
    return p.detach().numpy()


def scheduled_keras(optimizer: str) -> np.ndarray:
    v, lr = keras.Variable(np.ones_like(G), dtype="float64"), {"now": np.float64(LRS[0])}
    kwargs = {k: np.float64(x) if isinstance(x, float) else x
              for k, x in make_config(optimizer).keras_kwargs().items() if k != "learning_rate"}
    opt = keras.optimizers.SGD(learning_rate=lambda: lr["now"], **kwargs)
    for step_lr, g in zip(LRS, GRADS):
        lr["now"] = np.float64(step_lr)
        opt.apply_gradients([(tf.constant(g), v)])
    return np.asarray(v)


SCHEDULED = {
    "scratch": lambda name: (scheduled_scratch(name, "torch"), scheduled_scratch(name, "keras")),
    "libraries": lambda name: (scheduled_torch(name), scheduled_keras(name)),
}


@pytest.mark.parametrize("implementations", SCHEDULED)
@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_momentum_schedule_gap_is_the_documented_formula(optimizer, implementations):
    p_torch, p_keras = SCHEDULED[implementations](optimizer)
    want = schedule_gap(optimizer, make_config(optimizer).values["momentum"])
    assert rel_error(want, np.zeros_like(want)) > TOL  # a real gap, not a vacuous test
    err = rel_error(p_keras - p_torch, want)
    assert err <= TOL, f"{optimizer} {implementations}: gap off the formula by {err:.3g}"


# --- scratch optimizers: dtype, checks --------------------------------------------------------
def state_dtypes(opt) -> set[str]:
    return {str(buffer.dtype) for slots in opt.state.values() for buffer in slots.values()}


@pytest.mark.parametrize("variant", ["torch", "keras"])
@pytest.mark.parametrize("optimizer", NAMES)
def test_scratch_keeps_float32(optimizer, variant):
    p = np.ones(5, dtype=np.float32)
    opt = scratch.build(make_config(optimizer), variant)
    opt.step({"p": p}, {"p": np.linspace(-1, 1, 5, dtype=np.float32)})
    opt.step({"p": p}, {"p": np.linspace(1, -1, 5, dtype=np.float32)})
    assert p.dtype == np.float32 and state_dtypes(opt) <= {"float32"}, state_dtypes(opt)


def test_scratch_refuses_a_gradient_of_another_dtype():
    with pytest.raises(AssertionError, match="p is .* float64, its gradient .* float32"):
        scratch.SGD(0.1).step({"p": np.ones(3)}, {"p": np.ones(3, dtype=np.float32)})


def test_scratch_refuses_an_unknown_variant():
    with pytest.raises(ValueError, match="variant 'tf'"):
        scratch.Adam(1e-3, 0.9, 0.999, 1e-7, variant="tf")


# --- the config: bad input is an InputError naming the fix ------------------------------------
@pytest.mark.parametrize("name,overrides,match", [
    ("adma", {}, "unknown optimizer 'adma' — did you mean 'adam'"),
    ("adam", {"lr": 0.0}, "--lr 0.0 is not allowed for adam"),
    ("sgd", {"lr": -1.0}, "--lr -1.0 is not allowed"),
    ("sgd", {"lr": float("nan")}, "--lr nan is not allowed"),
    ("rmsprop", {"rho": float("inf")}, "--rho inf is not allowed"),
    ("sgd", {"beta1": 0.9}, "optimizer sgd has no setting 'beta1'"),
], ids=["unknown", "lr-zero", "lr-negative", "lr-nan", "rho-inf", "foreign-setting"])
def test_make_config_bad_input(name, overrides, match):
    with pytest.raises(InputError, match=match):
        make_config(name, **overrides)


def test_translation_of_a_tuple_argument():
    assert make_config("adam", lr=0.01).torch_kwargs() == {
        "lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-7, "amsgrad": False, "weight_decay": 0.0}
    assert make_config("nesterov").keras_kwargs() == {
        "nesterov": True, "learning_rate": 0.01, "momentum": 0.9, "weight_decay": None}


# --- weight decay, both kinds, in every optimizer ----------------------------------------------
DECAYS = [(name, kind) for name in NAMES for kind in ("weight_decay", "coupled_weight_decay")
          if name != "adamw" or kind == "weight_decay"]


@pytest.mark.parametrize("optimizer,kind", DECAYS, ids=["-".join(x) for x in DECAYS])
def test_weight_decay_trajectories(optimizer, kind):
    """Where a library has no argument for a decay, its trainer applies it (torch: p.mul_ before
    step(); Keras: g + wd p before apply_gradients): all three follow, step by step."""
    t = trajectory_table("linear", config=make_config(optimizer, **{kind: 0.3}), steps=3)
    assert t["ok"].all(), t[~t["ok"]].head().to_string()


def test_weight_decay_of_both_kinds_is_refused():
    with pytest.raises(InputError, match="give one of them"):
        make_config("adam", weight_decay=0.1, coupled_weight_decay=0.1)


@pytest.mark.parametrize("overrides,match", [
    ({"beta1": 1.0}, "--beta1 1.0 is not allowed"), ({"beta2": 1.5}, "in \\[0, 1\\)"),
    ({"momentum": 1.2}, "--momentum 1.2"), ({"weight_decay": -0.1}, "--weight-decay -0.1"),
])
def test_settings_out_of_range(overrides, match):
    name = "momentum" if "momentum" in overrides else "adam"
    with pytest.raises(InputError, match=match):
        make_config(name, **overrides)


def test_decay_left_undone_is_caught(monkeypatch):
    """Without the trainers' by-hand decay, the libraries leave the scratch reference."""
    from crossframe.training import config as config_module

    monkeypatch.setattr(config_module, "by_hand", lambda decl, values, library: {})
    for kind, pair in (("weight_decay", ("scratch", "torch")),
                       ("coupled_weight_decay", ("scratch", "keras"))):
        t = trajectory_table("linear", config=make_config("sgd", **{kind: 0.3}), steps=2,
                             pairs=(pair,))
        assert not t["ok"].all(), kind


def test_nadam_needs_torch_default_dtype_float64():
    """torch keeps NAdam's mu_product in the default dtype: one float64 step under the default
    float32 leaves torch's own formula by ~1e-8 (crossframe's trainer steps inside
    default_dtype(model dtype); test_first_step_is_the_documented_formula shows it exact)."""
    assert torch.get_default_dtype() == torch.float32
    p = torch.nn.Parameter(torch.ones(len(G), dtype=torch.float64))
    opt = torch_build(make_config("nadam"), [p])
    p.grad = torch.from_numpy(G.copy())
    opt.step()
    want = closed_form("nadam", "torch", make_config("nadam").values)
    assert rel_error(1.0 - p.detach().numpy(), want) > 1e3 * TOL


def test_keras_nadam_rounds_its_decay_through_float32():
    """Upstream behaviour kept in view: Keras' Nadam update casts the Python float 0.96 to the
    variable's dtype via float32 on TensorFlow. When a Keras release fixes it, this test fails
    and the scratch reference (scratch.optimizers.KERAS_NADAM_DECAY) should follow."""
    assert scratch.KERAS_NADAM_DECAY["tensorflow"] != 0.96
    exact = dict(make_config("nadam").values)
    b1, lr, eps, g = exact["beta1"], exact["lr"], exact["eps"], G
    mu1, mu2 = b1 * (1 - 0.5 * 0.96), b1 * (1 - 0.5 * 0.96 ** 2)
    d = np.abs(g) + eps
    with_exact = lr * g / d + lr * mu2 / (1 - mu1 * mu2) * (1 - b1) * g / d
    assert rel_error(step_keras("nadam"), with_exact) > 1e3 * TOL
