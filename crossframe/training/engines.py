"""The training engine: one ``Side`` per framework run, all driven the same way.

A side is a trainer (``step``, ``weights``, ``predict``) plus the two mappings that put its
world in canonical terms:

- ``io``: the spec's ``Mapping`` for this framework, for inputs (canonical -> framework) and
  outputs (framework -> canonical);
- ``params``: a ``Parameterization`` of the tensors its optimizer updates, to read them back as
  canonical weights after every step.

The trainers: ``crossframe.torch_impl.optimizers.Trainer`` (torch.optim on the module's
parameters), ``crossframe.keras_impl.optimizers.Trainer`` (``apply_gradients`` on the model's
variables; for Keras on a backend that is not this process', ``keras-jax`` or ``keras-torch``,
the same trainer in that backend's worker behind ``crossframe.training.remote.RemoteTrainer``)
and ``ScratchTrainer`` below (scratch's model for the gradient, scratch's optimizer for the
update). Each builds its model once (``crossframe.frameworks.build``), loads the canonical
weights once through the mapping, and then keeps its own weights between steps. Every Keras
framework (``keras``, ``keras-tensorflow``, ``keras-jax``, ``keras-torch``) trains with the
``keras`` mapping, formulas and scratch reference (``frameworks.base``).
"""
from __future__ import annotations

import importlib

import numpy as np

import dataclasses

from .. import frameworks
from ..mapping import Chain, Entry, Identity, Mapping, Scale
from ..scratch.optimizers import build as build_scratch_optimizer

RECURRENT_BIAS = ("two", "single")


def _has_scale(transform) -> bool:
    return isinstance(transform, Scale) or (
        isinstance(transform, Chain) and any(isinstance(t, Scale) for t in transform.steps))


def _strip_scale(transform):
    """The transform without its Scale steps (a share made whole)."""
    if isinstance(transform, Scale):
        return None
    if isinstance(transform, Chain):
        steps = tuple(t for t in transform.steps if not isinstance(t, Scale))
        return None if not steps else steps[0] if len(steps) == 1 else Chain(steps)
    return transform


def shares(mapping: Mapping) -> dict[str, list[Entry]]:
    """{canonical name: its entries} for each canonical tensor the framework holds as several
    scaled shares that it adds (torch's bias_ih_l0 + bias_hh_l0, ``Scale(0.5)`` each), in the
    mapping's order; not the rows of a stacked bias (each row its own tensor)."""
    groups: dict[str, list[Entry]] = {}
    for e in mapping.params:
        groups.setdefault(e.canonical, []).append(e)
    return {k: v for k, v in groups.items()
            if len(v) > 1 and all(_has_scale(x.transform) for x in v)}


def single_bias(mapping: Mapping) -> tuple[Mapping, tuple[str, ...]]:
    """torch's two recurrent biases made one: ``(mapping, frozen)``.

    Where the mapping splits a canonical tensor into equal shares that the framework adds
    (torch's ``bias_ih_l0`` + ``bias_hh_l0`` = Keras' ``bias``, ``Scale(0.5)`` each), the
    first share takes the whole tensor and the others are listed in ``frozen``: held at zero
    and out of the optimizer. Each of two biases otherwise takes a full optimizer step on the
    same gradient, so their sum moves twice as far as Keras' one bias under SGD (and likewise
    under every optimizer here, its state being the same for both); with one bias torch
    follows Keras' trajectory. A mapping without shares comes back unchanged, ``frozen = ()``.
    """
    split = shares(mapping)
    params, frozen = [], []
    for e in mapping.params:
        if e.canonical not in split:
            params.append(e)
        elif e is split[e.canonical][0]:
            others = split[e.canonical][1:]
            whole = _strip_scale(e.transform)
            params.append(Entry(e.canonical, e.framework,
                                whole if whole is not None else Identity(),
                                f"the whole {e.canonical}; "
                                f"{', '.join(x.framework for x in others)} frozen at 0"))
        else:
            frozen.append(e.framework)
    if not frozen:
        return mapping, ()
    return dataclasses.replace(mapping, params=tuple(params)), tuple(frozen)


def two_bias_names(model) -> tuple[str, ...]:
    """The torch parameters ``--torch-recurrent-bias single`` freezes in ``model`` (empty when
    torch holds no canonical tensor as two added shares)."""
    return single_bias(model.mapping("torch"))[1]


