"""A model as a user states it: declared layers in order, an input shape and a loss.

    from crossframe import Sequential, layers as L
    model = Sequential([L.Conv2D(filters=8, kernel_size=3, strides=2, padding="same"), L.ReLU(),
                        L.MaxPool2D(pool_size=2), L.Flatten(), L.Dense(units=10)],
                       input_shape=(28, 28, 3), loss="softmax_ce")
    model = Sequential.parse("conv2d(filters=8, kernel_size=3, strides=2, padding=same); relu; "
                             "maxpool2d(pool_size=2); flatten; dense(units=10)",
                             "28x28x3", loss="softmax_ce")

The --layers syntax: layers separated by ``;``, each ``name`` or ``name(option=value, ...)`` with
the options under their Keras names (``crossframe describe LAYER`` lists them); positional
values fill the options in their declared order (``dense(10)``); sizes read ``3`` or ``3x2``;
``true``/``false`` and bare words (``same``) are values. Layer names follow the kind's stem
(``conv``, ``pool``, ``dense``, ``lstm``...), numbered from 1 when a stem occurs more than once
(``dense1``, ``dense2``); ``name=...`` inside the parentheses sets one by hand.

Building a Sequential infers every shape (``LayerConfig.flow_in`` / ``flow_out``), names every
canonical parameter (``dense1.W``), and checks every layer against its input — a bad model is an
InputError naming the layer, not a crash in a framework. ``mapping(framework)`` assembles the
declared per-layer mappings into the model's (``crossframe.mapping.Mapping``), including the
input and output layouts torch needs (NCHW images; a flattened output in torch's order).
"""
from __future__ import annotations

import ast
import re
from .errors import InputError
from .geometry import shape as parse_shape
from .geometry import shape_text
from .layers import get as get_layer
from .layers.base import (Flow, Layer, LayerConfig, LayerDecl, ParamSpec, flatten_order,
                          flatten_text, flow_for, full_params)
from .losses import parse_loss
from .mapping import Entry, Identity, Mapping, Permute, Transpose

NCHW = Transpose((0, 3, 1, 2))  # NHWC -> NCHW
NCL = Transpose((0, 2, 1))      # NLC -> NCL (a 1-D feature map)
LAYER_AXIS = Transpose((1, 0, 2))   # (N, L*dirs, H) -> torch's (L*dirs, N, H)
SCRATCH_WHY = "scratch computes in the canonical layout"
WHY = {
    "x": {"scratch": "canonical layout",
          "torch": {"flat": "(N, F) as canonical",
                    "image": "torch image layers (Conv2d, MaxPool2d, Flatten) take NCHW",
                    "sequence": "batch_first=True: (N, T, D) as canonical"},
          "keras": {"flat": "(N, F): the canonical layout",
                    "image": "Keras image layers take NHWC (channels_last): the canonical layout",
                    "sequence": "(N, T, D); the time axis is declared None"}},
    "state": {"scratch": "(N, H); zeros when not given",
              "torch": "(N, H); the module adds torch's num_layers axis, state[None]",
              "keras": "(N, H), passed as initial_state=[h0(, c0)]"},
    "out": {"torch": {"h_seq": "output (N, T, H)", "h_last": "h_n[0]", "c_last": "c_n[0]",
                      "y_last": "the last layer's h_n (both directions' final states, merged)"},
            "keras": {"h_seq": "return_sequences=True", "h_last": "return_state=True",
                      "c_last": "return_state=True",
                      "y_last": "return_sequences=False: the output at the last step"}},
    "stacked": "torch's h_0 / c_0 are (num_layers * num_directions, N, H): the batch axis "
               "second; row l * dirs + d is layer l, direction d",
    "stacked_in": {"scratch": "(N, num_layers * directions, H), row l * dirs + d for layer l, "
                              "direction d; zeros when not given",
                   "keras": "(N, num_layers * directions, H): initial_state=[h0[:, k], ...] per "
                            "Keras layer, the forward direction's then the backward one's"},
    "stacked_out": "torch's h_n / c_n (num_layers * num_directions, N, H), batch axis second",
    "keras_stacked_out": "each Keras layer's return_state (forward, then backward), stacked on "
                         "axis 1",
}


