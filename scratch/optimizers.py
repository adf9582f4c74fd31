"""Optimizers from scratch: the update rules of torch.optim and keras.optimizers, by hand.

Shape legend: a parameter ``p``, its gradient ``g`` and every state buffer of that parameter
(``m``, ``v``, ``b``, ``s``, ...) have one and the same shape, any shape; every rule below is
elementwise. ``t`` counts steps and is 1 on the first. ``lr`` is the learning rate.

Where PyTorch and Keras compute *different formulas* for an optimizer of the same name, the
class takes ``variant="torch"`` or ``variant="keras"`` and implements each exactly as the
library's source does (torch 2.13 ``torch/optim/*.py``; Keras 3.15
``keras/src/optimizers/*.py``), so that scratch~torch and scratch~keras are each exact and the
torch~keras difference is a formula that can be written down and tested:

================  =========================================  ==================================
optimizer         torch                                      keras
================  =========================================  ==================================
Momentum          b <- mu b + g;  p <- p - lr b              v <- mu v - lr g;  p <- p + v
                  (a velocity of gradients)                  (a velocity of updates)
Nesterov          b <- mu b + g;  p <- p - lr (g + mu b)     v <- mu v - lr g;  p <- p + mu v - lr g
RMSprop           p <- p - lr g / (sqrt(v) + eps)            p <- p - lr g / sqrt(v + eps)
Adam              eps added to sqrt(v_hat)                   eps added to sqrt(v) ("epsilon hat")
Adagrad           p <- p - lr g / (sqrt(s) + eps)            p <- p - lr g / sqrt(s + eps)
================  =========================================  ==================================

(Momentum and Nesterov: the two are the same trajectory while ``lr`` is constant, since then
``v = -lr b``; they part as soon as ``lr`` changes between steps.)

Dtype: every buffer is allocated like its parameter and every scalar is a Python float, which
NumPy does not let promote an array, so float32 training stays float32.
"""
from __future__ import annotations

import numpy as np

Array = np.ndarray
VARIANTS = ("torch", "keras")


class Optimizer:
    """Updates a dict of parameters in place, given a dict of gradients with the same names.

    The base class counts the steps, checks every gradient against its parameter (shape and
    dtype) and keeps the state buffers per parameter name; a subclass writes only
    ``_update(name, p, g)``, which must change ``p`` in place.
    ``lr`` is a plain attribute: set it between steps to change the learning rate.
    """

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)
        self.t = 0
        self._squares: dict[str, Array] = {}
        self.state: dict[str, dict[str, Array]] = {}

    def step(self, params: dict[str, Array], grads: dict[str, Array],
             squares: dict[str, Array] | None = None) -> None:
        """One update. ``squares``: for a gradient that is a sum of per-occurrence slices (an
        Embedding table's: one slice per id in the batch), the sum of the slices' squares —
        what the Keras variant squares instead of g * g (see ``square``)."""
        assert set(grads) == set(params), (
            f"{type(self).__name__}: gradients for {sorted(grads)}, parameters {sorted(params)}")
        self._squares = squares or {}
        self.t += 1
        for name, p in params.items():
            g = grads[name]
            assert g.shape == p.shape and g.dtype == p.dtype, (
                f"{type(self).__name__}: {name} is {p.shape} {p.dtype}, "
                f"its gradient {g.shape} {g.dtype}")
            self._update(name, p, g)

    def square(self, name: str, g: Array) -> Array:
        """g * g, as the optimizer's second moment takes it. torch gets an Embedding's gradient
        dense (the slices of a repeated id already summed): (sum_i g_i)^2. Keras gets it as
        tf.IndexedSlices, one slice per occurrence, and squares each: sum_i g_i^2 (Keras 3.15
        adam.py / rmsprop.py / adagrad.py on the TensorFlow backend; measured equal to the
        last bit in parity_tests/test_embedding.py)."""
        if getattr(self, "variant", "torch") == "keras" and name in self._squares:
            return self._squares[name]
        return g * g

    def buffer(self, name: str, key: str, like: Array, initial: float = 0.0) -> Array:
        """The state buffer ``key`` of parameter ``name``, created as ``initial`` on first use."""
        slots = self.state.setdefault(name, {})
        if key not in slots:
            slots[key] = np.full_like(like, initial)
        return slots[key]

    def _update(self, name: str, p: Array, g: Array) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: choose one of {VARIANTS}")
    return variant


