# MISTAKE: dW is divided by N (the batch size).


def forward(params, x):
    y = x @ params["W"] + params["b"]
    return y, x


def backward(params, cache, dy):
    x = cache
    dW = x.T @ dy / float(x.shape[0])
    db = dy.sum(axis=0)
    dx = dy @ params["W"].T
    return {"W": dW, "b": db}, dx
