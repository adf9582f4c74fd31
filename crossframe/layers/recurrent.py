"""SimpleRNN, LSTM and GRU (reset after / before the recurrent product).

Shape legend: N batch, T time steps, D input features, H hidden units (``units``), k gate blocks
(SimpleRNN 1, GRU 3, LSTM 4).

Canonical layout (Keras'): ``W_x (D, kH)`` and ``W_h (H, kH)`` with the k gate blocks side by
side as column blocks (LSTM i, f, g, o; GRU z, r, h), ``b (kH,)``, or ``(2, 3H)`` for the GRU
with ``reset_after=True`` (row 0 the input side, row 1 the recurrent side). torch stores the
transposes, gate blocks as row blocks (the GRU in the order r, z, n), and two biases
``bias_ih`` and ``bias_hh`` that it adds: every difference is one declared entry below.

In a model a recurrent layer reads a sequence ``(T, D)`` and passes on ``h_seq (T, H)`` with
``return_sequences``, else the last state ``h_last (H,)``. As the last layer with
``return_state`` the model outputs ``h_seq`` (with ``return_sequences``), ``h_last`` and, for the
LSTM, ``c_last``. With ``initial_state`` the model takes ``h0`` (and ``c0``) as inputs, so their
gradients are compared too; without, every layer starts from zeros.
"""
from __future__ import annotations

from .. import activations as A
from ..errors import InputError
from ..mapping import BlockReorder, Chain, Entry, Identity, Row, Scale, Transform, Transpose
from ..difference import Difference
from .base import Flow, LayerDecl, Option, ParamSpec, boolean, integer, text

KERAS_WHY = "Keras' layout is the canonical one"
MERGE_MODES = ("concat", "sum", "mul", "ave")
BIAS_HALVES_WHY = (
    "torch adds bias_ih + bias_hh inside every pre-activation, so the canonical b fixes only "
    "their sum: each gets b/2 (any split with that sum computes the same; equal halves also make "
    "the training read-back a left inverse). b enters only through the sum, so dL/dbias_ih = "
    "dL/dbias_hh = dL/db, and the adjoint 0.5 g + 0.5 g gives exactly that back")


ACTIVATION = Option("activation", "tanh", "f of the candidate / the cell output, by its Keras "
                    "name (torch's layers only compute tanh, nn.RNN also relu: crossframe "
                    "writes the cell out for the others)", A.parse)
RECURRENT_ACTIVATION = Option("recurrent_activation", "sigmoid", "the gates' function, by its "
                              "Keras name (hard_sigmoid_keras2 is Keras 2's LSTM default, "
                              "clip(0.2 x + 0.5, 0, 1); hard_sigmoid Keras 3's relu6(x + 3) / 6)",
                              A.parse)
DEFAULT_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


