"""Loss reductions measured (crossframe.training.reductions): the factor each reduction puts on
every gradient, in the real libraries, against the count the documentation gives, computed
here from the prediction's shape; and the claim that one factor scales every parameter
gradient, checked on a real torch model."""
import dataclasses
import json

import numpy as np
import pytest

from crossframe import frameworks
from crossframe.cli import main
from crossframe.runner import prepare
from crossframe.tolerances import rel_error, tolerance
from crossframe.torch_impl.engine import load_state, make_step
from crossframe.training.reductions import reduction_table

TOL = tolerance("float64").rel


def prediction_shape(model: str) -> tuple[int, ...]:
    case = prepare(model)
    out = frameworks.build("scratch", case.model, "float64").forward(**case.batch.inputs)
    return next(iter(out.values())).shape


@pytest.mark.parametrize("model", ["linear", "mlp", "rnn_seq", "lstm"])
def test_factors_are_the_documented_counts(model):
    t = reduction_table(model).set_index(["library", "reduction"])
    shape = prediction_shape(model)
    size, per_sample = int(np.prod(shape)), int(np.prod(shape[:-1]))
    classes = prepare(model).model.loss.name == "softmax_ce"
    want = {("torch", "mean"): 1, ("keras", "sum_over_batch_size"): 1,
            ("torch", "sum"): per_sample if classes else size, ("keras", "sum"): per_sample}
    for key, factor in want.items():
        assert t.loc[key, "factor"] == pytest.approx(factor, rel=TOL), key
        assert t.loc[key, "sgd_lr_for_the_mean_run"] == pytest.approx(1 / factor, rel=TOL)
        assert abs(t.loc[key, "adam_first_step_ratio"] - 1) < 1e-3  # Adam divides it out
    if size != per_sample:  # an element-wise loss on a wide output: the libraries' sums differ
        assert t.loc[("torch", "sum"), "factor"] != t.loc[("keras", "sum"), "factor"]


def test_one_factor_scales_every_parameter_gradient():
    case = prepare("mlp")
    grads = {}
    for reduction in ("mean", "sum"):
        module = frameworks.build("torch", case.model, "float64")
        load_state(module, case.model.mapping("torch").params_to_framework(case.weights))
        loss = dataclasses.replace(case.model.loss, reduction=reduction)
        make_step(module, case.batch.inputs, case.batch.target, {}, loss, "float64")()
        grads[reduction] = {k: p.grad.numpy().copy() for k, p in module.named_parameters()}
    n = case.batch.size
    for name, g in grads["mean"].items():
        assert rel_error(grads["sum"][name], n * g) <= TOL, name


def test_describe_reductions_cli(capsys):
    assert main(["describe", "linear", "--reductions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["library"], r["reduction"]) for r in rows} == {
        ("torch", "mean"), ("torch", "sum"), ("keras", "sum_over_batch_size"), ("keras", "sum")}
    assert main(["describe", "mlp"]) == 0
    assert "--reductions" in capsys.readouterr().out


def test_describe_reductions_of_a_lone_layer_is_bad_input(capsys):
    assert main(["describe", "lstm_layer", "--reductions"]) == 2
    err = capsys.readouterr().err
    assert "no loss" in err and "Traceback" not in err