class SGD(Optimizer):
    """Plain gradient descent, the same formula in both libraries:

        p <- p - lr g
    """

    def _update(self, name, p, g):
        p -= self.lr * g


class Momentum(Optimizer):
    """SGD with (heavy-ball) momentum ``mu``.

    torch (``SGD(momentum=mu)``, dampening 0), a velocity of *gradients*, ``b_1 = g_1``:
        b <- mu b + g
        p <- p - lr b
    keras (``SGD(momentum=mu)``), a velocity of *updates*, ``v_0 = 0``:
        v <- mu v - lr g
        p <- p + v
    With a constant ``lr``, ``v = -lr b`` at every step: the same trajectory.
    """

    def __init__(self, lr: float, momentum: float, variant: str = "torch") -> None:
        super().__init__(lr)
        self.momentum = float(momentum)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        mu = self.momentum
        if self.variant == "torch":
            b = self.buffer(name, "b", p)
            b *= mu
            b += g
            p -= self.lr * b
        else:
            v = self.buffer(name, "v", p)
            v *= mu
            v -= self.lr * g
            p += v


class Nesterov(Optimizer):
    """SGD with Nesterov momentum ``mu``: the step looks ahead along the velocity.

    torch (``SGD(momentum=mu, nesterov=True)``):
        b <- mu b + g
        p <- p - lr (g + mu b)
    keras (``SGD(momentum=mu, nesterov=True)``):
        v <- mu v - lr g
        p <- p + mu v - lr g
    With a constant ``lr``, ``v = -lr b``: the same trajectory.
    """

    def __init__(self, lr: float, momentum: float, variant: str = "torch") -> None:
        super().__init__(lr)
        self.momentum = float(momentum)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        mu = self.momentum
        if self.variant == "torch":
            b = self.buffer(name, "b", p)
            b *= mu
            b += g
            p -= self.lr * (g + mu * b)
        else:
            v = self.buffer(name, "v", p)
            v *= mu
            v -= self.lr * g
            p += mu * v - self.lr * g


class RMSprop(Optimizer):
    """Divide the gradient by a running root-mean-square of recent gradients.

    Both libraries keep ``v <- rho v + (1 - rho) g^2`` (torch calls ``rho`` "alpha"), and when
    ``centered``, also ``a <- rho a + (1 - rho) g`` and use ``v - a^2`` (a variance) for ``v``.
    Where eps goes differs:
        torch:  d = sqrt(v) + eps          (centered: sqrt(v - a^2) + eps)
        keras:  d = sqrt(v + eps)          (centered: sqrt(v - a^2 + eps))
    Without momentum, both:  p <- p - lr g / d.
    With momentum ``mu``, as for SGD torch keeps a velocity of scaled gradients and Keras one
    of updates (the same trajectory while ``lr`` is constant):
        torch:  b <- mu b + g / d;        p <- p - lr b
        keras:  b <- mu b + lr g / d;     p <- p - b
    """

    def __init__(self, lr: float, rho: float, eps: float, momentum: float = 0.0,
                 centered: bool = False, variant: str = "torch") -> None:
        super().__init__(lr)
        self.rho, self.eps, self.momentum = float(rho), float(eps), float(momentum)
        self.centered = bool(centered)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        rho, eps = self.rho, self.eps
        v = self.buffer(name, "v", p)
        v *= rho
        v += (1 - rho) * self.square(name, g)
        if self.centered:
            a = self.buffer(name, "a", p)
            a += (1 - rho) * (g - a)  # torch writes a.lerp_(g, 1 - rho): the same expression
            var = v - a * a
        else:
            var = v
        if self.variant == "torch":
            update, scale = g / (np.sqrt(var) + eps), self.lr  # lr multiplies last
        else:
            update, scale = self.lr * g / np.sqrt(var + eps), 1.0  # lr multiplies first
        if self.momentum > 0:
            b = self.buffer(name, "b", p)
            b *= self.momentum
            b += update
            update = b
        p -= scale * update


