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
"""
from __future__ import annotations

import numpy as np

from .backend import keras, tf
from .engine import load_weights, make_step, trainable, variables


def build(config, dtype: str):
    """``keras.optimizers.<Class>(**translated settings)`` for ``config``, exact in ``dtype``."""
    scalar = np.float64 if dtype == "float64" else float
    kwargs = {k: scalar(v) if isinstance(v, float) else v
              for k, v in config.keras_kwargs().items()}
    lr = kwargs.pop("learning_rate")
    return getattr(keras.optimizers, config.declaration.keras)(learning_rate=lambda: lr,
                                                                **kwargs)


class Trainer:
    """A Keras model, loaded once, and a keras.optimizers optimizer over its variables.

    The model keeps its own weights between steps; ``weights()`` reads them back.
        step(inputs, target) -> loss    one forward + backward under GradientTape (the engine's
                                        ``make_step``, the pass ``crossframe check`` verifies),
                                        then ``optimizer.apply_gradients``; the loss is the one
                                        before the update
        weights() -> {path: array}      every variable by path (``dense1/kernel``)
        predict(inputs) -> {output: array}
    """

    def __init__(self, model, weights: dict, config, loss: str, dtype: str):
        load_weights(model, weights)
        self.model, self.loss, self.dtype = model, loss, dtype
        self.params = list(trainable(model).values())
        self.optimizer = build(config, dtype)

    def step(self, inputs: dict, target) -> np.ndarray:
        _, value, grads, _ = make_step(self.model, inputs, target, {}, self.loss, self.dtype)()
        self.optimizer.apply_gradients(zip(grads, self.params))
        return np.asarray(value)

    def weights(self) -> dict:
        return {path: v.numpy().copy() for path, v in variables(self.model).items()}

    def state(self) -> dict:
        """The non-trainable variables (running statistics), by path."""
        own = trainable(self.model)
        return {p: v.numpy().copy() for p, v in variables(self.model).items() if p not in own}

    def predict(self, inputs: dict) -> dict:
        outputs = self.model({k: tf.constant(v) for k, v in inputs.items()}, training=False)
        return {k: np.asarray(v) for k, v in outputs.items()}
