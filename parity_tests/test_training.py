"""Training in all three: trajectory parity, the losses, real training runs, the train CLI.

The trajectory matrix is models x optimizers x pairs in float64 over K = 20 steps, every weight
tensor and the loss after every step within ``crossframe.tolerances.TRAJECTORY``; ids read
``mlp-adam-scratch~keras``. linear and mlp run every optimizer; any other registered model of
kind "model" with at most ``CHEAP_PARAMS`` parameters joins with three optimizers that exercise
every kind of state (a velocity; Adam's moments with its eps; RMSprop's root with momentum), so
a family registered later is covered without making this file slow. Each (model, optimizer)
trains once; the pairs read the cached table.
"""
import json
import os
import subprocess
import sys
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import torch

from crossframe.cli import main
from crossframe.errors import InputError
from crossframe.keras_impl import optimizers as keras_optimizers
from crossframe.keras_impl.backend import keras, tf
from crossframe.keras_impl.losses import compute as keras_loss
from crossframe.mapping import (BlockReorder, Chain, Entry, Identity, Mapping, Row, Scale,
                                Transform, Transpose)
from crossframe.runner import prepare
from crossframe.losses import REDUCTIONS, Loss
from crossframe.scratch.losses import LOSSES
from crossframe.scratch.losses import make as scratch_loss
from crossframe.scratch.optimizers import SGD
from crossframe.spec import PAIRS, all_specs
from crossframe.tolerances import TRAJECTORY, rel_error, tolerance
from crossframe.torch_impl.losses import compute as torch_loss
from crossframe.training import curves, train, trajectory_table
from crossframe.training.config import DECLARATIONS, make_config
from crossframe.training.engines import Parameterization
from crossframe.training.fit import plan
from crossframe.training.trajectory import compare_traces, growth, run_sides

STEPS = 20
CHEAP_PARAMS = 20_000
PAIR_NAMES = [f"{a}~{b}" for a, b in PAIRS]


def _size(spec) -> int:
    return sum(int(np.prod(p.shape)) for p in spec.param_specs(spec.resolve()))


OTHER_MODELS = [s.name for s in all_specs("model")
                if s.name not in ("linear", "mlp") and _size(s) <= CHEAP_PARAMS]
# a step of the stacked bidirectional text models costs ~1 s in Keras: one optimizer each
# (every optimizer is covered on linear and mlp, the other three on every other model)
ONE_OPTIMIZER = ("text_bigru", "text_bigru_masked")
MATRIX = ([(m, o) for m in ("linear", "mlp") for o in DECLARATIONS]
          + [(m, o) for m in OTHER_MODELS
             for o in (("adam",) if m in ONE_OPTIMIZER else ("momentum", "adam",
                                                              "rmsprop_momentum"))])


@lru_cache(maxsize=None)
def table(model: str, optimizer: str, dtype: str = "float64") -> pd.DataFrame:
    return trajectory_table(model, optimizer, steps=STEPS, dtype=dtype)


def mismatches(rows: pd.DataFrame) -> list[str]:
    return [f"step {r.step} {r.tensor}: {r.pair} max_rel={r.max_rel:.3g} > {r.tol:g} {r.note}"
            for r in rows[~rows["ok"]].itertuples()]


# --- trajectory parity ------------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIR_NAMES)
@pytest.mark.parametrize("model,optimizer", MATRIX, ids=[f"{m}-{o}" for m, o in MATRIX])
def test_trajectory_float64(model, optimizer, pair):
    t = table(model, optimizer)
    rows = t[t["pair"] == pair]
    assert sorted(set(rows["step"])) == list(range(1, STEPS + 1))
    assert not mismatches(rows), f"{model} {optimizer} float64: " + "; ".join(mismatches(rows))


FLOAT32 = [("mlp", "adam"), ("mlp", "rmsprop_momentum"), ("linear", "nesterov")]


