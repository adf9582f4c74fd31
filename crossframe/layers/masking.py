"""Masking: right-padded sequences of different lengths, and what the layers after do with them.

Shape legend: N batch, T time steps (the padded length), D features, H hidden units;
``mask (N, T)`` True at a real step; ``lengths (N,)`` the real steps of each sequence.

Keras carries a boolean mask beside the tensor: ``Masking(mask_value)`` makes it (a step is
masked when EVERY feature equals mask_value), ``Embedding(mask_zero=True)`` too (id 0 is the
padding). The layers after it receive it (crossframe.sequential computes where it goes, as
Keras 3.15 propagates it): a Dense or an activation passes it on unchanged, a recurrent layer
skips the masked steps (the state is kept: ``h_t = h_{t-1}``) and passes it on with
``return_sequences``, GlobalMaxPooling1D ignores it (Keras warns and takes the max over every
step). torch has no masks: a port packs the batch with the lengths
(``pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)``), runs the
recurrent module on the packed batch and unpacks (``pad_packed_sequence``, padding_value 0).
Packing needs right padding (the real steps first): crossframe refuses any other mask there.

Measured (Keras 3.15.1, torch 2.13), the facts the declarations and tests below pin:
- Keras SimpleRNN / LSTM / GRU: ``zero_output_for_mask=False`` by default: at a masked step
  ``h_seq`` repeats the previous output (the last real step's); Bidirectional sets
  ``zero_output_for_mask=True`` on both copies (zeros there).
- The final state is the state at each sequence's last real step, in both libraries; the
  backward direction starts at each sequence's last real step (Keras reverses x AND the mask,
  so the padded steps come first and keep the zero state; torch's packed reverse starts at
  step length - 1).
- torch's ``pad_packed_sequence`` puts padding_value (0) at padded steps, and h_n is the state
  at the last real step: torch = Keras with ``zero_output_for_mask=True``.
- GlobalAveragePooling1D with a mask averages over the real steps only (not modelled by
  crossframe yet: refused); GlobalMaxPooling1D does not support masking (ignores it).
"""
from __future__ import annotations

import numpy as np

from ..difference import Difference
from ..errors import InputError
from .base import Flow, LayerDecl, Option, number


class Masking(LayerDecl):
    """keras.layers.Masking(mask_value): y = x * m, m[n, t] = any_d(x[n, t, d] != mask_value)."""

    name, title, family, stem = "masking", "Masking", "masking", "masking"
    mask = "passes"
    keras, torch = "keras.layers.Masking", "crossframe.torch_impl.masking.Masking"
    aliases = ("mask",)
    layouts = ("sequence",)
    # the lone check: random steps are never all equal to mask_value (nothing masked: y = x);
    # parity_tests/test_masking.py runs padded batches
    example = ((5, 3), {"mask_value": 0.0})
    options = (
        Option("mask_value", 0.0, "a step whose every feature equals this value is masked "
               "(padding)", number()),
    )
    equations = (
        "m[n, t] = any_d(x[n, t, d] != mask_value)      (N, T): True at a real step\n"
        "y[n, t] = x[n, t] * m[n, t]                    (a masked step becomes 0)\n"
        "dL/dx[n, t] = G[n, t] * m[n, t]\n"
        "the mask m goes on to the layers after (a recurrent layer keeps its state where m = 0)")
    notes = (
        "Keras' Masking returns x * m and attaches m to its output; the layers after use it "
        "(a recurrent layer skips masked steps). torch has no masks: crossframe's torch model "
        "computes m the same way and packs the recurrent layer's input with lengths = m.sum(1) "
        "(pack_padded_sequence(..., batch_first=True, enforce_sorted=False)); that needs right "
        "padding (every real step before every padded one, no empty sequence).",
        "At a masked step a plain Keras recurrent layer outputs the previous output "
        "(zero_output_for_mask=False, its default), torch's pad_packed_sequence zeros; "
        "crossframe's option zero_output_for_mask on the recurrent layer picks one, and the "
        "torch side fills the carried output in by hand when it is False (a declared "
        "difference).",
    )

    def wrong_layout_fix(self, flow):
        return "Masking reads a sequence (T, D): give --input TxD"

    def output(self, opts, flow):
        return Flow(flow.shape, "sequence")

    def params(self, opts, flow):
        return []

    def produces_mask(self, opts) -> bool:
        return True

    def torch_code(self, cfg):
        return f"Masking({cfg.opts['mask_value']!r})  # crossframe.torch_impl.masking"

    def torch_imports(self, cfg):
        return ["from crossframe.torch_impl.masking import Masking"]

    def keras_code(self, cfg):
        return f"layers.Masking(mask_value={cfg.opts['mask_value']!r})"

    def torch_forward(self, cfg):
        return [f"mask = (x != {cfg.opts['mask_value']!r}).any(-1)  # (N, T): True at a real "
                "step", f"x = self.{cfg.name}(x)  # x * mask"]

    def formula(self, cfg, framework):
        return {"scratch": "m = any(x != mask_value, -1); y = x m",
                "torch": "m = (x != mask_value).any(-1); y = x * m; later layers pack with "
                         "lengths = m.sum(1)",
                "keras": "layers.Masking: y = x m, the mask attached to y"}[framework]


