"""Recurrent family specs: SimpleRNN, LSTM, GRU (reset after / before the recurrent product).

Registered names, per cell (``rnn``, ``lstm``, ``gru``, ``gru_reset_before``):

- ``<cell>_layer``  the layer alone, random input and random upstream gradients; options
                    ``--inputs D --hidden H --steps T --return-sequences true|false
                    --initial-state true|false``. Outputs ``h_seq`` (N, T, H) when returning
                    sequences, and always the final state ``h_last`` (N, H) (and ``c_last`` for
                    the LSTM): Keras ``return_state=True``, torch's ``(h_n, c_n)``.
- ``<cell>``        sequence classifier on scikit-learn's digits read row by row (8 steps x 8
                    pixels) -> last hidden state -> Dense(10) -> softmax cross-entropy.
- ``<cell>_seq``    many-to-many on the same digits: rows 0..6 in, every hidden state ->
                    Dense(8) at each step -> the next row (1..7), MSE over every step and pixel.
                    A separate name rather than a ``--return-sequences`` flag on the model,
                    because the loss (a spec's ``loss``) and the target change with it.

The initial state is an input (``h0``, and ``c0`` for the LSTM) of every spec unless
``--initial-state false``: seeded random states, so the gradient of the loss with respect to
them (``grad:h0``, ``grad:c0``) is part of every check.

Canonical layout (= Keras'): ``<layer>.W_x (D, kH)``, ``<layer>.W_h (H, kH)`` with the k gate
blocks side by side as column blocks (LSTM i, f, g, o; GRU z, r, h), ``<layer>.b (kH,)``, or
``(2, 3H)`` for the reset-after GRU (row 0 input side, row 1 recurrent side). ``<layer>`` is
``rnn``, ``lstm`` or ``gru``; a model's head is ``dense.W (H, U)``, ``dense.b (U,)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data
from ..bench import Benchmark
from ..errors import InputError
from ..mapping import (BlockReorder, Chain, Entry, Identity, Mapping, Row, Scale, Transform,
                       Transpose, identity_mapping)
from ..spec import Batch, Difference, Option, ParamSpec, Spec, parse_bool, register
from .dense import keras_dense_mapping, torch_dense_mapping

SCRATCH_WHY = "scratch computes in the canonical layout"
KERAS_WHY = "Keras' layout is the canonical one"
ROW = 8          # a digits image is 8 rows of 8 pixels
CLASSES = 10


@dataclass(frozen=True)
class Cell:
    """One recurrent cell as the three libraries store and compute it."""

    key: str                      # "lstm": names its specs and builders
    title: str                    # "LSTM"
    layer: str                    # canonical prefix, torch attribute, Keras layer name
    keras_cell: str               # Keras' cell, the middle of its variable paths
    gates: tuple[str, ...]        # canonical (Keras) gate blocks, in order
    torch_gates: tuple[str, ...]  # the same blocks in torch's row order
    stacked_bias: bool            # bias (2, kH): input and recurrent rows (reset-after GRU)
    formulas: dict                # framework -> what it computes (Mapping.formula)
    torch_module: str             # what holds the torch weights

    @property
    def k(self) -> int:
        return len(self.gates)

    @property
    def states(self) -> tuple[str, ...]:
        return ("h0", "c0") if self.key == "lstm" else ("h0",)

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("h_seq", "h_last", "c_last") if self.key == "lstm" else ("h_seq", "h_last")


_GRU_AFTER = "reset AFTER the recurrent product"
_GRU_BEFORE = "reset BEFORE the recurrent product"

CELLS = {c.key: c for c in (
    Cell("rnn", "SimpleRNN", "rnn", "simple_rnn_cell", ("h",), ("h",), False, {
        "scratch": "h_t = tanh(x_t W_x + h_{t-1} W_h + b), BPTT by hand "
                   "(crossframe.scratch.recurrent.SimpleRNN)",
        "torch": "nn.RNN(nonlinearity='tanh'): h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T "
                 "+ b_hh)",
        "keras": "layers.SimpleRNN: h_t = tanh(x_t kernel + h_{t-1} recurrent_kernel + bias)",
    }, "nn.RNN"),
    Cell("lstm", "LSTM", "lstm", "lstm_cell", ("i", "f", "g", "o"), ("i", "f", "g", "o"), False, {
        "scratch": "[a_i a_f a_g a_o] = x_t W_x + h_{t-1} W_h + b; i, f, o = sigmoid, "
                   "g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t), BPTT by hand",
        "torch": "nn.LSTM: rows i, f, g, o of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh; "
                 "c_t = f c_{t-1} + i g; h_t = o tanh(c_t)",
        "keras": "layers.LSTM: columns i, f, c, o of x_t kernel + h_{t-1} recurrent_kernel + "
                 "bias; c_t = f c_{t-1} + i c~; h_t = o tanh(c_t)",
    }, "nn.LSTM"),
    Cell("gru", "GRU", "gru", "gru_cell", ("z", "r", "h"), ("r", "z", "h"), True, {
        "scratch": "z, r = sigmoid(x W_x[z,r] + b[0][z,r] + h W_h[z,r] + b[1][z,r]); "
                   "hh = tanh(x W_x[h] + b[0][h] + r * (h W_h[h] + b[1][h])); "
                   f"h' = z h + (1 - z) hh — {_GRU_AFTER}, BPTT by hand",
        "torch": "nn.GRU: r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z}); "
                 "n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) n + z h — "
                 f"{_GRU_AFTER} (= Keras reset_after=True)",
        "keras": "layers.GRU(reset_after=True), the default: z, r = sigmoid(x kernel[z,r] + "
                 "bias[0] + h recurrent_kernel[z,r] + bias[1]); hh = tanh(x kernel[h] + "
                 "bias[0][h] + r * (h recurrent_kernel[h] + bias[1][h])); "
                 f"h' = z h + (1 - z) hh — {_GRU_AFTER}",
    }, "nn.GRU"),
    Cell("gru_reset_before", "GRU (reset before)", "gru", "gru_cell", ("z", "r", "h"),
         ("r", "z", "h"), False, {
        "scratch": "z, r = sigmoid(x W_x[z,r] + h W_h[z,r] + b[z,r]); "
                   "hh = tanh(x W_x[h] + (r * h) W_h[h] + b[h]); "
                   f"h' = z h + (1 - z) hh — {_GRU_BEFORE}, BPTT by hand",
        "torch": "explicit cell crossframe.torch_impl.recurrent.GRUResetBefore (torch ops, "
                 "autograd; NO torch layer computes this formula), nn.GRU's parameters: "
                 "r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z}); "
                 "n = tanh(W_in x + b_in + W_hn (r * h) + b_hn); h' = (1 - z) n + z h — "
                 f"{_GRU_BEFORE}",
        "keras": "layers.GRU(reset_after=False): z, r = sigmoid(x kernel[z,r] + "
                 "h recurrent_kernel[z,r] + bias[z,r]); hh = tanh(x kernel[h] + "
                 "(r * h) recurrent_kernel[h] + bias[h]); "
                 f"h' = z h + (1 - z) hh — {_GRU_BEFORE}",
    }, "GRUResetBefore (explicit cell)"),
)}


# --- canonical parameters --------------------------------------------------------------------
def _blocks(cell: Cell, H_label: str = "H") -> tuple[str, str]:
    """("4H", ", gate blocks i, f, g, o") -- or ("H", "") for the one-block SimpleRNN."""
    if cell.k == 1:
        return H_label, ""
    return f"{cell.k}H", f", gate blocks {', '.join(cell.gates)}"


def cell_params(cell: Cell, D: int, H: int) -> list[ParamSpec]:
    kH, blocks = _blocks(cell)
    L = cell.layer
    if cell.stacked_bias:
        bias = ParamSpec(f"{L}.b", (2, cell.k * H), "bias",
                         doc=f"bias (2, {kH}): row 0 input side, row 1 recurrent side{blocks}")
    else:
        bias = ParamSpec(f"{L}.b", (cell.k * H,), "bias", doc=f"bias ({kH},){blocks}")
    return [
        ParamSpec(f"{L}.W_x", (D, cell.k * H), "weight", D, f"input kernel (D, {kH}){blocks}"),
        ParamSpec(f"{L}.W_h", (H, cell.k * H), "weight", H,
                  f"recurrent kernel (H, {kH}){blocks}"),
        bias,
    ]


def head_params(H: int, units: int) -> list[ParamSpec]:
    return [ParamSpec("dense.W", (H, units), "weight", H, "kernel (in, out)"),
            ParamSpec("dense.b", (units,), "bias", doc="bias (out,)")]


# --- the mappings, as data -------------------------------------------------------------------
BIAS_HALVES_WHY = (
    "torch adds bias_ih + bias_hh inside every pre-activation, so the canonical b fixes only "
    "their sum: each gets b/2 (any split with that sum computes the same; equal halves also make "
    "the training read-back a left inverse). b enters only through the sum, so dL/dbias_ih = "
    "dL/dbias_hh = dL/db, and the adjoint 0.5 g + 0.5 g gives exactly that back")


def torch_cell_mapping(cell: Cell) -> list[Entry]:
    """Canonical (Keras) -> torch: transpose (gate blocks become row blocks), the GRU's block
    reorder z, r, h -> r, z, n, and the bias into torch's two biases."""
    L = cell.layer
    reorder = (BlockReorder(cell.gates, cell.torch_gates, axis=-1)
               if cell.gates != cell.torch_gates else None)

    def chain(*steps: Transform) -> Transform:
        steps = tuple(s for s in (reorder, *steps) if s is not None)
        return steps[0] if len(steps) == 1 else Chain(steps)

    if reorder is None:
        w_why = (f"{cell.torch_module} stores weight (kH, in) with the gate blocks "
                 f"({', '.join(cell.gates)}) as rows, and computes x W^T: a transpose")
    else:
        w_why = (f"{cell.torch_module} stacks rows r, z, n (n is Keras' candidate h), Keras "
                 "columns z, r, h: swap the first two blocks, then transpose to (3H, in)")
    entries = [Entry(f"{L}.W_x", f"{L}.weight_ih_l0", chain(Transpose((1, 0))), w_why),
               Entry(f"{L}.W_h", f"{L}.weight_hh_l0", chain(Transpose((1, 0))), w_why)]
    if cell.stacked_bias:
        row_why = ("row {i} of Keras' (2, 3H) bias is torch's {name} ({side}): the same two "
                   "biases in one array; each gradient row is that bias' gradient")
        entries += [
            Entry(f"{L}.b", f"{L}.bias_ih_l0", Chain((Row(0),) + ((reorder,) if reorder else ())),
                  row_why.format(i=0, name="bias_ih", side="input side")),
            Entry(f"{L}.b", f"{L}.bias_hh_l0", Chain((Row(1),) + ((reorder,) if reorder else ())),
                  row_why.format(i=1, name="bias_hh",
                                 side="recurrent side, inside the reset gate for n")),
        ]
    else:
        why = ("b/2 each: torch adds bias_ih + bias_hh, only their sum is b; b enters only "
               "through that sum, so each torch bias' gradient IS dL/db, and the adjoint "
               "0.5 g + 0.5 g returns it")
        if cell.key == "gru_reset_before":
            why += " (in this formula b_hn is outside the reset gate, so the sum is all)"
        entries += [Entry(f"{L}.b", f"{L}.bias_ih_l0", chain(Scale(0.5)), why),
                    Entry(f"{L}.b", f"{L}.bias_hh_l0", chain(Scale(0.5)), why)]
    return entries