@pytest.mark.parametrize("pair", PAIR_NAMES)
@pytest.mark.parametrize("model,optimizer", FLOAT32, ids=[f"{m}-{o}" for m, o in FLOAT32])
def test_trajectory_float32(model, optimizer, pair):
    t = table(model, optimizer, "float32")
    rows = t[t["pair"] == pair]
    assert not mismatches(rows), f"{model} {optimizer} float32: " + "; ".join(mismatches(rows))


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "adagrad", "adamw"])
def test_documented_difference_is_shown_with_its_size(optimizer):
    """Formulas that differ: torch~keras is compared net of the documented difference, and
    that difference is reported — and is above the bound (it is not rounding)."""
    t = table("mlp", optimizer)
    last = t[(t["pair"] == "torch~keras") & (t["step"] == STEPS)]
    assert set(last["kind"]) == {"explained"}
    assert last["documented"].max() > TRAJECTORY["float64"].rel


def test_same_formula_documents_no_difference():
    t = table("mlp", "sgd")
    assert t[t["pair"] == "torch~keras"]["documented"].max() == 0.0


def test_growth_is_by_step_and_pair():
    g = growth(table("mlp", "adam"))
    assert list(g.index) == list(range(1, STEPS + 1))
    assert list(g.columns) == PAIR_NAMES + ["torch~keras documented"]


# --- the comparison can fail ------------------------------------------------------------------
def torch_default(optimizer: str, setting: str):
    return next(s.torch_default for s in DECLARATIONS[optimizer].settings if s.name == setting)


def test_keras_adam_with_torch_eps_unexplained_is_caught():
    """Keras' Adam given torch's eps (1e-8) is still not torch's Adam: compared raw, the
    trajectories must be reported as a mismatch, naming the weights."""
    config = make_config("adam", eps=torch_default("adam", "eps"))
    t = trajectory_table("mlp", steps=5, pairs=(("torch", "keras"),), explain=False,
                         config=config)
    bad = t[~t["ok"]]
    assert set(bad["kind"]) == {"raw"} and "dense1.W" in set(bad["tensor"])


def test_torch_formula_passed_off_as_keras_is_caught():
    case = prepare("mlp")
    traces = run_sides(case, make_config("rmsprop"), 5, ["keras", "scratch[torch]"])
    traces["scratch[keras]"] = traces["scratch[torch]"]  # the wrong reference
    t = compare_traces(traces, [("scratch", "keras")], "float64")
    assert not t["ok"].all() and t["ok"].iloc[0]  # step 1's loss agrees, the weights do not


def test_keras_given_python_floats_in_float64_is_caught(monkeypatch):
    """Keras casts Python-float settings through float32; crossframe hands it float64
    scalars. Without that care the scratch~keras trajectory must fail."""
    def naive(config, dtype):
        return getattr(keras.optimizers, config.declaration.keras)(**config.keras_kwargs())

    monkeypatch.setattr(keras_optimizers, "build", naive)
    t = trajectory_table("linear", "adam", steps=3, pairs=(("scratch", "keras"),))
    assert not t[t["tensor"] != "loss"]["ok"].any()


# --- reading framework weights back as canonical ----------------------------------------------
SHAPES = {"W": (3, 4), "b": (4,), "b2": (2, 6)}
FANOUT = Mapping("torch", (
    Entry("W", "weight", Transpose((1, 0))),
    Entry("b", "bias_ih", Scale(0.5)), Entry("b", "bias_hh", Scale(0.5)),
    Entry("b2", "gru_ih", Chain((Row(0), BlockReorder(("z", "r", "h"), ("r", "z", "h"))))),
    Entry("b2", "gru_hh", Chain((Row(1), BlockReorder(("z", "r", "h"), ("r", "z", "h"))))),
))


def _random(shapes, seed):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) for k, s in shapes.items()}


def worst(a: dict, b: dict) -> float:
    """The largest rel_error over the tensors of two dicts with the same names."""
    return max(rel_error(a[k], b[k]) for k in a)


def inner(a: dict, b: dict) -> float:
    """sum over tensors of <a_k, b_k>."""
    return float(sum(np.sum(a[k] * b[k]) for k in a))


def test_weights_come_back_through_the_left_inverse():
    p = Parameterization(FANOUT, SHAPES, "float64")
    c = _random(SHAPES, 0)
    assert worst(p.to_canonical(p.to_framework(c)), c) <= tolerance("float64").rel