class Adam(Optimizer):
    """Adam: momentum ``m`` of the gradient, scaled by the root of a running ``v`` of g^2.

    Both libraries keep (with t the step count, 1 on the first step):
        m <- m + (1 - beta1) (g - m)               (= beta1 m + (1 - beta1) g)
        v <- beta2 v + (1 - beta2) g^2
    and correct the bias of m and v (both start at 0) — but put eps in different places:
        torch (Algorithm 1 of Kingma & Ba):
            p <- p - lr/(1 - beta1^t) * m / (sqrt(v)/sqrt(1 - beta2^t) + eps)
        keras (the "epsilon hat" form before Section 2.1 of the paper):
            alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t)
            p <- p - alpha m / (sqrt(v) + eps)
    So Keras' eps acts like torch's eps / sqrt(1 - beta2^t): ~32x larger on the first step
    (beta2 = 0.999), ~1x after a few thousand. No constant makes them equal; eps = 0 does.
    """

    def __init__(self, lr: float, beta1: float, beta2: float, eps: float,
                 variant: str = "torch") -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        b1, b2, t = self.beta1, self.beta2, self.t
        m = self.buffer(name, "m", p)
        v = self.buffer(name, "v", p)
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * self.square(name, g)
        if self.variant == "torch":
            denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + self.eps
            p -= (self.lr / (1 - b1 ** t)) * (m / denom)
        else:
            alpha = self.lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            p -= alpha * m / (np.sqrt(v) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay ``wd`` (Loshchilov & Hutter): first shrink, then Adam.

        torch (``AdamW``):   p <- p (1 - lr wd)
        keras (``AdamW``):   p <- p - p wd lr          (the same number, rounded differently)
        then the Adam step of the same variant (see ``Adam``).
    The decay applies to every parameter, biases included, in both libraries by default.
    """

    def __init__(self, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                 variant: str = "torch") -> None:
        super().__init__(lr, beta1, beta2, eps, variant)
        self.weight_decay = float(weight_decay)

    def _update(self, name, p, g):
        if self.variant == "torch":
            p *= 1 - self.lr * self.weight_decay
        else:
            p -= p * self.weight_decay * self.lr
        super()._update(name, p, g)


class Adagrad(Optimizer):
    """Adagrad: divide by the root of the *sum* of all squared gradients so far.

        s <- s + g^2                   (s starts at ``initial_accumulator``:
                                        torch's default 0, Keras' default 0.1)
        torch:  p <- p - lr g / (sqrt(s) + eps)
        keras:  p <- p - lr g / sqrt(s + eps)
    (torch's ``lr_decay`` is left at 0: Keras has no such knob.)
    """

    def __init__(self, lr: float, eps: float, initial_accumulator: float,
                 variant: str = "torch") -> None:
        super().__init__(lr)
        self.eps, self.initial_accumulator = float(eps), float(initial_accumulator)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        s = self.buffer(name, "s", p, self.initial_accumulator)
        s += self.square(name, g)
        if self.variant == "torch":
            p -= self.lr * (g / (np.sqrt(s) + self.eps))
        else:
            p -= self.lr * g / np.sqrt(s + self.eps)


def build(config, variant: str):
    """The scratch optimizer for a ``crossframe.training.config.OptimizerConfig``."""
    cls = globals()[config.declaration.scratch]
    kwargs = config.scratch_kwargs()
    if cls is not SGD:
        kwargs["variant"] = variant
    return cls(**kwargs)
