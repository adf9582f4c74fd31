# MISTAKE: dW is returned transposed.


def forward(params, x):
    y = x @ params["W"] + params["b"]
    return y, x


def backward(params, cache, dy):
    x = cache
    dW = x.T @ dy
    db = dy.sum(axis=0)
    dx = dy @ params["W"].T
    return {"W": dW.T.copy(), "b": db}, dx