def keras_cell_mapping(cell: Cell) -> list[Entry]:
    path = f"{cell.layer}/{cell.keras_cell}"
    bias_why = (KERAS_WHY + ": GRU(reset_after=True) keeps (2, 3H), input and recurrent rows"
                if cell.stacked_bias else KERAS_WHY)
    return [Entry(f"{cell.layer}.W_x", f"{path}/kernel", Identity(), KERAS_WHY),
            Entry(f"{cell.layer}.W_h", f"{path}/recurrent_kernel", Identity(), KERAS_WHY),
            Entry(f"{cell.layer}.b", f"{path}/bias", Identity(), bias_why)]


def _io(framework: str, cell: Cell, initial_state: bool, outputs: tuple[str, ...]):
    """Input and output rows (all identities: batch-first everywhere) with their reasons."""
    x_why = {"scratch": "(N, T, D) batch-first",
             "torch": "batch_first=True: (N, T, D) as canonical",
             "keras": "(N, T, D); the time axis is declared None"}[framework]
    s_why = {"scratch": "(N, H); zeros when not given",
             "torch": "(N, H); the module adds torch's num_layers axis, state[None]",
             "keras": "(N, H), passed as initial_state=[h0(, c0)]"}[framework]
    inputs = [Entry("x", "x", Identity(), x_why)]
    if initial_state:
        inputs += [Entry(s, s, Identity(), s_why) for s in cell.states]
    out_why = {"torch": {"h_seq": "output (N, T, H)", "h_last": "h_n[0]", "c_last": "c_n[0]"},
               "keras": {"h_seq": "return_sequences=True", "h_last": "return_state=True",
                         "c_last": "return_state=True"}}.get(framework, {})
    outs = [Entry(o, o, Identity(), out_why.get(o, "")) for o in outputs]
    return tuple(inputs), tuple(outs)


