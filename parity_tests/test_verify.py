"""``crossframe verify``: a learner's layer against the references, and the mistake it made.

The learners under ``learners/`` were written independently of crossframe's scratch code: for
every registered layer a correct one (``*_ok.py``) and, where a mistake applies, buggy ones
(``# MISTAKE:`` on their first line says what was planted). Every correct one must pass; every
buggy one must be caught with the hint that names its mistake, and nothing else: two mistakes
are reported as two, random noise as "no known mistake".

The expected phrases below are written from the planted mistake (the file's first line), not
read off the diagnosis code.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import crossframe as cf
from crossframe.errors import InputError
from crossframe.layers import all_layers
from crossframe.layers import get as get_layer
from crossframe.verification import build_cases
from crossframe.verification.faults import has_faulty, layer_faults

LEARNERS = pathlib.Path(__file__).parent / "learners"
LAYER_OF_PREFIX = {"simple": "simple_rnn", "torch": "lstm", "keras": "dense", "leaky": "leaky_relu",
                   "hard": "hard_sigmoid", "hardkeras2": "hard_sigmoid_keras2"}

# file -> (layer, phrases every mismatching tensor's diagnosis must contain)
MISTAKES = {
    "averagepool2d_not_divided": ("averagepool2d", ["area times"]),
    "batchnorm_batch_stats_in_inference": ("batchnorm", ["batch's statistics"]),
    "batchnorm_momentum_backwards": ("batchnorm", ["torch's momentum convention"]),
    "batchnorm_no_stat_grad": ("batchnorm", ["does not flow through the batch mean"]),
    "batchnorm_no_update": ("batchnorm", ["not updated in training"]),
    "batchnorm_unbiased_update": ("batchnorm", ["unbiased batch variance"]),
    "conv2d_flipped": ("conv2d", ["flipped"]),
    "embedding_repeats_overwrite": ("embedding", ["keeps one occurrence"]),
    "conv2d_padding_crop": ("conv2d", ["padded gradient"]),
    "conv2d_stride_ignored": ("conv2d", ["ignores the stride"]),
    "dense_bias_first_sample": ("dense", ["first sample only"]),
    "dense_dx_sign": ("dense", ["dx has the wrong sign"]),
    "dense_grad_transposed": ("dense", ["transpose"]),
    "dense_kernel_transposed": ("dense", ["transposed"]),
    "dense_mean": ("dense", ["dW is 1/N times"]),
    "flatten_nchw": ("flatten", ["(c, h, w)"]),
    "gru_gates_swapped": ("gru", ["r, z"]),
    "gru_reset_before": ("gru", ["BEFORE the recurrent product"]),
    "gru_update_swapped": ("gru", ["z hh + (1 - z) h_prev"]),
    "lstm_bias_mean": ("lstm", ["db is 1/(N*T) times"]),
    "lstm_gate_order_ifog": ("lstm", ["i, f, o, g"]),
    "lstm_hard_sigmoid": ("lstm", ["hard_sigmoid"]),
    "lstm_no_carry_c": ("lstm", ["dc is not carried"]),
    "lstm_no_carry_c_at_all": ("lstm", ["dc is not carried"]),      # dc_last dropped too
    "lstm_no_carry_c_zeroed": ("lstm", ["dc is not carried"]),      # dc0 returned as zero
    "lstm_no_dh_seq": ("lstm", ["output sequence is not added"]),
    "lstm_sigmoid_1_minus_s": ("lstm", ["1 - s instead of s (1 - s)"]),
    "lstm_tanh_c_only": ("lstm", ["tanh(c) is taken as 1 - tanh(c)"]),
    "lstm_tanh_g_only": ("lstm", ["candidate g = tanh(a_g) is taken as 1 - g"]),
    "maxpool2d_ties_last": ("maxpool2d", ["LAST maximum"]),
    "relu_zero": ("relu", ["x = 0"]),
    "sigmoid_of_input": ("sigmoid", ["from the input x"]),
    "sigmoid_s": ("sigmoid", ["s instead of s (1 - s)"]),
    "simple_rnn_drop_first": ("simple_rnn", ["before the first step"]),
    "simple_rnn_drop_last": ("simple_rnn", ["skips the last step"]),
    "simple_rnn_no_carry": ("simple_rnn", ["dh is not carried"]),
    "softmax_diagonal": ("softmax", ["diagonal"]),
    "tanh_1_minus_y": ("tanh", ["1 - y instead of 1 - y^2"]),
    "torch_lstm_gate_order_ifog": ("lstm", ["i, f, o, g"]),
    # two mistakes at once: both named, as two
    "dense_two_mistakes": ("dense", ["two mistakes", "first sample only", "1/N"]),
}
# no known mistake explains these: the diagnosis must say so and name none
UNEXPLAINED = {"dense_noise": "dense", "keras_dense_bias_doubled": "dense"}
RAISES = {"lstm_raises": ("lstm", "lstm_raises.py:59")}


def _layer(stem: str) -> str:
    prefix = stem.split("_")[0]
    return LAYER_OF_PREFIX.get(prefix, prefix)


def _correct() -> list[str]:
    return sorted(p.stem for p in LEARNERS.glob("*_ok*.py"))


def test_every_learner_file_is_in_a_table():
    """A buggy learner added without its expected hint would be tested by nothing."""
    files = {p.stem for p in LEARNERS.glob("*.py")}
    tabled = set(MISTAKES) | set(UNEXPLAINED) | set(RAISES) | set(_correct())
    assert files == tabled, f"not tabled: {sorted(files - tabled)}; " \
                            f"missing: {sorted(tabled - files)}"
    for name in files - set(_correct()):
        first = (LEARNERS / f"{name}.py").read_text().splitlines()[0]
        assert first.startswith("# MISTAKE:"), name


def test_every_registered_layer_has_a_correct_learner_and_its_mistakes_are_planted():
    correct = {_layer(s) for s in _correct()}
    caught = {layer for layer, _ in MISTAKES.values()}
    for decl in all_layers():
        assert decl.name in correct, f"no correct learner for {decl.name}"
        if has_faulty(decl) or decl.name == "averagepool2d":
            assert decl.name in caught, f"no buggy learner for {decl.name}"


@pytest.mark.parametrize("stem", _correct())
def test_a_correct_learner_passes(stem):
    table = cf.verify(str(LEARNERS / f"{stem}.py"), layer=_layer(stem))
    assert table.attrs["ok"], table.attrs["summary"]
    assert table["case"].nunique() >= 2
    assert table["max_rel"].max() <= 1e-13          # float64: the last bits, not a tolerance
    assert {"out:output", "loss"} & set(table["tensor"]) or \
        any(t.startswith("out:") for t in table["tensor"])
    assert any(t.startswith("grad:") for t in table["tensor"])


@pytest.mark.parametrize("stem", ["dense_ok", "lstm_ok", "conv2d_ok", "gru_ok"])
def test_a_correct_learner_passes_in_float32(stem):
    table = cf.verify(str(LEARNERS / f"{stem}.py"), layer=_layer(stem), dtype="float32")
    assert table.attrs["ok"], table.attrs["summary"]
    assert 0 < table["max_rel"].max() <= table["tol"].max()


@pytest.mark.parametrize("stem", sorted(MISTAKES))
def test_a_planted_mistake_is_caught_with_its_hint(stem):
    layer, phrases = MISTAKES[stem]
    table = cf.verify(str(LEARNERS / f"{stem}.py"), layer=layer)
    assert not table.attrs["ok"]
    bad = table[~table["ok"]]
    assert len(bad) > 0
    for r in bad.itertuples():
        for phrase in phrases:
            assert phrase in r.diagnosis, (stem, r.tensor, r.diagnosis)
        assert "no known mistake" not in r.diagnosis, (stem, r.tensor)
    if "two mistakes" not in phrases:
        assert "two mistakes" not in table.attrs["summary"]


@pytest.mark.parametrize("stem", sorted(UNEXPLAINED))
def test_noise_is_no_known_mistake_and_names_none(stem):
    table = cf.verify(str(LEARNERS / f"{stem}.py"), layer=UNEXPLAINED[stem])
    bad = table[~table["ok"]]
    assert len(bad) > 0
    square = {"W": np.zeros((3, 3)), "b": np.zeros(3)}
    sentences = {f.says for f in layer_faults(cf.layers.get(UNEXPLAINED[stem]), {}, square)}
    assert sentences
    for r in bad.itertuples():
        assert r.diagnosis.startswith("no known mistake explains this"), r.diagnosis
        assert not any(s in r.diagnosis for s in sentences), r.diagnosis
        assert "times the right one" not in r.diagnosis and "wrong sign" not in r.diagnosis


def test_noise_in_the_backward_is_told_from_a_wrong_forward():
    """dense_noise's forward is right and its dW is not the derivative of it: central
    differences of the learner's own forward say so."""
    table = cf.verify(str(LEARNERS / "dense_noise.py"), layer="dense")
    bad = table[~table["ok"]]
    assert set(bad["tensor"]) == {"grad:W"}
    assert all("disagrees with your own forward" in d for d in bad["diagnosis"])


