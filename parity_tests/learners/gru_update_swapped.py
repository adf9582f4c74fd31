# MISTAKE: h = z * hh + (1 - z) * h_prev instead of z * h_prev + (1 - z) * hh; backward consistent.
import numpy as np

ORDER = ("z", "r", "h")


def _sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _blocks(params):
    """The recurrent kernel and bias, split per gate."""
    Wr = dict(zip(ORDER, np.split(params["W_h"], 3, axis=1)))
    br = dict(zip(ORDER, np.split(params["b"][1], 3)))
    return Wr, br


def forward(params, x, h0, reset_after=True):
    if not reset_after:
        raise NotImplementedError("only reset_after=True")
    W_x, b = params["W_x"], params["b"]
    Wr, br = _blocks(params)
    h = h0
    hs, steps = [], []
    for t in range(x.shape[1]):
        a = dict(zip(ORDER, np.split(x[:, t] @ W_x + b[0], 3, axis=1)))
        z = _sigmoid(a["z"] + h @ Wr["z"] + br["z"])
        r = _sigmoid(a["r"] + h @ Wr["r"] + br["r"])
        m_h = h @ Wr["h"] + br["h"]
        hh = np.tanh(a["h"] + r * m_h)
        steps.append((h, z, r, m_h, hh))
        h = z * hh + (1.0 - z) * h
        hs.append(h)
    return (np.stack(hs, axis=1), h.copy()), (x, steps)


def backward(params, cache, douts, reset_after=True):
    W_x = params["W_x"]
    Wr, br = _blocks(params)
    x, steps = cache
    dh_seq, dh_last = douts
    dW_x = np.zeros_like(W_x)
    db = np.zeros_like(params["b"])
    dWr = {k: np.zeros_like(v) for k, v in Wr.items()}
    dbr = {k: np.zeros_like(v) for k, v in br.items()}
    dx = np.zeros_like(x)
    dh_next = dh_last
    for t in reversed(range(x.shape[1])):
        h_prev, z, r, m_h, hh = steps[t]
        dh = dh_seq[:, t] + dh_next
        d_hh = dh * z * (1.0 - hh * hh)          # at hh's pre-activation
        d_in = {"z": dh * (hh - h_prev) * z * (1.0 - z),
                "r": d_hh * m_h * r * (1.0 - r),
                "h": d_hh}
        d_rec = {"z": d_in["z"], "r": d_in["r"], "h": d_hh * r}
        da = np.concatenate([d_in[k] for k in ORDER], axis=1)
        dW_x += x[:, t].T @ da
        db[0] += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_prev = dh * (1.0 - z)
        for k in ORDER:
            dWr[k] += h_prev.T @ d_rec[k]
            dbr[k] += d_rec[k].sum(axis=0)
            dh_prev = dh_prev + d_rec[k] @ Wr[k].T
        dh_next = dh_prev
    db[1] = np.concatenate([dbr[k] for k in ORDER])
    grads = {"W_x": dW_x, "W_h": np.concatenate([dWr[k] for k in ORDER], axis=1), "b": db}
    return grads, (dx, dh_next)