# --- parsing the --layers syntax --------------------------------------------------------------
def _value(node, text: str, what: str):
    if isinstance(node, ast.Name):          # a bare word: same, valid, true, relu
        return node.id
    if isinstance(node, ast.Call):          # Bidirectional(LSTM(4)): a layer inside a layer
        raise InputError(f"{what}: a layer inside a layer, {ast.unparse(node)!r} in {text!r}, "
                         "is not read", "write a wrapper as an option of the layer, e.g. "
                         "lstm(units=4, bidirectional=true)")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, text, what)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise InputError(f"{what}: cannot read the value {ast.unparse(node)!r} in {text!r}",
                         "values are numbers, sizes (3 or 3x2), true/false or words") from None


def parse_call(text: str, what: str = "--layers") -> tuple[str, dict]:
    """``"conv2d(8, kernel_size=3x2, padding=same)"`` -> ("conv2d", {0: 8, "kernel_size": (3, 2),
    "padding": "same"}): positional values keyed by their index."""
    item = text.strip()
    source = re.sub(r"\b(\d+)\s*x\s*(\d+)\b", r"(\1, \2)", item)
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise InputError(f"{what}: cannot read {item!r}",
                         "write name or name(option=value, ...), e.g. dense(units=10)") from None
    if isinstance(node, ast.Name):
        return node.id, {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise InputError(f"{what}: cannot read {item!r}",
                         "write name or name(option=value, ...), e.g. dense(units=10)")
    kwargs: dict = {i: _value(a, item, what) for i, a in enumerate(node.args)}
    for kw in node.keywords:
        if kw.arg is None:
            raise InputError(f"{what}: cannot read {item!r}", "name every option: option=value")
        if kw.arg in kwargs:
            raise InputError(f"{what}: {item!r} gives {kw.arg} twice", "give it once")
        kwargs[kw.arg] = _value(kw.value, item, what)
    return node.func.id, kwargs


def parse_layers(text: str) -> list[Layer]:
    """The --layers syntax -> Layers (declarations with options, names where given)."""
    chunks = [part.strip() for part in str(text).split(";")]
    if not any(chunks):
        raise InputError("--layers is empty", "give layers separated by ';', e.g. "
                         "\"dense(units=32); relu; dense(units=10)\"")
    if "" in (chunks[:-1] if chunks[-1] == "" else chunks):
        raise InputError(f"--layers {text!r} has an empty item", "remove the doubled ';'")
    items = [line.strip() for chunk in chunks for line in chunk.splitlines() if line.strip()]
    layers = []
    for item in items:
        name, kwargs = parse_call(item)
        decl = get_layer(name)
        layers.append(_with_positionals(decl, kwargs, item))
    return layers


def _with_positionals(decl: LayerDecl, kwargs: dict, item: str) -> Layer:
    options, name = {}, None
    positional = [k for k in kwargs if isinstance(k, int)]
    if len(positional) > len(decl.options):
        raise InputError(f"--layers {item!r}: {decl.name} takes at most {len(decl.options)} "
                         "positional value(s)", _options_hint(decl))
    for i in positional:
        options[decl.options[i].name] = kwargs[i]
    for key, value in kwargs.items():
        if isinstance(key, int):
            continue
        if key == "name":
            name = str(value)
            continue
        if key in options:
            raise InputError(f"--layers {item!r} gives {key} twice", "give it once")
        options[key] = value
    return Layer(decl, options, name)


def _options_hint(decl: LayerDecl) -> str:
    if not decl.options:
        return f"{decl.name} takes no options"
    return f"{decl.name} takes: " + ", ".join(o.name for o in decl.options)


def _as_layer(item) -> Layer:
    if isinstance(item, Layer):
        return item
    if isinstance(item, LayerDecl):
        return Layer(item)
    if isinstance(item, str):
        (layer,) = parse_layers(item)
        return layer
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], dict):
        return Layer(get_layer(item[0]), dict(item[1]))
    raise InputError(f"cannot read the layer {item!r}",
                     "give crossframe.layers.Dense(units=10), 'dense(units=10)' or "
                     "('dense', {'units': 10})")


