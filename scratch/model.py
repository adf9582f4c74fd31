"""The scratch model: a Sequential's layers run in order, backward in visibly reversed order.

The runner does the bookkeeping, so a layer writes only its maths (``scratch.base``):

- it keeps ``{canonical name: array}`` parameters (``dense1.W``) and hands each layer its own
  under their local names (``W``);
- forward calls each layer, keeps its cache, and checks that the output has the shape the
  declaration promised (``crossframe.sequential``) and the input's dtype;
- backward calls the layers in reverse with the gradient of their output and checks that every
  gradient has the shape and dtype of what it is the gradient of, naming the layer and the file
  that implements it when one does not (``ProtocolError``).

Recurrent layers get their initial states (the model's inputs ``h0``/``c0`` where given, zeros
otherwise) and return what their declaration's ``layer_outputs`` names: ``(h_seq, h_last[,
c_last])``, or ``(h_seq, y_last, h_last[, c_last])`` for a stacked or bidirectional layer (states
then (N, num_layers * directions, H)); the layer after one reads ``passed_on``: ``h_seq`` with
``return_sequences``, else ``h_last`` (``y_last``).

The mask (crossframe.layers.masking): a layer with ``compute_mask`` (Masking, an Embedding with
mask_zero) makes m (N, T) from its input; it travels to the layers the Sequential says receive
it (``masked``), and a recurrent layer gets it as ``forward(..., mask=m)``.

The model protocol the engine runs:
    params   {canonical name: array}       grads    {canonical name: array}, after backward
    load(weights)                          set every parameter (names and shapes checked)
    forward(**inputs) -> {output: array}   backward({output: dL/d(output)}) -> {input: dL/d(input)}
"""
from __future__ import annotations

import inspect

import numpy as np


class ProtocolError(AssertionError):
    """A layer returned something of the wrong shape, dtype or kind (the message says which)."""


def source_of(obj) -> str:
    """``crossframe/scratch/dense.py::Dense`` for a layer instance (or the file a learner wrote)."""
    cls = obj if inspect.isclass(obj) else type(obj)
    if isinstance(getattr(cls, "source", None), str):      # a learner's layer: their file
        return f"{cls.source}::{cls.__name__}"
    try:
        path = inspect.getsourcefile(cls) or "?"
    except TypeError:
        path = "?"
    return f"{_short(path)}::{cls.__name__}"


def _short(path: str) -> str:
    marker = "crossframe/"
    if "/scratch/" in path and marker not in path:
        return "crossframe/scratch/" + path.split("/scratch/", 1)[1]
    return path[path.index(marker):] if marker in path else path


def _check(what: str, got, want_shape, want_dtype, where: str, batch: int | None = None) -> None:
    if not isinstance(got, np.ndarray):
        raise ProtocolError(f"{where}: {what} is {type(got).__name__}, not a NumPy array")
    if got.shape != tuple(want_shape):
        hint = " -- looks transposed" if got.shape == tuple(want_shape)[::-1] else ""
        if batch is not None and got.shape == (batch, *want_shape):
            hint = " -- looks like one gradient per sample: sum them over the batch"
        raise ProtocolError(f"{where}: {what} has shape {got.shape}, expected "
                            f"{tuple(want_shape)}{hint}")
    if got.dtype != want_dtype:
        raise ProtocolError(f"{where}: {what} has dtype {got.dtype}, expected {want_dtype}")


