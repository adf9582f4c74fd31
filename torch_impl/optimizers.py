"""The real ``torch.optim`` optimizers, built from a crossframe ``OptimizerConfig``, and the
torch side of a training run.

The translation (crossframe setting -> torch argument, e.g. ``beta1`` -> ``betas[0]``,
``rho`` -> ``alpha``) is declared as data in ``crossframe.training.config``; ``build`` only
applies it. torch keeps every setting as a Python float and applies it in the parameter's dtype,
so float64 training needs nothing special here.
"""
from __future__ import annotations

import numpy as np
import torch

from .engine import load_state, make_step, to_tensor


def build(config, params) -> torch.optim.Optimizer:
    """``torch.optim.<Class>(params, **translated settings)`` for ``config``."""
    return getattr(torch.optim, config.declaration.torch)(params, **config.torch_kwargs())


class Trainer:
    """A torch module, loaded once, and a torch.optim optimizer over its parameters.

    The module keeps its own weights between steps; ``weights()`` reads them back.
        step(inputs, target) -> loss    one forward + backward (the engine's ``make_step``,
                                        the pass ``crossframe check`` verifies), then
                                        ``optimizer.step()``; the loss is the one before the update
        weights() -> {name: array}      the state_dict, torch names and layouts
        predict(inputs) -> {output: array}
    ``inputs`` are in torch's names and layouts (the mapping's ``inputs_to_framework``).
    """

    def __init__(self, module: torch.nn.Module, weights: dict, config, loss: str, dtype: str):
        load_state(module, weights)
        self.module, self.loss, self.dtype = module, loss, dtype
        self.optimizer = build(config, module.parameters())

    def step(self, inputs: dict, target) -> np.ndarray:
        _, value, _ = make_step(self.module, inputs, target, {}, self.loss, self.dtype)()
        self.optimizer.step()
        return value.detach().numpy()

    def weights(self) -> dict:
        return {k: v.detach().numpy().copy() for k, v in self.module.state_dict().items()}

    def state(self) -> dict:
        """Every buffer (running statistics), torch names."""
        return {k: v.detach().numpy().copy() for k, v in self.module.named_buffers()}

    def predict(self, inputs: dict) -> dict:
        self.module.eval()                      # inference: running statistics, no dropout
        try:
            with torch.no_grad():
                outputs = self.module(**{k: to_tensor(v) for k, v in inputs.items()})
        finally:
            self.module.train()
        return {k: v.numpy() for k, v in outputs.items()}