class Recurrent(LayerDecl):
    """What the three cells share; a subclass gives its gates and equations."""

    family = "recurrent"
    # a sequence (T, D), or the feature map of a Conv1D / 1-D pool (L, C): the same canonical
    # array, which torch holds (N, C, L): its module reads it transposed, batch-first
    layouts = ("sequence", "signal")
    recurrent = True
    # every output and both states in the check: h_seq, h_last (c_last), dh0 (dc0)
    example = ((4, 3), {"units": 5, "return_sequences": True, "return_state": True,
                        "initial_state": True})
    notes = (
        "Options torch has no argument for are done around torch's module, in every library "
        "the same way: go_backwards flips x (Keras returns h_seq in that reversed order); "
        "merge_mode sum / mul / ave is computed from torch's concatenated halves; the output "
        "at the last step of a bidirectional layer is merge(h_n[-2], h_n[-1]) (torch's "
        "output[:, -1] holds the backward direction after ONE step); other activations are "
        "the cell written out (torch_impl.recurrent.Explicit).",
        "num_layers / bidirectional: layer l, direction d is torch's suffix _l{l}[_reverse], "
        "crossframe's W_x_l1, W_x_reverse, W_x_l1_reverse (layer 0 forward keeps W_x, W_h, b), "
        "Keras' layer <name>_l{l} (each Bidirectional, copies forward_<name> / "
        "backward_<name>). Between layers both directions are concatenated (torch's rule); "
        "merge_mode applies after the last. States h0, c0, h_last, c_last are then (N, "
        "num_layers * directions, H), row l * dirs + d: torch's (L*dirs, N, H) batch first; "
        "Keras gets one initial state per layer and direction.",
        "stateful (Keras stateful=True; torch: the returned state passed back): crossframe "
        "models the second call as a check whose initial_state is the first call's final "
        "state, a constant (test_recurrent_options.py runs the real stateful Keras layer "
        "against it). Not modelled: gradients into the first call, reset_states, a batch size "
        "that changes between calls.",
        "Under a mask (Masking, Embedding(mask_zero=True) before it; crossframe.layers.masking) "
        "the state is kept at masked steps, h_t = h_{t-1} (and c_t = c_{t-1}), and the final "
        "state is each sequence's last real step's; torch packs with lengths = mask.sum(1) "
        "(pack_padded_sequence(..., enforce_sorted=False), right padding only) and unpacks. "
        "h_seq at a padded step: 0 with zero_output_for_mask (torch's pad_packed_sequence; "
        "Keras' Bidirectional sets it = return_sequences), else the last real output (a "
        "plain Keras layer's default; torch copies it in). Measured: Keras 3.15 drops the "
        "functional mask when initial_state is given (crossframe passes mask= itself), and "
        "with zero_output_for_mask=True and return_sequences=False outputs 0 for short "
        "sequences (refused).",
    )
    gates: tuple[str, ...] = ()         # canonical (Keras) gate blocks, in order
    torch_gates: tuple[str, ...] = ()   # the same blocks in torch's row order
    keras_cell = ""                     # the middle of Keras' variable paths

    options = (
        Option("units", None, "H, hidden units (inferred from the recurrent kernel)",
               integer(1), aliases=("hidden",)),
        Option("return_sequences", False, "pass on h_seq (T, H), not only the last state",
               boolean),
        Option("return_state", False, "as the last layer, also output the final state(s)",
               boolean),
        Option("initial_state", False, "take h0 (and c0) as model inputs, so their gradients "
               "are checked (else start from zeros)", boolean),
        Option("use_bias", True, "add the bias b (torch bias=False / Keras use_bias=False: no b)",
               boolean),
        Option("go_backwards", False, "read the sequence last step first; h_seq comes out in "
               "that (reversed) order, as Keras returns it (torch has no option: the module "
               "flips x)", boolean),
        Option("num_layers", 1, "stacked layers (torch's num_layers; Keras: that many layers, "
               "each returning sequences to the next)", integer(1)),
        Option("bidirectional", False, "a forward and a backward direction (torch "
               "bidirectional=True; Keras Bidirectional(layer))", boolean),
        Option("merge_mode", None, "how the two directions' outputs are combined (Keras "
               "Bidirectional's merge_mode; torch only concatenates); concat when "
               "bidirectional", text, MERGE_MODES),
        Option("zero_output_for_mask", None, "under a mask (Masking, Embedding(mask_zero)): "
               "h_seq at a masked step is 0 (true: torch's pad_packed_sequence, Keras' "
               "Bidirectional) or the previous output (false: a plain Keras layer's default); "
               "default false, true when bidirectional", boolean),
    )

    @property
    def k(self) -> int:
        return len(self.gates)

    # -- layers and directions ---------------------------------------------------------------
    @staticmethod
    def directions(opts) -> int:
        """1, or 2 with ``bidirectional``: the forward direction (d = 0), then the backward one."""
        return 2 if opts.get("bidirectional") else 1

    @classmethod
    def cells(cls, opts) -> list[tuple[int, int]]:
        """(layer, direction) of every cell, in torch's order: l0, l0_reverse, l1, ..."""
        return [(layer, d) for layer in range(opts.get("num_layers", 1))
                for d in range(cls.directions(opts))]

    @staticmethod
    def general(opts) -> bool:
        """Several layers or two directions: the final states then carry torch's layer axis
        (N, num_layers * directions, H), and the output at the last step is its own tensor,
        ``y_last`` (for two directions: their merge, not h_seq[:, -1])."""
        return opts.get("num_layers", 1) > 1 or bool(opts.get("bidirectional"))

    @staticmethod
    def suffix(layer: int, d: int) -> str:
        """The canonical name suffix of a cell: "" (layer 0 forward), "_reverse", "_l1", ...
        read like torch's (torch always writes the layer: weight_ih_l0_reverse)."""
        return ("" if layer == 0 else f"_l{layer}") + ("_reverse" if d else "")

    @staticmethod
    def merge(opts) -> str | None:
        return opts.get("merge_mode") if opts.get("bidirectional") else None

    def out_features(self, opts) -> int:
        """Features of what the layer passes on: 2H for two concatenated directions, else H."""
        return opts["units"] * (2 if self.merge(opts) == "concat" else 1)

    # -- options -----------------------------------------------------------------------------
    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        if opts["units"] is None:
            raise InputError(f"{where}: {self.title} needs units", f"e.g. {self.name}(units=8)")
        if opts["go_backwards"] and self.general(opts):
            raise InputError(f"{where}: go_backwards with num_layers > 1 or bidirectional has "
                             "no torch equivalent (Keras would reverse between layers)",
                             "drop go_backwards (bidirectional already reads backwards), or "
                             "stack separate layers")
        if opts["merge_mode"] is not None and not opts["bidirectional"]:
            raise InputError(f"{where}: merge_mode={opts['merge_mode']} is for two directions",
                             "add bidirectional=true, or drop merge_mode")
        if opts["bidirectional"] and opts["merge_mode"] is None:
            opts["merge_mode"] = "concat"          # Keras Bidirectional's default
        zeros = opts["zero_output_for_mask"]
        if opts["bidirectional"] and zeros is False and opts["return_sequences"]:
            raise InputError(f"{where}: zero_output_for_mask=false with bidirectional: Keras' "
                             "Bidirectional sets zero_output_for_mask=True on both directions "
                             "(= return_sequences)", "drop zero_output_for_mask")
        if zeros and not opts["bidirectional"] and not opts["return_sequences"]:
            raise InputError(f"{where}: zero_output_for_mask=true without return_sequences: "
                             "Keras then outputs 0 for every sequence shorter than T (the "
                             "output at its padded last step), torch's h_n is the last real "
                             "state", "drop zero_output_for_mask, or set return_sequences=true")
        if zeros is None or opts["bidirectional"]:   # Keras: False; Bidirectional: True
            opts["zero_output_for_mask"] = bool(opts["bidirectional"])
        for key, name in self.activations(opts).items():
            if not A.get(name).elementwise:
                raise InputError(f"{where}: {key}={name} is not elementwise",
                                 "choose an elementwise activation, e.g. tanh or relu")

    def activations(self, opts) -> dict[str, str]:
        """{"activation": name[, "recurrent_activation": name]} of this kind's options."""
        return {k: opts.get(k, v) for k, v in DEFAULT_ACTIVATIONS.items()
                if any(o.name == k for o in self.options)}

    def written_out(self, opts) -> bool:
        """No torch layer computes these activations: the torch side is the explicit cell
        crossframe.torch_impl.recurrent.Explicit (nn.RNN also takes relu)."""
        acts = self.activations(opts)
        return any(v != DEFAULT_ACTIVATIONS[k] for k, v in acts.items()) and not (
            self.name == "simple_rnn" and acts["activation"] == "relu")

    def activation_text(self, opts) -> str:
        """", activation='relu'" for what differs from the defaults (tanh, sigmoid)."""
        return "".join(f", {k}={v!r}" for k, v in self.activations(opts).items()
                       if v != DEFAULT_ACTIVATIONS[k])

    def wrong_layout_fix(self, flow):
        return ("a recurrent layer reads (T, D) sequences or a Conv1D's (L, C) map: give "
                "--input TxD, or set return_sequences=true on the recurrent layer before it")

    def infer(self, shapes, flow):
        if len(shapes.get("W_h", ())) == 2:
            return {"units": shapes["W_h"][0]}
        return {}

    def output(self, opts, flow):
        F = self.out_features(opts)
        if opts["return_sequences"]:
            return Flow((flow.shape[0], F), "sequence")
        return Flow((F,), "flat")

    def states(self, opts):
        return ("h0",)

    def state_shape(self, opts) -> tuple[int, ...]:
        """Per-sample shape of each initial and final state: (H,), or (num_layers * directions,
        H) where there are several (torch's h_0 (L*dirs, N, H) with the batch axis first, as
        every crossframe input; row l * dirs + d is layer l, direction d)."""
        H = opts["units"]
        if self.general(opts):
            return (opts["num_layers"] * self.directions(opts), H)
        return (H,)

    def finals(self, opts) -> tuple[str, ...]:
        return tuple(s.replace("0", "_last") for s in self.states(opts))

    def layer_outputs(self, opts) -> tuple[str, ...]:
        """What every implementation's forward returns, in order: (h_seq, h_last[, c_last]);
        with several layers or directions (h_seq, y_last, h_last[, c_last])."""
        last = ("y_last",) if self.general(opts) else ()
        return ("h_seq",) + last + self.finals(opts)

    def passed_on(self, opts) -> str:
        """The output the next layer reads: h_seq with return_sequences, else the output at
        the last step (h_last for one layer and direction)."""
        if opts["return_sequences"]:
            return "h_seq"
        return "y_last" if self.general(opts) else "h_last"

    def outputs(self, opts):
        first = self.passed_on(opts)
        return ((first,) if first != "h_last" else ()) + self.finals(opts)

    def output_shapes(self, opts, flow) -> dict[str, tuple[int, ...]]:
        """Per-sample shapes of every name in ``layer_outputs``."""
        F, state = self.out_features(opts), self.state_shape(opts)
        return {"h_seq": (flow.shape[0], F), "y_last": (F,), "h_last": state, "c_last": state}

    # -- parameters --------------------------------------------------------------------------
    def _blocks(self) -> tuple[str, str]:
        """("4H", ", gate blocks i, f, g, o") -- or ("H", "") for the one-block SimpleRNN."""
        if self.k == 1:
            return "H", ""
        return f"{self.k}H", f", gate blocks {', '.join(self.gates)}"

    def stacked_bias(self, opts) -> bool:
        return False

    @staticmethod
    def _cell_text(layer: int, d: int) -> str:
        if layer == 0 and d == 0:
            return ""
        return f" of layer {layer}" + (", backward direction" if d else "")

    def params(self, opts, flow):
        D, H = flow.features, opts["units"]
        kH, blocks = self._blocks()
        out = []
        for layer, d in self.cells(opts):
            s, of = self.suffix(layer, d), self._cell_text(layer, d)
            D_l = D if layer == 0 else H * self.directions(opts)
            inp = "D" if layer == 0 else ("2H" if self.directions(opts) == 2 else "H")
            out += [ParamSpec(f"W_x{s}", (D_l, self.k * H), "weight", D_l,
                              f"input kernel{of} ({inp}, {kH}){blocks}"),
                    ParamSpec(f"W_h{s}", (H, self.k * H), "weight", H,
                              f"recurrent kernel{of} (H, {kH}){blocks}")]
            if not opts["use_bias"]:
                continue
            if self.stacked_bias(opts):
                out.append(ParamSpec(f"b{s}", (2, self.k * H), "bias",
                                     doc=f"bias{of} (2, {kH}): row 0 input side, row 1 "
                                         f"recurrent side{blocks}"))
            else:
                out.append(ParamSpec(f"b{s}", (self.k * H,), "bias", doc=f"bias{of} ({kH},)"
                                     f"{blocks}"))
        return out

    # -- the mappings ------------------------------------------------------------------------
    def torch_module(self, opts) -> str:
        return self.torch.replace("torch.", "")

    def torch_params(self, cfg):
        """Canonical (Keras) -> torch: transpose (gate blocks become row blocks), the GRU's
        block reorder z, r, h -> r, z, n, and the bias into torch's two biases; per cell,
        layer l and direction d are torch's suffix _l{l}[_reverse]."""
        reorder = (BlockReorder(self.gates, self.torch_gates, axis=-1)
                   if self.gates != self.torch_gates else None)

        def chain(*steps: Transform) -> Transform:
            steps = tuple(s for s in (reorder, *steps) if s is not None)
            return steps[0] if len(steps) == 1 else Chain(steps)

        module = self.torch_module(cfg.opts)
        if reorder is None:
            w_why = (f"{module} stores weight (kH, in) with the gate blocks "
                     f"({', '.join(self.gates)}) as rows, and computes x W^T: a transpose")
        else:
            w_why = (f"{module} stacks rows r, z, n (n is Keras' candidate h), Keras columns "
                     "z, r, h: swap the first two blocks, then transpose to (3H, in)")
        n, entries = cfg.name, []
        for layer, d in self.cells(cfg.opts):
            s, t = self.suffix(layer, d), f"_l{layer}" + ("_reverse" if d else "")
            where = ""
            if layer or d:
                where = (f"; torch's suffix _l{layer}" + ("_reverse" if d else "")
                         + f" is layer {layer}" + (", the backward direction" if d else ""))
            entries += [
                Entry(cfg.p(f"W_x{s}"), f"{n}.weight_ih{t}", chain(Transpose((1, 0))),
                      w_why + where),
                Entry(cfg.p(f"W_h{s}"), f"{n}.weight_hh{t}", chain(Transpose((1, 0))),
                      w_why + where)]
            if not cfg.opts["use_bias"]:
                continue
            if self.stacked_bias(cfg.opts):
                row_why = ("row {i} of Keras' (2, 3H) bias is torch's {name} ({side}): the same "
                           "two biases in one array; each gradient row is that bias' gradient")
                rows = (reorder,) if reorder else ()
                entries += [
                    Entry(cfg.p(f"b{s}"), f"{n}.bias_ih{t}", Chain((Row(0),) + rows),
                          row_why.format(i=0, name="bias_ih", side="input side") + where),
                    Entry(cfg.p(f"b{s}"), f"{n}.bias_hh{t}", Chain((Row(1),) + rows),
                          row_why.format(i=1, name="bias_hh",
                                         side="recurrent side, inside the reset gate for n")
                          + where),
                ]
            else:
                why = ("b/2 each: torch adds bias_ih + bias_hh, only their sum is b; b enters "
                       "only through that sum, so each torch bias' gradient IS dL/db, and the "
                       "adjoint 0.5 g + 0.5 g returns it")
                if self.name == "gru":
                    why += " (in this formula b_hn is outside the reset gate, so the sum is all)"
                entries += [Entry(cfg.p(f"b{s}"), f"{n}.bias_ih{t}", chain(Scale(0.5)),
                                  why + where),
                            Entry(cfg.p(f"b{s}"), f"{n}.bias_hh{t}", chain(Scale(0.5)),
                                  why + where)]
        return entries

    def keras_layer_name(self, cfg, layer: int) -> str:
        """Keras' name of layer ``layer`` of the stack: the crossframe layer name, then
        ``<name>_l1``, ``<name>_l2`` for the layers stacked on it."""
        return cfg.name if layer == 0 else f"{cfg.name}_l{layer}"

    def keras_path(self, cfg, layer: int, d: int) -> str:
        """``lstm/lstm_cell``; in a Bidirectional wrapper named ``lstm`` around a layer named
        ``lstm``, Keras 3 names the copies ``forward_lstm`` and ``backward_lstm``:
        ``lstm/forward_lstm/lstm_cell``."""
        base = self.keras_layer_name(cfg, layer)
        if not cfg.opts.get("bidirectional"):
            return f"{base}/{self.keras_cell}"
        return f"{base}/{('backward' if d else 'forward')}_{base}/{self.keras_cell}"

    def keras_params(self, cfg):
        bias_why = (KERAS_WHY + ": GRU(reset_after=True) keeps (2, 3H), input and recurrent rows"
                    if self.stacked_bias(cfg.opts) else KERAS_WHY)
        entries = []
        for layer, d in self.cells(cfg.opts):
            s, path = self.suffix(layer, d), self.keras_path(cfg, layer, d)
            why = KERAS_WHY
            if layer:
                why += (f"; layer {layer} is its own Keras layer, "
                        f"{self.keras_layer_name(cfg, layer)}")
            if cfg.opts.get("bidirectional"):
                why += (f"; Bidirectional keeps the {'backward' if d else 'forward'} direction in "
                        f"a copy of the layer named {'backward' if d else 'forward'}_<name>")
            entries += [Entry(cfg.p(f"W_x{s}"), f"{path}/kernel", Identity(), why),
                        Entry(cfg.p(f"W_h{s}"), f"{path}/recurrent_kernel", Identity(), why)]
            if cfg.opts["use_bias"]:
                entries.append(Entry(cfg.p(f"b{s}"), f"{path}/bias", Identity(),
                                     bias_why + why[len(KERAS_WHY):]))
        return entries

    # -- code --------------------------------------------------------------------------------
    def torch_extra(self, cfg) -> str:
        """torch's arguments for the options: num_layers, bidirectional, bias."""
        o = cfg.opts
        extra = f", num_layers={o['num_layers']}" if o["num_layers"] > 1 else ""
        extra += ", bidirectional=True" if o["bidirectional"] else ""
        return extra + (", bias=False" if not o["use_bias"] else "")

    def torch_code(self, cfg):
        if self.written_out(cfg.opts):
            return self.explicit_code(cfg)
        return (f"{self.torch.replace('torch.', '')}({cfg.flow_in.features}, "
                f"{cfg.opts['units']}{self.torch_extra(cfg)}, batch_first=True)")

    def explicit_kind(self, opts) -> str:
        """Explicit's cell: "rnn", "lstm", "gru_after" or "gru_before"."""
        return {"simple_rnn": "rnn", "lstm": "lstm"}.get(
            self.name, "gru_after" if opts.get("reset_after", True) else "gru_before")

    def explicit_code(self, cfg) -> str:
        acts = "".join(f", {k}=lambda x: {A.get(v).torch_functional()}"
                       for k, v in self.activations(cfg.opts).items()
                       if v != DEFAULT_ACTIVATIONS[k])
        return (f"Explicit({self.explicit_kind(cfg.opts)!r}, {cfg.flow_in.features}, "
                f"{cfg.opts['units']}{self.torch_extra(cfg)}{acts})  # torch's layers compute "
                "only tanh and sigmoid: the cell written out, crossframe.torch_impl.recurrent")

    def torch_imports(self, cfg):
        if self.written_out(cfg.opts):
            return ["from crossframe.torch_impl.recurrent import Explicit"]
        return []

    def keras_options(self, cfg) -> str:
        """Keras' arguments for the options every layer of the stack shares."""
        o = cfg.opts
        acts = ""
        for k, v in self.activations(o).items():
            if v != DEFAULT_ACTIVATIONS[k]:
                spec = A.get(v)
                acts += (f", {k}={spec.keras_name!r}" if spec.keras_name else
                         f", {k}={spec.name}")       # defined in keras_preamble
        zeros = o.get("zero_output_for_mask") and not o["bidirectional"]
        return ("".join(f", {k}=True" for k in ("go_backwards",) if o[k])
                + ("" if o["use_bias"] else ", use_bias=False") + acts
                + (", zero_output_for_mask=True" if zeros else ""))

    def keras_preamble(self, cfg) -> list[str]:
        """A named function for an activation Keras has no name for (hard_sigmoid_keras2):
        registered, because Bidirectional copies its layer through get_config / from_config,
        which cannot carry a lambda."""
        lines = []
        for k, v in self.activations(cfg.opts).items():
            spec = A.get(v)
            if v != DEFAULT_ACTIVATIONS[k] and not spec.keras_name:
                lines += ["", "@keras.saving.register_keras_serializable()",
                          f"def {spec.name}(x):", f"    return {spec.keras_code()}", ""]
        return lines

    def keras_code(self, cfg):
        o = cfg.opts
        extra = "".join(f", {k}=True" for k in ("return_sequences", "return_state") if o[k])
        return f"layers.{self.title}({o['units']}{extra}{self.keras_options(cfg)})"

    def keras_layers(self, cfg, finals: bool) -> list[str]:
        """The Keras layers of a stack (several layers or two directions), each named:
        every layer but the last returns sequences (torch passes every step on), the last
        the layer's return_sequences; two directions are Bidirectional(layer), concatenated
        between layers (torch's rule) and merged by merge_mode after the last."""
        o, out = cfg.opts, []
        for layer in range(o["num_layers"]):
            last = layer == o["num_layers"] - 1
            name = self.keras_layer_name(cfg, layer)
            args = ", return_sequences=True" if (not last or o["return_sequences"]) else ""
            args += ", return_state=True" if finals else ""
            code = (f"layers.{self.title}({o['units']}{args}{self.keras_options(cfg)}"
                    f"{self.keras_extra(cfg)}, name={name!r})")
            if o["bidirectional"]:
                mode = o["merge_mode"] if last else "concat"
                code = f"layers.Bidirectional({code}, merge_mode={mode!r}, name={name!r})"
            out.append(code)
        return out

    def keras_extra(self, cfg) -> str:
        return ""

    def keras_functional(self, cfg, h: str, masked: bool = False) -> list[str]:
        """Functional-API lines applying the stack to ``h`` and leaving its output in ``h``
        (and, as the last layer with return_state, each final state stacked on axis 1 in
        ``h_last`` / ``c_last``): the initial states go in per layer, forward then backward,
        as Keras' Bidirectional takes them; ``masked``: the mask handed over explicitly (Keras
        3.15 drops it when initial_state is given)."""
        o, dirs = cfg.opts, self.directions(cfg.opts)
        finals = cfg.last and o["return_state"]
        names = self.finals(o)
        collected: dict[str, list[str]] = {f: [] for f in names}
        lines = []
        for layer, code in enumerate(self.keras_layers(cfg, finals)):
            init = ""
            if cfg.state_inputs:
                parts = [f"{s}[:, {layer * dirs + d}]" for d in range(dirs)
                         for s in cfg.state_inputs]
                init = f", initial_state=[{', '.join(parts)}]"
            target = "h"
            if finals:
                got = [f"{f}_{layer}{'fb'[d] if dirs == 2 else ''}"
                       for d in range(dirs) for f in names]
                for f, g in zip(names * dirs, got):
                    collected[f].append(g)
                target = ", ".join(["h", *got])
            if init and masked:
                init += f", mask={h}._keras_mask"     # initial_state drops the mask
            lines.append(f"{target} = {code}({h}{init})")
            h = "h"
        for f, got in collected.items() if finals else ():
            lines.append(f"{f} = keras.ops.stack([{', '.join(got)}], axis=1)")
        return lines

    def torch_forward(self, cfg):
        o, states = cfg.opts, list(cfg.state_inputs)
        general = self.general(o)
        index = "" if general else "[None]"
        if len(states) == 2:
            state = f", ({states[0]}{index}, {states[1]}{index})"
        else:
            state = f", {states[0]}{index}" if states else ""
        lines = []
        if cfg.flow_in.layout == "signal":
            lines.append("x = x.transpose(1, 2)  # nn.Conv1d's (N, C, L) -> batch-first (N, L, C)")
        if o["go_backwards"]:
            lines.append("x = x.flip(1)  # go_backwards: Keras reads the last step first and "
                         "returns h_seq in that order; torch has no option")
        lines.append(f"x, state = self.{cfg.name}(x{state})  # x: h_seq (N, T, "
                     f"{'2H' if o['bidirectional'] else 'H'}), batch_first")
        H, mode = o["units"], self.merge(o)
        h_n = "state[0]" if self.states(o) == ("h0", "c0") else "state"
        if not o["return_sequences"] and general:
            if mode is None:
                lines.append(f"x = {h_n}[-1]  # the last layer's final state")
            else:
                lines.append(f"x = {_merge_code(mode, f'{h_n}[-2]', f'{h_n}[-1]')}  # both "
                             "directions' final states (x[:, -1] would hold the backward "
                             "direction after ONE step)")
        else:
            if mode not in (None, "concat"):
                lines.append(f"x = {_merge_code(mode, f'x[..., :{H}]', f'x[..., {H}:]')}  # "
                             f"merge_mode={mode!r}: torch only concatenates")
            if not o["return_sequences"]:
                lines.append("x = x[:, -1]  # h_last")
        return lines

    def torch_returns(self, cfg) -> dict[str, str]:
        """The printed torch forward's expression for each final output: torch's own h_n /
        c_n ((L*dirs, N, H), mapped to the canonical (N, L*dirs, H)) where there are several,
        else h_n[0]."""
        lstm = self.states(cfg.opts) == ("h0", "c0")
        h_n = "state[0]" if lstm else "state"
        if self.general(cfg.opts):
            out = {"h_last": h_n, "c_last": "state[1]"}
        else:
            out = {"h_last": f"{h_n}[0]", "c_last": "state[1][0]"}
        return {"h_seq": "x", "y_last": "x", **out}

    def formula(self, cfg, framework):
        return self.formulas[framework] + self.activation_formula(cfg, framework)

    def activation_formula(self, cfg, framework) -> str:
        """What the non-default activations change, and where torch computes them."""
        text = self.activation_text(cfg.opts)
        if not text:
            return ""
        said = text.lstrip(", ").replace("activation=", "activation ")
        if framework == "torch":
            return (f" — with {said}: the explicit cell torch_impl.recurrent.Explicit (torch "
                    "ops, autograd)" if self.written_out(cfg.opts)
                    else f" — with {said}: nn.RNN(nonlinearity='relu')")
        return f" — with {said}"

    formulas: dict = {}


