# MISTAKE: the output sequence's gradient dh_seq is never added; only dh_last flows.
import numpy as np

ORDER = ("i", "f", "g", "o")


def _sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _gate(a):
    return _sigmoid(a)


def _gate_grad(s, a):
    """Derivative of the gate activation, from its output s and its input a."""
    return s * (1.0 - s)


def forward(params, x, h0, c0):
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    h, c = h0, c0
    hs, steps = [], []
    for t in range(x.shape[1]):
        a = dict(zip(ORDER, np.split(x[:, t] @ W_x + h @ W_h + b, 4, axis=1)))
        i, f, o = _gate(a["i"]), _gate(a["f"]), _gate(a["o"])
        g = np.tanh(a["g"])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        steps.append((h, c, a, i, f, g, o, tc))
        h, c = o * tc, c_new
        hs.append(h)
    return (np.stack(hs, axis=1), h.copy(), c.copy()), (x, steps)


def backward(params, cache, douts):
    W_x, W_h = params["W_x"], params["W_h"]
    x, steps = cache
    dh_seq, dh_last, dc_last = douts
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dx = np.zeros_like(x)
    dh_next, dc_next = dh_last, dc_last
    for t in reversed(range(x.shape[1])):
        h_prev, c_prev, a, i, f, g, o, tc = steps[t]
        dh = dh_next
        dc = dc_next + dh * o * (1.0 - tc * tc)
        d = {"i": dc * g * _gate_grad(i, a["i"]),
             "f": dc * c_prev * _gate_grad(f, a["f"]),
             "g": dc * i * (1.0 - g * g),
             "o": dh * tc * _gate_grad(o, a["o"])}
        da = np.concatenate([d[k] for k in ORDER], axis=1)
        grads["W_x"] += x[:, t].T @ da
        grads["W_h"] += h_prev.T @ da
        grads["b"] += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_next = da @ W_h.T
        dc_next = dc * f
    return grads, (dx, dh_next, dc_next)