def test_framework_gradient_is_the_transpose_of_the_readback():
    """<g, S f> = <S^T g, f> for random f and g: dL/df of L(S f) is grads_to_framework(g)."""
    p = Parameterization(FANOUT, SHAPES, "float64")
    f = _random(FANOUT.framework_shapes(SHAPES), 1)
    g = _random(SHAPES, 2)
    lhs, rhs = inner(g, p.to_canonical(f)), inner(p.grads_to_framework(g), f)
    assert abs(lhs - rhs) <= tolerance("float64").rel * abs(lhs)


def test_a_bias_in_two_shares_takes_two_steps():
    """torch's bias_ih + bias_hh are two tensors to an optimizer: one SGD step moves the
    canonical bias (their sum) by 2 lr g — why scratch trains in torch's parameterization."""
    p = Parameterization(FANOUT, SHAPES, "float64")
    c, g = _random(SHAPES, 3), _random(SHAPES, 4)
    f = p.to_framework(c)
    SGD(0.1).step(f, p.grads_to_framework(g))
    moved = (c["b"] - p.to_canonical(f)["b"]) / (0.1 * g["b"])
    assert rel_error(moved, np.full_like(moved, 2.0)) <= tolerance("float64").rel


def test_a_transform_that_mixes_entries_is_refused():
    class Cumsum(Transform):
        permutation = False

        def forward(self, a):
            return np.cumsum(a)

        def adjoint(self, g, shape):
            return np.cumsum(g[::-1])[::-1]

    with pytest.raises(ValueError, match="not a scaled selection"):
        Parameterization(Mapping("torch", (Entry("b", "b", Cumsum()),)), {"b": (4,)}, "float64")


def test_a_zero_share_is_refused():
    """bias_hh = 0 x b would still be trained by torch, invisibly to the readback."""
    zero = Mapping("torch", (Entry("b", "bias_ih", Identity()), Entry("b", "bias_hh", Scale(0.0))))
    with pytest.raises(ValueError, match="bias_hh is a zero share of b"):
        Parameterization(zero, {"b": (4,)}, "float64")


def test_identity_mapping_reads_back_unchanged_in_float32():
    p = Parameterization(Mapping("keras", (Entry("b", "bias", Identity()),)), {"b": (4,)},
                         "float32")
    b = np.arange(4, dtype=np.float32)
    back = p.to_canonical(p.to_framework({"b": b}))["b"]
    assert back.dtype == np.float32 and np.array_equal(back, b)


# --- losses: value and gradient in all three --------------------------------------------------
LOSS_CASES = [Loss(name, from_logits, reduction) for name in LOSSES
              for from_logits in (True, False) for reduction in REDUCTIONS
              if from_logits or name in ("softmax_ce", "binary_ce")]


def loss_data(loss: Loss, dtype: str):
    """Predictions (N, 3) or (N, 5) classes, so that Keras' sum of per-sample means differs
    from torch's sum by a factor of 3 unless it is converted; probabilities where
    ``from_logits`` is false."""
    rng = np.random.default_rng(7)
    if loss.name == "softmax_ce":
        z = 3 * rng.standard_normal((6, 5))
        if not loss.from_logits:   # probabilities well inside Keras' clip [1e-7, 1 - 1e-7]
            z = np.exp(z / 3 - z.max(axis=1, keepdims=True) / 3)
            z /= z.sum(axis=1, keepdims=True)
        return z.astype(dtype), rng.integers(0, 5, 6)
    pred = (2 * rng.standard_normal((6, 3))).astype(dtype)
    if loss.name == "binary_ce" and not loss.from_logits:
        pred = (1 / (1 + np.exp(-pred))).astype(dtype)
        target = np.where(rng.random((6, 3)) < 0.5, 0.0, 1.0)
        target[1] = 0.3
        return pred, target.astype(dtype)
    if loss.name == "binary_ce":
        pred[0, :2] = (40.0, -40.0)  # the tails: no overflow, no log(0)
        target = np.where(rng.random((6, 3)) < 0.5, 0.0, 1.0)
        target[1] = 0.3  # soft targets
        return pred, target.astype(dtype)
    target = rng.standard_normal((6, 3)).astype(dtype)
    target[0, 0] = pred[0, 0]  # an exact tie: MAE's derivative is taken as 0 there
    return pred, target


