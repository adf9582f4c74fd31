"""The real ``keras.optimizers`` optimizers, built from a crossframe ``OptimizerConfig``, and the
Keras side of a training run.

The translation (crossframe setting -> Keras argument, e.g. ``lr`` -> ``learning_rate``,
``eps`` -> ``epsilon``) is declared as data in ``crossframe.training.config``; ``build`` applies
it, with one Keras-specific care for float64 models (measured, see the table's notes):

- Keras keeps ``learning_rate`` in a Variable of ``floatx()`` — float32 unless set — so a
  float64 model would step with ``float32(0.001) = 0.0010000000475``;
- its update steps call ``ops.cast(self.beta_1, variable.dtype)``, i.e. ``tf.cast`` of a Python
  float, which makes a float32 tensor first: Adam's bias correction would use
  ``float32(0.999)``.

So in float64 every setting is handed over as a NumPy float64 scalar (``tf.cast`` keeps those
exact) and the learning rate as a callable returning one (a callable is not put in a Variable).
In float32 the Python floats are what Keras rounds them to anyway.

The same holds on every backend (crossframe.keras_backends). On JAX the optimizers run
eagerly and assign their variables in place (``JaxOptimizer``: the generic update steps, its
``jax.lax.cond`` only for gradient accumulation, unused here), and as pure functions under
``jax.jit`` (``Trainer(compiled=True)``, the default there: see ``Trainer``); on torch Keras
swaps in its own ``torch._foreach_*`` twins (keras/src/backend/torch/optimizers), which take
the NumPy float64 settings as Python doubles. A float64 setting stays float64 in ``ops``
arithmetic on JAX and torch only with keras_impl.backend's promotion fix (applied on import),
and a scalar multiplied in by hand must be a tensor of the model's dtype: torch's
``convert_to_tensor`` makes a NumPy float64 scalar floatx (float32). One setting differs by
backend inside Keras itself: Nadam's ``ops.cast(0.96, float64)`` rounds through float32 on
TensorFlow only (crossframe.training.config, the nadam row). Measured:
parity_tests/test_training_backends.py (keras-jax and keras-torch against keras on TensorFlow,
torch and scratch, every step).
"""
from __future__ import annotations

import numpy as np

from .backend import BACKEND, keras, to_numpy
from .engine import load_weights, make_step, trainable, variables


def build(config, dtype: str):
    """``keras.optimizers.<Class>(**translated settings)`` for ``config``, exact in ``dtype``."""
    scalar = np.float64 if dtype == "float64" else float
    kwargs = {k: scalar(v) if isinstance(v, float) else v
              for k, v in config.keras_kwargs().items()}
    lr = kwargs.pop("learning_rate")
    return getattr(keras.optimizers, config.declaration.keras)(learning_rate=lambda: lr,
                                                                **kwargs)


ops = keras.ops
COMPILED = ("jax", "tensorflow")   # backends whose training step runs compiled by default


def _dense(g):
    """A gradient as one tensor: TensorFlow hands an embedding table's as tf.IndexedSlices
    (the rows hit), which ``tf.convert_to_tensor`` sums into the table; other backends' are
    tensors already."""
    if type(g).__name__ == "IndexedSlices":
        from .backend import tf

        return tf.convert_to_tensor(g)
    return g


def _numpy(variable) -> np.ndarray:
    """A variable's value as a NumPy copy. On TensorFlow by ``Variable.numpy()``: to_numpy's
    ``np.array`` of a tf.Variable goes through its ``__array__`` without ``copy`` (a
    DeprecationWarning under NumPy 2 at every read)."""
    if BACKEND == "tensorflow":
        return variable.numpy().copy()
    return to_numpy(variable).copy()