def _merge_code(mode: str, a: str, b: str) -> str:
    return {"concat": f"torch.cat([{a}, {b}], -1)", "sum": f"{a} + {b}",
            "mul": f"{a} * {b}", "ave": f"({a} + {b}) / 2"}[mode]


class SimpleRNN(Recurrent):
    name, title, stem = "simple_rnn", "SimpleRNN", "rnn"
    keras, torch = "keras.layers.SimpleRNN", "torch.nn.RNN"
    aliases = ("rnn", "SimpleRNN", "simplernn")
    gates = torch_gates = ("h",)
    keras_cell = "simple_rnn_cell"
    equations = (
        "h_t = tanh(a_t),  a_t = x_t W_x + h_{t-1} W_h + b          x_t (N, D), h_t (N, H)\n"
        "BPTT, t = T..1:  dh_t = dh_seq[t] + dh_next;  da_t = dh_t (1 - h_t^2);\n"
        "  dx_t = da_t W_x^T;  dh_next = da_t W_h^T;  dW_x += x_t^T da_t;  dW_h += h_{t-1}^T da_t;"
        "  db += sum_n da_t")
    formulas = {
        "scratch": "h_t = tanh(x_t W_x + h_{t-1} W_h + b), BPTT by hand",
        "torch": "nn.RNN(nonlinearity='tanh'): h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T "
                 "+ b_hh)",
        "keras": "layers.SimpleRNN: h_t = tanh(x_t kernel + h_{t-1} recurrent_kernel + bias)",
    }

    options = Recurrent.options + (ACTIVATION,)

    def torch_code(self, cfg):
        if self.written_out(cfg.opts):
            return self.explicit_code(cfg)
        return (f"nn.RNN({cfg.flow_in.features}, {cfg.opts['units']}, "
                f"nonlinearity={cfg.opts['activation']!r}{self.torch_extra(cfg)}, "
                "batch_first=True)")