def loss_scratch(loss, pred, target, dtype):
    op = scratch_loss(loss)
    return op.forward(pred, target), op.backward()


def loss_torch(loss, pred, target, dtype):
    p = torch.from_numpy(pred.copy()).requires_grad_(True)
    value = torch_loss(loss, {"y": p}, torch.from_numpy(target), {})
    value.backward()
    return value.detach().numpy(), p.grad.numpy()


def loss_keras(loss, pred, target, dtype):
    p = tf.constant(pred)
    with tf.GradientTape() as tape:
        tape.watch(p)
        value = keras_loss(loss, {"y": p}, tf.constant(target), {}, dtype)
    return np.asarray(value), np.asarray(tape.gradient(value, p))


LOSS_FNS = {"scratch": loss_scratch, "torch": loss_torch, "keras": loss_keras}


@lru_cache(maxsize=None)
def loss_result(loss: Loss, framework: str, dtype: str):
    return LOSS_FNS[framework](loss, *loss_data(loss, dtype), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_NAMES)
@pytest.mark.parametrize("loss", LOSS_CASES, ids=lambda loss: loss.text())
def test_loss_and_gradient(loss, pair, dtype):
    (va, ga), (vb, gb) = (loss_result(loss, fw, dtype) for fw in pair)
    assert (va.dtype, ga.dtype, vb.dtype, gb.dtype) == (np.dtype(dtype),) * 4
    tol = tolerance(dtype).rel
    assert rel_error(va, vb) <= tol, f"{loss} value {pair}: {rel_error(va, vb):.3g}"
    if loss.name == "softmax_ce" and not loss.from_logits and "keras" in pair:
        # the documented difference (crossframe.losses): Keras takes -log(p[y] / sum(p)), so
        # its dL/dp is ours plus 1/sum(p) = 1 on every entry (times 1/N for the mean); the
        # softmax before it maps that constant to zero, so a model's gradients agree
        ours, theirs = (ga, gb) if pair[1] == "keras" else (gb, ga)
        shift = np.full(ga.shape, 1.0 / len(ga) if loss.reduction == "mean" else 1.0)
        assert rel_error(theirs - ours, shift) <= tol, f"{loss} gradient {pair}"
        return
    assert rel_error(ga, gb) <= tol, f"{loss} gradient {pair}: {rel_error(ga, gb):.3g}"


@pytest.mark.parametrize("framework", list(LOSS_FNS))
def test_mae_gradient_at_a_tie_is_zero(framework):
    assert loss_result(Loss("mae"), framework, "float64")[1][0, 0] == 0.0


@pytest.mark.parametrize("name", ["mse", "mae", "binary_ce"])
def test_sum_is_every_element_and_mean_divides_by_their_number(name):
    # the documented reductions, against sums written here: sum over all 18 elements, mean / 18
    pred, target = loss_data(Loss(name), "float64")
    terms = {"mse": (pred - target) ** 2, "mae": np.abs(pred - target),
             "binary_ce": np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))}
    total = terms[name].sum()
    for fw in LOSS_FNS:
        assert loss_result(Loss(name, reduction="sum"), fw, "float64")[0] == pytest.approx(
            total, rel=1e-14)
        assert loss_result(Loss(name), fw, "float64")[0] == pytest.approx(total / 18, rel=1e-14)


# --- real training runs -----------------------------------------------------------------------
def test_each_epoch_shuffles_every_train_row_into_one_batch():
    p = plan("linear", 2, batch_size=32)
    first, second = np.concatenate(p.batches(1)), np.concatenate(p.batches(2))
    assert sorted(first) == list(p.train) and sorted(second) == list(p.train)
    assert not np.array_equal(first, second)
    assert not set(p.train) & set(p.test)
    assert sorted(np.concatenate([p.train, p.test])) == list(range(len(p.case.batch.target)))


