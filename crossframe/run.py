"""Run one spec in each framework on the same canonical weights and batch, and compare.

    case = prepare("mlp", dtype="float64", seed=0)
    results = {fw: run(case, fw) for fw in FRAMEWORKS}
    table = check(case)            # pandas DataFrame, one row per (pair, tensor)

``run`` is the only place where the mapping is applied: canonical weights and inputs go through
``transform.forward`` into the framework's names and layout, the framework's engine does one
forward + backward pass, and everything comes back through ``transform.adjoint``.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import data, weights_io
from .errors import InputError
from .result import Result, compare
from .spec import FRAMEWORKS, PAIRS, Batch, Spec, get
from .tolerances import DTYPES, Tolerance

ENGINES = {
    "scratch": "crossframe.scratch.engine",
    "torch": "crossframe.torch_impl.engine",
    "keras": "crossframe.keras_impl.engine",
}


@dataclass
class Case:
    """Everything the three frameworks share: spec, options, dtype, weights and batch."""

    spec: Spec
    opts: dict
    dtype: str
    seed: int
    weights: dict[str, np.ndarray]
    batch: Batch

    @cached_property
    def sum_of_terms(self) -> dict[str, float]:
        """{"grad:NAME": the largest sum of |terms| over that gradient's entries}, for a
        bilinear spec (``Spec.bilinear``); computed once, every framework's Result carries it.

        Each gradient entry of a lone linear layer under the upstream loss is a sum of products,
        e.g. db_c = sum_n G[n, c], dW_ij = sum_n x[n, i] G[n, j], dx_ni = sum_j G[n, j] W_ij.
        The same scratch layer run in float64 on |weights|, |inputs| and |G| adds the absolute
        values of exactly those products."""
        engine = importlib.import_module(ENGINES["scratch"])
        mapping = self.spec.mapping("scratch", self.opts)
        absolute = lambda d: {k: np.abs(v.astype(np.float64)) for k, v in d.items()}  # noqa: E731
        _, _, grads, input_grads = engine.run_step(
            self.spec.builder("scratch")(self.opts, "float64"),
            mapping.params_to_framework(absolute(self.weights)),
            mapping.inputs_to_framework(absolute(self.batch.inputs)), None,
            mapping.upstream_to_framework(absolute(self.batch.upstream)), "upstream", "float64")
        grads = {**mapping.param_grads_to_canonical(grads, self.shapes),
                 **mapping.input_grads_to_canonical(input_grads, self.shapes)}
        return {f"grad:{k}": float(np.max(v)) for k, v in grads.items()}

    @property
    def shapes(self) -> dict[str, tuple]:
        s = {k: v.shape for k, v in self.weights.items()}
        s.update({k: v.shape for k, v in self.batch.inputs.items()})
        s.update({k: v.shape for k, v in self.batch.upstream.items()})
        return s


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype '{dtype}'", f"choose one of: {', '.join(DTYPES)}")
    return dtype


def prepare(name: str, dtype: str = "float64", seed: int = 0, batch_size: int | None = None,
            weights_path: str | None = None, options: dict | None = None,
            weights: dict | None = None) -> Case:
    spec = get(name)
    check_dtype(dtype)
    opts = spec.resolve(options)
    batch_size = spec.default_batch_size if batch_size is None else batch_size
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size} must be at least 1", "pass e.g. 16")
    params = spec.param_specs(opts)
    if weights_path:
        w = weights_io.load(weights_path, params, dtype, name)
    elif weights is not None:
        w = weights_io.validate(weights, params, dtype, name)
    else:
        w = data.init_weights(params, seed, dtype)
    return Case(spec, opts, dtype, seed, w, spec.batch(opts, dtype, seed, batch_size))


def run(case: Case, framework: str, model=None, **engine_kw) -> Result:
    """One forward + backward pass in ``framework``, mapped back to the canonical layout.

    ``model`` may be given to run a prebuilt (e.g. deliberately broken) model.
    """
    spec, opts, dtype = case.spec, case.opts, case.dtype
    mapping = spec.mapping(framework, opts)
    engine = importlib.import_module(ENGINES[framework])
    if model is None:
        model = spec.builder(framework)(opts, dtype)
    b = case.batch
    outputs, loss, grads, input_grads = engine.run_step(
        model,
        mapping.params_to_framework(case.weights),
        mapping.inputs_to_framework(b.inputs),
        b.target,
        mapping.upstream_to_framework(b.upstream),
        spec.loss,
        dtype,
        **engine_kw,
    )
    shapes = case.shapes
    outputs = mapping.outputs_to_canonical(outputs)
    terms = dict(case.sum_of_terms) if spec.bilinear else {}
    if spec.loss == "upstream":
        terms["loss"] = sum(float(np.sum(np.abs(b.upstream[k].astype(np.float64) * outputs[k])))
                            for k in b.upstream if k in outputs)
    return Result(
        framework=framework,
        outputs=outputs,
        loss=np.asarray(loss),
        grads=mapping.param_grads_to_canonical(grads, shapes),
        input_grads=mapping.input_grads_to_canonical(input_grads, shapes),
        terms=terms,
    )



def with_mapping(case: Case, framework: str, rewrite) -> Case:
    """The case with ``framework``'s mapping replaced by ``rewrite(good mapping) -> Mapping``.

    How the "can fail" checks load a deliberately wrong mapping (a kernel left untransposed, a
    gate block not reordered) and show that ``compare`` reports it.
    """
    good = case.spec.mappings[framework]
    spec = dataclasses.replace(case.spec, mappings={**case.spec.mappings,
                                                    framework: lambda o: rewrite(good(o))})
    return dataclasses.replace(case, spec=spec)


def run_all(case: Case, frameworks=FRAMEWORKS) -> dict[str, Result]:
    return {fw: run(case, fw) for fw in frameworks}


def check(case: Case, pairs=PAIRS, tol: Tolerance | None = None,
          results: dict[str, Result] | None = None) -> pd.DataFrame:
    """Every pair, every tensor: the comparison table for one case."""
    needed = sorted({fw for pair in pairs for fw in pair}, key=FRAMEWORKS.index)
    results = results or run_all(case, needed)
    return pd.concat([compare(results[a], results[b], case.dtype, tol) for a, b in pairs],
                     ignore_index=True)
