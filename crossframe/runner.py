"""Run one model in each framework on the same canonical weights and batch, and compare.

    case = prepare("mlp", dtype="float64", seed=0)          # a registered name, or a Sequential
    results = {fw: run(case, fw) for fw in FRAMEWORKS}
    table = check(case)            # pandas DataFrame, one row per (pair, tensor)

    case = prepare("dense", inputs={"x": my_x})              # your own batch; upstream drawn
    case = prepare(Sequential.parse("dense(8); tanh; dense(1)", 6, "mae"), inputs=..., target=...)
    run(case, "torch", backward=False)                       # forward only

``run`` is the only place where the mapping is applied: canonical weights and inputs go through
``transform.forward`` into the framework's names and layout, the framework's engine does one
forward + backward pass in the case's mode ("train" or "eval", the same for all three), and
everything comes back through ``transform.adjoint``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from . import data, frameworks, weights_io
from .errors import InputError
from .frameworks import FRAMEWORKS, PAIRS
from .mapping import Mapping
from .result import Result, compare
from .sequential import Sequential
from .spec import Batch, Spec, get
from .tolerances import DTYPES, Tolerance

MODES = ("train", "eval")


@dataclass
class Case:
    """Everything the three frameworks share: the model, dtype, mode, weights and batch."""

    spec: Spec
    opts: dict
    dtype: str
    seed: int
    weights: dict[str, np.ndarray]
    batch: Batch
    model: Sequential
    mode: str = "train"
    mappings: dict[str, Mapping] = field(default_factory=dict)   # overrides (can-fail checks)

    def mapping(self, framework: str) -> Mapping:
        fw = frameworks.base(framework)
        return self.mappings.get(fw) or self.model.mapping(fw)

    @cached_property
    def sum_of_terms(self) -> dict[str, float]:
        """{"grad:NAME" or "out:NAME": the largest sum of |terms| over that tensor's entries},
        for a bilinear model (``Sequential.bilinear``); computed once, every framework's Result
        carries it.

        Each gradient entry of a lone linear layer under the upstream loss is a sum of products,
        e.g. db_c = sum_n G[n, c], dW_ij = sum_n x[n, i] G[n, j], dx_ni = sum_j G[n, j] W_ij.
        The same scratch layer run in float64 on |weights|, |inputs| and |G| adds the absolute
        values of exactly those products."""
        absolute = lambda d: {k: np.abs(v.astype(np.float64)) for k, v in d.items()}  # noqa
        model = frameworks.build("scratch", self.model, "float64")
        outputs, _, grads, input_grads, _ = frameworks.engine("scratch").run_step(
            model, absolute(self.weights), absolute(self.batch.inputs), None,
            absolute(self.batch.upstream), self.model.loss, "float64")
        terms = {f"grad:{k}": float(np.max(v)) for k, v in {**grads, **input_grads}.items()}
        # the outputs are sums of products too (y_nj = sum_i x_ni W_ij + b_j): the same run on
        # absolute values gives each output's sum of |terms|
        terms.update({f"out:{k}": float(np.max(v)) for k, v in outputs.items()})
        # and the loss sum(G * y) expands to sum(G * x W) + sum(G * b): its |terms| add up to
        # sum(|G| * (|x| |W| + |b|)), not to sum(|G * y|) of outputs that cancelled already
        upstream = absolute(self.batch.upstream)
        terms["loss"] = float(sum(np.sum(upstream[k] * outputs[k]) for k in upstream))
        return terms

    @property
    def shapes(self) -> dict[str, tuple]:
        s = {k: v.shape for k, v in self.weights.items()}
        s.update({k: v.shape for k, v in self.batch.inputs.items()})
        s.update({k: v.shape for k, v in self.batch.upstream.items()})
        return s

    @property
    def trainable(self) -> dict[str, np.ndarray]:
        names = {p.name for p in self.model.params("trainable")}
        return {k: v for k, v in self.weights.items() if k in names}


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype '{dtype}'", f"choose one of: {', '.join(DTYPES)}")
    return dtype


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"unknown mode '{mode}'", f"choose one of: {', '.join(MODES)}")
    return mode


def spec_for(model: Sequential) -> Spec:
    """A Spec standing for a Sequential built in Python (``prepare(model)``)."""
    return Spec(name="sequential", kind="model", family="composed", summary=model.text(),
                model=lambda o: model, default_batch_size=8)


def prepare(name, dtype: str = "float64", seed: int = 0, batch_size: int | None = None,
            weights_path: str | None = None, options: dict | None = None,
            weights: dict | None = None, inputs: dict | None = None, target=None,
            upstream: dict | None = None, mode: str = "train", init: str = "canonical") -> Case:
    """A Case for a registered name or a ``Sequential``.

    ``weights`` / ``weights_path``: canonical weights (else seeded random ones); options the
    user did not give are read off their shapes where the shapes fix them. ``init``: how the
    weights are drawn when none are given: "canonical" (crossframe's own, non-zero distinct
    biases), "keras" or "torch" (that library's default initialisers, drawn by the library:
    crossframe.initializers.draw); with weights given it must stay "canonical" (InputError).
    ``inputs``: your own batch ({"x": (N, ...)}, and states), validated against the model;
    ``target`` and ``upstream`` are drawn to match where not given."""
    from .initializers import check_library, draw

    check_dtype(dtype)
    check_mode(mode)
    check_library(init)
    if init != "canonical" and (weights is not None or weights_path is not None):
        raise InputError(f"init={init!r} draws the weights, and weights were given too",
                         "drop --init to use your weights, or drop --weights to draw them")
    if seed < 0:
        raise InputError(f"--seed {seed} must be >= 0", "pass e.g. --seed 0")
    given_weights = weights_io.read(weights_path) if weights_path is not None else weights
    if isinstance(name, Sequential):
        model = name if given_weights is None else Sequential(
            list(name.items), name.input_shape, name.loss, name.output_name,
            weights_io.shapes(given_weights))
        spec, opts = spec_for(model), {}
    source = weights_path and weights_path.rsplit("/", 1)[-1] or "weights"
    if not isinstance(name, Sequential):
        spec = get(name)
        opts, model, w = _fit_weights(spec, options, given_weights, dtype, source, batch_size,
                                      inputs)
    else:
        _guard(spec, model, dtype, _batch_size(spec, batch_size, inputs))
        if given_weights is not None:
            w = weights_io.validate(given_weights, model.params(), dtype, spec.name, source)
    if given_weights is None:
        w = draw(model, init, seed, dtype)
    if inputs is not None:
        batch = _own_batch(model, inputs, target, upstream, dtype, seed)
    elif target is not None or upstream is not None:
        raise InputError("a target or an upstream gradient was given without inputs",
                         "give inputs= (the batch they belong to) as well")
    else:
        batch = spec.make_batch(opts, dtype, seed, _batch_size(spec, batch_size, None))
    for cfg in model.layers:
        cfg.decl.check_batch(cfg, batch.size, mode)
    return Case(spec, opts, dtype, seed, w, batch, model, mode)


def _batch_size(spec: Spec, batch_size: int | None, inputs: dict | None) -> int:
    """The rows of the batch, checked: at least 1, at most the data set's rows."""
    if inputs is not None and batch_size is not None:
        raise InputError("--batch-size was given with your own inputs",
                         "drop --batch-size: the batch is your inputs' rows")
    if inputs is not None and "x" in inputs:
        return len(inputs["x"])
    size = spec.default_batch_size if batch_size is None else batch_size
    if size < 1:
        raise InputError(f"--batch-size {size} must be at least 1", "pass e.g. 16")
    if spec.dataset:
        rows = data.dataset_rows(spec.dataset)
        if size > rows:
            raise InputError(f"--batch-size {size}: {spec.dataset} has {rows} rows",
                             f"pass --batch-size {rows} or less")
    return size


def _guard(spec: Spec, model: Sequential, dtype: str, size: int) -> None:
    """The memory budget, before anything is allocated (crossframe.resources)."""
    from . import resources

    resources.guard(resources.estimate(model, size, dtype),
                    f"{spec.name} with batch {size} ({dtype}, forward and backward)",
                    "use a smaller --batch-size or smaller sizes")


def _fit_weights(spec: Spec, options: dict | None, weights: dict | None, dtype: str,
                 source: str, batch_size: int | None = None, inputs: dict | None = None):
    """(options, model, checked weights or None): the options the weights fix are read off
    their shapes (``Spec.infer``) unless given. Where the weights do not fit the model so read,
    they are checked against the model of the given options alone, whose error names what is
    wrong against the sizes the user asked for (a transposed kernel, a missing bias)."""
    opts = _options(spec, options, weights)
    model = spec.sequential(opts)
    _guard(spec, model, dtype, _batch_size(spec, batch_size, inputs))
    if weights is None:
        return opts, model, None
    try:
        return opts, model, weights_io.validate(weights, model.params(), dtype, spec.name, source)
    except InputError as read_off:
        # the sizes read off the weights did not fit them all. The message against those sizes
        # names the tensor that is wrong; against the sizes the user asked for (or the
        # defaults) it can say "looks transposed" of a default-sized file. Say the one that
        # names the mistake.
        plain = _options(spec, options, None)
        if plain == opts:
            raise
        try:
            weights_io.validate(weights, spec.sequential(plain).params(), dtype, spec.name,
                                source)
        except InputError as asked:
            if "looks transposed" in str(asked) and "looks transposed" not in str(read_off):
                raise asked from None
            raise read_off from None
        model = spec.sequential(plain)
        return plain, model, weights_io.validate(weights, model.params(), dtype, spec.name,
                                                 source)


def _options(spec: Spec, options: dict | None, weights: dict | None) -> dict:
    """The user's options, plus those the weights fix (read by the spec's ``infer``)."""
    given = dict(options or {})
    if weights is not None and spec.infer is not None:
        shapes = weights_io.shapes(weights)
        known = {o.name: o for o in spec.options}
        aliases = {a: o.name for o in spec.options for a in o.aliases}
        named = {aliases.get(k.replace("-", "_"), k.replace("-", "_")) for k in given}
        for key, value in spec.infer(shapes).items():
            if key in known and key not in named:
                given[key] = value
    if spec.name == "sequential" and weights is not None:
        return spec.resolve(given, shapes=weights_io.shapes(weights))
    return spec.resolve(given)


def _own_batch(model: Sequential, inputs: dict, target, upstream, dtype: str, seed: int) -> Batch:
    """The user's inputs, checked against the model; target / upstream drawn where missing.
    Nothing given is ever dropped: a target for a model without a loss, an upstream gradient
    for one with a loss, or an output name the model does not have is an InputError."""
    from .spec import random_target

    missing = [k for k in model.inputs if k not in inputs]
    extra = [k for k in inputs if k not in model.inputs]
    if missing or extra:
        what = (f"missing {', '.join(missing)}" if missing else "") + \
               ("; " if missing and extra else "") + \
               (f"unexpected {', '.join(extra)}" if extra else "")
        takes = ", ".join(f"{k} (N, {_t(s)})" for k, s in model.inputs.items())
        states = " (or start from zeros: --initial-state false)" \
            if any(k != "x" for k in missing) else ""
        raise InputError(f"inputs: {what}", f"the model takes {takes}{states}")
    out, N = {}, None
    for name, shape in model.inputs.items():
        a = np.asarray(inputs[name])
        if name == "x" and model.ids is not None:
            out[name] = weights_io.check_ids(a, (None, *shape), model.ids, "inputs: x")
        else:
            out[name] = weights_io.check_array(a, (None, *shape), dtype, f"inputs: {name}")
        if N is None:
            N = a.shape[0]
        elif a.shape[0] != N:
            raise InputError(f"inputs: {name} has {a.shape[0]} rows, x has {N}",
                             "give every input the same batch size")
    if N == 0:
        raise InputError("inputs: x has 0 rows", "give at least one sample")
    if model.loss.upstream:
        if target is not None:
            raise InputError("a target was given, but the model has no loss (a lone-layer "
                             "check: L = sum(G * y))", "give --loss, or an upstream gradient "
                             "instead of the target")
        given = dict(upstream or {})
        unknown = [k for k in given if k not in model.outputs]
        if unknown:
            outs = ", ".join(f"{k} (N, {_t(s)})" for k, s in model.outputs.items())
            raise InputError(f"upstream: the model has no output {', '.join(unknown)}",
                             f"its outputs are {outs}")
        ups = {}
        for k, shape in model.outputs.items():
            if k in given:
                ups[k] = weights_io.check_array(np.asarray(given[k]), (N, *shape), dtype,
                                                f"upstream: {k}")
            else:
                ups[k] = data.upstream((N, *shape), seed, k, dtype)
        return Batch(out, None, ups)
    if upstream:
        raise InputError(f"an upstream gradient was given, but the model has the loss "
                         f"{model.loss.text()}, which makes its own", "give the target instead")
    if target is None:
        return Batch(out, random_target(model, dtype, seed, N), {})
    return Batch(out, check_target(model, np.asarray(target), N, dtype), {})


def check_target(model: Sequential, target: np.ndarray, N: int, dtype: str) -> np.ndarray:
    """A user's target against the model's output and loss: integer labels in [0, K) for
    softmax_ce, values in [0, 1] for binary_ce, finite values otherwise."""
    (shape,) = model.outputs.values()
    kind = model.loss.decl.target
    want = (N, *shape[:-1]) if kind == "labels" else (N, *shape)
    if target.shape != want:
        raise InputError(f"target: shape {target.shape}, expected {want}",
                         "integer labels (N,) for softmax_ce, else the output's shape")
    if kind == "labels":
        K = shape[-1]
        if target.dtype.kind not in "iu":
            raise InputError(f"target: labels of dtype {target.dtype}",
                             "softmax_ce takes integer class labels: save them with .astype(int)")
        if target.size and (target.min() < 0 or target.max() >= K):
            raise InputError(f"target: labels from {target.min()} to {target.max()}, the model "
                             f"has {K} classes", f"give labels in 0..{K - 1}")
        return target.astype(np.int64)
    if target.dtype.kind not in "iuf" or not np.all(np.isfinite(target)):
        raise InputError(f"target: {target.dtype} values, or NaN/Inf",
                         "give finite numbers")
    if kind == "binary" and (target.min() < 0 or target.max() > 1):
        raise InputError(f"target: values from {target.min():g} to {target.max():g}",
                         "binary_ce takes targets in [0, 1]")
    return np.ascontiguousarray(target.astype(dtype))


def _t(shape) -> str:
    return ", ".join(map(str, shape))


def run(case: Case, framework: str, model=None, backward: bool = True, params=None,
        **engine_kw) -> Result:
    """One forward (+ backward) pass in ``framework``, mapped back to the canonical layout.

    ``model`` may be given to run a prebuilt (e.g. deliberately broken) framework model.
    ``params``: the framework's own tensors to load (a checkpoint's, under the mapping's
    framework names) instead of ``case.weights`` mapped; gradients still come back canonical.
    ``framework`` "scratch-fast" runs the fast scratch kernels."""
    frameworks.check_framework(framework)
    mapping = case.mapping(framework)
    engine = frameworks.engine(framework)
    if model is None:
        model = frameworks.build(framework, case.model, case.dtype)
    b = case.batch
    labels = case.model.loss.decl.target == "labels"
    outputs, loss, grads, input_grads, state = engine.run_step(
        model, mapping.params_to_framework(case.weights) if params is None else params,
        mapping.inputs_to_framework(b.inputs),
        mapping.target_to_framework(b.target, labels), mapping.upstream_to_framework(b.upstream),
        case.model.loss, case.dtype, case.mode, backward=backward, **engine_kw)
    shapes = case.shapes
    outputs = mapping.outputs_to_canonical(outputs)
    terms = dict(case.sum_of_terms) if case.model.bilinear and backward else {}
    if case.model.loss.upstream and "loss" not in terms:
        terms["loss"] = sum(float(np.sum(np.abs(b.upstream[k].astype(np.float64) * outputs[k])))
                            for k in b.upstream if k in outputs)
    return Result(
        framework=framework,
        outputs=outputs,
        loss=np.asarray(loss),
        grads=mapping.param_grads_to_canonical(grads, shapes),
        input_grads=mapping.input_grads_to_canonical(input_grads, shapes),
        state=mapping.state_to_canonical(state, shapes),
        terms=terms,
    )


def with_mapping(case: Case, framework: str, rewrite) -> Case:
    """The case with ``framework``'s mapping replaced by ``rewrite(good mapping) -> Mapping``.

    How the "can fail" checks load a deliberately wrong mapping (a kernel left untransposed, a
    gate block not reordered) and show that ``compare`` reports it."""
    good = case.mapping(framework)
    return dataclasses.replace(case, mappings={**case.mappings, framework: rewrite(good)})


def run_all(case: Case, frameworks_=FRAMEWORKS, backward: bool = True) -> dict[str, Result]:
    return {fw: run(case, fw, backward=backward) for fw in frameworks_}


def check(case: Case, pairs=PAIRS, tol: Tolerance | None = None,
          results: dict[str, Result] | None = None, backward: bool = True) -> pd.DataFrame:
    """Every pair, every tensor: the comparison table for one case."""
    order = [*FRAMEWORKS, *frameworks.VARIANTS]
    for fw in {fw for pair in pairs for fw in pair}:
        frameworks.check_framework(fw)
    needed = sorted({fw for pair in pairs for fw in pair}, key=order.index)
    results = results or run_all(case, needed, backward)
    table = pd.concat([compare(results[a], results[b], case.dtype, tol) for a, b in pairs],
                      ignore_index=True)
    return _state_notes(case, table, needed) if case.mode == "train" else table


def _state_notes(case: Case, table: pd.DataFrame, frameworks_) -> pd.DataFrame:
    """A state tensor a framework reports from another tensor than the one it loads (torch's
    BatchNorm: running_var moves by the unbiased rule, its Keras-rule twin is compared) says
    so in the note column: the row's agreement is not the library buffer's."""
    notes = {}
    for fw in frameworks_:
        if fw not in FRAMEWORKS:
            continue
        mapping = case.mapping(fw)
        loaded = {e.canonical: e.framework for e in mapping.params}
        for e in mapping.states:
            if loaded.get(e.canonical) not in (None, e.framework):
                notes[(fw, f"state:{e.canonical}")] = f"{fw}: {e.reason}"
    for i, row in table.iterrows():
        said = [notes[(fw, row["tensor"])] for fw in row["pair"].split("~")
                if (fw, row["tensor"]) in notes]
        if said and not row["note"]:
            table.at[i, "note"] = "; ".join(said)
    return table