def _mappings(cell: Cell, params_of, outputs_of, head: bool):
    def scratch(o):
        m = identity_mapping("scratch", [p.name for p in params_of(o)], SCRATCH_WHY)
        ins, outs = _io("scratch", cell, o["initial-state"], outputs_of(o))
        return Mapping("scratch", m.params, ins, outs, cell.formulas["scratch"])

    def framework(fw, cell_mapping, dense_mapping):
        def mapping(o):
            entries = list(cell_mapping(cell))
            if head:
                dense = [p for p in params_of(o) if p.name.startswith("dense.")]
                entries += dense_mapping(dense).params
            ins, outs = _io(fw, cell, o["initial-state"], outputs_of(o))
            return Mapping(fw, tuple(entries), ins, outs, cell.formulas[fw])
        return mapping

    return {"scratch": scratch,
            "torch": framework("torch", torch_cell_mapping, torch_dense_mapping),
            "keras": framework("keras", keras_cell_mapping, keras_dense_mapping)}


def _builders(fn: str):
    return {fw: f"crossframe.{pkg}.recurrent:{fn}" for fw, pkg in
            (("scratch", "scratch"), ("torch", "torch_impl"), ("keras", "keras_impl"))}


# --- batches ---------------------------------------------------------------------------------
def _states(cell: Cell, o: dict, N: int, seed: int, dtype: str) -> dict:
    """Seeded random initial states (N, H), scaled by 0.5 (exact), or none."""
    if not o["initial-state"]:
        return {}
    return {s: data.random_input((N, o["hidden"]), seed, s, dtype) * np.asarray(0.5, dtype)
            for s in cell.states}


