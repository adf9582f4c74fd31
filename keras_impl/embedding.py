"""The embedding table in Keras 3: layers.Embedding(V, E), variable ``embeddings`` (V, E)."""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class Embedding:
    declaration = L.Embedding

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Embedding(cfg.opts["input_dim"], cfg.opts["output_dim"],
                                      mask_zero=cfg.opts.get("mask_zero", False),
                                      dtype=dtype, name=cfg.name)
