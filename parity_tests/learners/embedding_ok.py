# Embedding: a table lookup; the table's gradient adds every occurrence of an id.
import numpy as np


def forward(params, x):
    return params["embeddings"][x], x


def backward(params, ids, dy):
    table = params["embeddings"]
    d = np.zeros_like(table)
    for v in range(table.shape[0]):
        d[v] = dy[ids == v].sum(axis=0)
    return {"embeddings": d}, None