def test_a_doubled_bias_is_located_by_zeroing_the_other_parameters():
    """With only W non-zero the doubled bias vanishes from the output; with only b it shows."""
    table = cf.verify(str(LEARNERS / "keras_dense_bias_doubled.py"), layer="dense")
    out = table[(table["tensor"] == "out:output") & ~table["ok"]]
    assert len(out) == 2
    for d in out["diagnosis"]:
        assert "shows with only b non-zero" in d and "gone with only W non-zero" in d, d


def test_an_exception_in_the_learner_shows_its_file_and_line():
    layer, where = RAISES["lstm_raises"]
    table = cf.verify(str(LEARNERS / "lstm_raises.py"), layer=layer)
    assert not table.attrs["ok"]
    assert where in table.attrs["error"] and "ValueError: not finished" in table.attrs["error"]
    assert list(table["tensor"]) == ["(error)", "(error)"]


def test_a_wrong_shape_is_reported_as_expected_vs_received_before_any_number():
    table = cf.verify(str(LEARNERS / "dense_grad_transposed.py"), layer="dense")
    first = table[table["case"] == 1]
    assert list(first["tensor"]) == ["(error)"]
    message = first["diagnosis"].iloc[0]
    assert "gradient of W has shape (4, 5), expected (5, 4)" in message