class LSTM(Recurrent):
    name, title, stem = "lstm", "LSTM", "lstm"
    keras, torch = "keras.layers.LSTM", "torch.nn.LSTM"
    aliases = ("LSTM",)
    options = Recurrent.options + (ACTIVATION, RECURRENT_ACTIVATION)
    gates = torch_gates = ("i", "f", "g", "o")
    keras_cell = "lstm_cell"
    equations = (
        "[a_i a_f a_g a_o] = x_t W_x + h_{t-1} W_h + b\n"
        "i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)\n"
        "c_t = f c_{t-1} + i g        h_t = o tanh(c_t)\n"
        "BPTT: dc_t = dc_next + dh_t o (1 - tanh(c_t)^2);  do = dh_t tanh(c_t);\n"
        "  di = dc_t g;  df = dc_t c_{t-1};  dg = dc_t i;  dc_next = dc_t f;\n"
        "  da_i = di i (1 - i);  da_f = df f (1 - f);  da_g = dg (1 - g^2);  da_o = do o (1 - o)")
    notes = Recurrent.notes + (
             "Gate order i, f, g (Keras calls it c), o in both libraries: weights only transpose "
             "(Keras (in, 4H) columns, torch (4H, in) rows).",
             "Speed, not numbers: on the CPU torch hands a float32 nn.LSTM to oneDNN's fused RNN "
             "kernel; float64, and nn.GRU / nn.RNN in either dtype, run torch's own per-step "
             "operations.")
    formulas = {
        "scratch": "[a_i a_f a_g a_o] = x_t W_x + h_{t-1} W_h + b; i, f, o = sigmoid, "
                   "g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t), BPTT by hand",
        "torch": "nn.LSTM: rows i, f, g, o of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh; "
                 "c_t = f c_{t-1} + i g; h_t = o tanh(c_t)",
        "keras": "layers.LSTM: columns i, f, c, o of x_t kernel + h_{t-1} recurrent_kernel + "
                 "bias; c_t = f c_{t-1} + i c~; h_t = o tanh(c_t)",
    }

    def states(self, opts):
        return ("h0", "c0")