class Model:
    """A Sequential (crossframe.sequential) run by scratch layers.

    ``classes`` maps a declaration name to the scratch class implementing it (the textbook
    layers, or their fast twins: crossframe.frameworks.implementations)."""

    def __init__(self, sequential, dtype: str, classes: dict) -> None:
        self.sequential, self.dtype = sequential, np.dtype(dtype)
        self.layers = []
        for cfg in sequential.layers:
            cls = classes[cfg.decl.name]
            self.layers.append((cfg, cls(**cfg.opts)))
        self.params = {p.name: np.zeros(p.shape, dtype=self.dtype) for p in sequential.params()}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        # non-trainable state after the last forward pass (running statistics), canonical
        self.state: dict[str, np.ndarray] = {}

    def where(self, cfg, layer) -> str:
        return f"{cfg.where()} in {source_of(layer)}"

    def load(self, weights: dict[str, np.ndarray]) -> None:
        assert set(weights) == set(self.params), (
            f"weights {sorted(weights)} do not match parameters {sorted(self.params)}")
        for name, value in weights.items():
            assert value.shape == self.params[name].shape, f"{name}: {value.shape}"
            self.params[name] = value

    def _local(self, cfg, role: str | None = None) -> dict[str, np.ndarray]:
        return {p.name[len(cfg.name) + 1:]: self.params[p.name] for p in cfg.params
                if role is None or p.role == role}

    # -- forward -----------------------------------------------------------------------------
    def forward(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        h = inputs["x"]
        N = h.shape[0]
        self._caches, self._given = [], [k for k in inputs if k != "x"]
        self.state = {p.name: self.params[p.name] for p in self.sequential.params("state")}
        outputs, mask = {}, None
        masked = getattr(self.sequential, "masked", frozenset())
        for cfg, layer in self.layers:
            where = self.where(cfg, layer)
            kwargs = {"training": self.training} if cfg.decl.mode_dependent else {}
            if cfg.name not in masked:         # the mask (N, T) ends where Keras drops it
                mask = None
            made = (layer.compute_mask(h) if hasattr(layer, "compute_mask") else None)
            if cfg.decl.recurrent and mask is not None:
                kwargs["mask"] = mask
            if cfg.decl.recurrent:
                shape = (N, *cfg.decl.state_shape(cfg.opts))
                states = [inputs[s] if s in inputs else np.zeros(shape, dtype=h.dtype)
                          for s in (cfg.state_inputs or cfg.decl.states(cfg.opts))]
                outs, cache = layer.forward(self._local(cfg), h, *states, **kwargs)
                self._check_recurrent_outputs(outs, cfg, N, h.dtype, where)
                named = dict(zip(cfg.decl.layer_outputs(cfg.opts), outs))
                h = named[cfg.decl.passed_on(cfg.opts)]
                if cfg.last and cfg.opts["return_state"]:
                    outputs = {n: named[n] for n in cfg.decl.outputs(cfg.opts)}
            else:
                x_dtype = self.dtype          # (an Embedding's x holds integer ids)
                h, cache = layer.forward(self._local(cfg), h, **kwargs)
                _check("forward output", h, (N, *cfg.flow_out.shape), x_dtype, where)
                if any(p.role == "state" for p in cfg.params):   # running statistics
                    new = layer.updated_state(self._local(cfg), cache, **kwargs)
                    for key, value in new.items():
                        _check(f"state {key}", value, self.params[f"{cfg.name}.{key}"].shape,
                               x_dtype, where)
                        self.state[f"{cfg.name}.{key}"] = value
            self._caches.append((cfg, layer, cache, h))
            mask = made if made is not None else mask       # a Masking / mask_zero Embedding
        return outputs or {self.sequential.output_name: h}

    @staticmethod
    def _check_recurrent_outputs(outs, cfg, N, dtype, where):
        names = cfg.decl.layer_outputs(cfg.opts)
        if not isinstance(outs, tuple) or len(outs) != len(names):
            raise ProtocolError(f"{where}: forward should return a tuple of {len(names)} arrays "
                                f"({', '.join(names)}), got {type(outs).__name__}")
        shapes = cfg.decl.output_shapes(cfg.opts, cfg.flow_in)
        for name, out in zip(names, outs):
            _check(f"forward output {name}", out, (N, *shapes[name]), dtype, where)

    # -- backward ----------------------------------------------------------------------------
    def backward(self, grad_outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = None
        self.grads, input_grads = {}, {}
        self.squares = {}      # per-occurrence squared slices, where a layer keeps them
        for cfg, layer, cache, out in reversed(self._caches):
            where = self.where(cfg, layer)
            params = self._local(cfg, "trainable")
            if cfg.decl.recurrent:
                names = cfg.decl.layer_outputs(cfg.opts)
                douts = dict(zip(names, self._recurrent_outs(cfg, out)))
                if cfg.last and cfg.opts["return_state"]:
                    for name in names:
                        if name in grad_outputs:
                            douts[name] = grad_outputs[name]
                else:
                    if g is None:
                        g = grad_outputs[self.sequential.output_name]
                    douts[cfg.decl.passed_on(cfg.opts)] = g
                grads, dins = layer.backward(params, cache, tuple(douts.values()))
                state_names = cfg.decl.states(cfg.opts)
                k = len(state_names) + 1
                if not isinstance(dins, tuple) or len(dins) != k:
                    raise ProtocolError(f"{where}: backward should return (grads, (dx, "
                                        f"{', '.join('d' + s for s in state_names)})), got "
                                        f"{type(dins).__name__}")
                g, dstates = dins[0], dins[1:]
                state = (out.shape[0], *cfg.decl.state_shape(cfg.opts))
                for name, d in zip(state_names, dstates):
                    _check(f"gradient of {name}", d, state, self.dtype, where)
                for s, d in zip(cfg.state_inputs, dstates):
                    if s in self._given:
                        input_grads[s] = d
            else:
                if g is None:
                    g = grad_outputs[self.sequential.output_name]
                grads, g = layer.backward(params, cache, g)
            self._check_grads(cfg, grads, params, where, len(grad_outputs_first(grad_outputs)))
            self.grads.update({f"{cfg.name}.{k}": v for k, v in grads.items()})
            self.squares.update({f"{cfg.name}.{k}": v
                                 for k, v in getattr(layer, "squares", {}).items()})
            if cfg.decl.takes_ids:          # integer ids: nothing to differentiate
                if g is not None:
                    raise ProtocolError(f"{where}: backward should return dx = None for "
                                        "integer ids")
                return input_grads
            want = self._input_shape(cfg)
            _check("input gradient dx", g, want, self.dtype, where)
        input_grads["x"] = g
        return input_grads

    def _input_shape(self, cfg):
        i = cfg.index
        if i == 0:
            return self._caches[0][3].shape[:1] + tuple(cfg.flow_in.shape)
        prev = self._caches[i - 1][3]
        return prev.shape

    def _recurrent_outs(self, cfg, out):
        """Zero gradients for every output the layer returns (layer_outputs), to be filled."""
        shapes = cfg.decl.output_shapes(cfg.opts, cfg.flow_in)
        return tuple(np.zeros((out.shape[0], *shapes[n]), dtype=self.dtype)
                     for n in cfg.decl.layer_outputs(cfg.opts))

    @staticmethod
    def _check_grads(cfg, grads, params, where, batch):
        if not isinstance(grads, dict) or set(grads) != set(params):
            got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise ProtocolError(f"{where}: backward returned gradients for {got}, the "
                                f"parameters are {sorted(params)}")
        for key, p in params.items():
            _check(f"gradient of {key}", grads[key], p.shape, p.dtype, where, batch)


def grad_outputs_first(grad_outputs: dict):
    return next(iter(grad_outputs.values()))