def test_a_wrong_dtype_is_reported_before_any_number():
    def forward(params, x):
        return (x @ params["W"] + params["b"]).astype(np.float32), x

    def backward(params, cache, dy):
        return {"W": cache.T @ dy, "b": dy.sum(0)}, dy @ params["W"].T

    table = cf.verify((forward, backward), layer="dense")
    assert not table.attrs["ok"]
    assert set(table["tensor"]) == {"(error)"}
    assert "float32" in table.attrs["summary"] and "float64" in table.attrs["summary"]


def test_the_notebook_api_takes_functions_a_class_and_an_instance():
    def forward(params, x):
        return x @ params["W"] + params["b"], x

    def backward(params, cache, dy):
        return {"W": cache.T @ dy, "b": dy.sum(0)}, dy @ params["W"].T

    class Mine:
        def forward(self, params, x):
            return forward(params, x)

        def backward(self, params, cache, dy):
            return backward(params, cache, dy)

    for obj in [(forward, backward), Mine, Mine()]:
        table = cf.verify(obj, layer="dense", units=3)
        assert table.attrs["ok"], table.attrs["summary"]
        assert list(table.columns) == ["case", "tensor", "shape", "max_rel", "tol", "ok",
                                       "diagnosis", "fix"]
        assert "<table" in table._repr_html_()


