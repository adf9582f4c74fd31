# MISTAKE: the kernel is used transposed: y = x @ W.T (runs only when W is square).


def forward(params, x):
    y = x @ params["W"].T + params["b"]
    return y, x


def backward(params, cache, dy):
    x = cache
    dW = (x.T @ dy).T
    db = dy.sum(axis=0)
    dx = dy @ params["W"]
    return {"W": dW, "b": db}, dx