_AFTER = "reset AFTER the recurrent product"
_BEFORE = "reset BEFORE the recurrent product"


class GRU(Recurrent):
    name, title, stem = "gru", "GRU", "gru"
    keras, torch = "keras.layers.GRU", "torch.nn.GRU"
    aliases = ("GRU",)
    gates = ("z", "r", "h")
    torch_gates = ("r", "z", "h")
    keras_cell = "gru_cell"
    options = Recurrent.options + (
        Option("reset_after", True, "apply the reset gate after the recurrent product (torch's "
               "nn.GRU and Keras' default) or before it (the original formula, no torch layer)",
               boolean),
        ACTIVATION, RECURRENT_ACTIVATION,
    )
    equations = (
        "reset_after=True (torch nn.GRU, Keras' default), b (2, 3H):\n"
        "  z = sigmoid(x W_xz + b0_z + h W_hz + b1_z)\n"
        "  r = sigmoid(x W_xr + b0_r + h W_hr + b1_r)\n"
        "  hh = tanh(x W_xh + b0_h + r * (h W_hh + b1_h))   h' = z h + (1 - z) hh\n"
        "reset_after=False (the original formula), b (3H,):\n"
        "  z, r as above with one bias;  hh = tanh(x W_xh + (r * h) W_hh + b_h)\n"
        "BPTT: da_z = dh (h - hh) z (1 - z);  da_h = dh (1 - z)(1 - hh^2);  then through r.")
    notes = Recurrent.notes + (
             "Gate order: Keras columns z, r, h; torch rows r, z, n. The mapping swaps the "
             "first two blocks (BlockReorder) before the transpose (Chain); a transpose alone "
             "would load Keras' update gate as torch's reset gate.",
             "reset_after=True keeps a (2, 3H) bias, because the recurrent bias of the candidate "
             "sits inside the reset gate, r * (h W_hh + b[1]_h), and cannot be merged with "
             "b[0]_h; torch's bias_ih / bias_hh are exactly those two rows (gate-reordered).",
             "reset_after=False (Keras' original formula) has no torch layer: crossframe's "
             "torch side is the explicit cell crossframe.torch_impl.recurrent.GRUResetBefore, "
             "differentiated by autograd, so parity stays three-way.")

    def stacked_bias(self, opts):
        return opts["reset_after"]

    def torch_module(self, opts):
        return "nn.GRU" if opts["reset_after"] else "GRUResetBefore (explicit cell)"

    def torch_code(self, cfg):
        if cfg.opts["reset_after"] or self.written_out(cfg.opts):
            return super().torch_code(cfg)
        return (f"GRUResetBefore({cfg.flow_in.features}, {cfg.opts['units']}"
                f"{self.torch_extra(cfg)})  # no torch layer computes reset_after=False: "
                "crossframe.torch_impl.recurrent")

    def torch_imports(self, cfg):
        if cfg.opts["reset_after"] or self.written_out(cfg.opts):
            return super().torch_imports(cfg)
        return ["from crossframe.torch_impl.recurrent import GRUResetBefore"]

    def keras_code(self, cfg):
        code = super().keras_code(cfg)
        return code if cfg.opts["reset_after"] else code[:-1] + ", reset_after=False)"

    def keras_extra(self, cfg):
        return "" if cfg.opts["reset_after"] else ", reset_after=False"

    def formula(self, cfg, framework):
        after = cfg.opts["reset_after"]
        return {
            ("scratch", True): "z, r = sigmoid(x W_x[z,r] + b[0][z,r] + h W_h[z,r] + b[1][z,r]); "
                               "hh = tanh(x W_x[h] + b[0][h] + r * (h W_h[h] + b[1][h])); "
                               f"h' = z h + (1 - z) hh — {_AFTER}, BPTT by hand",
            ("torch", True): "nn.GRU: r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + "
                             "b_h{r,z}); n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); "
                             f"h' = (1 - z) n + z h — {_AFTER} (= Keras reset_after=True)",
            ("keras", True): "layers.GRU(reset_after=True), the default: z, r = sigmoid(x "
                             "kernel[z,r] + bias[0] + h recurrent_kernel[z,r] + bias[1]); hh = "
                             "tanh(x kernel[h] + bias[0][h] + r * (h recurrent_kernel[h] + "
                             f"bias[1][h])); h' = z h + (1 - z) hh — {_AFTER}",
            ("scratch", False): "z, r = sigmoid(x W_x[z,r] + h W_h[z,r] + b[z,r]); "
                                "hh = tanh(x W_x[h] + (r * h) W_h[h] + b[h]); "
                                f"h' = z h + (1 - z) hh — {_BEFORE}, BPTT by hand",
            ("torch", False): "explicit cell crossframe.torch_impl.recurrent.GRUResetBefore "
                              "(torch ops, autograd; NO torch layer computes this formula), "
                              "nn.GRU's parameters: r, z = sigmoid(W_i{r,z} x + b_i{r,z} + "
                              "W_h{r,z} h + b_h{r,z}); n = tanh(W_in x + b_in + W_hn (r * h) + "
                              f"b_hn); h' = (1 - z) n + z h — {_BEFORE}",
            ("keras", False): "layers.GRU(reset_after=False): z, r = sigmoid(x kernel[z,r] + "
                              "h recurrent_kernel[z,r] + bias[z,r]); hh = tanh(x kernel[h] + "
                              f"(r * h) recurrent_kernel[h] + bias[h]); h' = z h + (1 - z) hh — "
                              f"{_BEFORE}",
        }[(framework, after)] + self.activation_formula(cfg, framework)


