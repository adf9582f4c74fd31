"""The classic mistakes, as switches on a reference implementation.

A hint is given only when it is proven: the reference with that mistake switched on must
reproduce the learner's numbers (crossframe.verification.diagnose). So every mistake here is
code, not a description: a ``Fault`` names it, says it in one sentence with the fix, and a
faulty reference layer (``faulty(decl, faults)``) computes what a layer with that mistake
computes. Two kinds:

- *layer faults*, inside the computation: a kernel used untransposed, a sigmoid derivative
  taken as s instead of s(1 - s), LSTM gate blocks read in another order, BPTT that drops a step
  or does not carry dh between steps, a conv backward that ignores the stride, a Flatten in
  (c, h, w) order, max-pool ties sent to the last maximum...;
- *gradient faults*, on what backward returns: a sign flipped, a factor of N (sum vs mean), a
  bias gradient taken from one sample, a square gradient transposed.

Shape legend as in the textbook layers (crossframe/scratch/*.py): N batch, T steps, D inputs,
H hidden units, k gate blocks; images NHWC.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..scratch import activations, conv, dense, embedding, normalization, pooling
from ..scratch.activations import sigmoid
from ..scratch.base import Layer


@dataclass(frozen=True)
class Fault:
    key: str
    says: str      # what is wrong, one sentence
    fix: str


# --- layer faults, per kind -------------------------------------------------------------------
def _dense_faults(opts, square: bool):
    out = [Fault("bias-first-sample", "the bias gradient is taken from the first sample only "
                 "instead of summed over the batch", "db = G.sum(axis=0)")]
    if square:
        out += [Fault("kernel-transposed", "the kernel is used transposed (y = x W^T, torch's "
                      "weight layout) where the canonical kernel is (in, out)", "y = x @ W"),
                Fault("dx-not-transposed", "dx multiplies by W instead of W^T",
                      "dx = G @ W.T")]
    return out


ACTIVATION_FAULTS = {
    "relu": [Fault("relu-grad-at-zero", "the ReLU derivative at exactly x = 0 is taken as 1 "
                   "(torch and TensorFlow take 0)", "dx = G * (x > 0)")],
    "sigmoid": [Fault("sigmoid-grad-s", "the sigmoid derivative is taken as s instead of "
                      "s (1 - s)", "dx = G * s * (1 - s)"),
                Fault("sigmoid-grad-of-input", "the sigmoid derivative is computed from the "
                      "input x instead of the output s", "dx = G * s * (1 - s), s = sigmoid(x)")],
    "tanh": [Fault("tanh-grad-1-y", "the tanh derivative is taken as 1 - y instead of 1 - y^2",
                   "dx = G * (1 - y**2)"),
             Fault("tanh-grad-of-input", "the tanh derivative is computed from the input x "
                   "instead of the output y", "dx = G * (1 - y**2), y = tanh(x)")],
    "softmax": [Fault("softmax-grad-diagonal", "the softmax Jacobian is taken as its diagonal "
                      "p (1 - p) alone", "dz = p * (G - (G * p).sum(axis=-1, keepdims=True))"),
                Fault("softmax-grad-no-coupling", "the softmax backward misses the coupling "
                      "term: dz = p G", "dz = p * (G - (G * p).sum(axis=-1, keepdims=True))")],
}


def _conv_faults(opts, square: bool):
    out = [Fault("kernel-flipped", "the kernel is flipped (a true convolution) where every "
                 "framework computes a cross-correlation", "use W[di, dj] at offset (di, dj), "
                 "not W[kh-1-di, kw-1-dj]")]
    if tuple(opts["strides"]) != (1, 1):
        out.append(Fault("stride-ignored-in-backward", "backward ignores the stride: each "
                         "output gradient goes back to contiguous windows, not to the strided "
                         "ones forward read", "slice xp[:, di : di + sh*Ho : sh, ...] in "
                         "backward as in forward"))
    if opts["padding"] == "same":
        out.append(Fault("padding-not-cut-off", "dx keeps the wrong rows and columns of the "
                         "padded gradient (the border is cut at the bottom/right, not where "
                         "forward added it)", "dx = dxp[:, top:top+H, left:left+W]"))
    if square:
        out.append(Fault("kernel-axes-swapped", "the kernel's spatial axes are swapped "
                         "(W[dj, di] for W[di, dj])", "index the kernel W[di, dj, c_in, c_out]"))
    return out


POOL_FAULTS = {
    "maxpool2d": [Fault("ties-to-last", "a tied window sends its gradient to its LAST maximum "
                        "(torch and TensorFlow: the first, in row-major window order)",
                        "keep the first maximum: compare with >, not >="),
                  Fault("ties-to-all", "a tied window sends the whole gradient to EVERY "
                        "maximum", "send it to the first maximum only")],
}

FLATTEN_FAULTS = [Fault("flatten-channels-first", "Flatten orders the features (c, h, w), "
                        "torch's NCHW order, where the canonical (Keras) order is (h, w, c)",
                        "x.reshape(N, -1) on the NHWC array")]


BATCHNORM_FAULTS = [
    Fault("bn-momentum-backwards", "the running statistics keep (1 - momentum) of the old value "
          "and take momentum of the batch: torch's momentum convention with Keras' number",
          "moving = momentum * moving + (1 - momentum) * batch (Keras' momentum 0.99 is "
          "torch's 0.01)"),
    Fault("bn-unbiased-update", "the moving variance moves with the unbiased batch variance "
          "(torch's running_var rule), where Keras' moves with the biased one it normalizes "
          "with", "update with the biased variance, mean over rows of (x - mu)^2"),
    Fault("bn-no-update", "the running statistics are not updated in training",
          "moving = momentum * moving + (1 - momentum) * batch"),
    Fault("bn-batch-stats-in-inference", "inference normalizes with the batch's statistics "
          "instead of the running ones", "training=False: use moving_mean and moving_variance"),
    Fault("bn-always-training", "the layer always runs as in training (batch statistics, and "
          "their gradient), inference included", "training=False: use moving_mean and "
          "moving_variance, and dx = dxhat / sqrt(moving_variance + eps)"),
    Fault("bn-unbiased-normalize", "the batch is normalized with the unbiased variance (divided "
          "by M - 1); both libraries divide by M", "var = mean over rows of (x - mu)^2"),
    Fault("bn-no-stat-grad", "the gradient does not flow through the batch mean and variance "
          "(dx = dxhat / sqrt(var + eps), as in inference)",
          "dx = (dxhat - mean dxhat - xhat * mean(dxhat * xhat)) / sqrt(var + eps)"),
]


EMBEDDING_FAULTS = [
    Fault("emb-repeats-overwrite", "a row hit by several ids keeps one occurrence's gradient "
          "(d[x] += G with repeated ids writes each row once)",
          "np.add.at(d, x, G): every occurrence adds"),
]


def _recurrent_faults(decl, opts, square: bool):
    out = [Fault("bptt-drop-last", "backprop through time skips the last step (the loop "
                 "starts at T-2)", "for t in reversed(range(T))"),
           Fault("bptt-drop-first", "backprop through time stops before the first step",
                 "for t in reversed(range(T)), down to t = 0"),
           Fault("no-dh-seq", "the gradient of the output sequence is not added at each "
                 "step: only dh_last (through the carry) reaches the steps",
                 "dh = dh_seq[:, t] + dh_next")]
    # a carry can be dropped in several places that give different numbers: between steps
    # only; also the incoming dh_last / dc_last; also the returned dh0 / dc0 (left at zero)
    carries = [("h", "dh is not carried from step t+1 to step t: only the output's own "
                "gradient reaches each step", "dh = dh_seq[:, t] + dh_next")]
    if decl.name == "lstm":
        carries.append(("c", "dc is not carried from step t+1 to step t",
                        "dc = dc_next + dh * o * (1 - tanh(c)**2)"))
    for state, says, fix in carries:
        for where in ("", ":last", ":zero0", ":last,zero0"):
            out.append(Fault(f"no-carry-{state}{where}", says, fix))
    if decl.name in ("lstm", "gru"):
        out += [Fault("sigmoid-grad-s", "the gates' sigmoid derivative is taken as s instead "
                      "of s (1 - s)", "da = d * s * (1 - s)"),
                Fault("hard-sigmoid", "the gates use hard_sigmoid relu6(x + 3) / 6 (Keras 3 "
                      "and torch's Hardsigmoid) where the layer uses the logistic sigmoid",
                      "recurrent_activation = sigmoid: 1 / (1 + exp(-a))"),
                Fault("hard-sigmoid-keras2", "the gates use Keras 2's hard_sigmoid, "
                      "clip(0.2 x + 0.5, 0, 1) (old checkpoints and tutorials), where the "
                      "layer uses the logistic sigmoid", "recurrent_activation = sigmoid")]
    out.append(Fault("tanh-grad-1-y", "the tanh derivative is taken as 1 - y instead of 1 - y^2",
                     "d = d * (1 - y**2)"))
    if decl.name == "lstm":           # one of the two tanh sites alone
        out += [Fault("tanh-grad-1-y:g", "the derivative of the candidate g = tanh(a_g) is "
                      "taken as 1 - g instead of 1 - g^2", "da_g = dg * (1 - g**2)"),
                Fault("tanh-grad-1-y:c", "the derivative of tanh(c) is taken as 1 - tanh(c) "
                      "instead of 1 - tanh(c)^2", "dc = dc_next + dh * o * (1 - tanh(c)**2)")]
    if decl.name in ("lstm", "gru"):
        out.append(Fault("sigmoid-grad-1-s", "the gates' sigmoid derivative is taken as 1 - s "
                         "instead of s (1 - s)", "da = d * s * (1 - s)"))
    if decl.name == "lstm":
        canonical = ("i", "f", "g", "o")
        for perm in itertools.permutations(canonical):
            if perm != canonical:
                order = ", ".join(perm)
                out.append(Fault(f"gates:{','.join(perm)}", f"the gate blocks are read in the "
                                 f"order {order}, where the canonical (Keras and torch) order "
                                 "is i, f, g, o", "split the 4H columns as i, f, g, o"))
    if decl.name == "gru":
        out += [Fault("gates:r,z,h", "the first two gate blocks are read as r, z (torch's row "
                      "order) where the canonical (Keras) column order is z, r, h",
                      "split the 3H columns as z, r, h"),
                Fault("update-swapped", "the update gate weighs the candidate: h = z hh + "
                      "(1 - z) h_prev, where Keras and torch compute z h_prev + (1 - z) hh",
                      "h = z * h_prev + (1 - z) * hh")]
        other = "before" if opts["reset_after"] else "after"
        out.append(Fault(f"reset-{other}", f"the reset gate is applied {other.upper()} the "
                         f"recurrent product, where this layer (reset_after="
                         f"{opts['reset_after']}) applies it "
                         f"{'after' if opts['reset_after'] else 'before'}",
                         "hh = tanh(x W_xh + b0_h + r * (h W_hh + b1_h))" if opts["reset_after"]
                         else "hh = tanh(x W_xh + (r * h) W_hh + b_h)"))
    return out


def layer_faults(decl, opts: dict, params: dict) -> list[Fault]:
    """The layer faults that can show for ``decl`` at these options and parameter shapes
    (a transposed kernel only shows when the kernel is square)."""
    name = decl.name
    if name == "dense":
        W = params["W"]
        return _dense_faults(opts, W.shape[0] == W.shape[1])
    if name in ACTIVATION_FAULTS:
        return list(ACTIVATION_FAULTS[name])
    if name == "conv2d":
        kh, kw, c_in, c_out = params["W"].shape
        return _conv_faults(opts, kh == kw)
    if name in POOL_FAULTS:
        return list(POOL_FAULTS[name])
    if name == "flatten":
        return list(FLATTEN_FAULTS)
    if name == "batchnorm":
        return list(BATCHNORM_FAULTS)
    if name == "embedding":
        return list(EMBEDDING_FAULTS)
    if decl.recurrent:
        return _recurrent_faults(decl, opts, False)
    return []


# --- the faulty references --------------------------------------------------------------------
class FaultyDense(dense.Dense):
    def __init__(self, faults=frozenset(), **options):
        super().__init__(**options)
        self.faults = faults

    def forward(self, params, x):
        if "kernel-transposed" in self.faults:
            y = x @ params["W"].T + (params["b"] if "b" in params else 0)
            return y.astype(x.dtype, copy=False), x
        return super().forward(params, x)

    def backward(self, params, x, G):
        grads, dx = super().backward(params, x, G)
        if "kernel-transposed" in self.faults:
            grads["W"] = grads["W"].T.copy()
            dx = G @ params["W"]
        if "dx-not-transposed" in self.faults:
            dx = G @ params["W"]
        if "bias-first-sample" in self.faults and "b" in grads:
            grads["b"] = G.reshape(-1, G.shape[-1])[0].copy()
        return grads, dx


class FaultyActivation(Layer):
    """ReLU, sigmoid, tanh and softmax with their wrong derivatives switchable."""

    def __init__(self, kind: str, faults=frozenset(), **options):
        self.kind, self.faults = kind, faults
        self.base = {"relu": activations.ReLU, "sigmoid": activations.Sigmoid,
                     "tanh": activations.Tanh, "softmax": activations.Softmax}[kind]()

    def forward(self, params, x):
        y, _ = self.base.forward(params, x)
        return y, (x, y)

    def backward(self, params, cache, G):
        x, y = cache
        f = self.faults
        if "relu-grad-at-zero" in f:
            return {}, G * (x >= 0)
        if "sigmoid-grad-s" in f:
            return {}, G * y
        if "sigmoid-grad-of-input" in f:
            return {}, G * x * (1 - x)
        if "tanh-grad-1-y" in f:
            return {}, G * (1 - y)
        if "tanh-grad-of-input" in f:
            return {}, G * (1 - x * x)
        if "softmax-grad-diagonal" in f:
            return {}, G * y * (1 - y)
        if "softmax-grad-no-coupling" in f:
            return {}, G * y
        return self.base.backward(params, y if self.kind != "relu" else x, G)


class FaultyConv2D(conv.Conv2D):
    def __init__(self, faults=frozenset(), **options):
        super().__init__(**options)
        self.faults = faults

    def _kernel(self, W):
        if "kernel-flipped" in self.faults:
            W = W[::-1, ::-1]
        if "kernel-axes-swapped" in self.faults:
            W = W.transpose(1, 0, 2, 3)
        return np.ascontiguousarray(W)

    def forward(self, params, x):
        return super().forward({**params, "W": self._kernel(params["W"])}, x)

    def backward(self, params, cache, G):
        (N, H, W_in, C_in), xp = cache
        W = self._kernel(params["W"])
        kh, kw, _, C_out = W.shape
        sh, sw = (1, 1) if "stride-ignored-in-backward" in self.faults else self.strides
        Ho, Wo, (top, _), (left, _) = self._geometry((N, H, W_in, C_in), W.shape)
        dW, dxp = np.zeros_like(W), np.zeros_like(xp)
        G_rows = G.reshape(-1, C_out)
        for di in range(kh):
            for dj in range(kw):
                view = (slice(None), slice(di, di + sh * Ho, sh), slice(dj, dj + sw * Wo, sw))
                if xp[view].shape[1:3] != (Ho, Wo):     # the windows ran off the image
                    continue
                dW[di, dj] = xp[view].reshape(-1, C_in).T @ G_rows
                dxp[view] += G @ W[di, dj].T
        if "kernel-flipped" in self.faults:
            dW = dW[::-1, ::-1]
        if "kernel-axes-swapped" in self.faults:
            dW = dW.transpose(1, 0, 2, 3)
        if "padding-not-cut-off" in self.faults:
            top, left = 0, 0
        grads = {"W": np.ascontiguousarray(dW)}
        if "b" in params:
            grads["b"] = G_rows.sum(axis=0)
        return grads, dxp[:, top:top + H, left:left + W_in, :].copy()


class FaultyMaxPool2D(pooling.MaxPool2D):
    def __init__(self, faults=frozenset(), **options):
        super().__init__(**options)
        self.faults = faults

    def forward(self, params, x):
        y, (shape, where) = super().forward(params, x)
        if "ties-to-last" in self.faults:
            (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
            _, Ho, Wo, _ = y.shape
            for k in range(ph * pw):
                di, dj = divmod(k, pw)
                tap = x[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]
                where = np.where(tap == y, k, where)
        return y, (shape, where, x, y)

    def backward(self, params, cache, G):
        shape, where, x, y = cache
        if "ties-to-all" not in self.faults:
            return super().backward(params, (shape, where), G)
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        _, Ho, Wo, _ = G.shape
        dx = np.zeros(shape, dtype=G.dtype)
        for k in range(ph * pw):
            di, dj = divmod(k, pw)
            tap = x[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]
            dx[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :] += G * (tap == y)
        return {}, dx


class FaultyFlatten(conv.Flatten):
    def __init__(self, faults=frozenset(), **options):
        self.faults = faults

    def forward(self, params, x):
        if "flatten-channels-first" in self.faults:
            return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1), x.shape
        return super().forward(params, x)

    def backward(self, params, shape, G):
        if "flatten-channels-first" in self.faults:
            N, H, W, C = shape
            return {}, G.reshape(N, C, H, W).transpose(0, 2, 3, 1).copy()
        return super().backward(params, shape, G)


# --- recurrent: one reference loop, every switch -----------------------------------------------
def _gate(kind: str):
    """(activation, derivative from its output or pre-activation) for the gates."""
    if kind == "hard-sigmoid":
        return (lambda a: np.clip(a + 3, 0, 6) / 6,
                lambda s, a: ((a > -3) & (a < 3)) / 6)
    if kind == "hard-sigmoid-keras2":
        return (lambda a: np.clip(0.2 * a + 0.5, 0, 1),
                lambda s, a: ((a > -2.5) & (a < 2.5)) * 0.2)
    if kind == "sigmoid-grad-s":
        return sigmoid, lambda s, a: s
    if kind == "sigmoid-grad-1-s":
        return sigmoid, lambda s, a: 1 - s
    return sigmoid, lambda s, a: s * (1 - s)


class FaultyRecurrent(Layer):
    """SimpleRNN, LSTM and GRU written once, step by step, with every recurrent switch; the
    same equations as crossframe/scratch/recurrent.py when no fault is on."""

    def __init__(self, kind: str, faults=frozenset(), reset_after: bool = True, **options):
        self.kind, self.faults, self.reset_after = kind, faults, reset_after
        gate = next((f for f in faults if f in ("hard-sigmoid", "hard-sigmoid-keras2",
                                                "sigmoid-grad-s", "sigmoid-grad-1-s")), "")
        self.act, self.dact = _gate(gate)
        right, wrong = (lambda y: 1 - y * y), (lambda y: 1 - y)
        self.dtanh = wrong if "tanh-grad-1-y" in faults else right
        self.dtanh_g = wrong if "tanh-grad-1-y:g" in faults else self.dtanh   # LSTM's g
        self.dtanh_c = wrong if "tanh-grad-1-y:c" in faults else self.dtanh   # LSTM's tanh(c)
        self.no_carry = {state: set(f.split(":")[1].split(",")) if ":" in f else set()
                         for state in "hc" for f in faults if f.split(":")[0] ==
                         f"no-carry-{state}"}
        perm = next((f.split(":")[1].split(",") for f in faults if f.startswith("gates:")), None)
        names = {"lstm": ["i", "f", "g", "o"], "gru": ["z", "r", "h"]}.get(kind, ["h"])
        self.perm = None if perm is None else [names.index(g) for g in perm]
        formula = {"reset-before": False, "reset-after": True}
        self.reset_formula = next((formula[f] for f in faults if f in formula), reset_after)

    # the learner reads gate block j where the canonical block perm[j] is: permute columns
    def _cols(self, a, H, inverse=False):
        if self.perm is None:
            return a
        blocks = np.split(a, len(self.perm), axis=-1)
        order = np.argsort(self.perm) if inverse else self.perm
        return np.concatenate([blocks[j] for j in order], axis=-1)

    def _params(self, params):
        H = params["W_h"].shape[0]
        return {k: self._cols(v, H) for k, v in params.items()}

    def forward(self, params, x, *states):
        p = self._params(params)
        h = states[0]
        c = states[1] if self.kind == "lstm" else None
        hs, caches = [], []
        for t in range(x.shape[1]):
            h, c, cache = self._step(p, x[:, t], h, c)
            hs.append(h)
            caches.append(cache)
        outs = (np.stack(hs, axis=1), h.copy()) + ((c.copy(),) if self.kind == "lstm" else ())
        return outs, (p, caches, x.shape)

    def _step(self, p, x_t, h, c):
        W_x, W_h, b = p["W_x"], p["W_h"], p["b"]
        H = h.shape[1]
        if self.kind == "simple_rnn":
            a = x_t @ W_x + h @ W_h + b
            h_new = np.tanh(a)
            return h_new, None, (x_t, h, h_new)
        if self.kind == "lstm":
            a = x_t @ W_x + h @ W_h + b
            a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
            i, f, o = self.act(a_i), self.act(a_f), self.act(a_o)
            g = np.tanh(a_g)
            c_new = f * c + i * g
            tc = np.tanh(c_new)
            return o * tc, c_new, (x_t, h, c, (a_i, a_f, a_g, a_o), (i, f, g, o), tc)
        # GRU
        if self.reset_after:
            b_in, b_rec = b[0], b[1]
        else:
            b_in, b_rec = b, np.zeros_like(b)
        ax = x_t @ W_x + b_in
        a_z, a_r, a_h = np.split(ax, 3, axis=1)
        W_hzr, W_hh = W_h[:, :2 * H], W_h[:, 2 * H:]
        m = h @ W_hzr + b_rec[:2 * H]
        z, r = self.act(a_z + m[:, :H]), self.act(a_r + m[:, H:])
        if self.reset_formula:
            m_h = h @ W_hh + b_rec[2 * H:]
            hh = np.tanh(a_h + r * m_h)
            reset = m_h
        else:
            reset = r * h
            hh = np.tanh(a_h + reset @ W_hh + b_rec[2 * H:])
        if "update-swapped" in self.faults:
            h_new = z * hh + (1 - z) * h
        else:
            h_new = z * h + (1 - z) * hh
        return h_new, None, (x_t, h, (a_z + m[:, :H], a_r + m[:, H:]), (z, r), hh, reset)

    def backward(self, params, cache, douts):
        p, caches, (N, T, D) = cache
        W_h = p["W_h"]
        dh_seq = douts[0]
        dh_next, dc_next = douts[1], (douts[2] if self.kind == "lstm" else None)
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dx = np.zeros((N, T, D), dtype=dh_seq.dtype)
        steps = list(reversed(range(T)))
        if "bptt-drop-last" in self.faults:
            steps = steps[1:]
        if "bptt-drop-first" in self.faults:
            steps = steps[:-1]
        carry_h, carry_c = self.no_carry.get("h"), self.no_carry.get("c")
        for t in steps:
            dh = (0 if "no-dh-seq" in self.faults else dh_seq[:, t]) + dh_next
            if carry_h is not None and (t != T - 1 or "last" in carry_h):
                dh = dh_seq[:, t].copy()
            if carry_c is not None and (t != T - 1 or "last" in carry_c):
                dc_next = np.zeros_like(dc_next)
            dx[:, t], dh_next, dc_next, step = self._step_back(p, caches[t], dh, dc_next)
            for k, g in step.items():
                grads[k] += g
        grads = {k: self._cols(v, W_h.shape[0], inverse=True) for k, v in grads.items()}
        if carry_h is not None and "zero0" in carry_h:
            dh_next = np.zeros_like(dh_next)
        if carry_c is not None and "zero0" in carry_c:
            dc_next = np.zeros_like(dc_next)
        dstates = (dh_next,) + ((dc_next,) if self.kind == "lstm" else ())
        return grads, (dx, *dstates)

    def _step_back(self, p, cache, dh, dc):
        W_x, W_h = p["W_x"], p["W_h"]
        if self.kind == "simple_rnn":
            x_t, h_prev, h = cache
            da = dh * self.dtanh(h)
            return (da @ W_x.T, da @ W_h.T, None,
                    {"W_x": x_t.T @ da, "W_h": h_prev.T @ da, "b": da.sum(axis=0)})
        if self.kind == "lstm":
            x_t, h_prev, c_prev, (a_i, a_f, a_g, a_o), (i, f, g, o), tc = cache
            do = dh * tc
            dc = dc + dh * o * self.dtanh_c(tc)
            da = np.concatenate([dc * g * self.dact(i, a_i), dc * c_prev * self.dact(f, a_f),
                                 dc * i * self.dtanh_g(g), do * self.dact(o, a_o)], axis=1)
            return (da @ W_x.T, da @ W_h.T, dc * f,
                    {"W_x": x_t.T @ da, "W_h": h_prev.T @ da, "b": da.sum(axis=0)})
        x_t, h_prev, (a_z, a_r), (z, r), hh, reset = cache
        H = h_prev.shape[1]
        if "update-swapped" in self.faults:
            dz, dhh, dh_prev = dh * (hh - h_prev), dh * z, dh * (1 - z)
        else:
            dz, dhh, dh_prev = dh * (h_prev - hh), dh * (1 - z), dh * z
        da_z = dz * self.dact(z, a_z)
        da_h = dhh * self.dtanh(hh)
        W_hzr, W_hh = W_h[:, :2 * H], W_h[:, 2 * H:]
        if self.reset_formula:
            m_h = reset
            da_r = da_h * m_h * self.dact(r, a_r)
            drec = np.concatenate([da_z, da_r, da_h * r], axis=1)
            dh_prev = dh_prev + drec @ W_h.T
            dW_h = h_prev.T @ drec
            db_rec = drec.sum(axis=0)
        else:
            d_rh = da_h @ W_hh.T
            da_r = d_rh * h_prev * self.dact(r, a_r)
            dh_prev = dh_prev + d_rh * r + np.concatenate([da_z, da_r], axis=1) @ W_hzr.T
            dW_h = np.concatenate([h_prev.T @ da_z, h_prev.T @ da_r, reset.T @ da_h], axis=1)
            db_rec = np.concatenate([da_z, da_r, da_h], axis=1).sum(axis=0)
        da = np.concatenate([da_z, da_r, da_h], axis=1)
        if self.reset_after:        # two bias rows, the recurrent one its own parameter
            db = np.stack([da.sum(axis=0), db_rec])
        else:                       # one bias, added on the input side
            db = da.sum(axis=0)
        return da @ W_x.T, dh_prev, None, {"W_x": x_t.T @ da, "W_h": dW_h, "b": db}


class FaultyBatchNormalization(normalization.BatchNormalization):
    """BatchNormalization with the classic port and hand-written mistakes switchable."""

    def __init__(self, faults=frozenset(), **options):
        super().__init__(**options)
        self.faults = faults

    def forward(self, params, x, training=True):
        always = "bn-always-training" in self.faults
        stats = training or always or "bn-batch-stats-in-inference" in self.faults
        y, cache = super().forward(params, x, training=stats)
        if stats and "bn-unbiased-normalize" in self.faults:
            xhat, _, mu, var, M, _ = cache
            var = var * M / (M - 1)
            inv_std = 1.0 / np.sqrt(var + self.epsilon)
            xhat = (x - mu) * inv_std
            y = params["gamma"] * xhat + params["beta"] if "gamma" in params else xhat
            cache = (xhat, inv_std, mu, var * (M - 1) / M, M, True)
        xhat, inv_std, mu, var, M, _ = cache
        through_stats = (training or always) and "bn-no-stat-grad" not in self.faults
        return y, (xhat, inv_std, mu, var, M, through_stats)

    def updated_state(self, params, cache, training=True, unbiased_variance=False):
        if not training or "bn-no-update" in self.faults:
            return {"moving_mean": params["moving_mean"],
                    "moving_variance": params["moving_variance"]}
        _, _, mu, var, M, _ = cache
        if "bn-unbiased-update" in self.faults:
            var = var * M / (M - 1)
        m = 1 - self.momentum if "bn-momentum-backwards" in self.faults else self.momentum
        return {"moving_mean": m * params["moving_mean"] + (1 - m) * mu,
                "moving_variance": m * params["moving_variance"] + (1 - m) * var}


class FaultyEmbedding(embedding.Embedding):
    def __init__(self, faults=frozenset(), **options):
        self.faults = faults

    def backward(self, params, x, G):
        if "emb-repeats-overwrite" not in self.faults:
            return super().backward(params, x, G)
        d = np.zeros_like(params["embeddings"])
        d[x] += G                        # buffered: one write per distinct row
        return {"embeddings": d}, None


def faulty(decl, faults: frozenset):
    """A scratch layer class (built with the layer's options) computing ``decl`` with the
    layer faults in ``faults`` switched on."""
    name = decl.name

    def make(**options):
        if name == "dense":
            return FaultyDense(faults, **options)
        if name in ACTIVATION_FAULTS:
            return FaultyActivation(name, faults)
        if name == "conv2d":
            return FaultyConv2D(faults, **options)
        if name == "maxpool2d":
            return FaultyMaxPool2D(faults, **options)
        if name == "flatten":
            return FaultyFlatten(faults)
        if name == "batchnorm":
            return FaultyBatchNormalization(faults, **options)
        if name == "embedding":
            return FaultyEmbedding(faults)
        if decl.recurrent:
            return FaultyRecurrent(name, faults, **{k: v for k, v in options.items()
                                                    if k == "reset_after"})
        raise KeyError(name)
    return make


def has_faulty(decl) -> bool:
    return decl.name in ("dense", "conv2d", "maxpool2d", "flatten", "batchnorm", "embedding",
                         *ACTIVATION_FAULTS) or decl.recurrent


# --- gradient faults: on what backward returns, any layer --------------------------------------
FACTORS = {"N": lambda d: d["N"], "1/N": lambda d: 1 / d["N"],
           "T": lambda d: d.get("T"), "1/T": lambda d: 1 / d["T"] if d.get("T") else None,
           "N*T": lambda d: d["N"] * d["T"] if d.get("T") else None,
           "1/(N*T)": lambda d: 1 / (d["N"] * d["T"]) if d.get("T") else None,
           "area": lambda d: d.get("area"), "1/area": lambda d: 1 / d["area"]
           if d.get("area") else None}
FIXES = {"N": "the loss is a sum over the batch here: do not divide by N",
         "1/N": "sum over the batch: do not average the gradient",
         "T": "do not average over time", "1/T": "sum over the time steps",
         "N*T": "sum over samples and steps", "1/(N*T)": "sum, do not average",
         "area": "each window element gets G / (ph * pw)",
         "1/area": "divide by the window's area once"}


@dataclass(frozen=True)
class GradientFault:
    """A mistake in what backward returns for one tensor: a sign, a factor of the batch size
    (or steps, or a pool's area: sum vs mean), or a square gradient transposed. The same
    mistake in every case: the factor is computed from each case's sizes (``dims``)."""

    tensor: str        # "grad:lstm.W_x", "grad:x"
    kind: str          # "sign", "scale", "transpose"
    label: str = ""    # the factor's name: "N", "1/N", "T", ...

    def apply(self, a: np.ndarray, dims: dict):
        if self.kind == "sign":
            return -a
        if self.kind == "transpose":
            return a.T if a.ndim == 2 and a.shape[0] == a.shape[1] else None
        factor = FACTORS[self.label](dims)
        return None if factor is None or factor == 1 else a * factor

    def says(self) -> str:
        t = self.tensor.split(":", 1)[1].rsplit(".", 1)[-1]
        if self.kind == "sign":
            return f"d{t} has the wrong sign"
        if self.kind == "transpose":
            return f"d{t} is the transpose of the right gradient"
        return f"d{t} is {self.label} times the right one"

    def fix(self) -> str:
        t = self.tensor.split(":", 1)[1].rsplit(".", 1)[-1]
        if self.kind == "sign":
            return f"return +d{t}: the chain rule's product, not its negative"
        if self.kind == "transpose":
            return f"d{t} has the layout of {t} itself (e.g. dW = x.T @ G for y = x @ W)"
        return FIXES[self.label]


def gradient_faults(tensors, recurrent: bool, pooled: bool) -> list:
    """Every sign flip, sum-vs-mean factor and transpose of the gradients named in
    ``tensors``."""
    labels = ["N", "1/N"] + (["T", "1/T", "N*T", "1/(N*T)"] if recurrent else []) + \
        (["area", "1/area"] if pooled else [])
    out = []
    for name in tensors:
        if not name.startswith("grad:"):
            continue
        out.append(GradientFault(name, "sign"))
        out += [GradientFault(name, "scale", label) for label in labels]
        out.append(GradientFault(name, "transpose"))
    return out
