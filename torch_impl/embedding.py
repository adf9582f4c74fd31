"""The embedding table in PyTorch: nn.Embedding(V, E), weight (V, E) = Keras' embeddings."""
from __future__ import annotations

from torch import nn

from crossframe import layers as L


class Embedding(nn.Embedding):
    declaration = L.Embedding

    def __init__(self, cfg):
        super().__init__(cfg.opts["input_dim"], cfg.opts["output_dim"])
