# MISTAKE: TWO mistakes: db = dy[0] instead of the batch sum, AND dW divided by N.


def forward(params, x):
    y = x @ params["W"] + params["b"]
    return y, x


def backward(params, cache, dy):
    x = cache
    dW = x.T @ dy / float(x.shape[0])
    db = dy[0].copy()
    dx = dy @ params["W"].T
    return {"W": dW, "b": db}, dx
