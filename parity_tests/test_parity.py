"""The parity matrix: every registered model and layer x framework pair x dtype.

Test ids read ``mlp-scratch~keras-float64``. A model registered later joins the matrix by
itself. Each framework runs each (model, dtype) once; the pairs compare the cached Results.
"""
from functools import lru_cache

import pytest

from crossframe.runner import prepare, run
from crossframe.spec import PAIRS, all_specs
from crossframe.testing import assert_results_match
from crossframe.tolerances import DTYPES

NAMES = [s.name for s in all_specs()]


@lru_cache(maxsize=None)
def result(name: str, dtype: str, framework: str):
    return run(prepare(name, dtype=dtype, seed=0), framework)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: "~".join(p))
@pytest.mark.parametrize("name", NAMES)
def test_parity(name, pair, dtype):
    a, b = (result(name, dtype, fw) for fw in pair)
    assert_results_match(a, b, dtype, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework", ["scratch", "torch", "keras"])
@pytest.mark.parametrize("name", NAMES)
def test_every_tensor_has_the_requested_dtype(name, framework, dtype):
    r = result(name, dtype, framework)
    wrong = {k: str(v.dtype) for k, (_, v) in r.tensors().items() if str(v.dtype) != dtype}
    assert not wrong, f"{name} {framework}: {wrong} instead of {dtype}"
