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
Adamax            u <- max(b2 u, |g| + eps); ... m / u       u <- max(b2 u, |g|); ... m / (u + eps)
Weight decay      weight_decay: L2, g + wd p                 weight_decay: decoupled, p - p wd lr
================  =========================================  ==================================

Nadam (with torch's momentum_decay = 1) and Adadelta are one formula in both.

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

    Weight decay, the same two ways for every optimizer (the libraries name them differently):
        coupled_weight_decay (torch's ``weight_decay``; Keras: an L2 regularizer's gradient):
            g <- g + wd p                                 before the update
        weight_decay (Keras' ``weight_decay``, torch's AdamW / ``decoupled_weight_decay``):
            torch:  p <- p (1 - lr wd)                    before the update
            keras:  p <- p - p wd lr                      (the same number, rounded differently)
    """

    variant = "torch"

    def __init__(self, lr: float, weight_decay: float = 0.0,
                 coupled_weight_decay: float = 0.0) -> None:
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.coupled_weight_decay = float(coupled_weight_decay)
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
            if self.coupled_weight_decay:
                g = g + self.coupled_weight_decay * p
            if self.weight_decay:
                if self.variant == "torch":
                    p *= 1 - self.lr * self.weight_decay
                else:
                    p -= p * self.weight_decay * self.lr
            self._update(name, p, g)

    def square(self, name: str, g: Array) -> Array:
        """g * g, as the optimizer's second moment takes it. torch gets an Embedding's gradient
        dense (the slices of a repeated id already summed): (sum_i g_i)^2. Keras gets it as
        tf.IndexedSlices, one slice per occurrence, and squares each: sum_i g_i^2 (Keras 3.15
        adam.py / rmsprop.py / adagrad.py on the TensorFlow backend; measured equal to the
        last bit in parity_tests/test_embedding.py). With a coupled weight decay the gradient
        Keras sees is dense (g + wd p), and squared whole."""
        if self.variant == "keras" and name in self._squares and not self.coupled_weight_decay:
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
    (``variant`` matters only to a decoupled weight decay, see ``Optimizer``.)
    """

    def __init__(self, lr: float, variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
        self.variant = _check_variant(variant)

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

    def __init__(self, lr: float, momentum: float, variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
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

    def __init__(self, lr: float, momentum: float, variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
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
                 centered: bool = False, variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
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

    ``amsgrad`` (Reddi, Kale & Kumar 2018), the same in both: keep v_max <- max(v_max, v) and
    divide by its root instead of v's. AdamW is this class with ``weight_decay`` (decoupled,
    see ``Optimizer``).
    """

    def __init__(self, lr: float, beta1: float, beta2: float, eps: float,
                 amsgrad: bool = False, variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.amsgrad = bool(amsgrad)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        b1, b2, t = self.beta1, self.beta2, self.t
        m = self.buffer(name, "m", p)
        v = self.buffer(name, "v", p)
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * self.square(name, g)
        if self.amsgrad:
            v_max = self.buffer(name, "v_max", p)
            np.maximum(v_max, v, out=v_max)
            v = v_max
        if self.variant == "torch":
            denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + self.eps
            p -= (self.lr / (1 - b1 ** t)) * (m / denom)
        else:
            alpha = self.lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            p -= alpha * m / (np.sqrt(v) + self.eps)


class Adagrad(Optimizer):
    """Adagrad: divide by the root of the *sum* of all squared gradients so far.

        s <- s + g^2                   (s starts at ``initial_accumulator``:
                                        torch's default 0, Keras' default 0.1)
        torch:  p <- p - lr g / (sqrt(s) + eps)
        keras:  p <- p - lr g / sqrt(s + eps)
    (torch's ``lr_decay`` is left at 0: Keras has no such knob.)
    """

    def __init__(self, lr: float, eps: float, initial_accumulator: float,
                 variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
        self.eps, self.initial_accumulator = float(eps), float(initial_accumulator)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        s = self.buffer(name, "s", p, self.initial_accumulator)
        s += self.square(name, g)
        if self.variant == "torch":
            p -= self.lr * (g / (np.sqrt(s) + self.eps))
        else:
            p -= self.lr * g / np.sqrt(s + self.eps)


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, Section 7.1): Adam with the infinity norm in place of v.

        m <- m + (1 - beta1) (g - m)
        torch (torch/optim/adamax.py):
            u <- max(beta2 u, |g| + eps)
            p <- p - lr/(1 - beta1^t) * m / u
        keras (keras/src/optimizers/adamax.py):
            u <- max(beta2 u, |g|)
            p <- p - lr m / ((1 - beta1^t) (u + eps))
    torch's eps enters the running maximum, so it is remembered; Keras' only the divisor.
    eps = 0 gives one formula.
    """

    def __init__(self, lr: float, beta1: float, beta2: float, eps: float,
                 variant: str = "torch", **decay) -> None:
        super().__init__(lr, **decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        b1, b2, t = self.beta1, self.beta2, self.t
        m = self.buffer(name, "m", p)
        u = self.buffer(name, "u", p)
        m += (1 - b1) * (g - m)
        if self.variant == "torch":
            np.maximum(u * b2, np.abs(g) + self.eps, out=u)
            p -= (self.lr / (1 - b1 ** t)) * (m / u)
        else:
            np.maximum(b2 * u, np.abs(g), out=u)
            p -= self.lr * m / ((1 - b1 ** t) * (u + self.eps))


# keras/src/optimizers/nadam.py: ``decay = ops.cast(0.96, var_dtype)`` casts a Python float,
# which TensorFlow makes a float32 tensor first: 0.9599999785423279 even in a float64 model;
# JAX and torch cast it exactly. Keyed by Keras backend.
KERAS_NADAM_DECAY = {"tensorflow": float(np.float32(0.96)), "jax": 0.96, "torch": 0.96}


class Nadam(Optimizer):
    """Nadam (Dozat 2016): Adam whose momentum looks one step ahead, with a warming schedule
    of the momentum coefficient.

        mu_t = beta1 (1 - 0.5 * 0.96^(t psi))        (Keras: psi = 1, fixed; torch:
                                                      momentum_decay psi, default 0.004 —
                                                      crossframe gives torch 1)
        P_t = mu_1 ... mu_t                          (the running product)
        m <- m + (1 - beta1) (g - m);   v <- beta2 v + (1 - beta2) g^2
        d = sqrt(v / (1 - beta2^t)) + eps
        p <- p - lr (1 - mu_t)/(1 - P_t) g/d - lr mu_(t+1)/(1 - P_t mu_(t+1)) m/d
    The same update in torch/optim/nadam.py and keras/src/optimizers/nadam.py, up to rounding:
    torch adds the two terms to p one after the other, Keras adds them first. torch keeps P in
    a tensor of torch.get_default_dtype() (a float64 run must set it, see the trainer); Keras'
    update takes mu_t and mu_(t+1) with ``ops.cast(0.96, dtype)``, which on TensorFlow rounds
    0.96 to float32 (its product with 0.96 exact): a float64 Keras Nadam on TensorFlow is off
    its own formula by ~1e-8 relative, mirrored here; on JAX and torch the cast is exact
    (``keras_backend``: whose cast the Keras variant mirrors, ``KERAS_NADAM_DECAY``).
    """

    def __init__(self, lr: float, beta1: float, beta2: float, eps: float,
                 variant: str = "torch", keras_backend: str = "tensorflow", **decay) -> None:
        super().__init__(lr, **decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.variant = _check_variant(variant)
        self.keras_decay = KERAS_NADAM_DECAY[keras_backend]
        self.mu_product = 1.0

    def step(self, params, grads, squares=None):
        t = self.t + 1
        warm = 1.0 - 0.5 * 0.96 ** t
        if self.variant == "torch":   # mu_product *= mu
            self._mu = self.beta1 * warm
            self._mu_next = self.beta1 * (1.0 - 0.5 * 0.96 ** (t + 1))
            self.mu_product = self.mu_product * self._mu
        else:
            # u_product * beta_1 * (1 - 0.5 * 0.96^t) with 0.96 exact, but the update's own
            # mu_t and mu_(t+1) use ops.cast(0.96, dtype): through float32 on TensorFlow
            self.mu_product = self.mu_product * self.beta1 * warm
            decay = self.keras_decay
            self._mu = self.beta1 * (1.0 - 0.5 * decay ** t)
            self._mu_next = self.beta1 * (1.0 - 0.5 * decay ** (t + 1))
        super().step(params, grads, squares)

    def _update(self, name, p, g):
        b1, b2, t = self.beta1, self.beta2, self.t
        mu, mu_next, prod = self._mu, self._mu_next, self.mu_product
        m = self.buffer(name, "m", p)
        v = self.buffer(name, "v", p)
        m += (1 - b1) * (g - m)
        if self.variant == "torch":
            v *= b2
            v += (1 - b2) * self.square(name, g)
            d = np.sqrt(v / (1 - b2 ** t)) + self.eps
            p += (-self.lr * (1.0 - mu) / (1.0 - prod)) * (g / d)
            p += ((-self.lr * mu_next) / (1.0 - prod * mu_next)) * (m / d)
        else:
            v += (self.square(name, g) - v) * (1 - b2)
            m_hat = mu_next * m / (1 - prod * mu_next) + (1 - mu) * g / (1 - prod)
            p -= m_hat * self.lr / (np.sqrt(v / (1 - b2 ** t)) + self.eps)


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): a step whose units are those of p, from two running averages.

        v <- rho v + (1 - rho) g^2
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho u + (1 - rho) d^2
        p <- p - lr d
    The same update in torch/optim/adadelta.py and keras/src/optimizers/adadelta.py (the
    defaults differ: lr 1.0 / 0.001, rho 0.9 / 0.95, eps 1e-6 / 1e-7).
    """

    def __init__(self, lr: float, rho: float, eps: float, variant: str = "torch",
                 **decay) -> None:
        super().__init__(lr, **decay)
        self.rho, self.eps = float(rho), float(eps)
        self.variant = _check_variant(variant)

    def _update(self, name, p, g):
        rho, eps = self.rho, self.eps
        v = self.buffer(name, "v", p)
        u = self.buffer(name, "u", p)
        v *= rho
        v += (1 - rho) * self.square(name, g)
        if self.variant == "torch":
            d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        else:
            d = np.sqrt(u + eps) * g / np.sqrt(v + eps)
        u *= rho
        u += (1 - rho) * d * d
        p -= self.lr * d


def build(config, variant: str, keras_backend: str = "tensorflow"):
    """The scratch optimizer for a ``crossframe.training.config.OptimizerConfig``;
    ``keras_backend``: the Keras backend whose formula the "keras" variant mirrors where it
    differs by backend (Nadam's 0.96)."""
    cls = globals()[config.declaration.scratch]
    extra = {"keras_backend": keras_backend} if cls is Nadam else {}
    return cls(**config.scratch_kwargs(), variant=variant, **extra)