def _layer_batch(cell: Cell):
    def batch(o, dtype, seed, batch_size):
        N, T, D, H = batch_size, o["steps"], o["inputs"], o["hidden"]
        x = data.random_input((N, T, D), seed, "x", dtype)
        shapes = {"h_seq": (N, T, H), "h_last": (N, H), "c_last": (N, H)}
        up = {k: data.upstream(shapes[k], seed, k, dtype) for k in _layer_outputs(cell, o)}
        return Batch({"x": x, **_states(cell, o, N, seed, dtype)}, None, up)
    return batch


def _layer_outputs(cell: Cell, o: dict) -> tuple[str, ...]:
    return tuple(k for k in cell.outputs if k != "h_seq" or o["return-sequences"])


def _digit_rows(batch_size: int, seed: int, dtype: str):
    """(images (N, 8, 8): row t of each image is step t, labels (N,))."""
    X, y = data.digits()
    rows = data.sample_rows(len(X), batch_size, seed)
    return X[rows].reshape(-1, ROW, ROW).astype(dtype), y[rows]


def _classifier_batch(cell: Cell):
    def batch(o, dtype, seed, batch_size):
        images, labels = _digit_rows(batch_size, seed, dtype)
        return Batch({"x": images, **_states(cell, o, len(images), seed, dtype)}, labels)
    return batch


def _sequence_batch(cell: Cell):
    def batch(o, dtype, seed, batch_size):
        images, _ = _digit_rows(batch_size, seed, dtype)
        x, target = images[:, :-1].copy(), images[:, 1:].copy()   # row t -> row t + 1
        return Batch({"x": x, **_states(cell, o, len(images), seed, dtype)}, target)
    return batch


# --- options ---------------------------------------------------------------------------------
def _positive(text) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive.__name__ = "positive int"


def _validate(o):
    for key in ("inputs", "hidden", "steps"):
        if not isinstance(o[key], (int, np.integer)) or isinstance(o[key], bool) or o[key] < 1:
            raise InputError(f"--{key} {o[key]!r} must be a positive integer", "pass e.g. 4")