# --- the model -------------------------------------------------------------------------------
class Sequential:
    """Layers in order, an input shape (per sample, canonical), a loss and the output's name.

    ``shapes`` (canonical parameter name -> shape) lets options the user left out be read off
    given weights (a Dense's units from its kernel). Raises InputError naming the first layer
    that does not fit.

    Attributes after construction: ``layers`` (tuple of LayerConfig), ``inputs`` and ``outputs``
    ({name: per-sample shape}), ``loss`` (a crossframe.losses.Loss)."""

    def __init__(self, layers, input_shape, loss="upstream", output: str = "output",
                 shapes: dict | None = None, reduction: str | None = None):
        if isinstance(layers, str):
            layers = parse_layers(layers)
        items = [_as_layer(item) for item in (layers or [])]
        if not items:
            raise InputError("a Sequential needs at least one layer",
                             "e.g. --layers \"dense(units=10)\"")
        try:
            self.input_shape = parse_shape(input_shape, "--input")
        except ValueError as err:
            raise InputError(str(err), "give the per-sample shape, e.g. 28x28x3 or 64") from None
        self.loss = parse_loss(loss, reduction)
        self.output_name = output
        self.notes: list[str] = []          # what a user should know (a softmax applied twice)
        self.items = tuple(items)
        self.layers = self._resolve(items, shapes or {})
        self.inputs = {"x": self.input_shape, **{s: self._state_shape(s)
                                                  for cfg in self.layers for s in cfg.state_inputs}}
        self.outputs = self._outputs()
        self.masked = self._mask_plan()
        self._check_loss()
        for cfg in self.layers[1:]:
            if cfg.decl.takes_ids:
                raise InputError(f"{cfg.where()} takes integer ids, so it must be the first "
                                 "layer", "put it first")

    @property
    def ids(self) -> int | None:
        """The vocabulary size V when x holds integer ids in [0, V) (an Embedding first)."""
        first = self.layers[0]
        return first.opts["input_dim"] if first.decl.takes_ids else None

    @classmethod
    def parse(cls, layers: str, input_shape, loss="upstream", **kw) -> "Sequential":
        return cls(parse_layers(layers), input_shape, loss, **kw)

    # -- building ----------------------------------------------------------------------------
    @staticmethod
    def _names(items: list[Layer]) -> list[str]:
        stems = [item.decl.stem for item in items]
        count = {s: stems.count(s) for s in stems}
        seen: dict[str, int] = {}
        names = []
        for item, stem in zip(items, stems):
            seen[stem] = seen.get(stem, 0) + 1
            names.append(item.name or (stem if count[stem] == 1 else f"{stem}{seen[stem]}"))
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise InputError(f"two layers are called {dup[0]}", "give each layer its own name=")
        bad = [n for n in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)]
        if bad:
            raise InputError(f"layer name {bad[0]!r} is not an identifier",
                             "use letters, digits and _ (torch and Keras name tensors by it)")
        return names

    def _resolve(self, items: list[Layer], shapes: dict) -> tuple[LayerConfig, ...]:
        names = self._names(items)
        flow = flow_for(self.input_shape)
        recurrent = [n for n, item in zip(names, items) if item.decl.recurrent]
        configs = []
        for i, (item, name) in enumerate(zip(items, names)):
            decl, last = item.decl, i == len(items) - 1
            where = f"layer {i + 1} '{name}' ({decl.name})"
            local = {k[len(name) + 1:]: tuple(v) for k, v in shapes.items()
                     if k.startswith(name + ".")}
            given = dict(item.options)
            given_keys = {k.replace("-", "_") for k in given}
            inferred = {k: v for k, v in (decl.infer(local, flow) if local else {}).items()
                        if k not in given_keys and not _aliased(decl, k, given_keys)}
            opts = decl.resolve({**inferred, **given}, flow, where)
            if opts.get("return_state") and not last:
                raise InputError(f"{where}: return_state is only for the last layer",
                                 "drop return_state, or make it the last layer")
            out = decl.output(opts, flow)
            states = ()
            if decl.recurrent and opts.get("initial_state"):
                states = tuple(s if len(recurrent) == 1 else f"{name}_{s}"
                               for s in decl.states(opts))
            configs.append(LayerConfig(decl, name, opts, flow, out,
                                       full_params(name, decl.params(opts, flow)), i, last,
                                       states))
            flow = out
        return tuple(configs)

    def _mask_plan(self) -> frozenset:
        """The names of the layers that receive a mask (crossframe.layers.masking): made by a
        Masking layer or an Embedding with mask_zero, passed on by the kinds declared
        ``mask = "passes"`` and by a recurrent layer with return_sequences, dropped by those
        declared ``"ends"`` (GlobalMaxPooling1D) and by a recurrent layer's last step; any
        other layer a mask reaches is refused (crossframe does not model what Keras does
        there)."""
        masked, mask = set(), False
        for cfg in self.layers:
            if mask:
                masked.add(cfg.name)
                if cfg.decl.recurrent:
                    self._check_masked_recurrent(cfg)
                    mask = bool(cfg.opts["return_sequences"])
                elif cfg.decl.mask == "ends":
                    mask = False
                elif cfg.decl.mask != "passes":
                    raise InputError(f"{cfg.where()} receives a mask (Masking / Embedding "
                                     "mask_zero before it): crossframe does not model what "
                                     f"Keras' {cfg.decl.title} does with one",
                                     "put a recurrent layer (or GlobalMaxPooling1D) between "
                                     "them, or drop the mask")
            produces = getattr(cfg.decl, "produces_mask", None)
            if produces is not None and produces(cfg.opts):
                mask = True
        return frozenset(masked)

    @staticmethod
    def _check_masked_recurrent(cfg) -> None:
        o = cfg.opts
        if o["go_backwards"]:
            raise InputError(f"{cfg.where()}: go_backwards under a mask reads the padding first "
                             "(Keras); torch's packed sequences have no equivalent",
                             "use bidirectional=true, or drop the mask")
        if cfg.flow_in.layout != "sequence":
            raise InputError(f"{cfg.where()}: a mask on a Conv1D's map is not modelled",
                             "mask the sequence the recurrent layer reads")

    def _state_shape(self, state: str) -> tuple[int, ...]:
        """(H,), or (num_layers * directions, H) for a stacked or bidirectional layer."""
        return next(cfg.decl.state_shape(cfg.opts) for cfg in self.layers
                    if state in cfg.state_inputs)

    def _outputs(self) -> dict[str, tuple]:
        last = self.layers[-1]
        if last.decl.recurrent and last.opts.get("return_state"):
            sizes = last.decl.output_shapes(last.opts, last.flow_in)
            return {n: sizes[n] for n in last.decl.outputs(last.opts)}
        return {self.output_name: last.flow_out.shape}

    def _stacked_states(self) -> set[str]:
        """Model inputs and outputs holding states with torch's layer axis (a stacked or
        bidirectional recurrent layer): torch holds them (L*dirs, N, H), canonical (N, L*dirs,
        H)."""
        out = set()
        for cfg in self.layers:
            if cfg.decl.recurrent and cfg.decl.general(cfg.opts):
                out |= set(cfg.state_inputs)
                if cfg.last and cfg.opts.get("return_state"):
                    out |= set(cfg.decl.finals(cfg.opts))
        return out

    def _check_loss(self) -> None:
        loss = self.loss
        if loss.upstream:
            return
        if len(self.outputs) != 1:
            raise InputError(f"loss {loss.name} needs one output, the model has "
                             f"{', '.join(self.outputs)}", "drop return_state, or use the "
                             "upstream loss (--loss upstream)")
        shape = next(iter(self.outputs.values()))
        flow = self.output_flow
        if loss.decl.target == "labels" and (flow.channels_first or flow.flattened):
            raise InputError(f"loss {loss.name} over the features of a feature map (output "
                             f"{flow.text()}): torch holds them in another order (channels "
                             "first), so its "
                             "classes would not be Keras' classes",
                             "end with a dense(units=K) layer")
        if loss.decl.target == "labels" and shape[-1] < 2:
            raise InputError(f"loss {loss.name} needs at least 2 classes, the model outputs "
                             f"{shape}", "end with dense(units=K), K >= 2")
        last = self.layers[-1].decl.name
        if loss.from_logits and (loss.name, last) in (("softmax_ce", "softmax"),
                                                      ("binary_ce", "sigmoid")):
            self.notes.append(f"the model ends in {last} and {loss.name} takes logits: the "
                              f"{last} is applied twice (give from_logits=false if the model's "
                              "output is meant as probabilities)")
        if not loss.from_logits and last != {"softmax_ce": "softmax",
                                             "binary_ce": "sigmoid"}[loss.name]:
            want = "softmax" if loss.name == "softmax_ce" else "sigmoid"
            raise InputError(f"loss {loss.text()} takes probabilities, but the model ends in "
                             f"{last}", f"end the model with {want}, or use from_logits=true")

    # -- what it needs and holds -------------------------------------------------------------
    def params(self, role: str | None = None) -> list[ParamSpec]:
        """Every canonical parameter, in layer order (``role`` "trainable"/"state" to filter)."""
        return [p for cfg in self.layers for p in cfg.params if role is None or p.role == role]

    @property
    def output_flow(self) -> Flow:
        return self.layers[-1].flow_out

    def layer(self, name: str) -> LayerConfig:
        return next(cfg for cfg in self.layers if cfg.name == name)

    def layer_of(self, tensor: str) -> LayerConfig | None:
        """The layer owning a canonical parameter (``"dense1.W"`` -> dense1), if any."""
        prefix = tensor.split(":", 1)[-1].rsplit(".", 1)[0]
        return next((cfg for cfg in self.layers if cfg.name == prefix), None)

    def text(self) -> str:
        """The model in the --layers syntax."""
        return "; ".join(item.text() for item in self.items)

    @property
    def bilinear(self) -> bool:
        """A lone bilinear layer (Dense, Conv2D, Flatten + Dense) under the upstream loss: every
        gradient is a sum of products (crossframe.tolerances)."""
        def bilinear(cfg) -> bool:      # a Dense with a non-linear activation is not
            return cfg.decl.bilinear and cfg.opts.get("activation") in (None, "linear")
        return self.loss.upstream and all(bilinear(cfg) or cfg.decl.name == "flatten"
                                          for cfg in self.layers) and any(
            bilinear(cfg) for cfg in self.layers)

    # -- the mappings ------------------------------------------------------------------------
    def mapping(self, framework: str) -> Mapping:
        """This model's canonical <-> ``framework`` mapping, from the declarations."""
        if framework == "scratch":
            params = [Entry(p.name, p.name, Identity(), SCRATCH_WHY) for p in self.params()]
            states = [e for e in params if e.canonical in {p.name for p in self.params("state")}]
        elif framework == "torch":
            params = [e for cfg in self.layers for e in cfg.decl.torch_params(cfg)]
            states = [e for cfg in self.layers for e in cfg.decl.torch_states(cfg)]
        elif framework == "keras":
            params = [e for cfg in self.layers for e in cfg.decl.keras_params(cfg)]
            states = [e for cfg in self.layers for e in cfg.decl.keras_states(cfg)]
        else:
            raise ValueError(f"unknown framework {framework!r}")
        formula = "; ".join(
            (f"{cfg.name}: " if len(self.layers) > 1 else "") + text
            for cfg in self.layers if (text := cfg.decl.formula(cfg, framework)))
        return Mapping(framework, tuple(params), tuple(self._input_entries(framework)),
                       tuple(self._output_entries(framework)), formula, tuple(states))

    def _input_entries(self, fw: str) -> list[Entry]:
        layout = flow_for(self.input_shape).layout
        why = WHY["x"][fw] if fw == "scratch" else WHY["x"][fw][layout]
        x = NCHW if fw == "torch" and layout == "image" else Identity()
        stacked = self._stacked_states()
        states = [Entry(s, s, LAYER_AXIS, WHY["stacked"]) if fw == "torch" and s in stacked
                  else Entry(s, s, Identity(), WHY["stacked_in"][fw] if s in stacked
                             else WHY["state"][fw])
                  for s in self.inputs if s != "x"]
        return [Entry("x", "x", x, why)] + states

    def _output_entries(self, fw: str) -> list[Entry]:
        flow = self.output_flow
        out = []
        for name in self.outputs:
            transform, why = Identity(), WHY["out"].get(fw, {}).get(name, "")
            if fw == "torch" and name in self._stacked_states():
                transform, why = LAYER_AXIS, WHY["stacked_out"]
            elif fw == "keras" and name in self._stacked_states():
                why = WHY["keras_stacked_out"]
            if fw == "torch" and name == self.output_name:
                if flow.layout == "image":
                    transform, why = NCHW, "torch returns NCHW; mapped back to NHWC"
                elif flow.layout == "signal":
                    transform, why = NCL, "torch returns NCL (nn.Conv1d's); mapped back to NLC"
                elif flow.flattened is not None:
                    transform = Permute(flatten_order(*flow.flattened), len(flow.shape),
                                        "features " + flatten_text(flow.flattened))
                    why = ("nn.Flatten of NCHW orders the features (c, h, w)"
                           if len(flow.flattened) == 3 else
                           "nn.Flatten of NCL orders the features (c, l)")
            out.append(Entry(name, name, transform, why))
        return out

    # -- the equivalent code -----------------------------------------------------------------
    def torch_code(self) -> str:
        """The same model written in torch, as a module with its forward."""
        layout = flow_for(self.input_shape).layout
        shape = ", ".join(map(str, ("N", *self.input_shape)))
        if layout == "image":
            H, W, C = self.input_shape
            shape = f"N, {C}, {H}, {W}"
        states = [s for s in self.inputs if s != "x"]
        imports = dict.fromkeys(line for cfg in self.layers for line in cfg.decl.torch_imports(cfg))
        lines = ["import torch", "import torch.nn.functional as F", "from torch import nn",
                 *imports, "", "", "class Model(nn.Module):", "    def __init__(self):",
                 "        super().__init__()"]
        lines += [f"        self.{cfg.name} = {cfg.decl.torch_code(cfg)}" for cfg in self.layers]
        lines += ["", f"    def forward(self, {', '.join(['x', *states])}):  # x ({shape})"
                  + (": NCHW" if layout == "image" else "")]
        lines += [f"        {line}" for cfg in self.layers for line in self._torch_lines(cfg)]
        if len(self.outputs) == 1:
            lines += ["        return x"]
        else:                                   # a recurrent layer with return_state, last
            last = self.layers[-1]
            values = last.decl.torch_returns(last)
            if not last.opts["return_sequences"] and not last.decl.general(last.opts):
                values["h_last"] = "x"          # x was cut to h_last already
            lines += ["        return {" + ", ".join(f"{n!r}: {values[n]}"
                                                    for n in self.outputs) + "}"]
        lines += ["", "", "model = Model().double()  # or .float()"]
        steps = len(next(iter(self.outputs.values()))) > 1
        lines += [f"loss_fn = lambda pred, y: {self.loss.torch_code(steps)}"
                  if not self.loss.upstream
                  else "# loss: sum(G * y) with a random upstream gradient G"]
        return "\n".join(lines)

    def _torch_lines(self, cfg) -> list[str]:
        """The layer's torch forward lines; a recurrent layer under a mask packs the batch with
        the mask's lengths around its module call, and unpacks (crossframe.layers.masking)."""
        lines = cfg.decl.torch_forward(cfg)
        if not (cfg.decl.recurrent and cfg.name in self.masked):
            return lines
        T = cfg.flow_in.shape[0]
        call = next(i for i, line in enumerate(lines) if line.startswith("x, state = self."))
        pack = ["lengths = mask.sum(1)  # right padding (the real steps first)",
                "x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, "
                "enforce_sorted=False)"]
        unpack = [f"x, _ = nn.utils.rnn.pad_packed_sequence(x, batch_first=True, "
                  f"total_length={T})  # 0 at padded steps"]
        o = cfg.opts
        if cfg.decl.written_out(o) or not o.get("reset_after", True):   # the explicit cell
            pack, unpack = pack[:1], []
            lines = list(lines)
            lines[call] = lines[call].replace(")  #", ", mask=mask)  # packing by hand;", 1)
        if cfg.opts["return_sequences"] and not cfg.opts["zero_output_for_mask"]:
            unpack.append("x = torch.where(mask[..., None], x, x[torch.arange(len(x)), "
                          "lengths - 1][:, None])  # Keras' default: the last output carried")
        return lines[:call] + pack + [lines[call]] + unpack + lines[call + 1:]

    def keras_code(self) -> str:
        """The same model in Keras: a keras.Sequential, or the functional API where the model
        takes initial states or returns several outputs."""
        lines = ["import keras", "from keras import layers", "",
                 "# float64 as crossframe checks it: floatx for the Input, and the dtype policy "
                 "for the layers (set_floatx alone is ignored once a layer has read the policy)",
                 "keras.config.set_floatx('float64')",
                 "keras.config.set_dtype_policy('float64')",
                 "# the next two lines keep float64 float64 on Keras' JAX and torch backends, "
                 "where Keras maps every 64-bit result type to 32 bits (keras/src/backend/common"
                 "/dtypes.py); on JAX set JAX_ENABLE_X64=1 before JAX is imported too",
                 "from keras.src.backend.common import dtypes",
                 "dtypes.BIT64_TO_BIT32_DTYPE['float64'] = 'float64'"]
        for cfg in self.layers:      # a recurrent layer's activation Keras has no name for
            if cfg.decl.recurrent:
                lines += [line for line in cfg.decl.keras_preamble(cfg) if line not in lines
                          or not line.strip()]
        stacks = {cfg.name for cfg in self.layers
                  if cfg.decl.recurrent and cfg.decl.general(cfg.opts)}
        code = {cfg.name: ",\n    ".join(cfg.decl.keras_layers(cfg, False))
                if cfg.name in stacks else _named(cfg.decl.keras_code(cfg), cfg.name)
                for cfg in self.layers}
        if len(self.inputs) == 1 and len(self.outputs) == 1:
            lines += ["# variables: sequential/<layer>/kernel (a keras.Sequential prefixes its "
                      "name)", "model = keras.Sequential([",
                      f"    keras.Input({self.input_shape}),"]
            lines += [f"    {code[cfg.name]}," for cfg in self.layers]
            lines += ["])"]
        else:
            lines += [f"{name} = keras.Input({shape}, name={name!r})"
                      for name, shape in self.inputs.items()]
            h = "x"
            for cfg in self.layers:
                if cfg.name in stacks:          # several Keras layers (or Bidirectional)
                    lines += cfg.decl.keras_functional(cfg, h, cfg.name in self.masked)
                    h = "h"
                    continue
                states = list(cfg.state_inputs)
                call = f"(h{', initial_state=[' + ', '.join(states) + ']' if states else ''})"
                if states and cfg.name in self.masked:    # initial_state drops the mask
                    call = call[:-1] + f", mask={h}._keras_mask)"
                target = "h"
                if cfg.last and cfg.opts.get("return_state"):
                    target = ", ".join(("h",) + tuple(n for n in cfg.decl.outputs(cfg.opts)
                                                      if n != "h_seq"))
                lines.append(f"{target} = {code[cfg.name]}{call.replace('(h', f'({h}', 1)}")
                h = "h"
            outputs = list(self.outputs)
            if len(outputs) == 1:
                outs = "h"
            else:
                outs = "{" + ", ".join(f"{n!r}: {'h' if n in ('h_seq', 'y_last') else n}"
                                       for n in outputs) + "}"
            inputs = "{" + ", ".join(f"{n!r}: {n}" for n in self.inputs) + "}"
            lines.append(f"model = keras.Model({inputs}, {outs})")
        lines += self.loss.keras_lines() if not self.loss.upstream else \
            ["# loss: sum(G * y) with a random upstream gradient G"]
        return "\n".join(lines).replace("dtype=dtype", "dtype='float64'")

    def summary(self) -> list[dict]:
        """One row per layer: name, kind, options, input and output shapes, parameters."""
        return [{"layer": cfg.name, "kind": cfg.decl.name, "declaration": cfg.decl.source,
                 "options": {k: v for k, v in cfg.opts.items()},
                 "input": shape_text(cfg.flow_in.shape), "output": shape_text(cfg.flow_out.shape),
                 "params": {p.name: list(p.shape) for p in cfg.params}}
                for cfg in self.layers]


def _named(code: str, name: str) -> str:
    """``layers.Dense(10)`` -> ``layers.Dense(10, name='dense')``."""
    head, _, tail = code.rpartition(")")
    return f"{head}{'' if head.endswith('(') else ', '}name={name!r}){tail}"


def _aliased(decl: LayerDecl, name: str, given: set) -> bool:
    opt = next((o for o in decl.options if o.name == name), None)
    return bool(opt and set(opt.aliases) & given)


def with_shapes(model: Sequential, shapes: dict) -> Sequential:
    """The same model re-resolved with options read off ``shapes`` where not given."""
    return Sequential(list(model.items), model.input_shape, model.loss, model.output_name, shapes)


__all__ = ["Sequential", "parse_layers", "parse_call", "with_shapes"]