@lru_cache(maxsize=None)
def sgd_curves() -> pd.DataFrame:
    return curves("mlp", epochs=1, optimizer="sgd", lr=0.1)


def test_curves_long_format():
    df = sgd_curves()
    assert list(df.columns) == ["framework", "epoch", "split", "metric", "value"]
    assert set(df["framework"]) == {"scratch", "torch", "keras"}
    assert set(df["epoch"]) == {0, 1} and set(df["split"]) == {"train", "test"}
    assert set(df["metric"]) == {"loss", "accuracy"}


def test_curves_agree_across_frameworks():
    wide = sgd_curves().pivot_table(index=["epoch", "split", "metric"], columns="framework",
                                    values="value")
    err = worst({"torch": wide["scratch"], "keras": wide["scratch"]}, wide)
    assert err <= TRAJECTORY["float64"].rel, wide


def test_training_learns():
    df = sgd_curves()
    acc = df[(df["metric"] == "accuracy") & (df["split"] == "test")].set_index(
        ["framework", "epoch"])["value"]
    assert (acc.xs(1, level="epoch") > acc.xs(0, level="epoch")).all(), acc


def test_train_writes_csv_and_png_atomically(tmp_path):
    out = tmp_path / "run"
    df, _, paths = train("linear", 2, optimizer="sgd", out=str(out), progress=False)
    written = pd.read_csv(paths["csv"])
    assert len(written) == len(df) and set(written["metric"]) == {"loss", "mae", "rmse"}
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(out)) == ["curves.csv", "curves.png"]  # no temporary left over


def test_a_lone_layer_cannot_be_trained():
    with pytest.raises(InputError, match="dense is a lone layer with no data set"):
        curves("dense", 1)


# --- the CLI: bad input in a real process (exit 2, one line); good runs in-process -------------
CLI = [sys.executable, "-m", "crossframe.cli", "train"]


def crossframe_train(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=cwd, env=env)


