"""The real ``torch.optim`` optimizers, built from a crossframe ``OptimizerConfig``, and the
torch side of a training run.

The translation (crossframe setting -> torch argument, e.g. ``beta1`` -> ``betas[0]``,
``rho`` -> ``alpha``) is declared as data in ``crossframe.training.config``; ``build`` only
applies it. torch keeps every setting as a Python float and applies it in the parameter's dtype,
so float64 training needs nothing special here.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from .engine import load_state, make_step, to_tensor


def build(config, params) -> torch.optim.Optimizer:
    """``torch.optim.<Class>(params, **translated settings)`` for ``config``."""
    return getattr(torch.optim, config.declaration.torch)(params, **config.torch_kwargs())


@contextlib.contextmanager
def default_dtype(dtype: str):
    """torch.get_default_dtype() set to ``dtype`` for the block, then restored. torch creates
    some optimizer state in the default dtype (NAdam's mu_product, torch/optim/nadam.py), so a
    float64 model stepped under the default float32 rounds its step size at ~6e-8."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        yield
    finally:
        torch.set_default_dtype(before)


class Trainer:
    """A torch module, loaded once, and a torch.optim optimizer over its parameters.

    The module keeps its own weights between steps; ``weights()`` reads them back.
        step(inputs, target) -> loss    one forward + backward (the engine's ``make_step``,
                                        the pass ``crossframe check`` verifies), then
                                        ``optimizer.step()``; the loss is the one before the update
        weights() -> {name: array}      the state_dict, torch names and layouts
        predict(inputs) -> {output: array}
    ``inputs`` are in torch's names and layouts (the mapping's ``inputs_to_framework``).
    ``frozen``: parameter names held fixed (``requires_grad_(False)``, left out of the
    optimizer), e.g. ``lstm.bias_hh_l0`` when the whole recurrent bias lives in ``bias_ih``.
    A decoupled weight decay the torch class has no argument for is applied as torch's AdamW
    does, ``p.mul_(1 - lr wd)`` before ``step()``.
    """

    def __init__(self, module: torch.nn.Module, weights: dict, config, loss: str, dtype: str,
                 frozen=()):
        load_state(module, weights)
        self.module, self.loss, self.dtype = module, loss, dtype
        params = dict(module.named_parameters())
        unknown = set(frozen) - set(params)
        assert not unknown, f"frozen {sorted(unknown)}: no such parameters"
        for name in frozen:
            params[name].requires_grad_(False)
        self.params = [p for p in params.values() if p.requires_grad]
        self.optimizer = build(config, self.params)
        self.decay = config.by_hand("torch").get("weight_decay", 0.0)

    def step(self, inputs: dict, target) -> np.ndarray:
        _, value, _ = make_step(self.module, inputs, target, {}, self.loss, self.dtype)()
        with torch.no_grad(), default_dtype(self.dtype):
            if self.decay:
                lr = self.optimizer.param_groups[0]["lr"]
                for p in self.params:
                    p.mul_(1 - lr * self.decay)
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

    # -- the optimizer's running state (crossframe.training.handover translates it) -----------
    def _named_optimizer_params(self) -> list[tuple[str, torch.Tensor]]:
        """(name, parameter) in the order torch's state_dict numbers them: parameter groups in
        order, each group's parameters in order (torch/optim/optimizer.py, ``state_dict``)."""
        names = {id(p): n for n, p in self.module.named_parameters()}
        return [(names[id(p)], p) for group in self.optimizer.param_groups
                for p in group["params"]]

    def optimizer_state(self) -> dict:
        """torch's own optimizer state, keyed by parameter name: ``{name: {key: array}}``.

        This is ``optimizer.state_dict()["state"]`` with each parameter's index replaced by its
        module name (``lstm.bias_ih_l0``): the keys are torch's (``momentum_buffer``,
        ``exp_avg``, ``exp_avg_sq``, ``square_avg``, ``grad_avg``, ``sum``, ``step``, ...), every
        buffer a NumPy copy in its parameter's torch shape, ``step`` (torch keeps one per
        parameter, a 0-d float tensor) a 0-d array. A parameter torch has no state for yet
        (it creates state on the first ``step()``; SGD without momentum never) is absent.
        """
        packed = self.optimizer.state_dict()["state"]
        return {name: {k: np.array(v.detach().cpu().numpy() if torch.is_tensor(v) else v)
                       for k, v in packed[i].items() if v is not None}
                for i, (name, _) in enumerate(self._named_optimizer_params()) if i in packed}

    def load_optimizer_state(self, state: dict) -> None:
        """Replace the optimizer's state by ``state`` (the form ``optimizer_state`` returns),
        through ``optimizer.load_state_dict`` (which casts buffers to each parameter's dtype and
        leaves ``step`` as given). Arrays are copied: the optimizer never writes into them.
        Parameters ``state`` does not name start afresh, as torch starts them.

        Raises KeyError for a name that is not a parameter of this optimizer, ValueError for a
        buffer (not 0-d, as ``step`` and NAdam's ``mu_product`` are) whose shape is not its
        parameter's.
        """
        params = self._named_optimizer_params()
        known = dict(params)
        unknown = sorted(set(state) - set(known))
        if unknown:
            raise KeyError(f"optimizer state for {unknown}: not parameters of this torch "
                           f"optimizer ({sorted(known)})")
        packed = self.optimizer.state_dict()
        packed["state"] = {}
        for i, (name, p) in enumerate(params):
            if name not in state:
                continue
            slots = {}
            for key, value in state[name].items():
                value = np.asarray(value)
                if value.ndim and value.shape != tuple(p.shape):  # 0-d: step, mu_product
                    raise ValueError(f"{name}.{key}: torch shape {tuple(p.shape)} expected, "
                                     f"got {value.shape}")
                slots[key] = torch.tensor(np.array(value))
            packed["state"][i] = slots
        self.optimizer.load_state_dict(packed)
