"""The training engine: one ``Side`` per framework run, all driven the same way.

A side is a trainer (``step``, ``weights``, ``predict``) plus the two mappings that put its
world in canonical terms:

- ``io``: the spec's ``Mapping`` for this framework, for inputs (canonical -> framework) and
  outputs (framework -> canonical);
- ``params``: a ``Parameterization`` of the tensors its optimizer updates, to read them back as
  canonical weights after every step.

The trainers: ``crossframe.torch_impl.optimizers.Trainer`` (torch.optim on the module's
parameters), ``crossframe.keras_impl.optimizers.Trainer`` (``apply_gradients`` on the model's
variables) and ``ScratchTrainer`` below (scratch's model for the gradient, scratch's optimizer
for the update). Each builds its model once (``crossframe.frameworks.build``), loads the canonical
weights once through the mapping, and then keeps its own weights between steps.
"""
from __future__ import annotations

import importlib

import numpy as np

from .. import frameworks
from ..mapping import Mapping
from ..scratch.optimizers import build as build_scratch_optimizer

TRAINERS = {
    "torch": "crossframe.torch_impl.optimizers:Trainer",
    "keras": "crossframe.keras_impl.optimizers:Trainer",
}


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


def make_side(framework: str, model, dtype: str, weights: dict, config) -> Side:
    """A ``Side`` for ``framework`` ("scratch", "torch", "keras") training the Sequential
    ``model`` from canonical ``weights``; scratch trains in its own parameterization with torch's
    formulas, on the fast kernels."""
    if framework == "scratch":
        return scratch_side(model, dtype, weights, config)
    return library_side(framework, model, dtype, weights, config)


def library_side(framework: str, model, dtype: str, weights: dict, config) -> Side:
    """torch or keras: the real optimizer on the library's own model."""
    params = Parameterization(model.mapping(framework), _trainable(model, weights), dtype)
    module, _, cls = TRAINERS[framework].partition(":")
    trainer = getattr(importlib.import_module(module), cls)(
        frameworks.build(framework, model, dtype), params.mapping.params_to_framework(weights),
        config, model.loss, dtype)
    return Side(trainer, params.mapping, params, _shapes(weights))


def scratch_side(model, dtype: str, weights: dict, config, reference: str | None = None) -> Side:
    """scratch (its fast kernels), or with ``reference`` ("torch" / "keras") the scratch
    reference for that library: its formula variant, updating the tensors of its
    parameterization."""
    io = model.mapping("scratch")
    trainable = _trainable(model, weights)
    own = Parameterization(io, trainable, dtype)
    params = own if reference is None else Parameterization(model.mapping(reference),
                                                            trainable, dtype)
    optimizer = build_scratch_optimizer(config, reference or "torch")
    trainer = ScratchTrainer(frameworks.build("scratch-fast", model, dtype), weights, optimizer,
                             model.loss, dtype, own, params)
    return Side(trainer, io, params, _shapes(weights))


def _shapes(weights: dict) -> dict:
    return {k: v.shape for k, v in weights.items()}


def _trainable(model, weights: dict) -> dict:
    """Shapes of the tensors an optimizer steps (not the running statistics)."""
    names = {p.name for p in model.params("trainable")}
    return {k: v.shape for k, v in weights.items() if k in names}