def train_mapping(model, framework: str, recurrent_bias: str = "two"):
    """The mapping a training run steps in ``framework``, and the framework tensors it freezes:
    torch with ``recurrent_bias="single"`` holds each recurrent bias in ``bias_ih`` alone.
    Keras on any backend steps in the ``keras`` mapping."""
    if recurrent_bias not in RECURRENT_BIAS:
        raise ValueError(f"recurrent_bias {recurrent_bias!r}: one of {RECURRENT_BIAS}")
    mapping = model.mapping(frameworks.base(framework))
    if framework == "torch" and recurrent_bias == "single":
        return single_bias(mapping)
    return mapping, ()


TRAINERS = {
    "torch": "crossframe.torch_impl.optimizers:Trainer",
    "keras": "crossframe.keras_impl.optimizers:Trainer",
}
REMOTE_TRAINER = "crossframe.training.remote:RemoteTrainer"   # Keras in another backend's worker
LIBRARIES = ("torch", "keras", *frameworks.KERAS_NAMED)          # what library_side trains
TRAINABLE = ("scratch", *LIBRARIES)                              # what make_side trains


def trainer_class(framework: str) -> str:
    """``module:Class`` of ``framework``'s trainer (ValueError for one that does not train)."""
    if framework not in LIBRARIES:
        raise ValueError(f"framework {framework!r}: library_side trains one of {LIBRARIES}")
    return REMOTE_TRAINER if frameworks.elsewhere(framework) else \
        TRAINERS[frameworks.base(framework)]


class Parameterization:
    """The tensors one framework's optimizer updates, each a linear image of canonical tensors.

    With ``T`` the mapping's parameter transforms (canonical ``c`` -> framework ``f = T c``):
    every transform in ``crossframe.mapping`` copies each canonical entry into framework
    entries, possibly scaled (a transpose, gate reorder or permutation moves entries; ``Row``
    picks some; ``Scale`` shares them), so ``T^T T`` is diagonal, ``D = T^T T 1``, and

        to_canonical(f)       = D^-1 T^T f     the left inverse of T: weights need an *inverse*
        grads_to_framework(g) = T D^-1 g       dL/df of L(f) = L_canonical(D^-1 T^T f)

    For a pure relayout ``D = 1`` and ``to_canonical`` is the adjoint, which for a permutation
    is its inverse. Where a canonical tensor fans out (a bias split into two equal shares that
    the framework adds, a stacked bias picked row by row), ``to_canonical`` adds the shares /
    stacks the rows back. Both rely on the framework using the shares that way (equal shares
    that it adds: unequal ones would take the weights off T's image, and the scratch~framework
    trajectory would then fail rather than pass wrongly).

    A fanned-out tensor is *two* tensors to an optimizer, each with its own state: torch's
    ``bias_ih`` and ``bias_hh`` each take a step, so their sum moves by two. That is a real
    difference between the libraries, and why the scratch reference of each pair trains in
    that framework's parameterization (``ScratchTrainer(params=...)``).
    """

    def __init__(self, mapping: Mapping, shapes: dict[str, tuple], dtype: str):
        self.mapping, self.shapes = mapping, dict(shapes)
        # the framework tensors standing for these canonical ones (not the running statistics
        # a framework's weights also hold: those are state, read back by Side.weights)
        self.names = {e.framework for e in mapping.params if e.canonical in self.shapes}
        ones = {k: np.ones(s, dtype=dtype) for k, s in self.shapes.items()}
        self.diag = self._adjoint(self._forward(ones))
        probe = {k: np.arange(1.0, 1.0 + np.prod(s, dtype=int)).reshape(s).astype(dtype)
                 for k, s in self.shapes.items()}
        gram = self._adjoint(self._forward(probe))
        for k in self.shapes:
            if not (np.all(self.diag[k] > 0) and np.allclose(gram[k], self.diag[k] * probe[k])):
                raise ValueError(f"{mapping.framework} mapping of {k}: not a scaled selection "
                                 "of canonical entries (T^T T is not a positive diagonal)")
        for e in mapping.params:
            if e.canonical in ones and not np.any(e.transform.forward(ones[e.canonical])):
                raise ValueError(f"{mapping.framework} {e.framework} is a zero share of "
                                 f"{e.canonical}: the steps its optimizer takes cannot be read "
                                 "back as canonical weights (split into equal shares instead)")

    def _forward(self, canonical: dict) -> dict:
        return self.mapping.params_to_framework(canonical)

    def _adjoint(self, framework: dict) -> dict:
        return self.mapping.param_grads_to_canonical(framework, self.shapes)

    def to_framework(self, canonical: dict) -> dict:
        """f = T c, as fresh arrays (trainers update them in place)."""
        return {k: np.array(v, copy=True) for k, v in self._forward(canonical).items()}

    def to_canonical(self, framework: dict) -> dict:
        """c = D^-1 T^T f."""
        mine = {k: v for k, v in framework.items() if k in self.names}
        return {k: g / self.diag[k] for k, g in self._adjoint(mine).items()}

    def grads_to_framework(self, grads: dict) -> dict:
        """dL/df = T D^-1 dL/dc."""
        return self.to_framework({k: g / self.diag[k] for k, g in grads.items()})

    def grads_to_canonical(self, grads: dict) -> dict:
        """dL/dc = T^T dL/df (the adjoint, as in ``crossframe.runner``)."""
        return self._adjoint(grads)