STATE_OPTION = Option("initial-state", True,
                      "pass h0 (and c0 for the LSTM) as inputs: seeded random states whose "
                      "gradient is checked (false: start from zeros)", parse_bool, (True, False))


def _layer_options():
    return (Option("inputs", 3, "D, input features per step", _positive),
            Option("hidden", 4, "H, hidden units", _positive),
            Option("steps", 5, "T, time steps", _positive),
            Option("return-sequences", True,
                   "output h_seq (N, T, H) besides the final state", parse_bool, (True, False)),
            STATE_OPTION)


def _model_options(steps: int):
    return (Option("hidden", 8, "H, hidden units", _positive),
            STATE_OPTION,
            Option("inputs", ROW, "features per step: a digits row has 8 pixels", int, (ROW,)),
            Option("steps", steps, f"time steps: {steps} digits rows", int, (steps,)))


# --- notes -----------------------------------------------------------------------------------
def _notes(cell: Cell) -> tuple[str, ...]:
    notes = []
    if cell.key == "lstm":
        notes.append("Gate order i, f, g (Keras calls it c), o in both libraries: weights only "
                     "transpose (Keras (in, 4H) columns, torch (4H, in) rows).")
        notes.append("Speed, not numbers: on the CPU torch hands a float32 nn.LSTM to oneDNN's "
                     "fused RNN kernel; float64, and nn.GRU / nn.RNN in either dtype, run "
                     "torch's own per-step operations. Measured on a 2-core machine, forward + "
                     "backward for N=32 T=50 D=16 H=64: 2.2-2.7 ms with oneDNN on 2 threads, "
                     "3.3 ms on 1, 8-9 ms with torch.backends.mkldnn.enabled = False.")
    if cell.key.startswith("gru"):
        notes.append("Gate order: Keras columns z, r, h; torch rows r, z, n. The mapping swaps "
                     "the first two blocks (BlockReorder) before the transpose (Chain); a "
                     "transpose alone would load Keras' update gate as torch's reset gate.")
    if cell.stacked_bias:
        notes.append("Bias (2, 3H): Keras' reset_after=True keeps an input row and a recurrent "
                     "row, because the recurrent bias of the candidate sits inside the reset "
                     "gate, r * (h W_hh + b[1]_h), and cannot be merged with b[0]_h. torch's "
                     "bias_ih / bias_hh are exactly those two rows (gate-reordered).")
    else:
        notes.append("One canonical bias, two torch biases: " + BIAS_HALVES_WHY + ". Copying "
                     "the bias into both torch biases (a well-known NumPy reference does) "
                     "counts it twice; zero biases would hide that, crossframe's never are.")
    if cell.key == "gru_reset_before":
        notes.append("No torch layer computes the reset-before formula (Keras "
                     "reset_after=False): the torch side is the explicit cell "
                     "crossframe.torch_impl.recurrent.GRUResetBefore, differentiated by "
                     "autograd, so parity stays three-way. nn.GRU on these weights computes a "
                     "different function (crossframe's Differences measure by how much).")
    notes.append("The initial state is an input (h0" + (", c0" if cell.key == "lstm" else "")
                 + "): seeded random by default, so its gradient is checked; "
                 "--initial-state false starts from zeros, as the layers do when given none.")
    return tuple(notes)