Masking = Masking()


# --- the mask -------------------------------------------------------------------------------
def lengths_of(mask, where: str = "the mask") -> np.ndarray:
    """lengths (N,) of a right-padding mask (N, T); an InputError for any other mask (torch's
    packing needs the real steps first) or for an empty sequence (pack_padded_sequence refuses
    length 0)."""
    mask = np.asarray(mask, dtype=bool)
    lengths = mask.sum(axis=1)
    right = np.arange(mask.shape[1])[None, :] < lengths[:, None]
    if not (mask == right).all():
        row = int(np.argmax((mask != right).any(axis=1)))
        raise InputError(f"{where}: sample {row} is not right-padded (a padded step before a "
                         "real one); torch's pack_padded_sequence needs right padding",
                         "pad every sequence at its end")
    if (lengths == 0).any():
        raise InputError(f"{where}: sample {int(np.argmin(lengths))} has no real step; torch's "
                         "pack_padded_sequence refuses length 0", "drop empty sequences")
    return lengths


def padded_batch(N: int, T: int, D: int, seed: int = 0, dtype: str = "float64",
                 lengths=None, mask_value: float = 0.0):
    """A right-padded float batch (N, T, D) and its lengths: lengths differ (the first sample
    full length, the others drawn in [1, T]), padded steps all mask_value."""
    rng = np.random.default_rng(seed)
    if lengths is None:
        lengths = np.concatenate([[T], rng.integers(1, T + 1, size=N - 1)])
    lengths = np.asarray(lengths)
    x = rng.standard_normal((N, T, D))
    x[np.arange(T)[None, :] >= lengths[:, None]] = mask_value
    return x.astype(dtype), lengths


# --- where the libraries differ -------------------------------------------------------------
def _measure_masked_outputs() -> float:
    """LSTM on a right-padded batch: Keras' default (the previous output carried into masked
    steps) against torch's pad_packed_sequence (zeros there), relative difference of h_seq."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    x, _ = padded_batch(3, 6, 2, seed=1, lengths=[6, 2, 4])
    model = "masking; lstm(units=4, return_sequences=true, zero_output_for_mask={})"
    from ..sequential import Sequential

    carry = prepare(Sequential.parse(model.format("false"), "6x2"), inputs={"x": x})
    zeros = prepare(Sequential.parse(model.format("true"), "6x2"), inputs={"x": x},
                    weights=carry.weights)
    return rel_error(run(zeros, "torch").outputs["output"], run(carry, "keras").outputs["output"])


DIFFERENCES = (
    Difference(
        "masked steps of a recurrent layer",
        torch="no masks: the batch is packed with the lengths; pad_packed_sequence puts 0 "
              "(padding_value) at every padded step, so no gradient reaches the state from "
              "there; h_n is the state at each sequence's last real step",
        keras="a mask (Masking, Embedding(mask_zero=True)); SimpleRNN / LSTM / GRU keep the "
              "state at masked steps and, by default (zero_output_for_mask=False), output the "
              "previous output there: an upstream gradient at a padded step flows into the "
              "last real step. Bidirectional sets zero_output_for_mask=True (zeros, as torch)",
        agree_when="Keras zero_output_for_mask=True (or Bidirectional); crossframe's option "
                   "zero_output_for_mask=False makes the torch side copy the last real output "
                   "into the padded steps. Final states agree either way. Measured: an LSTM's "
                   "h_seq, Keras' default against torch's packed output",
        measure=_measure_masked_outputs, layers=('simple_rnn', 'lstm', 'gru', 'masking'),
    ),
)
