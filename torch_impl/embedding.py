"""The embedding table in PyTorch: nn.Embedding(V, E), weight (V, E) = Keras' embeddings."""
from __future__ import annotations

from torch import nn

from crossframe import layers as L


class Embedding(nn.Embedding):
    declaration = L.Embedding

    def __init__(self, cfg):
        super().__init__(cfg.opts["input_dim"], cfg.opts["output_dim"])
        self.mask_zero = cfg.opts.get("mask_zero", False)

    def compute_mask(self, x):
        """mask_zero: (x != 0) (N, T), the lengths torch's recurrent layer packs with."""
        return (x != 0) if self.mask_zero else None