# one object per kind of layer (what implementations name and users call: LSTM(units=8))
SimpleRNN, LSTM, GRU = SimpleRNN(), LSTM(), GRU()


# --- where the libraries differ (crossframe.spec.Difference) ---------------------------------
def _with_torch_mapping(case, entries_of):
    """The case with torch's mapping rows rewritten by ``entries_of(entries) -> entries``."""
    import dataclasses

    from ..runner import with_mapping

    return with_mapping(case, "torch", lambda m: dataclasses.replace(
        m, params=tuple(entries_of(m.params))))


def _measure_reset_gate() -> float:
    """torch.nn.GRU (reset after) vs Keras GRU(reset_after=False) on the same weights (the
    reset-before bias = the sum of the two rows): relative difference of h_seq."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    after = prepare("gru_layer", "float64")
    w = {k: (v[0] + v[1] if k == "gru.b" else v) for k, v in after.weights.items()}
    before = prepare("gru_reset_before_layer", "float64", weights=w)
    return rel_error(run(after, "torch").outputs["h_seq"], run(before, "keras").outputs["h_seq"])


def _measure_bias_twice() -> float:
    """LSTM: Keras' bias copied into both torch biases (counted twice) vs Keras."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    case = prepare("lstm_layer", "float64")
    doubled = _with_torch_mapping(case, lambda entries: [
        Entry(e.canonical, e.framework, Identity(), "copied into both") if ".bias_" in e.framework
        else e for e in entries])
    return rel_error(run(doubled, "torch").outputs["h_seq"], run(case, "keras").outputs["h_seq"])


