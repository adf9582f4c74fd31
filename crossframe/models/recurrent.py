"""Recurrent presets: SimpleRNN, LSTM, GRU (reset after / before the recurrent product).

Registered names, per cell (``rnn``, ``lstm``, ``gru``, ``gru_reset_before``):

- ``<cell>_layer``  the layer alone, random input and random upstream gradients; options
                    ``--features D --units H --steps T --return-sequences true|false
                    --initial-state true|false``, and the layer's own options
                    (``--use-bias --go-backwards --num-layers --bidirectional
                    --merge-mode --activation --recurrent-activation``). Outputs ``h_seq``
                    (N, T, H) when returning sequences (else, with several layers or
                    directions, ``y_last``), and always the final state ``h_last`` (N, H)
                    (and ``c_last`` for the LSTM; (N, layers * directions, H) with several):
                    Keras ``return_state=True``, torch's ``(h_n, c_n)``.
- ``<cell>``        sequence classifier on scikit-learn's digits read row by row (8 steps x 8
                    pixels) -> last hidden state -> Dense(10) -> softmax cross-entropy.
- ``<cell>_seq``    many-to-many on the same digits: rows 0..6 in, every hidden state ->
                    Dense(8) at each step -> the next row (1..7), MSE over every step and pixel.

The initial state is an input (``h0``, and ``c0`` for the LSTM) unless ``--initial-state
false``: seeded random states, so their gradients (``grad:h0``, ``grad:c0``) are checked too.
The cells themselves, their layouts and mappings, are declared in crossframe/layers/recurrent.py.
"""
from __future__ import annotations

from .. import data
from ..bench import Benchmark
from ..layers import GRU, LSTM, Dense, SimpleRNN
from ..layers.base import Option, boolean, integer
from ..sequential import Sequential
from ..spec import Batch, Spec, random_batch, register
from ..training.recipes import Recipe

ROW = 8          # a digits image is 8 rows of 8 pixels
CLASSES = 10

# preset key -> (declaration, fixed options, title)
CELLS = {
    "rnn": (SimpleRNN, {}, "SimpleRNN"),
    "lstm": (LSTM, {}, "LSTM"),
    "gru": (GRU, {"reset_after": True}, "GRU"),
    "gru_reset_before": (GRU, {"reset_after": False}, "GRU (reset before)"),
}

STATE_OPTION = Option("initial_state", True,
                      "pass h0 (and c0 for the LSTM) as inputs: seeded random states whose "
                      "gradient is checked (false: start from zeros)", boolean)


# the layer's own options, as flags of the <cell>_layer checks (crossframe.layers.recurrent)
LAYER_OPTIONS = ("use_bias", "go_backwards", "num_layers", "bidirectional", "merge_mode",
                 "activation", "recurrent_activation")


def _cell(key: str, o: dict, **options):
    decl, fixed, _ = CELLS[key]
    return decl(units=o["units"], initial_state=o["initial_state"], **fixed, **options)


def _infer(key: str):
    stem = CELLS[key][0].stem

    def infer(shapes):
        W_x, W_h = shapes.get(f"{stem}.W_x", ()), shapes.get(f"{stem}.W_h", ())
        if len(W_x) != 2 or len(W_h) != 2:
            return {}
        return {"features": W_x[0], "units": W_h[0]}
    return infer


def _digit_rows(batch_size: int, seed: int, dtype: str):
    """(images (N, 8, 8): row t of each image is step t, labels (N,))."""
    X, y = data.digits()
    rows = data.sample_rows(len(X), batch_size, seed)
    return X[rows].reshape(-1, ROW, ROW).astype(dtype), y[rows]


def _states(model, seed, dtype, N) -> dict:
    """The model's initial-state inputs, as the random batch draws them (x 0.5)."""
    states = random_batch(model, dtype, seed, N).inputs
    return {k: v for k, v in states.items() if k != "x"}


def _classifier_batch(o, model, dtype, seed, batch_size):
    images, labels = _digit_rows(batch_size, seed, dtype)
    return Batch({"x": images, **_states(model, seed, dtype, len(images))}, labels)


def _sequence_batch(o, model, dtype, seed, batch_size):
    images, _ = _digit_rows(batch_size, seed, dtype)
    x, target = images[:, :-1].copy(), images[:, 1:].copy()   # row t -> row t + 1
    return Batch({"x": x, **_states(model, seed, dtype, len(images))}, target)


