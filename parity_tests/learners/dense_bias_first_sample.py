# MISTAKE: db = dy[0] (first sample only) instead of the sum over the batch.


def forward(params, x):
    y = x @ params["W"] + params["b"]
    return y, x


def backward(params, cache, dy):
    x = cache
    dW = x.T @ dy
    db = dy[0].copy()
    dx = dy @ params["W"].T
    return {"W": dW, "b": db}, dx