def _measure_gate_order() -> float:
    """GRU: Keras' kernels loaded into torch.nn.GRU with a transpose only (z read as r)."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    def unordered(t: Transform) -> Transform:
        if isinstance(t, Chain):
            steps = tuple(s for s in t.steps if not isinstance(s, BlockReorder))
            return steps[0] if len(steps) == 1 else Chain(steps)
        return t

    case = prepare("gru_layer", "float64")
    plain = _with_torch_mapping(case, lambda entries: [
        Entry(e.canonical, e.framework, unordered(e.transform), "no reorder") for e in entries])
    return rel_error(run(plain, "torch").outputs["h_seq"], run(case, "keras").outputs["h_seq"])



def _measure_old_keras_gates() -> float:
    """An LSTM from Keras 2 (recurrent_activation hard_sigmoid, 0.2 x + 0.5 clipped) run by
    torch's nn.LSTM (sigmoid gates) on the same weights: relative difference of h_seq."""
    from ..runner import prepare, run
    from ..tolerances import rel_error

    old = prepare("lstm_layer", "float64", options={"recurrent_activation": "hard_sigmoid_keras2"})
    plain = prepare("lstm_layer", "float64", weights=old.weights)
    return rel_error(run(plain, "torch").outputs["h_seq"], run(old, "keras").outputs["h_seq"])