def test_options_reach_the_learner_and_the_references():
    table = cf.verify(str(LEARNERS / "conv2d_ok.py"), layer="conv2d", strides=2,
                      padding="same", filters=3)
    assert table.attrs["ok"], table.attrs["summary"]
    stride_bug = cf.verify(str(LEARNERS / "conv2d_stride_ignored.py"), layer="conv2d",
                           strides=1)
    assert stride_bug.attrs["ok"]            # with strides 1 the planted mistake does nothing


def test_bad_usage_is_an_input_error():
    with pytest.raises(InputError, match="unknown layer|no layer|not a layer"):
        cf.verify(str(LEARNERS / "dense_ok.py"), layer="densee")
    with pytest.raises(InputError, match="is not a file"):
        cf.verify(str(LEARNERS / "no_such_file.py"), layer="dense")
    with pytest.raises(InputError, match="dtype"):
        cf.verify(str(LEARNERS / "dense_ok.py"), layer="dense", dtype="float16")


# --- the command line --------------------------------------------------------------------------
def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "crossframe", "verify", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_cli_exit_codes_and_one_line_errors(tmp_path):
    ok = _cli(str(LEARNERS / "dense_ok.py"), "--layer", "dense")
    assert ok.returncode == 0, ok.stderr
    assert "matches torch, Keras and crossframe's scratch" in ok.stdout
    bad = _cli(str(LEARNERS / "dense_mean.py"), "--layer", "dense")
    assert bad.returncode == 1
    assert "MISMATCH grad:W: dW is 1/N times the right one" in bad.stdout
    raised = _cli(str(LEARNERS / "lstm_raises.py"), "--layer", "lstm")
    assert raised.returncode == 1 and "lstm_raises.py:59" in raised.stdout
    assert "Traceback" not in raised.stdout + raised.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("def forward(:\n")
    syntax = _cli(str(broken), "--layer", "dense")
    assert syntax.returncode == 2 and "broken.py:1" in syntax.stderr
    assert len(syntax.stderr.strip().splitlines()) == 1 and "Traceback" not in syntax.stderr
    for args in (["--layer", "dense"], [str(LEARNERS / "dense_ok.py")],
                 [str(LEARNERS / "dense_ok.py"), "--layer", "dense", "--kernel-size", "3"]):
        r = _cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_cli_json():
    r = _cli(str(LEARNERS / "dense_two_mistakes.py"), "--layer", "dense", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"] == ""
    bad = [row for row in doc["rows"] if not row["ok"]]
    assert bad and all(row["diagnosis"].startswith("two mistakes") for row in bad)


@pytest.mark.parametrize("layer", [d.name for d in all_layers()])
def test_the_template_runs_and_says_what_to_fill_in(layer, tmp_path):
    """Every layer's skeleton is valid Python whose unfilled functions are reported as the
    learner's NotImplementedError at its line (exit 1), not as a crash of crossframe."""
    r = _cli("--template", layer)
    assert r.returncode == 0, r.stderr
    path = tmp_path / f"my_{layer}.py"
    path.write_text(r.stdout)
    compile(r.stdout, str(path), "exec")
    cfg = build_cases(cf.layers.get(layer), {}, "float64")[0].model.layers[0]
    for p in cfg.params:                                 # every canonical parameter, by name
        assert f"params['{p.name.split('.', 1)[1]}']" in r.stdout
    run = _cli(str(path), "--layer", layer)
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert f"my_{layer}.py:" in run.stdout and "NotImplementedError" in run.stdout


def test_the_readme_worked_example_says_what_the_readme_shows(tmp_path):
    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    code = readme.split("# my_dense.py\n", 1)[1].split("```", 1)[0]
    shown = readme.split("$ crossframe verify my_dense.py --layer dense\n", 1)[1].split("```")[0]
    (tmp_path / "my_dense.py").write_text(code)
    r = _cli("my_dense.py", "--layer", "dense", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0] == shown.splitlines()[0]
    assert lines[-1] == shown.strip().splitlines()[-1]
    fixed = tmp_path / "my_dense_fixed.py"
    fixed.write_text(code.replace("dy.mean(axis=0)", "dy.sum(axis=0)"))
    assert _cli(str(fixed), "--layer", "dense").returncode == 0


# --- what a new user met ---------------------------------------------------------------------
def test_an_option_given_as_text_is_parsed_as_the_cli_gives_it():
    table = cf.verify(str(LEARNERS / "lstm_ok.py"), layer="lstm", units="7")
    assert table.attrs["ok"], table.attrs["summary"]
    assert "3x4x7" in set(table["shape"])                      # N 3, T 4, H 7


def test_the_recurrent_protocol_options_are_refused_not_ignored():
    with pytest.raises(InputError, match="--return-state does not apply to verify"):
        cf.verify(str(LEARNERS / "lstm_ok.py"), layer="lstm", return_state="false")


def test_an_endless_loop_ends_at_the_time_limit_as_the_learners_error():
    def forward(params, x):
        while True:
            pass

    def backward(params, cache, dy):
        raise AssertionError("never reached")

    table = cf.verify((forward, backward), layer="dense", timeout=0.5)
    assert not table.attrs["ok"]
    assert "ran for more than 0.5 s" in table.attrs["error"]
    assert "--timeout" in table.attrs["error"]


def test_nan_in_the_learners_output_is_named_as_nan():
    def forward(params, x):
        y = x @ params["W"] + params["b"]
        y[0, 0] = np.nan
        return y, x

    def backward(params, cache, dy):
        return {"W": cache.T @ dy, "b": dy.sum(0)}, dy @ params["W"].T

    table = cf.verify((forward, backward), layer="dense")
    row = table[(table["case"] == 1) & (table["tensor"] == "out:output")].iloc[0]
    assert row["diagnosis"].startswith("your out:output holds 1 NaN of ")
    assert "no known mistake" not in row["diagnosis"]


def test_a_file_for_another_layer_is_told_to_check_the_layer():
    table = cf.verify(str(LEARNERS / "lstm_ok.py"), layer="gru")
    assert "forward(params, x, h0)" in table.attrs["error"]
    assert "is --layer gru the layer your file implements?" in table.attrs["error"]


def test_a_file_with_one_of_the_two_functions_names_the_missing_one(tmp_path):
    only = tmp_path / "only_forward.py"
    only.write_text("def forward(params, x):\n    return x, x\n")
    with pytest.raises(InputError, match="defines forward but no backward"):
        cf.verify(str(only), layer="dense")


def test_a_protocol_error_speaks_of_the_learners_array_and_the_template():
    table = cf.verify(str(LEARNERS / "dense_grad_transposed.py"), layer="dense")
    message = table[table["case"] == 1]["diagnosis"].iloc[0]
    assert message.startswith("gradient of W has shape (4, 5), expected (5, 4)")
    assert "`crossframe verify --template dense`" in message
    assert "layer 1" not in message


def test_one_diagnosis_is_printed_once_for_all_the_tensors_it_explains():
    r = _cli(str(LEARNERS / "lstm_no_carry_c.py"), "--layer", "lstm")
    assert r.returncode == 1
    mismatches = [line for line in r.stdout.splitlines() if line.startswith("MISMATCH")]
    assert len(mismatches) == 1 and "dc is not carried" in mismatches[0]
    assert r.stdout.splitlines()[0].count("dc is not carried") == 1


def test_a_layer_with_running_statistics_needs_updated_state(tmp_path):
    source = (LEARNERS / "batchnorm_ok.py").read_text()
    without = tmp_path / "bn_without_update.py"
    without.write_text(source.replace("def updated_state(", "def _not_named_so("))
    table = cf.verify(str(without), layer="batchnorm")
    assert "has no updated_state(params, cache, training)" in table.attrs["error"]


def test_batchnorm_is_verified_in_training_and_in_inference():
    table = cf.verify(str(LEARNERS / "batchnorm_ok.py"), layer="batchnorm")
    assert table.attrs["ok"], table.attrs["summary"]
    assert {"state:moving_mean", "state:moving_variance"} <= set(table["tensor"])
    cases = build_cases(get_layer("batchnorm"), {}, "float64")
    assert [c.mode for c in cases] == ["train", "eval"]