class Trainer:
    """A Keras model, loaded once, and a keras.optimizers optimizer over its variables.

    The model keeps its own weights between steps; ``weights()`` reads them back.
        step(inputs, target) -> loss    one forward + backward by the backend's own gradient
                                        (the engine's ``make_step``, the pass ``crossframe
                                        check`` verifies), then ``optimizer.apply_gradients``;
                                        the loss is the one before the update
        weights() -> {path: array}      every variable by path (``dense1/kernel``)
        predict(inputs) -> {output: array}
    A coupled weight decay (L2 in the gradient), for which Keras' optimizers have no argument,
    is added to each gradient before ``apply_gradients``: g + wd p.

    ``compiled`` (JAX only; default: on JAX) runs that same step, ``make_step`` and
    ``apply_gradients``, under ``jax.jit`` in a ``keras.StatelessScope`` over every model and
    optimizer variable, the new values assigned after it: how Keras' own ``fit`` trains on JAX
    (keras/src/backend/jax/trainer.py: ``stateless_call`` + ``stateless_apply`` under jit).
    Eager JAX compiles every primitive of every shape on first use and retraces a recurrent
    layer's ``lax.scan`` at every call: a first mlp_bn step took ~20 s and each LSTM step
    ~2.5 s on a loaded 2-core machine, against one compilation per input shape here.
    """

    def __init__(self, model, weights: dict, config, loss: str, dtype: str,
                 compiled: bool | None = None):
        load_weights(model, weights)
        self.model, self.loss, self.dtype = model, loss, dtype
        self.params = list(trainable(model).values())
        self.optimizer = build(config, dtype)
        self.compiled = BACKEND in COMPILED if compiled is None else bool(compiled)
        if self.compiled and BACKEND not in COMPILED:
            raise ValueError(f"a compiled training step runs on {' or '.join(COMPILED)}, "
                             f"not {BACKEND}")
        self._jitted = self._jitted_predict = None
        l2 = config.by_hand("keras").get("coupled_weight_decay", 0.0)
        # a tensor of the model's dtype: ops.multiply(p, np.float64(wd)) on torch converts the
        # scalar to floatx (float32) first, which moved mlp by 1.3e-11 in 3 momentum steps
        self.l2 = ops.convert_to_tensor(np.asarray(l2, dtype=dtype)) if l2 else None

    def step(self, inputs: dict, target) -> np.ndarray:
        if self.compiled and BACKEND == "tensorflow":
            return self._graph_step(inputs, target)
        if self.compiled:
            return self._compiled_step(inputs, target)
        return to_numpy(self._step(inputs, target))

    def _step(self, inputs: dict, target):
        """make_step, the coupled decay, apply_gradients; the loss (a backend tensor)."""
        _, value, grads, _ = make_step(self.model, inputs, target, {}, self.loss, self.dtype)()
        if self.l2 is not None:  # what keras.regularizers.L2(l2 / 2) on every weight adds
            grads = [ops.add(_dense(g), ops.multiply(p.value, self.l2))
                     for g, p in zip(grads, self.params)]
        self.optimizer.apply_gradients(zip(grads, self.params))
        return value

    def _graph_step(self, inputs: dict, target) -> np.ndarray:
        """``_step`` traced by ``tf.function``, once per batch shape: how Keras' own ``fit``
        runs a step on TensorFlow
        (keras/src/backend/tensorflow/trainer.py, ``make_train_function``)."""
        if self._jitted is False:
            return to_numpy(self._step(inputs, target))
        if self._jitted is None:
            from .backend import tf

            if not self.optimizer.built:
                self.optimizer.build(self.params)
            # one trace per batch shape (an epoch's short last batch is a second): a relaxed
            # (None) batch axis would break layers that draw from NumPy by shape (Dropout)
            self._jitted = tf.function(self._step, reduce_retracing=False, autograph=False)
            try:
                return to_numpy(self._jitted(inputs, target))
            except NotImplementedError:
                # an update rule that multiplies a variable by a NumPy float64 setting (Adadelta's
                # ``rho * accumulated_grad``) goes through NumPy, which a graph cannot: the trace
                # failed before any variable changed, so this optimizer steps eagerly
                self._jitted = False
                return to_numpy(self._step(inputs, target))
        return to_numpy(self._jitted(inputs, target))

    def _compiled_step(self, inputs: dict, target) -> np.ndarray:
        """``_step`` as a pure function of every variable's value, jitted once per trainer
        (and traced again by JAX for a new input shape)."""
        if self._jitted is None:
            import jax

            if not self.optimizer.built:
                self.optimizer.build(self.params)
            self._held = list(self.model.variables) + list(self.optimizer.variables)

            def pure(values, inputs, target):
                with keras.StatelessScope(state_mapping=list(zip(self._held, values))) as scope:
                    value = self._step(inputs, target)
                new = [scope.get_current_value(v) for v in self._held]
                return value, [old if n is None else n for n, old in zip(new, values)]

            self._jitted = jax.jit(pure)
        value, new = self._jitted([v.value for v in self._held], inputs, target)
        for variable, updated in zip(self._held, new):
            variable.assign(updated)
        return to_numpy(value)

    def weights(self) -> dict:
        return {path: _numpy(v) for path, v in variables(self.model).items()}

    def state(self) -> dict:
        """The non-trainable variables (running statistics), by path."""
        own = trainable(self.model)
        return {p: _numpy(v) for p, v in variables(self.model).items() if p not in own}

    def predict(self, inputs: dict) -> dict:
        """The model's outputs in inference mode (``compiled``: under ``jax.jit``, a pure
        function of the variables' values, as the step)."""
        if self.compiled and BACKEND == "jax":
            if self._jitted_predict is None:
                import jax

                held = list(self.model.variables)

                def pure(values, inputs):
                    with keras.StatelessScope(state_mapping=list(zip(held, values))):
                        return self.model(inputs, training=False)

                self._jitted_predict = (held, jax.jit(pure))
            held, run = self._jitted_predict
            outputs = run([v.value for v in held], inputs)
        else:
            outputs = self.model({k: ops.convert_to_tensor(v) for k, v in inputs.items()},
                                 training=False)
        return {k: to_numpy(v) for k, v in outputs.items()}

    # -- the optimizer's running state (crossframe.training.handover translates it) -----------
    def _optimizer_variables(self) -> tuple[dict, dict]:
        """The optimizer's own variables, found on the built optimizer: ``(slots, scalars)``.

        ``slots``: every attribute holding one variable per trainable variable, in the order of
        ``self.params`` — what ``build`` made with ``add_optimizer_variables`` (Keras 3.15
        keras/src/optimizers/base_optimizer.py: a list indexed by ``_get_variable_index``, the
        position in the list ``build`` was given), e.g. SGD's ``momentums``, Adam's
        ``_momentums`` and ``_velocities``. ``scalars``: every attribute holding one optimizer
        variable of its own (Nadam's ``_u_product``), but ``iterations`` and the learning rate.
        """
        opt = self.optimizer
        if not opt.built:
            return {}, {}
        tracked = {id(v) for v in opt.variables}
        skip = {"_iterations", "_learning_rate", "_variables", "_trainable_variables"}
        slots, scalars = {}, {}
        for attr, value in vars(opt).items():
            if attr in skip:
                continue
            if isinstance(value, keras.Variable) and id(value) in tracked:
                scalars[attr] = value
            elif (isinstance(value, (list, tuple)) and value and len(value) == len(self.params)
                  and all(isinstance(v, keras.Variable) and id(v) in tracked for v in value)):
                slots[attr] = list(value)
        return slots, scalars

    def optimizer_state(self) -> dict:
        """Keras' own optimizer state::

            {"iterations": int,                            optimizer.iterations
             "slots": {attribute: {path: array}},          e.g. "_momentums": {"dense1/kernel": ...}
             "scalars": {attribute: array}}                e.g. Nadam's "_u_product"

        Each slot array is a copy in its variable's Keras shape and dtype. An optimizer that has
        not taken a step (not built) has no slots yet.
        """
        slots, scalars = self._optimizer_variables()
        paths = list(trainable(self.model))
        return {"iterations": int(_numpy(self.optimizer.iterations)),
                "slots": {attr: {p: _numpy(v) for p, v in zip(paths, variables)}
                          for attr, variables in slots.items()},
                "scalars": {attr: _numpy(v) for attr, v in scalars.items()}}

    def load_optimizer_state(self, state: dict) -> None:
        """Build the optimizer's variables on this model's trainable variables (``build``, as
        ``apply_gradients`` would on the first step), then assign ``state`` (the form
        ``optimizer_state`` returns): ``iterations``, and every slot and scalar it names.
        Variables it does not name keep their initial values.

        Raises KeyError for an attribute this optimizer does not have (e.g. ``_momentums`` on
        an SGD without momentum) or a path that is not a trainable variable, ValueError for a
        shape that is not the variable's.
        """
        if not self.optimizer.built:
            self.optimizer.build(self.params)
        slots, scalars = self._optimizer_variables()
        paths = list(trainable(self.model))
        for attr in [a for a in state.get("slots", {}) if a not in slots] + \
                [a for a in state.get("scalars", {}) if a not in scalars]:
            raise KeyError(f"keras.optimizers.{type(self.optimizer).__name__} has no variables "
                           f"'{attr}' (it has {sorted(slots) + sorted(scalars)})")
        targets = [(f"{attr}[{path}]", var, by_path[path])
                   for attr, by_path in state.get("slots", {}).items()
                   for path, var in zip(paths, slots[attr]) if path in by_path]
        targets += [(attr, scalars[attr], value)
                    for attr, value in state.get("scalars", {}).items()]
        for attr, by_path in state.get("slots", {}).items():
            unknown = sorted(set(by_path) - set(paths))
            if unknown:
                raise KeyError(f"{attr}: {unknown} are not trainable variables ({paths})")
        for where, var, value in targets:
            value = np.asarray(value)
            if value.shape != tuple(var.shape):
                raise ValueError(f"{where}: Keras shape {tuple(var.shape)} expected, got "
                                 f"{value.shape}")
            var.assign(value.astype(var.dtype))
        self.optimizer.iterations.assign(int(state.get("iterations", 0)))