class ScratchTrainer:
    """Scratch's model for the gradient, scratch's optimizer for the update.

    The optimizer updates the tensors of ``params`` — scratch's own parameterization for a
    training run, or the parameterization of the framework a trajectory is checked against
    (the same tensors up to layout, except where that framework fans a tensor out). Each step
    loads the weights those tensors stand for into the scratch model and runs the scratch
    engine's ``make_step`` (the pass ``crossframe check`` verifies).
    """

    def __init__(self, model, canonical: dict, optimizer, loss: str, dtype: str,
                 scratch: Parameterization, params: Parameterization):
        self.model, self.optimizer, self.loss, self.dtype = model, optimizer, loss, dtype
        self.scratch, self.params = scratch, params
        self.tensors = params.to_framework({k: v for k, v in canonical.items()
                                            if k in params.shapes})
        # running statistics, canonical: carried from step to step, never optimized
        self.running = {k: v.copy() for k, v in canonical.items() if k not in params.shapes}

    def _load(self) -> None:
        self.model.load({**self.scratch.to_framework(self.params.to_canonical(self.tensors)),
                         **self.running})

    def step(self, inputs: dict, target) -> np.ndarray:
        self._load()
        _, value, _ = frameworks.engine("scratch").make_step(self.model, inputs, target, {},
                                                             self.loss, self.dtype)()
        canonical = self.scratch.grads_to_canonical(self.model.grads)
        squares = self.params.to_framework(getattr(self.model, "squares", {}))
        self.optimizer.step(self.tensors, self.params.grads_to_framework(canonical), squares)
        self.running = {k: v.copy() for k, v in self.model.state.items()}
        return value

    def weights(self) -> dict:
        return {k: v.copy() for k, v in self.tensors.items()}

    def state(self) -> dict:
        return {k: v.copy() for k, v in self.running.items()}

    def predict(self, inputs: dict) -> dict:
        self._load()
        self.model.training = False
        try:
            return self.model.forward(**inputs)
        finally:
            self.model.training = True

    # -- the optimizer's running state (crossframe.training.handover translates it) -----------
    def optimizer_state(self) -> dict:
        """scratch's own optimizer state::

            {"t": steps taken,
             "state": {tensor name: {key: array}},   Optimizer.state: keys as the scratch
                                                     class names them (b, m, v, a, s, ...),
                                                     tensors of ``params``' framework
             "scalars": {attribute: float}}          the optimizer's public float attributes
                                                     (its settings, and running scalars such
                                                     as a Nadam's mu_product)

        Arrays are copies in the layout of the tensors this trainer updates.
        """
        opt = self.optimizer
        return {"t": opt.t,
                "state": {n: {k: v.copy() for k, v in slots.items()}
                          for n, slots in opt.state.items()},
                "scalars": {k: v for k, v in vars(opt).items()
                            if isinstance(v, float) and not k.startswith("_")}}

    def load_optimizer_state(self, state: dict) -> None:
        """Replace the optimizer's step count and buffers by ``state`` (the form
        ``optimizer_state`` returns; ``scalars`` it names are set as attributes). Buffers are
        copied, in each tensor's dtype.

        Raises KeyError for a tensor this trainer does not update or a scalar the optimizer
        does not have, ValueError for a buffer whose shape is not its tensor's.
        """
        unknown = sorted(set(state.get("state", {})) - set(self.tensors))
        if unknown:
            raise KeyError(f"optimizer state for {unknown}: not tensors of this trainer "
                           f"({sorted(self.tensors)})")
        buffers = {}
        for name, slots in state.get("state", {}).items():
            p = self.tensors[name]
            for key, value in slots.items():
                if np.shape(value) != p.shape:
                    raise ValueError(f"{name}.{key}: shape {p.shape} expected, got "
                                     f"{np.shape(value)}")
            buffers[name] = {k: np.array(v, dtype=p.dtype) for k, v in slots.items()}
        for attr in state.get("scalars", {}):
            if not isinstance(getattr(self.optimizer, attr, None), float):
                raise KeyError(f"scratch {type(self.optimizer).__name__} has no running "
                               f"scalar '{attr}'")
        self.optimizer.t = int(state.get("t", 0))
        self.optimizer.state = buffers
        for attr, value in state.get("scalars", {}).items():
            setattr(self.optimizer, attr, float(value))


