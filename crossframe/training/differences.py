"""Where torch.optim and keras.optimizers differ, as ``crossframe.spec.Difference`` rows with a
measured size (collected by ``crossframe.spec.differences()`` for the report).

Each ``measure`` runs the *real* libraries: 20 steps of the mlp on digits in float64 from the
same weights on the same batches with the same settings (``crossframe train mlp --check``),
and returns the normwise relative difference of the torch and Keras weights after step 20.
"""
from __future__ import annotations

from ..spec import Difference
from .config import ADAM_AGREE, DECLARATIONS, MOMENTUM_AGREE
from ..keras_backends import on_tensorflow


def raw_difference(optimizer: str, model: str = "mlp", steps: int = 20) -> float:
    """max_rel of torch vs keras weights (and loss) after ``steps`` steps, nothing explained."""
    from ..spec import PAIRS
    from .trajectory import trajectory_table

    table = trajectory_table(model, optimizer, steps=steps, pairs=PAIRS[2:], explain=False)
    return float(table[table["step"] == steps]["max_rel"].max())


@on_tensorflow
def keras_float32_settings(dtype: str = "float64") -> float:
    """One Adam step on a float64 variable: Keras given Python floats (the usual call) against
    NumPy float64 scalars (what crossframe passes) — the cost of Keras' float32 casts."""
    import numpy as np

    from ..keras_impl.backend import keras, tf

    g = np.linspace(-1.0, 1.0, 7)
    after = []
    for scalar in (float, np.float64):
        v = keras.Variable(np.ones(7), dtype=dtype)
        opt = keras.optimizers.Adam(learning_rate=scalar(1e-3), beta_1=scalar(0.9),
                                    beta_2=scalar(0.999), epsilon=scalar(1e-7))
        opt.apply_gradients([(tf.constant(g), v)])
        after.append(1.0 - np.asarray(v))  # the step taken
    scale = float(np.max(np.abs(after[1])))
    return float(np.max(np.abs(after[0] - after[1]))) / scale


@on_tensorflow
def sparse_squares(optimizer: str = "adam", steps: int = 3) -> float:
    """Keras' ``optimizer`` on a (5, 3) table whose gradients arrive as tf.IndexedSlices with
    repeated ids (what an Embedding gives it) against the same gradients made dense (what torch
    gives its optimizer): relative difference of the table after ``steps`` steps."""
    import numpy as np

    from ..keras_impl.backend import keras, tf
    from ..keras_impl.optimizers import build
    from ..tolerances import rel_error
    from .config import make_config

    rng = np.random.default_rng(0)
    table = rng.standard_normal((5, 3))
    slices = [(rng.integers(0, 5, size=8), rng.standard_normal((8, 3))) for _ in range(steps)]
    after = []
    for dense in (False, True):
        v = keras.Variable(table.copy(), dtype="float64")
        opt = build(make_config(optimizer, lr=0.1), "float64")
        for ids, values in slices:
            g = tf.IndexedSlices(tf.constant(values), tf.constant(ids), tf.constant([5, 3]))
            opt.apply_gradients([(tf.convert_to_tensor(g) if dense else g, v)])
        after.append(v.numpy())
    return rel_error(after[0], after[1])


def _rules(name: str) -> dict:
    d = DECLARATIONS[name]
    return dict(torch=d.torch_rule, keras=d.keras_rule)


DIFFERENCES = (
    Difference("Adam eps (optimizer adam, also adamw)", **_rules("adam"),
               agree_when=ADAM_AGREE, measure=lambda: raw_difference("adam")),
    Difference("RMSprop eps inside / outside the root (rmsprop)", **_rules("rmsprop"),
               agree_when=DECLARATIONS["rmsprop"].agree_when,
               measure=lambda: raw_difference("rmsprop")),
    Difference("Adagrad eps and initial accumulator (adagrad)", **_rules("adagrad"),
               agree_when=DECLARATIONS["adagrad"].agree_when,
               measure=lambda: raw_difference("adagrad")),
    Difference("SGD momentum as a velocity of gradients / of updates (momentum)",
               **_rules("momentum"), agree_when=MOMENTUM_AGREE,
               measure=lambda: raw_difference("momentum")),
    Difference("adaptive optimizers on an Embedding table (adam, adamw, rmsprop, adagrad)",
               torch="nn.Embedding's gradient is dense: a row hit by ids g_1..g_k gets "
                     "g = sum_i g_i, and the second moment takes g^2 = (sum_i g_i)^2",
               keras="the gradient arrives as tf.IndexedSlices, one slice per occurrence; "
                     "the optimizer squares each slice: sum_i g_i^2 (the first moment and the "
                     "update see the sum, as in torch)",
               agree_when="no id repeated within a batch, or SGD / momentum / Nesterov (no "
                          "square); else give Keras tf.convert_to_tensor(gradient) before "
                          "apply_gradients. crossframe's scratch Keras reference squares per "
                          "occurrence too (scratch/optimizers.py, Optimizer.square)",
               measure=sparse_squares, layers=("embedding",)),
    Difference("optimizer settings in a float64 model",
               torch="every setting a Python float (double), applied in the parameter's dtype",
               keras="learning_rate in a floatx (float32) Variable; tf.cast of Python-float "
                     "settings rounds them to float32 first (Adam's bias correction)",
               agree_when="hand Keras NumPy float64 scalars and the learning rate as a callable "
                          "(crossframe.keras_impl.optimizers.build does)",
               measure=keras_float32_settings),
)