# --- registration ----------------------------------------------------------------------------
def _register_cell(cell: Cell) -> None:
    key = cell.key

    def layer_params(o):
        return cell_params(cell, o["inputs"], o["hidden"])

    register(Spec(
        name=f"{key}_layer", kind="layer", family="recurrent",
        summary=f"one {cell.title} layer, batch-first, checked with random upstream gradients "
                "on h_seq and the final state",
        loss="upstream", params=layer_params, batch=_layer_batch(cell),
        mappings=_mappings(cell, layer_params, lambda o: _layer_outputs(cell, o), head=False),
        builders=_builders("build_layer"), builder_args=(key,), options=_layer_options(),
        default_batch_size=6, validate=_validate,
        notes=_notes(cell) + ("Outputs: h_seq (with --return-sequences true) and the final "
                              "state h_last" + (", c_last" if key == "lstm" else "")
                              + " (Keras return_state=True; torch's h_n"
                              + (", c_n" if key == "lstm" else "") + "), each with its own "
                              "random upstream gradient.",),
    ))

    def classifier_params(o):
        return cell_params(cell, ROW, o["hidden"]) + head_params(o["hidden"], CLASSES)

    register(Spec(
        name=key, kind="model", family="recurrent",
        summary=f"{cell.title} sequence classifier: digits read row by row (8 steps x 8) -> "
                "last hidden state -> Dense(10) -> softmax cross-entropy",
        loss="softmax_ce", params=classifier_params, batch=_classifier_batch(cell),
        mappings=_mappings(cell, classifier_params, lambda o: ("logits",), head=True),
        builders=_builders("build_classifier"), builder_args=(key,), options=_model_options(ROW),
        dataset="digits", default_batch_size=16, validate=_validate,
        notes=_notes(cell) + (f"Many-to-many variant: {key}_seq.",),
    ))

    def sequence_params(o):
        return cell_params(cell, ROW, o["hidden"]) + head_params(o["hidden"], ROW)

    register(Spec(
        name=f"{key}_seq", kind="model", family="recurrent",
        summary=f"{cell.title} many-to-many: digits rows 0..6 -> every hidden state -> "
                "Dense(8) per step -> the next row, MSE per step",
        loss="mse", params=sequence_params, batch=_sequence_batch(cell),
        mappings=_mappings(cell, sequence_params, lambda o: ("prediction",), head=True),
        builders=_builders("build_sequence"), builder_args=(key,), options=_model_options(ROW - 1),
        dataset="digits", default_batch_size=16, validate=_validate,
        notes=_notes(cell) + (
            "return_sequences: the Dense head is applied at every time step (the same weights; "
            "Keras Dense and torch Linear act on the last axis, scratch reshapes (N*T, H)); "
            "MSE is the mean over batch, steps and pixels in all three.",),
    ))


for _cell in CELLS.values():
    _register_cell(_cell)


# --- benchmark workloads (crossframe bench) --------------------------------------------------

BENCHMARKS = (
    Benchmark("lstm", "lstm_layer", 32, {"inputs": 16, "hidden": 64, "steps": 50},
              "LSTM fwd+bwd N=32 T=50 D=16 H=64", target=1.5),
)


# --- where the libraries differ (crossframe.spec.Difference) ---------------------------------
def _with_torch_mapping(case, entries_of):
    """The case with torch's mapping rows rewritten by ``entries_of(entries) -> entries``."""
    import dataclasses

    from ..run import with_mapping

    return with_mapping(case, "torch", lambda m: dataclasses.replace(
        m, params=tuple(entries_of(m.params))))


def _measure_reset_gate() -> float:
    """torch.nn.GRU (reset after) vs Keras GRU(reset_after=False) on the same weights (the
    reset-before bias = the sum of the two rows): relative difference of h_seq."""
    from ..run import prepare, run
    from ..tolerances import rel_error

    after = prepare("gru_layer", "float64")
    w = {k: (v[0] + v[1] if k == "gru.b" else v) for k, v in after.weights.items()}
    before = prepare("gru_reset_before_layer", "float64", weights=w)
    return rel_error(run(after, "torch").outputs["h_seq"], run(before, "keras").outputs["h_seq"])


def _measure_bias_twice() -> float:
    """LSTM: Keras' bias copied into both torch biases (counted twice) vs Keras."""
    from ..run import prepare, run
    from ..tolerances import rel_error

    case = prepare("lstm_layer", "float64")
    doubled = _with_torch_mapping(case, lambda entries: [
        Entry(e.canonical, e.framework, Identity(), "copied into both") if ".bias_" in e.framework
        else e for e in entries])
    return rel_error(run(doubled, "torch").outputs["h_seq"], run(case, "keras").outputs["h_seq"])


def _measure_gate_order() -> float:
    """GRU: Keras' kernels loaded into torch.nn.GRU with a transpose only (z read as r)."""
    from ..run import prepare, run
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
        measure=_measure_reset_gate,
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
        measure=_measure_bias_twice,
    ),
    Difference(
        "GRU gate order",
        torch="weight_ih (3H, in): row blocks r, z, n",
        keras="kernel (in, 3H): column blocks z, r, h",
        agree_when="the first two blocks are swapped when converting (BlockReorder, then "
                   "transpose). Measured: Keras' GRU weights transposed into nn.GRU without "
                   "the swap, relative difference of h_seq",
        measure=_measure_gate_order,
    ),
)
