"""Recurrent layers in Keras 3: SimpleRNN, LSTM, GRU (reset_after=True and False).

Shapes: N batch, T time, D in, H hidden, L num_layers, dirs 1 or 2.  x: (N, T, D);
h0 / c0: (N, H), or (N, L * dirs, H) for a stacked or bidirectional layer.

Keras' layout is the canonical one: ``kernel (D, kH)``, ``recurrent_kernel (H, kH)`` with the
gate blocks as *column* blocks (LSTM i, f, g(c), o; GRU z, r, h), one ``bias (kH,)`` — except
the GRU with ``reset_after=True`` (the default), whose bias is ``(2, kH)``: row 0 added on the
input side, row 1 on the recurrent side (inside the reset gate for the h block).
Variables live under the layer's cell: ``lstm/lstm_cell/kernel`` (Keras 3.15).

One crossframe layer is one Keras layer, or for ``num_layers`` / ``bidirectional`` a stack of
them (``Stack``): layer l is a Keras layer named ``<name>_l<l>`` (``<name>`` for l = 0), each but
the last returning sequences; with two directions each is ``Bidirectional(layer)`` of the same
name, whose copies Keras 3 names ``forward_<name>`` / ``backward_<name>``
(``lstm/forward_lstm/lstm_cell/kernel``), concatenated between layers (as torch does) and merged
by ``merge_mode`` after the last. Keras takes one initial state per layer and direction (a
Bidirectional layer: the forward ones, then the backward ones) and returns the final states
likewise: the stack slices and stacks them along crossframe's axis 1.

Every implementation here is called ``impl(h, initial_state)`` and returns a dict of the
declaration's ``layer_outputs`` names it computed: what it passes on, and with return_state the
final states.
"""
from __future__ import annotations

from crossframe import layers as L

from functools import lru_cache

from .backend import keras
from .dense import _activation


@lru_cache(maxsize=None)
def keras_activation(name: str):
    """What the layer's ``activation=`` gets: Keras' own name where it is exact in float64,
    else the exact callable of keras_impl.dense._activation (the table's; on the torch backend
    hard_sigmoid_relu6 for hard_sigmoid, the recurrent_activation too) as a named, registered
    function (Bidirectional copies its layer through get_config / from_config, which cannot
    carry a lambda)."""
    fn = _activation(name)
    if isinstance(fn, str):
        return fn

    def activation(x):
        return fn(x)

    activation.__name__ = f"crossframe_{name}"
    return keras.saving.register_keras_serializable("crossframe", activation.__name__)(
        activation)


class Stack:
    """The Keras layers of one crossframe recurrent layer, applied in the functional API."""

    def __init__(self, cfg, dtype, cls, **extra):
        self.cfg, o = cfg, cfg.opts
        self.finals = bool(o["return_state"])
        decl = cfg.decl
        self.general = decl.general(o)
        self.layers = []
        for layer in range(o["num_layers"]):
            last = layer == o["num_layers"] - 1
            name = decl.keras_layer_name(cfg, layer)
            acts = {k: keras_activation(v) for k, v in decl.activations(o).items()}
            if not o["bidirectional"]:      # Bidirectional sets zero_output_for_mask=True
                extra["zero_output_for_mask"] = o["zero_output_for_mask"]
            rnn = cls(o["units"], return_sequences=(not last) or o["return_sequences"],
                      return_state=self.finals, go_backwards=o["go_backwards"],
                      use_bias=o["use_bias"], dtype=dtype, name=name, **acts, **extra)
            if o["bidirectional"]:
                rnn = keras.layers.Bidirectional(
                    rnn, merge_mode=o["merge_mode"] if last else "concat", dtype=dtype,
                    name=name)
            self.layers.append(rnn)

    def __call__(self, h, initial_state=None) -> dict:
        cfg, decl = self.cfg, self.cfg.decl
        dirs, names = decl.directions(cfg.opts), decl.finals(cfg.opts)
        collected: dict[str, list] = {n: [] for n in names}
        for layer, rnn in enumerate(self.layers):
            state = None
            if initial_state:
                state = ([s[:, layer * dirs + d] for d in range(dirs) for s in initial_state]
                         if self.general else list(initial_state))
            # Keras 3.15 drops the mask attached to h when initial_state is given (measured:
            # the masked steps then run): hand it over explicitly
            mask = getattr(h, "_keras_mask", None)
            out = rnn(h, initial_state=state, **({"mask": mask} if mask is not None else {}))
            if self.finals:
                h, *finals = out
                for name, value in zip(names * dirs, finals):
                    collected[name].append(value)
            else:
                h = out
        outs = {decl.passed_on(cfg.opts): h}
        if self.finals:
            outs.update({n: keras.ops.stack(v, axis=1) if self.general else v[0]
                         for n, v in collected.items()})
        return outs


class SimpleRNN:
    declaration = L.SimpleRNN

    @staticmethod
    def make(cfg, dtype):
        return Stack(cfg, dtype, keras.layers.SimpleRNN)


class LSTM:
    declaration = L.LSTM

    @staticmethod
    def make(cfg, dtype):
        return Stack(cfg, dtype, keras.layers.LSTM)


class GRU:
    declaration = L.GRU

    @staticmethod
    def make(cfg, dtype):
        return Stack(cfg, dtype, keras.layers.GRU, reset_after=cfg.opts["reset_after"])
