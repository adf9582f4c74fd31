"""Optimizer state across frameworks: training started in one library continues in another.

    state = read(torch_side, "torch", config, step=K)   # torch's state_dict -> canonical
    write(keras_side, "keras", state, config)           # canonical -> Keras' variables
    table = handover_table("mlp", "momentum", steps=3)  # the check, one row per tensor
    summary(table)                                      # worst max_rel per direction, kind

A hand-over carries two things: the weights (canonical, as every crossframe run reads them
back) and the optimizer's running state. torch keeps the state in ``optimizer.state[p]`` under
its keys (``momentum_buffer``, ``exp_avg``, ``step``, ...), Keras in optimizer variables built
per trainable variable (``momentums``, ``_velocities``, ...) plus one ``iterations``, scratch in
``Optimizer.state[name][key]`` plus ``t``. ``HANDOVERS`` declares, per crossframe optimizer
(``config.DECLARATIONS``), each state quantity under each library's name and the exact
conversion where the libraries keep different quantities; every reader and writer below only
applies those rows, so adding an optimizer is adding a row.

The canonical form (``OptimizerState``)
---------------------------------------
Shape legend: ``P`` a canonical parameter's shape (its canonical layout, ``crossframe
describe``), ``F`` the shape of a framework tensor standing for it (torch's ``(out, in)``
weight, a Keras kernel ``(in, out)``, one of torch's two recurrent biases ``(4H,)``).

- ``step``: t, the number of steps taken (the next step is t + 1): Keras' ``iterations``,
  scratch's ``t``, torch's per-parameter ``state["step"]`` (all equal, or refused). torch's SGD
  keeps no counter (its update needs none): ``from_torch`` then takes the count from the caller.
- ``buffers[param][symbol]``: one array of shape P per state quantity, in the *canonical
  convention*, which is torch's (a velocity of gradients, not of updates; Adamax' running
  maximum with eps inside). ``symbol`` is the quantity's name in the update rules of
  ``config`` (b, m, v, a, s, u, v_max).
- ``scalars[symbol]``: running scalars of the whole optimizer (Nadam's product of momentum
  coefficients; torch keeps a copy per parameter, all equal or refused).

Layouts: a state buffer has its parameter's shape and follows it through the layouts exactly as
the parameter's *gradient* does (``engines.Parameterization``): framework -> canonical by the
adjoint ``T^T`` (``grads_to_canonical``), canonical -> framework by ``T D^-1``
(``grads_to_framework``). For every mapping crossframe declares, ``T D^-1`` picks each
framework entry from one canonical entry (a transpose, gate reorder, row of a stacked bias, or
a copy), so that also holds for quantities of degree two (v = mean of g^2); a mapping that
scales an entry is refused (``HandoverError``).

torch's two recurrent biases (``bias_ih``, ``bias_hh``, each half of the canonical bias) are two
tensors to torch's optimizer, each with its own state, where Keras and scratch keep one bias
and one state. Each receives the full gradient dL/db (their sum is what the cell uses), so
from equal starting states the two states stay equal — to rounding: torch sums the two
gradients in different orders (measured: 4e-16 relative after 10 Adam steps on lstm) — and
that common state *is* the canonical bias' state: torch -> canonical reads it (the adjoint
averages the two copies), canonical -> torch writes it into both. If the two differ by more
than the dtype's parity bound (``tolerances.tolerance``: biases trained apart, a state loaded
by hand), no single state stands for both: ``from_torch`` refuses with a ``HandoverError``
naming them rather than averaging silently. (The biases' *values* may differ: the weights
hand-over carries their sum.) With ``recurrent_bias="single"`` torch's optimizer holds only
``bias_ih``, and the question does not arise.

The check (``handover_table``)
------------------------------
All runs start from the same canonical weights and take step k on the spec's canonical batch
for seed ``seed + k`` (``trajectory.step_batches``), 2K steps in all; "A K -> B K" is K steps
in library A, then weights and optimizer state handed to a fresh B (its own model and
optimizer), then K steps in B on batches K+1..2K. Three kinds of row, steps K+1..2K, every
weight tensor and the loss, and the optimizer state after step 2K (``m[dense1.W]``, ``step``):

- ``roundtrip``: A K -> B 0 -> A K against A 2K uninterrupted. The state goes through B's
  variables and back (both conversions, B's build and assignment) and must come back as A had
  it: exact, every optimizer and model, bound ``tolerances.TRAJECTORY``. A conversion and its
  inverse that share a mistake (v = -b in both) cancel here.
- ``explained``: A K -> B K against B 2K, net of the documented formula difference, measured as
  ``trajectory``'s explained pair is: the residual
  ``(A K -> B K  -  B 2K) - (scratch[A] K -> scratch[B] K  -  scratch[B] 2K)`` within
  TRAJECTORY, the size of the scratch difference beside it (``documented``). Exact for every
  optimizer and model, torch's two recurrent biases included; but scratch's hand-over applies
  the same table, so a wrong conversion row would cancel here too.
- ``raw``: A K -> B K against B 2K with nothing explained, where the two libraries compute the
  same update: settings that make them agree (``StateDecl.agree``: eps = 0 for the adaptive
  ones; SGD, momentum, Nesterov at a constant lr as they are) on a model without fanned-out
  tensors (torch's recurrent biases move twice as far as Keras' bias: no raw agreement there).
  With ``recurrent_bias="single"`` (torch's ``bias_hh`` frozen at 0, ``engines.train_mapping``)
  torch keeps one bias and one state and follows Keras: raw rows run on recurrent models too.
  This row is what catches a wrong conversion shared by both directions and by scratch. eps = 0
  divides 0 by 0 where a gradient entry is exactly 0 on the first steps (a digit pixel that is
  always blank, a dead ReLU), so raw rows are for models without such inputs (``linear``:
  diabetes has none); ``raw=None`` runs them only where they need no changed setting.

Sources mirrored (torch 2.13, Keras 3.15.1), each row naming its lines:
torch/optim/{sgd,rmsprop,adam,adamw,adagrad,adamax,nadam,adadelta}.py (``_init_group``
creates the state keys, ``_single_tensor_*`` updates them) and torch/optim/optimizer.py
(``state_dict`` / ``load_state_dict``: per-parameter state by index, ``step`` never cast);
keras/src/optimizers/{sgd,rmsprop,adam,adamw,adagrad,adamax,nadam,adadelta}.py (``build``
creates the variables, ``update_step`` updates them) and base_optimizer.py (``iterations``,
``add_optimizer_variables``: one variable per trainable variable, in build order).

Not exact: Adamax with eps > 0 (its running maximum has eps inside in torch and not in Keras,
so neither state is a function of the other; the row's conversion says by how much), and any
velocity (momentum, RMSprop's momentum) under a learning-rate *schedule*: the conversion uses
the lr of the steps to come, and the two libraries' trajectories part under a schedule anyway.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tolerances import TRAJECTORY, errors, tolerance
from .config import OptimizerConfig, make_config

Array = np.ndarray


class HandoverError(ValueError):
    """A state that cannot be handed over exactly: what differs, where, and why."""


# --- the table --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conversion:
    """The Keras convention of a quantity from the canonical (torch's) one, elementwise:

        keras = max(scale * canonical + offset, floor)        (floor only where given)
        canonical = (keras - offset) / scale

    ``scale`` and ``offset`` are products of settings and numbers with an optional sign,
    ``"-lr"``, ``"lr"``, ``"-eps"``, ``"1"``, evaluated on the config's values (``lr``: the
    learning rate of the steps to come). ``exact`` says when the conversion is exact.
    """

    scale: str = "1"
    offset: str = "0"
    floor: float | None = None
    exact: str = "always"

    def to_keras(self, canonical: Array, values: dict) -> Array:
        scale, offset = _evaluate(self.scale, values), _evaluate(self.offset, values)
        out = canonical * canonical.dtype.type(scale) + canonical.dtype.type(offset)
        return out if self.floor is None else np.maximum(out, canonical.dtype.type(self.floor))

    def to_canonical(self, keras: Array, values: dict) -> Array:
        scale, offset = _evaluate(self.scale, values), _evaluate(self.offset, values)
        return (keras - keras.dtype.type(offset)) / keras.dtype.type(scale)

    def describe(self) -> str:
        if self.scale == "1" and self.offset == "0":
            return "same"
        text = "x" if self.scale == "1" else f"{self.scale} x"
        text += "" if self.offset == "0" else f" {'-' if self.offset[0] == '-' else '+'} " \
                                               f"{self.offset.lstrip('+-')}"
        return text if self.floor is None else f"max({text}, {self.floor:g})"


def _evaluate(expr: str, values: dict) -> float:
    """``"-lr"`` -> -values["lr"]; ``"2*eps"`` -> 2 values["eps"]; ``"1"`` -> 1.0."""
    sign, body = (-1.0, expr[1:]) if expr.startswith("-") else (1.0, expr.lstrip("+"))
    out = sign
    for factor in body.split("*"):
        out *= float(values[factor]) if factor in values else float(factor)
    return out


@dataclass(frozen=True)
class Quantity:
    """One state buffer per parameter (shape P), under each library's name.

    ``symbol``: its canonical name, the symbol of the update rules (``config``), in torch's
    convention; ``torch``: the key in ``optimizer.state[p]``; ``keras``: the attribute of the
    Keras optimizer holding one variable per trainable variable; ``scratch_torch`` /
    ``scratch_keras``: the key in scratch's ``Optimizer.state[name]`` for each variant;
    ``keras_form``: how Keras (and scratch's Keras variant) keeps it; ``initial``: its value
    before the first step (a number or a setting name); ``when``: kept only when that setting
    is non-zero / true; ``source``: the library lines the row mirrors.
    """

    symbol: str
    meaning: str
    torch: str
    keras: str
    scratch_torch: str
    scratch_keras: str
    keras_form: Conversion = Conversion()
    initial: str = "0"
    when: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Scalar:
    """A running scalar of the whole optimizer: torch keeps a copy in every parameter's state
    (``torch`` key), Keras one optimizer variable (``keras`` attribute), scratch an attribute
    of the optimizer (``scratch``)."""

    symbol: str
    meaning: str
    torch: str
    keras: str
    scratch: str
    initial: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class StateDecl:
    """The running state of one crossframe optimizer. ``torch_step``: torch keeps a
    per-parameter ``step``; ``agree``: settings under which torch's and Keras' updates are one
    formula (the raw check), None where no setting makes them one."""

    optimizer: str
    quantities: tuple[Quantity, ...] = ()
    scalars: tuple[Scalar, ...] = ()
    torch_step: bool = True
    agree: dict | None = field(default_factory=dict)
    note: str = ""


def _velocity(keras: str, scratch_keras: str, torch_line: str, keras_line: str,
              form: Conversion, meaning: str, when: str | None = None) -> Quantity:
    return Quantity("b", meaning, "momentum_buffer", keras, "b", scratch_keras, form,
                    when=when, source=f"{torch_line}; {keras_line}")


SGD_VELOCITY = _velocity(
    "momentums", "v",
    "torch/optim/sgd.py _single_tensor_sgd: buf = clone(g) on the first step, then "
    "buf.mul_(mu).add_(g); p.add_(buf, alpha=-lr)",
    "keras/src/optimizers/sgd.py update_step: m <- m * momentum - g * lr; p <- p + m",
    Conversion("-lr", exact="always at the lr of the steps to come: then Keras' next step is "
                            "torch's. Under a schedule the libraries' trajectories part anyway "
                            "(config.MOMENTUM_AGREE)"),
    "velocity of gradients (torch); Keras keeps a velocity of updates v = -lr b")
RMS_QUANTITIES = (
    Quantity("v", "running mean of g^2", "square_avg", "_velocities", "v", "v",
             source="torch/optim/rmsprop.py: square_avg.mul_(alpha).addcmul_(g, g, 1-alpha); "
                    "keras/src/optimizers/rmsprop.py: velocity <- rho velocity + (1-rho) g^2"),
    _velocity("_momentums", "b",
              "torch/optim/rmsprop.py: buf.mul_(momentum).addcdiv_(g, avg); "
              "p.add_(buf, alpha=-lr)",
              "keras/src/optimizers/rmsprop.py: momentum <- momentum * mu + lr g / "
              "sqrt(denominator); p <- p - momentum",
              Conversion("lr", exact="always at the lr of the steps to come (as for SGD)"),
              "velocity of scaled gradients (torch); Keras' includes the lr: lr b",
              when="momentum"),
    Quantity("a", "running mean of g (centered)", "grad_avg", "_average_gradients", "a", "a",
             when="centered",
             source="torch/optim/rmsprop.py: grad_avg.lerp_(g, 1-alpha); "
                    "keras/src/optimizers/rmsprop.py: average_grad <- rho a + (1-rho) g"),
)
ADAM_QUANTITIES = (
    Quantity("m", "running mean of g", "exp_avg", "_momentums", "m", "m",
             source="torch/optim/adam.py: exp_avg.lerp_(g, 1-beta1); "
                    "keras/src/optimizers/adam.py: m <- m + (g - m)(1 - beta_1)"),
    Quantity("v", "running mean of g^2", "exp_avg_sq", "_velocities", "v", "v",
             source="torch/optim/adam.py: exp_avg_sq.mul_(beta2).addcmul_(g, g, 1-beta2); "
                    "keras/src/optimizers/adam.py: v <- v + (g^2 - v)(1 - beta_2)"),
    Quantity("v_max", "running maximum of v (amsgrad)", "max_exp_avg_sq", "_velocity_hats",
             "v_max", "v_max", when="amsgrad",
             source="torch/optim/adam.py: torch.maximum(max_exp_avg_sq, exp_avg_sq); "
                    "keras/src/optimizers/adam.py: v_hat <- maximum(v_hat, v)"),
)
EPS_ZERO = {"eps": 0.0}

HANDOVERS: dict[str, StateDecl] = {d.optimizer: d for d in (
    StateDecl("sgd", torch_step=False,
              note="no state but the step count, which torch's SGD does not keep"),
    StateDecl("momentum", (SGD_VELOCITY,), torch_step=False),
    StateDecl("nesterov", (SGD_VELOCITY,), torch_step=False),
    StateDecl("rmsprop", RMS_QUANTITIES, agree=EPS_ZERO),
    StateDecl("rmsprop_momentum", RMS_QUANTITIES, agree=EPS_ZERO),
    StateDecl("rmsprop_centered", RMS_QUANTITIES, agree=EPS_ZERO),
    StateDecl("adam", ADAM_QUANTITIES, agree=EPS_ZERO,
              note="torch's bias correction reads its per-parameter step, Keras' iterations"),
    StateDecl("adamw", ADAM_QUANTITIES, agree=EPS_ZERO),
    StateDecl("adagrad", (
        Quantity("s", "sum of g^2 so far", "sum", "_accumulators", "s", "s",
                 initial="initial_accumulator",
                 source="torch/optim/adagrad.py: state_sum.addcmul_(g, g) (created in __init__ "
                        "at initial_accumulator_value); keras/src/optimizers/adagrad.py: "
                        "accumulator += g^2 (built at initial_accumulator_value)"),),
              agree=EPS_ZERO),
    StateDecl("adamax", (
        dataclasses.replace(ADAM_QUANTITIES[0], keras="_m",
                            source="torch/optim/adamax.py: exp_avg.lerp_(g, 1-beta1); "
                                   "keras/src/optimizers/adamax.py: m <- m + (g - m)(1-beta_1)"),
        Quantity("u", "running maximum of |g| (the infinity norm)", "exp_inf", "_u", "u", "u",
                 Conversion(offset="-eps", floor=0.0,
                            exact="eps = 0. torch keeps max_s b2^(t-s) (|g_s| + eps), Keras "
                                  "max_s b2^(t-s) |g_s|: they differ by eps where the newest "
                                  "|g| is the maximum and by eps b2^k where it is k steps old, "
                                  "so with eps > 0 the state one library keeps is not a "
                                  "function of the other's; u - eps is off by at most "
                                  "eps (1 - b2^k) (floored at 0)"),
                 source="torch/optim/adamax.py: torch.maximum(exp_inf.mul_(beta2), "
                        "|g| + eps); keras/src/optimizers/adamax.py: u <- maximum(beta_2 u, "
                        "|g|), divisor (u + epsilon)")),
              agree=EPS_ZERO,
              note="the one row not exact with eps > 0 (u: see its conversion)"),
    StateDecl("nadam", ADAM_QUANTITIES[:2], scalars=(
        Scalar("mu_product", "product of the momentum coefficients mu_1 ... mu_t", "mu_product",
               "_u_product", "mu_product", initial=1.0,
               source="torch/optim/nadam.py: mu_product *= mu (a tensor per parameter, made "
                      "in the default dtype); keras/src/optimizers/nadam.py: _u_product "
                      "(one variable) <- u_product beta_1 (1 - 0.5 0.96^t)"),),
              agree=None,
              note="no raw rows: Keras' update takes 0.96 through float32 (config's nadam "
                   "row), torch does not"),
    StateDecl("adadelta", (
        Quantity("v", "running mean of g^2", "square_avg", "_accumulated_grads", "v", "v",
                 source="torch/optim/adadelta.py: square_avg.mul_(rho).addcmul_(g, g, 1-rho); "
                        "keras/src/optimizers/adadelta.py: accumulated_grad <- rho a + "
                        "(1-rho) g^2"),
        Quantity("u", "running mean of the squared steps", "acc_delta",
                 "_accumulated_delta_vars", "u", "u",
                 source="torch/optim/adadelta.py: acc_delta.mul_(rho).addcmul_(d, d, 1-rho); "
                        "keras/src/optimizers/adadelta.py: accumulated_delta_var <- rho u + "
                        "(1-rho) delta_var^2")),
              agree={}),
)}


def declaration(config: OptimizerConfig, table: dict | None = None) -> StateDecl:
    """The table's row for ``config``'s optimizer; HandoverError if it has none."""
    table = HANDOVERS if table is None else table
    if config.name not in table:
        raise HandoverError(f"no hand-over row for optimizer '{config.name}': add a StateDecl "
                            "to crossframe.training.handover.HANDOVERS")
    return table[config.name]


def quantities(config: OptimizerConfig, table: dict | None = None) -> tuple[Quantity, ...]:
    """The quantities an optimizer with these settings keeps (``when`` applied)."""
    return tuple(q for q in declaration(config, table).quantities
                 if q.when is None or config.values.get(q.when))


def state_table(table: dict | None = None) -> pd.DataFrame:
    """The declarations as a DataFrame, one row per (optimizer, quantity), for ``describe`` /
    the report: the canonical symbol, torch's key, Keras' variable, scratch's keys, the
    conversion and when it is exact; the step counter as a row of its own."""
    rows = []
    for d in (HANDOVERS if table is None else table).values():
        rows.append(dict(optimizer=d.optimizer, symbol="t", meaning="steps taken",
                         torch="state['step'] per parameter" if d.torch_step else
                         "(none: SGD keeps no counter)", keras="iterations",
                         scratch="t", keras_form="same", exact="always", when=""))
        rows += [dict(optimizer=d.optimizer, symbol=q.symbol, meaning=q.meaning, torch=q.torch,
                      keras=q.keras, scratch=f"{q.scratch_torch} / {q.scratch_keras}",
                      keras_form=q.keras_form.describe(), exact=q.keras_form.exact,
                      when=q.when or "") for q in d.quantities]
        rows += [dict(optimizer=d.optimizer, symbol=s.symbol, meaning=s.meaning,
                      torch=f"{s.torch} (a copy per parameter)", keras=s.keras,
                      scratch=s.scratch, keras_form="same", exact="always", when="")
                 for s in d.scalars]
    return pd.DataFrame(rows)


# --- the canonical form -----------------------------------------------------------------------
@dataclass
class OptimizerState:
    """A running optimizer's state in canonical terms (see the module docstring).

    optimizer: crossframe optimizer name; step: steps taken (None: unknown);
    buffers: {canonical parameter: {symbol: array (P)}}; scalars: {symbol: float}.
    """

    optimizer: str
    step: int | None
    buffers: dict[str, dict[str, Array]]
    scalars: dict[str, float] = field(default_factory=dict)

    def replace(self, **changes) -> "OptimizerState":
        return dataclasses.replace(self, **changes)


def _framework_shapes(params) -> dict[str, tuple]:
    return {e.framework: e.transform.shape(params.shapes[e.canonical])
            for e in params.mapping.params if e.canonical in params.shapes}


def _dtype(params) -> np.dtype:
    return next(iter(params.diag.values())).dtype


def _check_selection(params) -> None:
    """Every framework entry must be a copy of one canonical entry (``T D^-1`` a 0/1 pick),
    else a squared quantity would not map as the gradient does."""
    ones = {k: np.ones(s, dtype=_dtype(params)) for k, s in params.shapes.items()}
    for name, picked in params.grads_to_framework(ones).items():
        if name in params.names and not np.all(picked == 1):
            raise HandoverError(f"{params.mapping.framework} {name}: its mapping scales "
                                "canonical entries, so optimizer state (g^2 as well as g) "
                                "cannot follow it as a gradient does")


def _siblings(params, framework_name: str) -> list[str]:
    canonical = next(e.canonical for e in params.mapping.params if e.framework == framework_name)
    return [e.framework for e in params.mapping.params if e.canonical == canonical]


def _to_canonical(per_tensor: dict[str, dict[str, Array]], params, library: str
                  ) -> dict[str, dict[str, Array]]:
    """{framework tensor: {symbol: (F)}} -> {canonical parameter: {symbol: (P)}}, refusing
    framework copies of one canonical tensor that hold different state."""
    _check_selection(params)
    symbols = {s for slots in per_tensor.values() for s in slots}
    out: dict[str, dict[str, Array]] = {k: {} for k in params.shapes}
    for symbol in sorted(symbols):
        framework = {n: per_tensor[n][symbol] for n in params.names}
        canonical = params.grads_to_canonical(framework)
        back = params.grads_to_framework(canonical)
        for n in sorted(params.names):
            bound = tolerance(str(framework[n].dtype)).rel
            if errors(framework[n], back[n])[1] > bound:
                copies = _siblings(params, n)
                raise HandoverError(
                    f"{library} keeps different {symbol} for {' and '.join(copies)} (max_rel "
                    f"{errors(framework[n], back[n])[1]:.2g} from their common value): they "
                    "stand for one canonical tensor, which Keras and scratch give one state, "
                    "so no single state can be handed over. They stay equal when both start "
                    "equal and take the same gradients, as crossframe's runs do")
        for k, v in canonical.items():
            out[k][symbol] = v
    return out


def _to_framework(buffers: dict[str, dict[str, Array]], params) -> dict[str, dict[str, Array]]:
    """{canonical parameter: {symbol: (P)}} -> {framework tensor: {symbol: (F)}}."""
    _check_selection(params)
    missing = sorted(set(params.shapes) - set(buffers))
    if missing:
        raise HandoverError(f"optimizer state has no buffers for {missing}")
    symbols = {s for slots in buffers.values() for s in slots}
    out: dict[str, dict[str, Array]] = {n: {} for n in params.names}
    for symbol in sorted(symbols):
        framework = params.grads_to_framework({k: buffers[k][symbol] for k in params.shapes})
        for n in params.names:
            out[n][symbol] = framework[n]
    return out


def _initial(q: Quantity, shape, dtype, values: dict) -> Array:
    return np.full(shape, _evaluate(q.initial, values), dtype=dtype)


def _check_keys(where: str, kept: set, declared: set, config: OptimizerConfig) -> None:
    """A library's state against the table's row, before any number: a key the row does not
    declare would be dropped, one it declares but the library lacks is a wrong row."""
    extra, missing = sorted(kept - declared), sorted(declared - kept)
    if extra or missing:
        raise HandoverError(
            f"{where} keeps {sorted(kept)}, the hand-over table declares {sorted(declared)} "
            f"for {config.describe()}"
            + (f"; not declared: {extra} (it would be dropped)" if extra else "")
            + (f"; missing: {missing}" if missing else "")
            + " — fix the row in crossframe.training.handover.HANDOVERS")


def _one_value(values: dict, what: str) -> float | None:
    """The common value of per-parameter copies (torch's step, Nadam's mu_product)."""
    distinct = sorted({float(v) for v in values.values()})
    if len(distinct) > 1:
        raise HandoverError(f"torch parameters hold different {what}: "
                            + ", ".join(f"{n}={float(v):g}" for n, v in sorted(values.items()))
                            + " — the other libraries keep one for the whole optimizer")
    return distinct[0] if distinct else None


# --- torch ------------------------------------------------------------------------------------
def from_torch(state: dict, config: OptimizerConfig, params, step: int | None = None,
               table: dict | None = None) -> OptimizerState:
    """torch's optimizer state -> canonical.

    ``state``: ``{torch parameter name: {key: array (F)}}``, i.e.
    ``optimizer.state_dict()["state"]`` keyed by name (``torch_impl.optimizers.Trainer.
    optimizer_state()``); a parameter without state (none before torch's first step) counts as
    the quantities' initial values at step 0. ``params``: torch's ``Parameterization``.
    ``step``: the steps taken, needed where torch keeps no counter (SGD); where it keeps one it
    must agree.

    Raises HandoverError for a key or parameter the table does not declare (state would be
    dropped), per-parameter steps that differ, two copies of one canonical tensor (torch's
    recurrent biases) with different state, or a ``step`` that contradicts torch's.
    """
    decl, qs = declaration(config, table), quantities(config, table)
    keys = {q.torch for q in qs} | {s.torch for s in decl.scalars} | \
        ({"step"} if decl.torch_step else set())
    for name, slots in state.items():
        if name not in params.names:
            raise HandoverError(f"torch state for {name}, which stands for no trainable "
                                "canonical parameter")
        _check_keys(f"torch's {name}", set(slots), keys, config)
    if decl.torch_step:
        counted = _one_value({n: np.asarray(state.get(n, {}).get("step", 0.0))
                              for n in params.names}, "step counts")
        counted = int(counted or 0)
        if step is not None and step != counted:
            raise HandoverError(f"step={step} given, but torch's optimizer counts {counted}")
        step = counted
    shapes, dtype = _framework_shapes(params), _dtype(params)
    per_tensor = {n: {q.symbol: np.asarray(state[n][q.torch]) if q.torch in state.get(n, {})
                      else _initial(q, shapes[n], dtype, config.values) for q in qs}
                  for n in params.names}
    scalars = {s.symbol: _one_value({n: state.get(n, {}).get(s.torch, s.initial)
                                     for n in params.names}, s.symbol)
               for s in decl.scalars}
    return OptimizerState(config.name, step, _to_canonical(per_tensor, params, "torch"), scalars)


def to_torch(state: OptimizerState, config: OptimizerConfig, params,
             table: dict | None = None) -> dict:
    """canonical -> torch's form ``{torch parameter name: {key: array (F)}}`` (what
    ``Trainer.load_optimizer_state`` takes): every buffer into each framework tensor standing
    for its parameter (both recurrent biases get the canonical bias' state), ``step`` as a
    0-d array where torch keeps one, float64 for a float64 model and float32 otherwise (what
    torch/optim/adam.py ``_init_group`` makes under the model's default dtype, as crossframe
    steps torch; load_state_dict never casts it, and the update reads it with ``.item()``),
    scalars copied into every parameter.

    Raises HandoverError if the optimizer names differ or the step count is unknown where
    torch needs one."""
    decl, qs = declaration(config, table), quantities(config, table)
    _same_optimizer(state, config)
    if decl.torch_step and state.step is None:
        raise HandoverError("the step count is unknown; torch's optimizer keeps one: pass "
                            "step= when reading a library that keeps none (torch's SGD)")
    per_tensor = _to_framework(_only(state.buffers, qs), params)
    step_dtype = np.float64 if _dtype(params) == np.float64 else np.float32
    out = {}
    for n in sorted(params.names):
        slots = {q.torch: per_tensor[n][q.symbol] for q in qs}
        if decl.torch_step:
            slots["step"] = np.asarray(float(state.step), dtype=step_dtype)
        slots.update({s.torch: np.asarray(state.scalars[s.symbol]) for s in decl.scalars})
        if slots:
            out[n] = slots
    return out


# --- Keras ------------------------------------------------------------------------------------
def from_keras(state: dict, config: OptimizerConfig, params,
               table: dict | None = None) -> OptimizerState:
    """Keras' optimizer state -> canonical.

    ``state``: ``{"iterations": t, "slots": {attribute: {variable path: array (F)}},
    "scalars": {attribute: array}}`` (``keras_impl.optimizers.Trainer.optimizer_state()``);
    an optimizer not built yet has no slots: the quantities' initial values. Each slot is
    brought to the canonical convention by the row's ``keras_form`` (Keras' SGD velocity
    v = -lr b gives b = v / -lr). ``params``: Keras' ``Parameterization``.

    Raises HandoverError for a variable the table does not declare (it would be dropped).
    """
    decl, qs = declaration(config, table), quantities(config, table)
    kept = set(state.get("slots", {})) | set(state.get("scalars", {}))
    if kept or state.get("iterations", 0):   # built: every declared variable exists
        _check_keys(f"keras.optimizers.{config.declaration.keras}", kept,
                    {q.keras for q in qs} | {s.keras for s in decl.scalars}, config)
    shapes, dtype = _framework_shapes(params), _dtype(params)
    slots = state.get("slots", {})
    per_tensor = {n: {q.symbol: q.keras_form.to_canonical(np.asarray(slots[q.keras][n]),
                                                          config.values)
                      if q.keras in slots else _initial(q, shapes[n], dtype, config.values)
                      for q in qs} for n in params.names}
    scalars = {s.symbol: float(state["scalars"][s.keras]) if s.keras in
               state.get("scalars", {}) else s.initial for s in decl.scalars}
    return OptimizerState(config.name, int(state.get("iterations", 0)),
                          _to_canonical(per_tensor, params, "keras"), scalars)


def to_keras(state: OptimizerState, config: OptimizerConfig, params,
             table: dict | None = None) -> dict:
    """canonical -> Keras' form (what ``Trainer.load_optimizer_state`` takes, which builds the
    optimizer's variables and assigns these): ``iterations`` = step, each slot in Keras'
    convention (``keras_form``), scalars.

    Raises HandoverError if the optimizer names differ or the step count is unknown."""
    decl, qs = declaration(config, table), quantities(config, table)
    _same_optimizer(state, config)
    if state.step is None:
        raise HandoverError("the step count is unknown; Keras keeps one (iterations): pass "
                            "step= when reading a library that keeps none (torch's SGD)")
    per_tensor = _to_framework(_only(state.buffers, qs), params)
    return {"iterations": int(state.step),
            "slots": {q.keras: {n: q.keras_form.to_keras(per_tensor[n][q.symbol],
                                                         config.values)
                                for n in params.names} for q in qs},
            "scalars": {s.keras: np.asarray(state.scalars[s.symbol]) for s in decl.scalars}}


# --- scratch ----------------------------------------------------------------------------------
def _variant(variant: str) -> str:
    if variant not in ("torch", "keras"):
        raise ValueError(f"variant {variant!r}: choose 'torch' or 'keras'")
    return variant


def from_scratch(state: dict, config: OptimizerConfig, params, variant: str = "torch",
                 table: dict | None = None) -> OptimizerState:
    """scratch's optimizer state -> canonical.

    ``state``: ``{"t": t, "state": {tensor name: {key: array (F)}}, "scalars": {...}}``
    (``engines.ScratchTrainer.optimizer_state()``), keys as the ``variant``'s class names them
    (scratch/optimizers.py); the Keras variant's quantities are converted as Keras' are.
    ``params``: the parameterization the trainer updates. Buffers not created yet (scratch
    creates them on first use) count as initial values.

    Raises HandoverError for a key the table does not declare.
    """
    decl, qs = declaration(config, table), quantities(config, table)
    keras_side = _variant(variant) == "keras"
    keys = {q.scratch_keras if keras_side else q.scratch_torch: q for q in qs}
    buffers = state.get("state", {})
    for name, slots in buffers.items():
        _check_keys(f"scratch[{variant}]'s {name}", set(slots), set(keys), config)
    shapes, dtype = _framework_shapes(params), _dtype(params)
    per_tensor = {}
    for n in params.names:
        per_tensor[n] = {}
        for key, q in keys.items():
            if key not in buffers.get(n, {}):
                per_tensor[n][q.symbol] = _initial(q, shapes[n], dtype, config.values)
                continue
            value = np.asarray(buffers[n][key])
            per_tensor[n][q.symbol] = (q.keras_form.to_canonical(value, config.values)
                                       if keras_side else value)
    scalars = {s.symbol: float(state.get("scalars", {}).get(s.scratch, s.initial))
               for s in decl.scalars}
    return OptimizerState(config.name, int(state.get("t", 0)),
                          _to_canonical(per_tensor, params, f"scratch[{variant}]"), scalars)


def to_scratch(state: OptimizerState, config: OptimizerConfig, params, variant: str = "torch",
               table: dict | None = None) -> dict:
    """canonical -> scratch's form (what ``ScratchTrainer.load_optimizer_state`` takes), keys
    and convention of ``variant``. Raises HandoverError if the step count is unknown."""
    decl, qs = declaration(config, table), quantities(config, table)
    _same_optimizer(state, config)
    keras_side = _variant(variant) == "keras"
    if state.step is None:
        raise HandoverError("the step count is unknown; scratch keeps one (t): pass step= "
                            "when reading a library that keeps none (torch's SGD)")
    per_tensor = _to_framework(_only(state.buffers, qs), params)
    return {"t": int(state.step),
            "state": {n: {(q.scratch_keras if keras_side else q.scratch_torch):
                          q.keras_form.to_keras(per_tensor[n][q.symbol], config.values)
                          if keras_side else per_tensor[n][q.symbol] for q in qs}
                      for n in sorted(params.names)} if qs else {},
            "scalars": {s.scratch: float(state.scalars[s.symbol]) for s in decl.scalars}}


def _same_optimizer(state: OptimizerState, config: OptimizerConfig) -> None:
    if state.optimizer != config.name:
        raise HandoverError(f"the state of {state.optimizer} cannot continue as {config.name}")


def _only(buffers: dict, qs) -> dict:
    """The buffers of the quantities ``qs``, refusing one that is missing."""
    out = {}
    for k, slots in buffers.items():
        missing = [q.symbol for q in qs if q.symbol not in slots]
        if missing:
            raise HandoverError(f"optimizer state for {k} has no {missing}")
        out[k] = {q.symbol: slots[q.symbol] for q in qs}
    return out


# --- sides (crossframe.training.engines.Side) -------------------------------------------------
def read(side, label: str, config: OptimizerConfig, step: int | None = None,
         table: dict | None = None) -> OptimizerState:
    """The canonical optimizer state of a training ``Side``: ``label`` is "torch", "keras"
    (or Keras on a named backend, "keras-jax": the same variables and form), "scratch" /
    "scratch[torch]" or "scratch[keras]" (the variant). ``step``: see ``from_torch``."""
    own = side.trainer.optimizer_state()
    if label == "torch":
        return from_torch(own, config, side.params, step, table)
    if _is_keras(label):
        return from_keras(own, config, side.params, table)
    return from_scratch(own, config, side.params, _scratch_variant(label), table)


def write(side, label: str, state: OptimizerState, config: OptimizerConfig,
          table: dict | None = None) -> None:
    """Load a canonical optimizer state into a training ``Side`` (see ``read``)."""
    if label == "torch":
        own = to_torch(state, config, side.params, table)
    elif _is_keras(label):
        own = to_keras(state, config, side.params, table)
    else:
        own = to_scratch(state, config, side.params, _scratch_variant(label), table)
    side.trainer.load_optimizer_state(own)


def _is_keras(label: str) -> bool:
    from ..frameworks import KERAS_NAMED

    return label == "keras" or label in KERAS_NAMED


def _scratch_variant(label: str) -> str:
    """"scratch" -> "torch"; "scratch[keras]", "scratch[keras-jax]" -> "keras"."""
    if label == "scratch":
        return "torch"
    if label.startswith("scratch[") and label.endswith("]"):
        inner = label[len("scratch["):-1]
        return _variant("keras" if _is_keras(inner) else inner)
    raise ValueError(f"side {label!r}: one of torch, keras, scratch, scratch[torch], "
                     "scratch[keras]")


# --- the check --------------------------------------------------------------------------------
DIRECTIONS = (("torch", "keras"), ("keras", "torch"))
KINDS = ("roundtrip", "explained", "raw")
COLUMNS = ["optimizer", "direction", "kind", "pair", "step", "tensor", "max_abs", "max_rel",
           "tol", "ok", "documented", "note"]
Fault = Callable[[OptimizerState], "OptimizerState | None"]


@dataclass
class Run:
    """One side's steps: losses and canonical weights after each (a ``trajectory.Trace``), the
    canonical optimizer state after the last, and the weights and state after step ``at``
    (the snapshot a hand-over starts from)."""

    losses: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    state: OptimizerState | None = None
    snapshot: tuple[dict, OptimizerState] | None = None


class _Runner:
    """The runs of one check, each started once and shared by the rows that need it."""

    def __init__(self, case, config, steps: int, table, fault: Fault | None,
                 recurrent_bias: str = "two"):
        from .trajectory import step_batches

        self.case, self.config, self.k, self.table, self.fault = case, config, steps, table, fault
        self.recurrent_bias = recurrent_bias
        self.batches = list(step_batches(case, 2 * steps))
        self.uninterrupted: dict[str, Run] = {}

    def side(self, label: str, weights: dict):
        from .engines import library_side, scratch_side

        if label.startswith("scratch"):
            return scratch_side(self.case.model, self.case.dtype, weights, self.config,
                                reference=_scratch_variant(label),
                                recurrent_bias=self.recurrent_bias)
        return library_side(label, self.case.model, self.case.dtype, weights, self.config,
                            recurrent_bias=self.recurrent_bias)

    def train(self, side, label: str, batches, done: int, snapshot_at: int | None = None
              ) -> Run:
        """Step ``side`` through ``batches``; ``done`` steps were taken before."""
        run = Run()
        for i, batch in enumerate(batches, start=1):
            run.losses.append(side.step(batch.inputs, batch.target))
            run.weights.append(side.weights())
            if i == snapshot_at:
                run.snapshot = (side.weights(), self.read(side, label, done + i))
        run.state = self.read(side, label, done + len(batches))
        return run

    def read(self, side, label: str, step: int) -> OptimizerState:
        """The side's state; ``step`` (the steps this check ran) is given only where the
        library keeps no count of its own (torch's SGD), so a wrong count still shows."""
        keeps = label != "torch" or declaration(self.config, self.table).torch_step
        return read(side, label, self.config, step=None if keeps else step, table=self.table)

    def load(self, side, label: str, state: OptimizerState) -> None:
        """Hand ``state`` over; a library hand-over goes through the fault under test."""
        if self.fault is not None and not label.startswith("scratch"):
            state = self.fault(state)
            if state is None:   # the state dropped: the side keeps its fresh optimizer
                return
        write(side, label, state, self.config, table=self.table)

    def full(self, label: str) -> Run:
        """``label`` for 2K steps from the case's weights, with a snapshot after K."""
        if label not in self.uninterrupted:
            self.uninterrupted[label] = self.train(self.side(label, self.case.weights), label,
                                                   self.batches, 0, snapshot_at=self.k)
        return self.uninterrupted[label]

    def handed(self, source: str, target: str) -> Run:
        """source K -> target K."""
        weights, state = self.full(source).snapshot
        side = self.side(target, weights)
        self.load(side, target, state)
        return self.train(side, target, self.batches[self.k:], self.k)

    def round_trip(self, source: str, target: str) -> Run:
        """source K -> target 0 -> source K: the state through the target's variables and
        back, its weights read back from the target's model."""
        weights, state = self.full(source).snapshot
        middle = self.side(target, weights)
        self.load(middle, target, state)
        back = self.side(source, middle.weights())
        self.load(back, source, self.read(middle, target, self.k))
        return self.train(back, source, self.batches[self.k:], self.k)


def handover_table(model: str, optimizer: str = "adam", steps: int = 3, dtype: str = "float64",
                   seed: int = 0, lr: float | None = None, batch_size: int | None = None,
                   options: dict | None = None, config: OptimizerConfig | None = None,
                   raw: bool | None = None, directions=DIRECTIONS, kinds=KINDS,
                   recurrent_bias: str = "two", table: dict | None = None,
                   fault: Fault | None = None, init: str = "canonical") -> pd.DataFrame:
    """Hand a running optimizer over between torch and Keras after ``steps`` (K) steps and
    compare with uninterrupted runs (the kinds of row: the module docstring).

    ``model`` a registered model (``crossframe list``) with ``options``; ``optimizer`` (or a
    ``config``) with ``lr``; ``directions``: (source, target) pairs of "torch", "keras" and
    Keras on a named backend ("keras-jax": Keras' variables in that backend's worker, the
    ``keras`` rows and scratch reference); ``kinds``: which of
    "roundtrip", "explained", "raw"; ``raw``: None runs the raw rows only where the libraries
    already agree as configured (SGD, momentum, Nesterov on a model without fanned-out
    tensors), True runs them with the table's ``agree`` settings (eps = 0), False never.
    ``recurrent_bias``: torch's, as in ``trajectory.run_sides`` ("single": ``bias_hh`` frozen
    at 0 and out of the optimizer, so torch keeps one state per canonical bias, follows Keras,
    and raw rows become possible on recurrent models).
    ``init``: the starting weights (``runner.prepare``).
    ``table`` (default ``HANDOVERS``) and ``fault`` (applied to the canonical state at every
    library hand-over; returning None drops it) exist to prove the check can fail.

    Returns a DataFrame with columns ``COLUMNS``: optimizer, direction ("torch->keras"), kind,
    pair (the two runs compared), step (K+1..2K), tensor ("loss", a canonical weight, a
    state quantity ``symbol[param]`` or ``step`` after step 2K, scalars by symbol), max_abs,
    max_rel (``crossframe.tolerances``' normwise measure), tol (TRAJECTORY), ok, documented
    (explained rows: the size of the documented difference), note.

    Raises InputError for steps < 1, an unknown kind, or raw=True where the two libraries
    cannot agree (no ``agree`` row, or a model with fanned-out tensors); HandoverError where a
    state cannot be handed over.
    """
    from ..runner import prepare

    if steps < 1:
        raise InputError(f"steps={steps}: a hand-over needs at least 1 step before it",
                         "pass e.g. steps=3")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InputError(f"unknown kinds {unknown}", f"choose from {', '.join(KINDS)}")
    config = config or make_config(optimizer, lr=lr)
    table = HANDOVERS if table is None else table
    decl = declaration(config, table)
    case = prepare(model, dtype=dtype, seed=seed, batch_size=batch_size, options=options,
                   init=init)
    _guard(case, steps)
    runner = _Runner(case, config, steps, table, fault, recurrent_bias)
    tol = TRAJECTORY[dtype].rel
    rows = []
    if "raw" in kinds:
        agreeing = _agreeing(case, config, decl, raw, recurrent_bias)
        raw_runner = None if agreeing is None else (
            runner if agreeing == config else _Runner(case, agreeing, steps, table, fault,
                                                      recurrent_bias))
    for source, target in directions:
        where = dict(optimizer=config.name, direction=f"{source}->{target}", tol=tol)
        if "roundtrip" in kinds:
            rows += _rows(runner.round_trip(source, target), runner.full(source), None, steps,
                          dtype, tol, dict(where, kind="roundtrip",
                                           pair=f"{source} K, {target} 0, {source} K ~ "
                                                f"{source} 2K"))
        if "explained" in kinds:
            ref = (runner.handed(f"scratch[{source}]", f"scratch[{target}]"),
                   runner.full(f"scratch[{target}]"))
            rows += _rows(runner.handed(source, target), runner.full(target), ref, steps,
                          dtype, tol, dict(where, kind="explained",
                                           pair=f"{source} K, {target} K ~ {target} 2K, net "
                                                "of scratch's"))
        if "raw" in kinds and raw_runner is not None:
            settings = " ".join(f"{k}={v:g}" for k, v in decl.agree.items())
            rows += _rows(raw_runner.handed(source, target), raw_runner.full(target), None,
                          steps, dtype, tol,
                          dict(where, kind="raw", pair=f"{source} K, {target} K ~ {target} "
                                                       "2K" + (f" ({settings})"
                                                                  if settings else "")))
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The worst max_rel of a ``handover_table`` (or several concatenated) per optimizer and
    direction (rows) and kind (columns), and whether every row was within its bound."""
    worst = table.pivot_table(index=["optimizer", "direction"], columns="kind",
                              values="max_rel", aggfunc="max", sort=False)
    worst = worst[[k for k in KINDS if k in worst.columns]]
    worst["ok"] = table.groupby(["optimizer", "direction"], sort=False)["ok"].all()
    return worst


def _guard(case, steps: int) -> None:
    """The weights every step of every run keeps (4 runs of 2K steps, 6 of K, and as many
    again for raw rows with other settings), checked against the memory budget first."""
    from .. import resources

    per_step = sum(np.asarray(w).nbytes for w in case.weights.values())
    resources.guard(per_step * steps * 2 * (4 * 2 + 6), f"the weights of a {steps}-step "
                    "hand-over check", "pass fewer steps")


def _agreeing(case, config: OptimizerConfig, decl: StateDecl, raw: bool | None,
              recurrent_bias: str) -> OptimizerConfig | None:
    """The config of the raw rows, or None where they are not run."""
    if raw is False:
        return None
    fanned = _fanned_out(case, recurrent_bias)
    if decl.agree is None or fanned:
        if raw:
            why = (f"torch holds one canonical tensor as two ({' and '.join(fanned)}), each "
                   "taking a full step, so their sum moves twice as far as Keras' one tensor"
                   if fanned else f"no setting makes torch's and Keras' {config.name} one "
                                  "formula")
            raise InputError(f"raw hand-over rows for {config.name} on this model: {why}",
                             "use the roundtrip and explained rows (raw=None)"
                             + (", or torch's recurrent bias 'single'" if fanned else ""))
        return None
    agreeing = OptimizerConfig(config.name, {**config.values, **decl.agree})
    return agreeing if raw or agreeing == config else None


def _fanned_out(case, recurrent_bias: str) -> list[str]:
    """torch tensors that are one of several copies of a canonical tensor (torch's two
    recurrent biases, ``engines.shares``; not the rows of a stacked bias)."""
    from .engines import shares, train_mapping

    split = shares(train_mapping(case.model, "torch", recurrent_bias)[0])
    return [e.framework for entries in split.values() for e in entries]


def _rows(run: Run, against: Run, ref: tuple[Run, Run] | None, k: int, dtype: str, tol: float,
          where: dict) -> list[dict]:
    """Steps K+1..2K of ``run`` against the same steps of ``against`` (``run`` holds only
    those K steps, ``against`` all 2K), then the optimizer state after step 2K; with ``ref``
    (the scratch hand-over, the scratch uninterrupted run) the residual."""
    from .trajectory import _compare

    rows = []
    for i in range(k):
        a = {"loss": run.losses[i], **run.weights[i]}
        b = {"loss": against.losses[k + i], **against.weights[k + i]}
        r = None if ref is None else ({"loss": ref[0].losses[i], **ref[0].weights[i]},
                                      {"loss": ref[1].losses[k + i], **ref[1].weights[k + i]})
        for name in a:
            rows.append(dict(where, step=k + i + 1, tensor=name,
                             **_compare(a[name], b[name],
                                        None if r is None else (r[0][name], r[1][name]),
                                        dtype, tol)))
    states = [_flat(s.state, dtype) for s in (run, against, *(ref or ()))]
    for name in states[0]:
        pieces = [s.get(name) for s in states]
        if any(p is None for p in pieces):
            rows.append(dict(where, step=2 * k, tensor=name, max_abs=np.inf, max_rel=np.inf,
                             ok=False, documented=np.nan, note="on one side only"))
            continue
        rows.append(dict(where, step=2 * k, tensor=name,
                         **_compare(pieces[0], pieces[1],
                                    None if ref is None else (pieces[2], pieces[3]),
                                    dtype, tol)))
    return rows


def _flat(state: OptimizerState, dtype: str) -> dict[str, Array]:
    """{"step": t, "m[dense1.W]": (P), ..., scalars}: the state as named arrays in ``dtype``
    (the step count is exact in it)."""
    out = {} if state.step is None else {"step": np.asarray(state.step, dtype=dtype)}
    for param, slots in state.buffers.items():
        out.update({f"{symbol}[{param}]": v for symbol, v in slots.items()})
    out.update({k: np.asarray(v, dtype=dtype) for k, v in state.scalars.items()})
    return out