def _register(key: str) -> None:
    decl, _, title = CELLS[key]

    register(Spec(
        name=f"{key}_layer", kind="layer", family="recurrent",
        summary=f"one {title} layer, batch-first, checked with random upstream gradients on "
                "h_seq and the final state",
        model=lambda o: Sequential([_cell(key, o, return_sequences=o["return_sequences"],
                                          return_state=True,
                                          **{k: o[k] for k in LAYER_OPTIONS if k in o})],
                                   (o["steps"], o["features"])),
        infer=_infer(key), default_batch_size=6, layer=decl.name,
        options=(Option("features", 3, "D, input features per step", integer(1)),
                 Option("units", 4, "H, hidden units", integer(1), aliases=("hidden",)),
                 Option("steps", 5, "T, time steps", integer(1)),
                 Option("return_sequences", True,
                        "output h_seq (N, T, H) besides the final state", boolean),
                 STATE_OPTION) + tuple(o for o in decl.options if o.name in LAYER_OPTIONS),
        notes=("Outputs: h_seq (with --return-sequences true) and the final state h_last"
               + (", c_last" if decl is LSTM else "") + " (Keras return_state=True; torch's "
               "h_n" + (", c_n" if decl is LSTM else "") + "), each with its own random "
               "upstream gradient.",),
    ))

    model_options = (Option("units", 8, "H, hidden units", integer(1), aliases=("hidden",)),
                     STATE_OPTION,
                     Option("features", ROW, "features per step: a digits row has 8 pixels",
                            integer(1), (ROW,)))
    register(Spec(
        name=key, kind="model", family="recurrent",
        summary=f"{title} sequence classifier: digits read row by row (8 steps x 8) -> last "
                "hidden state -> Dense(10) -> softmax cross-entropy",
        model=lambda o: Sequential([_cell(key, o), Dense(units=CLASSES)], (ROW, o["features"]),
                                   "softmax_ce", output="logits"),
        batch=_classifier_batch, infer=_infer(key), dataset="digits", default_batch_size=16,
        options=model_options + (Option("steps", ROW, "time steps: 8 digits rows", integer(1),
                                        (ROW,)),),
        notes=(f"Many-to-many variant: {key}_seq.",),
    ))

    register(Spec(
        name=f"{key}_seq", kind="model", family="recurrent",
        summary=f"{title} many-to-many: digits rows 0..6 -> every hidden state -> Dense(8) per "
                "step -> the next row, MSE per step",
        model=lambda o: Sequential([_cell(key, o, return_sequences=True), Dense(units=ROW)],
                                   (ROW - 1, o["features"]), "mse", output="prediction"),
        batch=_sequence_batch, infer=_infer(key), dataset="digits", default_batch_size=16,
        options=model_options + (Option("steps", ROW - 1, "time steps: 7 digits rows",
                                        integer(1), (ROW - 1,)),),
        notes=("return_sequences: the Dense head is applied at every time step (the same "
               "weights; Keras Dense and torch Linear act on the last axis); MSE is the mean "
               "over batch, steps and pixels in all three.",),
    ))


for _key in CELLS:
    _register(_key)


# --- benchmark workloads (crossframe bench) --------------------------------------------------
# the recurrent layers at one size: N=64 T=50 D=16 H=64 (the targets' batch size)
_LAYER = {"features": 16, "units": 64, "steps": 50}
BENCHMARKS = tuple(
    Benchmark(spec, spec, 64, dict(_LAYER), f"{what} layer N=64 T=50 D=16 H=64", target=1.5)
    for spec, what in (("rnn_layer", "SimpleRNN"), ("lstm_layer", "LSTM"), ("gru_layer", "GRU"),
                       ("gru_reset_before_layer", "GRU (reset before)")))


# --- Embedding -> LSTM classifier on the generated token data set -----------------------------
def _embedding_lstm(o):
    from ..layers import Embedding

    return Sequential([Embedding(input_dim=data.TOKENS_VOCABULARY, output_dim=o["output_dim"]),
                       LSTM(units=o["units"]), Dense(units=data.TOKENS_CLASSES)],
                      (data.TOKENS_STEPS,), "softmax_ce", output="logits")


def _tokens_batch(o, model, dtype, seed, batch_size):
    X, y = data.tokens()
    rows = data.sample_rows(len(X), batch_size, seed)
    return Batch({"x": X[rows]}, y[rows])


register(Spec(
    name="embedding_lstm", kind="model", family="recurrent",
    summary="Embedding(16, E) -> LSTM -> Dense(3) + softmax cross-entropy on generated token "
            "sequences (which marker came last)",
    model=_embedding_lstm, batch=_tokens_batch, dataset="tokens", default_batch_size=32,
    options=(Option("output_dim", 8, "embedding size E", integer(1)),
             Option("units", 16, "LSTM units H", integer(1))),
    notes=("x holds integer ids: no grad:x in any library; the table's gradient adds every "
           "occurrence of an id.",
           "The data set is generated (crossframe.data.tokens): the label is the last of one "
           "to three marker ids, so order matters."),
))


# --- the report's training runs (crossframe.training.recipes) ---------------------------------
# the digits read as 8 steps of 8 pixels, one recipe per recurrent cell (batch 32: the presets'
# 16 doubles the steps for the same accuracy), and the token model
TRAINING = (
    Recipe("rnn", epochs=10, lr=0.01, batch_size=32, why="test accuracy 0.14 -> 0.81"),
    Recipe("lstm", epochs=10, lr=0.02, batch_size=32, why="test accuracy 0.16 -> 0.89"),
    Recipe("gru", epochs=10, lr=0.02, batch_size=32, why="test accuracy 0.05 -> 0.89"),
    Recipe("embedding_lstm", epochs=4, lr=0.01,
           why="test accuracy 0.35 -> 1.0 from epoch 3: the generated token classes separate"),
)