class Side:
    """One framework's run in canonical terms: step on a canonical batch, read weights back."""

    def __init__(self, trainer, io: Mapping, params: Parameterization,
                 shapes: dict[str, tuple] | None = None):
        self.trainer, self.io, self.params = trainer, io, params
        self.shapes = shapes or params.shapes       # every canonical tensor, state included

    def step(self, inputs: dict, target) -> np.ndarray:
        """One optimizer step on a canonical batch; the loss before the update."""
        target = self.io.target_to_framework(target, target is not None and
                                             target.dtype.kind in "iu")
        return np.asarray(self.trainer.step(self.io.inputs_to_framework(inputs), target))

    def weights(self) -> dict:
        """The current weights, read back through the parameterization as canonical, and the
        running statistics (state) through the mapping's state entries."""
        state = self.io.state_to_canonical(self.trainer.state(), self.shapes) \
            if self.io.states else {}
        return {**self.params.to_canonical(self.trainer.weights()), **state}

    def predict(self, inputs: dict) -> dict:
        """Forward only, canonical inputs -> canonical outputs."""
        outputs = self.trainer.predict(self.io.inputs_to_framework(inputs))
        return self.io.outputs_to_canonical(outputs)


def make_side(framework: str, model, dtype: str, weights: dict, config,
              recurrent_bias: str = "two") -> Side:
    """A ``Side`` for ``framework`` (one of ``TRAINABLE``: "scratch", "torch", "keras",
    "keras-tensorflow", "keras-jax", "keras-torch") training the Sequential
    ``model`` from canonical ``weights``; scratch trains in its own parameterization with torch's
    formulas, on the fast kernels. ``recurrent_bias``: torch's two recurrent biases as they are
    ("two") or the whole bias in ``bias_ih`` with ``bias_hh`` frozen at 0 ("single")."""
    if framework == "scratch":
        return scratch_side(model, dtype, weights, config)
    return library_side(framework, model, dtype, weights, config, recurrent_bias)


def library_side(framework: str, model, dtype: str, weights: dict, config,
                 recurrent_bias: str = "two") -> Side:
    """torch or a Keras framework: the real optimizer on the library's own model (in the
    backend's worker for Keras on a backend that is not this process')."""
    mapping, frozen = train_mapping(model, framework, recurrent_bias)
    params = Parameterization(mapping, _trainable(model, weights), dtype)
    loaded = params.mapping.params_to_framework(weights)
    if frozen:
        full = model.mapping(framework).params_to_framework(weights)
        loaded.update({name: np.zeros_like(full[name]) for name in frozen})
    module, _, cls = trainer_class(framework).partition(":")
    kwargs = {"frozen": frozen} if frozen else {}
    trainer = getattr(importlib.import_module(module), cls)(
        frameworks.build(framework, model, dtype), loaded, config, model.loss, dtype, **kwargs)
    return Side(trainer, params.mapping, params, _shapes(weights))


def scratch_side(model, dtype: str, weights: dict, config, reference: str | None = None,
                 recurrent_bias: str = "two") -> Side:
    """scratch (its fast kernels), or with ``reference`` ("torch" / "keras", or a Keras framework
    such as "keras-jax": the keras reference, with Keras' formula on that backend where it
    differs by backend, Nadam's) the scratch reference for that library: its
    formula variant, updating the tensors of its parameterization (torch's with
    ``recurrent_bias`` as in ``library_side``)."""
    backend = "tensorflow"
    if reference is not None and frameworks.base(reference) == "keras":
        from ..keras_backends import backend_of

        backend = backend_of(reference)      # "keras": this process' backend
    reference = None if reference is None else frameworks.base(reference)
    io = model.mapping("scratch")
    trainable = _trainable(model, weights)
    own = Parameterization(io, trainable, dtype)
    params = own if reference is None else Parameterization(
        train_mapping(model, reference, recurrent_bias)[0], trainable, dtype)
    optimizer = build_scratch_optimizer(config, reference or "torch", backend)
    trainer = ScratchTrainer(frameworks.build("scratch-fast", model, dtype), weights, optimizer,
                             model.loss, dtype, own, params)
    return Side(trainer, io, params, _shapes(weights))


def _shapes(weights: dict) -> dict:
    return {k: v.shape for k, v in weights.items()}


def _trainable(model, weights: dict) -> dict:
    """Shapes of the tensors an optimizer steps (not the running statistics)."""
    names = {p.name for p in model.params("trainable")}
    return {k: v.shape for k, v in weights.items() if k in names}