DIFFERENCES = (
    Difference(
        "GRU reset gate",
        torch="nn.GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), the reset applied after "
              "the recurrent product; no layer computes the original formula",
        keras="GRU(reset_after=True), the default, computes torch's formula (bias (2, 3H)); "
              "reset_after=False the original: hh = tanh(x W_xh + (r * h) W_hh + b_h), "
              "bias (3H,)",
        agree_when="Keras reset_after=True (the default); a reset_after=False model has no "
                   "torch layer (crossframe writes the cell out: torch_impl.recurrent."
                   "GRUResetBefore). Measured: nn.GRU vs Keras reset_after=False on the same "
                   "weights, relative difference of h_seq",
        measure=_measure_reset_gate, layers=('gru',),
    ),
    Difference(
        "recurrent biases",
        torch="two biases, bias_ih and bias_hh, both added to every pre-activation; in "
              "training the optimizer steps each, so under SGD their sum moves twice as far "
              "(crossframe's trajectory reference trains in torch's parameterization)",
        keras="one bias (kH,) (the reset-after GRU: two rows, (2, 3H), = torch's two)",
        agree_when="torch's two biases sum to Keras' one (crossframe loads halves: "
                   "Scale(0.5) + Scale(0.5)). Measured: the Keras LSTM bias copied into both "
                   "torch biases, relative difference of h_seq",
        measure=_measure_bias_twice, layers=('simple_rnn', 'lstm', 'gru'),
    ),
    Difference(
        "GRU gate order",
        torch="weight_ih (3H, in): row blocks r, z, n",
        keras="kernel (in, 3H): column blocks z, r, h",
        agree_when="the first two blocks are swapped when converting (BlockReorder, then "
                   "transpose). Measured: Keras' GRU weights transposed into nn.GRU without "
                   "the swap, relative difference of h_seq",
        measure=_measure_gate_order, layers=('gru',),
    ),
    Difference(
        "recurrent activations",
        torch="nn.LSTM and nn.GRU compute sigmoid gates and tanh, nn.RNN tanh or relu: no "
              "argument for any other",
        keras="activation= and recurrent_activation= take any function; Keras 2's LSTM and GRU "
              "defaulted to recurrent_activation='hard_sigmoid', clip(0.2 x + 0.5, 0, 1) (Keras "
              "3: 'sigmoid', and its 'hard_sigmoid' is relu6(x + 3) / 6)",
        agree_when="the activations are tanh and sigmoid (nn.RNN: also relu); otherwise "
                   "crossframe's torch side writes the cell out (torch_impl.recurrent."
                   "Explicit), and a Keras 2 LSTM is recurrent_activation=hard_sigmoid_keras2. "
                   "Measured: an old Keras LSTM's weights run by nn.LSTM, relative difference "
                   "of h_seq",
        measure=_measure_old_keras_gates, layers=('simple_rnn', 'lstm', 'gru'),
    ),
)
