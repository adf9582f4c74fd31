# MISTAKE: dh from step t+1 is not carried to step t (only dh_seq[:, t], plus dh_last at the
# last step).
import numpy as np


def forward(params, x, h0):
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    h = h0
    hs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        hs.append(h)
    h_seq = np.stack(hs, axis=1)
    return (h_seq, h.copy()), (x, h0, h_seq)


def backward(params, cache, douts):
    W_x, W_h = params["W_x"], params["W_h"]
    x, h0, h_seq = cache
    dh_seq, dh_last = douts
    T = x.shape[1]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dx = np.zeros_like(x)
    dh_next = dh_last
    for t in reversed(range(T)):
        dh = dh_seq[:, t] + (dh_next if t == T - 1 else 0.0)
        h = h_seq[:, t]
        h_prev = h_seq[:, t - 1] if t > 0 else h0
        da = dh * (1.0 - h * h)
        grads["W_x"] += x[:, t].T @ da
        grads["W_h"] += h_prev.T @ da
        grads["b"] += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_next = da @ W_h.T
    return grads, (dx, dh_next)