BAD = {
    "unknown-optimizer": (["mlp", "--check", "--optimizer", "adma"], "did you mean 'adam'"),
    "steps-zero": (["mlp", "--check", "--steps", "0"], "--steps 0 must be at least 1"),
    "lr-negative": (["mlp", "--check", "--lr", "-1"], "--lr -1.0 is not allowed"),
    "lr-not-a-number": (["mlp", "--check", "--lr", "fast"], "invalid float value: 'fast'"),
    "unknown-model": (["mpl", "--check"], "unknown model or layer 'mpl'"),
    "epochs-zero": (["mlp", "--epochs", "0"], "--epochs 0 must be at least 1"),
    "no-mode": (["mlp"], "add --check"),
    "lone-layer": (["dense", "--check"], "dense has no loss (a lone-layer check)"),
    "table-with-model": (["--table", "mlp"], "--table takes no model"),
    "check-and-epochs": (["mlp", "--check", "--epochs", "2"], "not allowed with argument"),
    "unknown-model-option": (["mlp", "--check", "--hiden", "8"], "unknown option"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_exit_2_one_line(case, tmp_path):
    args, message = BAD[case]
    out = crossframe_train(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert message in out.stderr
    assert out.stdout == "" and os.listdir(tmp_path) == []


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    out = crossframe_train("linear", "--epochs", "1", "--out", "taken", cwd=tmp_path)
    assert out.returncode == 2 and "--out taken is a file" in out.stderr
    assert os.listdir(tmp_path) == ["taken"]


def test_check_json_rows(capsys):
    rc = main(["train", "linear", "--check", "--optimizer", "adagrad", "--steps", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    rows = pd.DataFrame(out["rows"])
    assert rc == 0 and out["two_bias_parameters"] == [] and "gap_shares" not in out
    assert {"pair", "step", "tensor", "max_abs", "max_rel", "tol", "ok"} <= set(rows.columns)
    assert set(rows["pair"]) == set(PAIR_NAMES) and set(rows["step"]) == {1, 2, 3}
    assert rows["max_rel"].max() <= TRAJECTORY["float64"].rel


def test_table_json_lists_every_optimizer_and_loss():
    out = crossframe_train("--table", "--json")
    info = json.loads(out.stdout)
    settings = pd.DataFrame(info["settings"]).set_index(["optimizer", "setting"])
    assert out.returncode == 0
    assert set(settings.index.get_level_values(0)) == set(DECLARATIONS)
    assert set(pd.DataFrame(info["losses"])["loss"]) == set(LOSSES)
    assert tuple(settings.loc[("adam", "eps"), ["torch_default", "keras_default"]]) == (
        1e-08, 1e-07)
    assert settings.loc[("adam", "amsgrad"), "crossframe"] is False
    assert settings.loc[("sgd", "weight_decay"), "torch_default"] is None  # by hand in torch


def test_epochs_run_writes_files_with_a_progress_bar(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["train", "linear", "--epochs", "2", "--optimizer", "sgd"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert sorted(os.listdir(tmp_path / "runs" / "linear")) == ["curves.csv", "curves.png"]
    assert "2/2" in out.err and "keras" in out.err  # tqdm's bar, one per framework
    assert "test rmse" in out.out


# --- torch's two recurrent biases: named, measured, and made one on request --------------------
TWO_BIAS = ["rnn", "lstm", "gru_reset_before"]


def test_two_bias_layers_are_found_exactly_where_torch_splits_a_bias():
    from crossframe.training.engines import two_bias_names

    found = {s.name: two_bias_names(prepare(s.name).model) for s in all_specs("model")}
    assert {k for k, v in found.items() if v} == {
        "rnn", "rnn_seq", "lstm", "lstm_seq", "gru_reset_before", "gru_reset_before_seq",
        "embedding_lstm"}
    assert found["lstm"] == ("lstm.bias_hh_l0",) and found["gru"] == ()  # reset-after: 2 rows


def one_sgd_step_bias_moves(model: str, recurrent_bias: str) -> tuple[np.ndarray, np.ndarray]:
    """The canonical bias' change after one real SGD step, in torch and in Keras."""
    from crossframe.training.engines import library_side

    case, config = prepare(model), make_config("sgd", lr=0.1)
    name = next(p.name for p in case.model.params() if p.name.endswith(".b"))
    moves = []
    for fw in ("torch", "keras"):
        side = library_side(fw, case.model, "float64", case.weights, config, recurrent_bias)
        side.step(case.batch.inputs, case.batch.target)
        moves.append(side.weights()[name] - case.weights[name])
    return moves[0], moves[1]


@pytest.mark.parametrize("model", TWO_BIAS)
def test_two_biases_move_twice_as_far_per_sgd_step(model):
    """The documented cause, in the real libraries: each of torch's two biases takes the full
    step, so their sum moves exactly twice Keras' one bias; with one bias, once."""
    torch_move, keras_move = one_sgd_step_bias_moves(model, "two")
    assert np.abs(keras_move).min() > 0
    assert rel_error(torch_move, 2 * keras_move) <= tolerance("float64").rel
    torch_move, keras_move = one_sgd_step_bias_moves(model, "single")
    assert rel_error(torch_move, keras_move) <= tolerance("float64").rel


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("model", TWO_BIAS)
def test_single_bias_torch_follows_keras(model, optimizer):
    """Compared raw (no documented difference subtracted), torch with its two biases leaves
    Keras' trajectory under every optimizer; with bias_hh frozen at 0 it follows it exactly
    where the formula is the same, and within the formula's own documented size elsewhere."""
    pair = (("torch", "keras"),)
    two = trajectory_table(model, optimizer, steps=3, pairs=pair, explain=False)
    single = trajectory_table(model, optimizer, steps=3, pairs=pair, explain=False,
                              recurrent_bias="single")
    bias = [t for t in set(two["tensor"]) if t.endswith(".b")]
    assert not two[two["tensor"].isin(bias)]["ok"].all()
    if DECLARATIONS[optimizer].same_formula:
        assert single["ok"].all(), single[~single["ok"]].head().to_string()
    else:
        explained = trajectory_table(model, optimizer, steps=3, pairs=pair,
                                     recurrent_bias="single")
        assert explained["ok"].all()
        assert two["max_rel"].max() > single["max_rel"].max()


def test_gap_shares_split_the_documented_gap():
    """Under SGD the whole documented gap is the two biases (the formula is the same); under
    Adam both sources are there."""
    from crossframe.training.trajectory import SINGLE, gap_shares, sides_needed

    case = prepare("lstm")
    for optimizer, formula_share in (("sgd", False), ("adam", True)):
        traces = run_sides(case, make_config(optimizer), 3, sides_needed(PAIRS, True) + [SINGLE])
        shares = gap_shares(traces)
        assert list(shares["step"]) == [1, 2, 3]
        assert (shares["two_bias"] > 1e-6).all()
        assert ((shares["formula"] > 1e-6).all() if formula_share
                else (shares["formula"] == 0).all())
        if not formula_share:
            assert (shares["two_bias"] == shares["documented"]).all()


def test_single_bias_leaves_a_mapping_without_shares_alone():
    from crossframe.training.engines import single_bias

    mapping = prepare("gru").model.mapping("torch")
    assert single_bias(mapping) == (mapping, ())
    new, frozen = single_bias(prepare("lstm").model.mapping("torch"))
    assert frozen == ("lstm.bias_hh_l0",)
    assert [e.framework for e in new.params if e.canonical == "lstm.b"] == ["lstm.bias_ih_l0"]


def test_check_names_the_two_biases_and_their_share(capsys):
    rc = main(["train", "rnn", "--check", "--optimizer", "sgd", "--steps", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "rnn.bias_hh_l0" in out and "the two biases alone make" in out
    assert "the update formula alone 0.00e+00" in out
    rc = main(["train", "rnn", "--check", "--optimizer", "sgd", "--steps", "2",
               "--torch-recurrent-bias", "single", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0 and info["torch_recurrent_bias"] == "single"
    assert max(r["documented"] for r in info["rows"] if r["pair"] == "torch~keras") == 0.0


def test_table_says_same_formula_and_names_the_two_biases():
    out = crossframe_train("--table")
    assert out.returncode == 0 and "same trajectory: True" not in out.stdout
    assert "same formula: True" in out.stdout and "bias_ih + bias_hh" in out.stdout


@pytest.mark.parametrize("args,match", [
    (["--optimizer", "sgd", "--beta1", "0.5"], "optimizer sgd has no setting 'beta1'"),
    (["--optimizer", "adam", "--nesterov"], "--nesterov is a kind of SGD momentum"),
    (["--optimizer", "adam", "--weight-decay", "0.1", "--coupled-weight-decay", "0.1"],
     "give one of them"),
    (["--torch-recurrent-bias", "one"], "invalid choice: 'one'"),
])
def test_setting_flags_bad_input(args, match):
    out = crossframe_train("linear", "--check", "--steps", "1", *args)
    assert out.returncode == 2 and match in out.stderr and "Traceback" not in out.stderr


def test_setting_flags_reach_both_libraries(capsys):
    rc = main(["train", "linear", "--check", "--optimizer", "momentum", "--nesterov",
               "--momentum", "0.5", "--weight-decay", "0.01", "--steps", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "nesterov (lr=0.01 momentum=0.5 weight_decay=0.01)" in out


def test_handover_cli(capsys):
    rc = main(["train", "linear", "--handover", "--optimizer", "momentum", "--steps", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "torch->keras" in out and "keras->torch" in out and "raw" in out
    rc = main(["train", "linear", "--handover", "--optimizer", "adam", "--steps", "2", "--json"])
    rows = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert rc == 0 and set(rows["direction"]) == {"torch->keras", "keras->torch"}
    assert rows["max_rel"].max() <= TRAJECTORY["float64"].rel


def test_table_for_one_optimizer():
    out = crossframe_train("--table", "--optimizer", "nadam", "--json")
    info = json.loads(out.stdout)
    assert out.returncode == 0
    assert {r["optimizer"] for r in info["settings"]} == {"nadam"}
    assert [r["optimizer"] for r in info["formulas"]] == ["nadam"]
    fixed = next(r for r in info["settings"] if r["setting"] == "(momentum_decay)")
    assert fixed["torch_default"] == 0.004 and fixed["keras"] == "Nadam(none)"
