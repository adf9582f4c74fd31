"""The torch model of a Sequential: each layer a module under its layer name, applied in order.

Parameters are therefore named ``<layer>.<torch name>`` (``dense1.weight``,
``lstm.weight_ih_l0``), which is what the declared mappings name. Images stay NCHW from the
input to the output (the model's input and output entries convert); a recurrent layer returns
what its declaration's ``layer_outputs`` names (``(h_seq, h_last[, c_last])``; stacked or
bidirectional ``(h_seq, y_last, h_n[, c_n])``) and the next layer gets ``passed_on``: ``h_seq``
with ``return_sequences``, else the output at the last step. A mask (N, T) made by a Masking
module or an Embedding with mask_zero (``compute_mask``) goes to the recurrent layers the
Sequential says receive it, which pack the batch with its lengths (torch has no masks).
"""
from __future__ import annotations

from torch import nn


class Model(nn.Module):
    """forward(x, **states) -> {output name: tensor}; states by model input name (``h0``)."""

    def __init__(self, sequential, classes: dict):
        super().__init__()
        self.sequential = sequential
        for cfg in sequential.layers:
            self.add_module(cfg.name, classes[cfg.decl.name](cfg))

    def forward(self, x, **states):
        h, outputs, mask = x, {}, None
        masked = getattr(self.sequential, "masked", frozenset())
        for cfg in self.sequential.layers:
            module = getattr(self, cfg.name)
            if cfg.name not in masked:          # the mask ends where Keras drops it
                mask = None
            made = module.compute_mask(h) if hasattr(module, "compute_mask") else None
            if not cfg.decl.recurrent:
                h = module(h)
                mask = made if made is not None else mask
                continue
            extra = {"mask": mask} if mask is not None else {}
            outs = module(h, *[states[s] for s in cfg.state_inputs if s in states], **extra)
            named = dict(zip(cfg.decl.layer_outputs(cfg.opts), outs))
            h = named[cfg.decl.passed_on(cfg.opts)]
            if cfg.last and cfg.opts["return_state"]:
                outputs = {n: named[n] for n in cfg.decl.outputs(cfg.opts)}
        return outputs or {self.sequential.output_name: h}
