"""The report's training recipes (crossframe.training.recipes) do what they claim: the digits
MLP and ConvNet reach 95% test accuracy, linear regression ends on its plateau, and every
recipe names a registered, trainable model with options it accepts.

The runs train scratch only (torch and Keras follow it step for step: test_training.py's
trajectory parity); each takes a few seconds.
"""
import numpy as np
import pytest

from crossframe.spec import get
from crossframe.training.fit import DATASETS, plan, run_framework
from crossframe.training.recipes import Recipe, recipes


def final_curve(name: str, metric: str) -> np.ndarray:
    """The test split's ``metric`` after each epoch (epoch 0 first), scratch, the recipe's run."""
    r = recipes()[name]
    p = plan(name, r.epochs, lr=r.lr, options=r.options or None, batch_size=r.batch_size)
    rows = run_framework(p, "scratch")
    found = {row["epoch"]: row["value"] for row in rows
             if row["split"] == "test" and row["metric"] == metric}
    return np.array([found[e] for e in sorted(found)])


@pytest.mark.parametrize("name", ["mlp", "convnet"])
def test_digits_classifiers_reach_95_percent(name):
    accuracy = final_curve(name, "accuracy")
    assert accuracy[0] < 0.2                      # untrained: about one digit in ten
    assert accuracy[-1] >= 0.95, f"{name}: test accuracy {accuracy[-1]:.3f} after its recipe"


def test_linear_regression_ends_on_its_plateau():
    rmse = final_curve("linear", "rmse")
    assert rmse[-1] < 0.75 * rmse[0]              # it learned: 83.8 -> 57.0 with the recipe
    last = rmse[-5:]
    # on the plateau: the last five epochs stay within 2% of their mean
    assert np.max(np.abs(last - last.mean())) <= 0.02 * last.mean(), last


def test_every_recipe_is_a_trainable_model_with_valid_options():
    found = recipes()
    assert {"linear", "mlp", "convnet"} <= set(found)
    for name, r in found.items():
        spec = get(name)
        assert spec.kind == "model" and spec.dataset in DATASETS, name
        spec.resolve(r.options or None)           # an unknown option would raise
        assert r.epochs >= 1 and r.lr > 0 and r.why


def test_a_recipe_reads_back_as_the_command_that_reruns_it():
    r = Recipe("convnet", epochs=8, lr=0.01, options={"filters1": 8})
    assert r.flags() == "crossframe train convnet --epochs 8 --lr 0.01 --filters1 8"
    assert Recipe("mlp", epochs=2, lr=0.0).flags() == "crossframe train mlp --epochs 2"
