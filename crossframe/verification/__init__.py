"""``crossframe verify``: a learner's layer against the references, and which mistake it made.

    import crossframe as cf
    table = cf.verify("my_lstm.py", layer="lstm")              # or a module, class, instance
    table = cf.verify((forward, backward), layer="dense", units=4)

The learner's layer (crossframe.verification.learner: two functions or a class with
``forward(params, x) -> (y, cache)`` and ``backward(params, cache, dy) -> (grads, dx)``) runs on
canonical weights, a random batch and a random upstream gradient, at two sizes and seeds (the
second with square kernels where the layer has them, so a transposed one cannot hide behind a
shape error), inside the scratch runner that checks every shape and dtype. Its output, every
parameter gradient and the input gradient are compared with torch's, Keras' and the textbook
scratch's (``references``; Keras on another backend, ``keras-jax`` or ``keras-torch``, runs in a
worker process of its own, crossframe.keras_backends, built there from the model's recipe: the
learner's class stays the scratch side, in this process).

Where a tensor differs, the diagnosis says why, and only what it can prove:

- *a known mistake*: each mistake of crossframe.verification.faults, switched on in a
  reference, is accepted only when it reproduces the learner's numbers (to the tolerance of
  the dtype), in every case. Single mistakes first, then pairs ("two mistakes: ..."), then, per
  tensor, a mistake that reproduces that tensor alone;
- *self-consistency*: central differences of the learner's own forward, to tell "your forward
  is right and your backward disagrees with it" from "your forward is wrong";
- *localisation*: for what no mistake explains, the layer rerun with every parameter but one
  zeroed (and, for gates, every gate block but one), naming where the difference lives;
- otherwise "no known mistake explains this".

The result is a pandas DataFrame, one row per tensor: error, verdict, diagnosis, fix (``attrs``
hold the summary); ``crossframe verify FILE --layer NAME`` prints it (exit 0 all match, 1 a
mismatch or an error in the learner's code, 2 bad usage or a file that cannot be loaded).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import frameworks
from ..errors import InputError
from ..layers import get as get_layer
from ..layers.base import resolve_options
from ..result import Result, compare
from ..runner import prepare, run
from ..scratch.model import ProtocolError
from ..sequential import Sequential
from ..tolerances import rel_error, tolerance
from .faults import GradientFault, faulty, gradient_faults, has_faulty, layer_faults
from .learner import LearnerError, adapter, from_object, load_file, time_limit
from .native import kind_of
from .native import runner as native_runner

REFERENCES = ("torch", "keras", "scratch")
# what a learner may name as references: check's --frameworks names (Keras on a named backend
# runs in a worker of its own, from the model's recipe: the learner's class is never sent there)
KNOWN_REFERENCES = (*frameworks.FRAMEWORKS, *frameworks.VARIANTS)
COLUMNS = ["case", "tensor", "shape", "max_rel", "tol", "ok", "diagnosis", "fix"]


def check_references(references) -> tuple[str, ...]:
    """The references to verify against, each known (``crossframe check --frameworks``
    names, any case: ``keras-jax`` is Keras on JAX), in order, repeats dropped. InputError for
    an unknown name (with the closest known one), none at all, or two names for this process'
    Keras (``keras`` and ``keras-tensorflow`` where KERAS_BACKEND is unset)."""
    from ..errors import did_you_mean

    if isinstance(references, str):
        references = references.split(",")
    from ..cliargs import same_keras

    names = [str(n).strip().lower() for n in references]
    if not any(names):
        raise InputError(f"--against {','.join(names)!r}: name one reference or more",
                         "e.g. --against keras-jax, or --against torch,keras,scratch")
    if not all(names):
        raise InputError(f"--against {','.join(names)!r} has an empty item",
                         "e.g. --against keras-jax, or --against torch,keras,scratch")
    for n in names:
        if n not in KNOWN_REFERENCES:
            raise InputError(f"--against: unknown reference '{n}'",
                             did_you_mean(n, KNOWN_REFERENCES))
    names = list(dict.fromkeys(names))
    same_keras(names, "--against")
    return tuple(names)


def reference_names(references) -> str:
    """'torch, Keras and crossframe's scratch', 'Keras on jax (keras-jax)': what the summary
    says was checked against."""
    said = {"torch": "torch", "keras": "Keras", "scratch": "crossframe's scratch",
            "scratch-fast": "crossframe's fast scratch",
            **{k: f"Keras on {k.split('-', 1)[1]} ({k})" for k in frameworks.KERAS_NAMED}}
    words = [said[r] for r in references]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


# --- the cases ---------------------------------------------------------------------------------
def _square(decl, shape, opts) -> tuple[tuple, dict]:
    """The second case: other sizes, and square kernels where the layer has them."""
    shape, opts = tuple(shape), dict(opts)
    if decl.name == "dense":
        opts["units"] = shape[-1]                                       # W (F, F): square
    elif decl.name == "conv2d":
        from ..geometry import pair

        k = max(pair(opts.get("kernel_size") or 3))
        opts["kernel_size"], opts["filters"] = (k, k), shape[-1]        # kh = kw, C_in = C_out
        shape = (shape[0] + 1, shape[1] + 2, shape[2])
    elif decl.name == "conv1d":
        shape = (shape[0] + 2, shape[1])          # longer; channels kept, so groups still divide
    elif decl.recurrent:
        shape = (shape[0] + 2, opts.get("units") or shape[1])          # T + 2, D = H
    elif len(shape) == 3:
        shape = (shape[0] + 1, shape[1] + 1, shape[2])
    else:
        shape = tuple(s + 1 for s in shape)
    return shape, opts


# what verify always checks of a recurrent layer: the whole protocol, states in and out
RECURRENT_PROTOCOL = ("return_sequences", "return_state", "initial_state")


def build_cases(decl, options: dict, dtype: str, seed: int = 1):
    """Two Cases of ``decl`` alone: its example (with the user's options) and a second one."""
    if decl.example is None:
        raise InputError(f"{decl.name} has no example to verify on", "see `crossframe list`")
    shape, example = decl.example
    parsed = resolve_options(decl.options, options, decl.name)
    given = {o.name for o in decl.options for k in options
             if k.replace("-", "_") in (o.name, *o.aliases)}
    if decl.recurrent and given & set(RECURRENT_PROTOCOL):
        flag = sorted(given & set(RECURRENT_PROTOCOL))[0].replace("_", "-")
        raise InputError(f"--{flag} does not apply to verify: it checks the whole recurrent "
                         "protocol, every step's output, the last state(s) and their gradients",
                         f"leave --{flag} out")
    opts = {**example, **{k: parsed[k] for k in given}}
    if decl.recurrent:
        opts.update(return_sequences=True, return_state=True, initial_state=True)
    cases = []
    for i, (s, o, n) in enumerate([(shape, opts, 3), (*_square(decl, shape, opts), 2)]):
        model = Sequential([decl(**o)], s)
        # a layer that computes differently in inference is checked in both modes
        mode = "eval" if decl.mode_dependent and i == 1 else "train"
        case = prepare(model, dtype=dtype, seed=seed + i, batch_size=n, mode=mode)
        if decl.name in TIES:
            case = _with_ties(case)
        cases.append(case)
    return cases


# layers whose inputs get exact zeros and ties: a ReLU's derivative at 0, a max-pool's first
# maximum, are part of what is checked
TIES = ("relu", "maxpool2d", "maxpool1d", "globalmaxpool1d", "globalmaxpool2d")


def _with_ties(case):
    """The batch's x rounded to steps of 0.5: exact zeros, and windows with equal values."""
    import dataclasses

    from ..spec import Batch

    b = case.batch
    x = (np.round(2 * b.inputs["x"]) / 2).astype(b.inputs["x"].dtype)
    return dataclasses.replace(case, batch=Batch({**b.inputs, "x": x}, b.target, b.upstream))


# --- running a layer implementation in a case -------------------------------------------------
def run_with(case, cls, backward: bool = True) -> Result:
    """The case with its one layer run by scratch class ``cls`` (built with the options)."""
    model = frameworks.engine("scratch").build(case.model, case.dtype, {case.model.layers[0]
                                                                        .decl.name: cls})
    return run(case, "scratch", model=model, backward=backward)


def _local(name: str, layer: str) -> str:
    """'grad:lstm.W_x' -> 'grad:W_x' (the names the learner knows)."""
    return name.replace(f"{layer}.", "")


# --- the verdict and the diagnosis ------------------------------------------------------------
@dataclass
class Finding:
    tensors: set = field(default_factory=set)     # canonical tensor names it explains
    says: str = ""
    fix: str = ""


def _matches(predicted: Result, learner: Result, dtype: str, names) -> set:
    """The tensors of ``names`` where ``predicted`` reproduces ``learner``."""
    p, q = predicted.tensors(), learner.tensors()
    tol = tolerance(dtype).rel
    out = set()
    for n in names:
        if n in p and n in q and p[n][1].shape == q[n][1].shape and \
                np.all(np.isfinite(p[n][1])) and rel_error(p[n][1], q[n][1]) <= tol:
            out.add(n)
    return out


def _dims(case) -> dict:
    cfg = case.model.layers[0]
    dims = {"N": case.batch.size}
    if cfg.decl.recurrent:
        dims["T"] = cfg.flow_in.shape[0]
    if "pool_size" in cfg.opts:
        dims["area"] = int(np.prod(cfg.opts["pool_size"]))
    return dims


def _with_gradient_fault(result: Result, fault: GradientFault, case) -> Result | None:
    t = result.tensors()
    if fault.tensor not in t:
        return None
    value = fault.apply(t[fault.tensor][1], _dims(case))
    if value is None:
        return None
    key = fault.tensor.split(":", 1)[1]
    grads, inputs = dict(result.grads), dict(result.input_grads)
    if key in grads:
        grads[key] = value
    else:
        inputs[key] = value
    return Result("fault", result.outputs, result.loss, grads, inputs)


def _candidates(decl, cases, refs):
    """((kind, what), says, fix) for every single mistake that applies in some case."""
    out, seen = [], set()
    if has_faulty(decl):
        for case in cases:
            cfg = case.model.layers[0]
            params = {p.name.split(".", 1)[1]: case.weights[p.name] for p in cfg.params}
            for f in layer_faults(decl, cfg.opts, params):
                if f.key not in seen:
                    seen.add(f.key)
                    out.append((("layer", f.key), f.says, f.fix))
    cfg = cases[0].model.layers[0]
    for g in gradient_faults(sorted(refs[0].tensors()), decl.recurrent,
                             "pool_size" in cfg.opts):
        out.append((("grad", g), g.says(), g.fix()))
    return out


def _predict(decl, case, ref: Result, faults: tuple, cache: dict) -> Result | None:
    """The reference with the mistakes in ``faults`` switched on (None: not in this case)."""
    layer = tuple(sorted(k for kind, k in faults if kind == "layer"))
    key = (id(case), layer)
    if key not in cache:
        try:
            cache[key] = run_with(case, faulty(decl, frozenset(layer))) if layer else ref
        except (ValueError, IndexError, ProtocolError):   # the mistake cannot run here
            cache[key] = None
    result = cache[key]
    for kind, g in faults:
        if kind == "grad" and result is not None:
            result = _with_gradient_fault(result, g, case)
    return result


def diagnose(decl, cases, learners, refs, dtype) -> list[Finding]:
    """Findings that reproduce the learner's numbers (see the module docstring)."""
    names = [sorted(r.tensors()) for r in learners]
    wrong = [{n for n in names[i] if n not in _matches(refs[i], learners[i], dtype, names[i])}
             for i in range(len(cases))]
    if not any(wrong):
        return []
    cache: dict = {}
    singles = {}
    for cand in _candidates(decl, cases, refs):
        (kind, what), says, fix = cand
        label = (kind, what)
        explained = []
        for case, learner, ref, n in zip(cases, learners, refs, names):
            predicted = _predict(decl, case, ref, (label,), cache)
            explained.append(set() if predicted is None
                             else _matches(predicted, learner, dtype, n))
        singles[label] = (says, fix, explained)
    # 1. one mistake reproduces every tensor in every case
    whole = [label for label, (_, _, ex) in singles.items()
             if all(set(n) <= e for n, e in zip(names, ex))]
    if whole:
        return [Finding(set().union(*wrong),
                        " or ".join(list(dict.fromkeys(singles[w][0] for w in whole))[:2]),
                        singles[whole[0]][1])]
    # 2. two mistakes at once
    useful = [label for label, (_, _, ex) in singles.items()
              if any(w & e for w, e in zip(wrong, ex))]
    for a, b in itertools.combinations(useful, 2):
        if a[0] == "grad" and b[0] == "grad" and a[1].tensor == b[1].tensor and \
                a[1].kind == b[1].kind:
            continue
        ok = True
        for case, learner, ref, n in zip(cases, learners, refs, names):
            predicted = _predict(decl, case, ref, (a, b), cache)
            if predicted is None or set(n) - _matches(predicted, learner, dtype, n):
                ok = False
                break
        if ok:
            return [Finding(set().union(*wrong), f"two mistakes: {singles[a][0]}; and "
                            f"{singles[b][0]}", f"{singles[a][1]}; {singles[b][1]}")]
    # 3. per tensor: a mistake that reproduces that tensor in every case it is wrong in
    findings = []
    for label, (says, fix, ex) in singles.items():
        tensors = set.intersection(*[w & e if w else e for w, e in zip(wrong, ex)]) & \
            set().union(*wrong)
        if tensors:
            findings.append(Finding(tensors, says, fix))
    return findings


def self_consistency(case, cls, learner: Result, timeout: float | None = None
                     ) -> dict[str, float]:
    """{tensor: relative error} of the learner's backward against central differences of the
    learner's own forward (float64 cases only; {} when it runs past ``timeout`` seconds)."""
    if case.dtype != "float64":
        return {}
    from ..gradcheck import numerical_gradients

    import crossframe.frameworks as fw
    original = fw.build

    def learners_build(framework, model, dtype):
        """The learner's class where a scratch model is built; any other framework (a Keras
        backend's worker builds its own from the recipe) as it was."""
        if frameworks.base(framework) != "scratch":
            return original(framework, model, dtype)
        return frameworks.engine("scratch").build(model, dtype,
                                                  {model.layers[0].decl.name: cls})
    fw.build = learners_build
    try:
        with time_limit(timeout):
            estimates = numerical_gradients(case, coords_per_tensor=12)
    except (LearnerError, ProtocolError):
        return {}
    finally:
        fw.build = original
    layer = case.model.layers[0].name
    return {f"grad:{k}": rel_error(a, n) for k, (a, n) in estimates.items()
            if f"grad:{k}" in learner.tensors() and layer}


def probes(decl, case, learner_run) -> dict[str, str]:
    """Where each tensor's difference lives: the layer rerun with every parameter but one
    zeroed (and every gate block but one), learner against the textbook reference.
    {tensor: "the difference shows with ...; it is gone with ..."} for the tensors a probe
    tells anything about."""
    cfg = case.model.layers[0]
    names = [p.name for p in cfg.params]
    sets = [(f"only {n.split('.', 1)[1]} non-zero", {n}) for n in names] if len(names) > 1 \
        else []
    runs = []
    reference = frameworks.implementation("scratch", decl)
    for label, keep in sets:
        weights = {n: (w if n in keep else np.zeros_like(w)) for n, w in case.weights.items()}
        runs.append((label, _differs(case, weights, learner_run, reference)))
    k = len(getattr(decl, "gates", ()))
    for j, gate in enumerate(decl.gates if k > 1 else ()):
        weights = {}
        for n, w in case.weights.items():
            blocks = np.split(w, k, axis=-1)
            weights[n] = np.concatenate([b if i == j else np.zeros_like(b)
                                         for i, b in enumerate(blocks)], axis=-1)
        runs.append((f"gate block {gate}", _differs(case, weights, learner_run, reference)))
    runs = [(label, d) for label, d in runs if d is not None]
    out = {}
    for tensor in set().union(*[d for _, d in runs]) if runs else ():
        bad = [label for label, d in runs if tensor in d]
        good = [label for label, d in runs if tensor not in d]
        if not good:
            out[tensor] = "it differs in every probe: " + ", ".join(bad)
            continue
        out[tensor] = f"the difference shows with {', '.join(bad)}; it is gone with " \
                      f"{', '.join(good)}"
    return out


def _differs(case, weights, learner_run, reference) -> set[str] | None:
    """The tensors where the learner and the reference differ on ``weights`` (None: it
    raised)."""
    import dataclasses

    probe = dataclasses.replace(case, weights=weights)
    probe.__dict__.pop("sum_of_terms", None)
    try:
        a, b = learner_run(probe), run_with(probe, reference)
    except (LearnerError, ProtocolError):
        return None
    table = compare(a, b, case.dtype)
    return set(table.loc[~table["ok"], "tensor"])


# --- the whole verification --------------------------------------------------------------------
def verify(obj, layer: str, dtype: str = "float64", seed: int = 1, name: str | None = None,
           references=REFERENCES, timeout: float | None = 60.0, **options) -> pd.DataFrame:
    """A learner's layer (a file path, module, class, instance or (forward, backward) pair)
    against the references; one row per case and tensor (see the module docstring).
    ``references``: the frameworks compared with (``check_references``: ``"keras-jax"`` runs
    Keras on JAX in a worker process of its own); InputError for an unknown one.
    ``timeout``: seconds one run of the learner's layer may take (None: no limit).
    ``attrs["ok"]``: every tensor matches; ``attrs["summary"]``: one line; ``attrs["error"]``:
    an error in the learner's code, with their file and line."""
    from ..runner import check_dtype

    check_dtype(dtype)
    references = check_references(references)
    decl = get_layer(layer)
    target = load_file(obj, name) if isinstance(obj, str) else from_object(obj)
    cases = build_cases(decl, options, dtype, seed)
    native = kind_of(target.cls or target.instance) if target.functions is None else None
    if native:
        cls = None
        unlimited = native_runner(target.cls or target.instance, native, target.source)
    else:
        cls = adapter(target, decl)
        unlimited = lambda case: run_with(case, cls)  # noqa: E731

    def learner_run(case):
        with time_limit(timeout):
            return unlimited(case)

    ran, errors = [], {}
    for i, case in enumerate(cases):
        try:
            ran.append((i, case, learner_run(case)))
        except (LearnerError, ProtocolError) as err:
            errors[i] = _message(err, decl.name)
    if not ran:
        return _failed(decl, target, errors, dtype, references)
    cases = [c for _, c, _ in ran]
    learners = [r for _, _, r in ran]
    refs, tables = [], []
    for case, learner in zip(cases, learners):
        results = {fw: run(case, fw) for fw in references}
        refs.append(results["scratch"] if "scratch" in results else results[references[0]])
        worst = None
        for fw, r in results.items():
            t = compare(learner, r, dtype)
            worst = t if worst is None else worst.assign(
                max_rel=np.maximum(worst["max_rel"].values, t["max_rel"].values),
                ok=worst["ok"].values & t["ok"].values)
        tables.append(worst)
    rows = []
    findings = diagnose(decl, cases, learners, refs, dtype)
    consistency = {} if all(t["ok"].all() for t in tables) or cls is None else \
        self_consistency(cases[0], cls, learners[0], timeout)
    unexplained_probe = None
    ran_index = {i: k for k, (i, _, _) in enumerate(ran)}
    for (i, _, _), case, table in zip(ran, cases, tables):
        layer_name = case.model.layers[0].name
        for r in table.itertuples():
            diagnosis, fix = "", ""
            bad = _not_finite(learners[ran_index[i]], r.tensor)
            if bad:
                diagnosis = f"your {_local(r.tensor, layer_name)} holds {bad}"
                fix = "find the first step that makes it (np.seterr(all='raise') stops there)"
            elif not r.ok:
                hits = [f for f in findings if r.tensor in f.tensors]
                if hits:
                    diagnosis = "; ".join(dict.fromkeys(f.says for f in hits))
                    fix = "; ".join(dict.fromkeys(f.fix for f in hits))
                else:
                    diagnosis = "no known mistake explains this"
                    if unexplained_probe is None:
                        unexplained_probe = probes(decl, cases[0], learner_run)
                    if r.tensor in unexplained_probe:
                        diagnosis += f" ({unexplained_probe[r.tensor]})"
                    c = consistency.get(r.tensor)
                    if c is not None and r.tensor.startswith("grad:"):
                        forward_ok = table[table.tensor.str.startswith("out:")]["ok"].all()
                        if c > 1e-6:
                            diagnosis += ("; your backward disagrees with your own forward "
                                          f"(central differences: {c:.1e})")
                        elif not forward_ok:
                            diagnosis += "; your backward matches your forward, and your " \
                                         "forward is wrong"
                    fix = "compare with `crossframe describe --layer " + decl.name + "`"
            rows.append(dict(case=i + 1, tensor=_local(r.tensor, layer_name), shape=r.shape,
                             max_rel=r.max_rel, tol=r.tol, ok=bool(r.ok),
                             diagnosis=diagnosis or (r.note or ""), fix=fix))
    for i, message in errors.items():
        explained = "; ".join(dict.fromkeys(f.says for f in findings))
        rows.append(dict(case=i + 1, tensor="(error)", shape="", max_rel=np.inf,
                         tol=tolerance(dtype).rel, ok=False,
                         diagnosis=message + (f" — in the other case: {explained}"
                                              if explained else ""), fix=""))
    frame = pd.DataFrame(rows, columns=COLUMNS).sort_values("case", kind="stable")
    frame = frame.reset_index(drop=True)
    ok = bool(frame["ok"].all())
    frame.attrs.update(ok=ok, layer=decl.name, target=target.name, error="",
                       references=list(references),
                       summary=_summary(decl, target, frame, ok, references))
    return frame


def _message(err: Exception, layer: str) -> str:
    """A learner's error in their terms: the runner's 'layer 1 'lstm' (lstm) in f.py::f.py: '
    prefix dropped (there is one layer, and it is theirs), the fix added."""
    text = str(err)
    if isinstance(err, ProtocolError):
        text = re.sub(r"^layer \d+ '[^']*' \([^)]*\) in \S+: ", "", text)
        text += f" — fix: return what `crossframe verify --template {layer}` describes"
    return text


def _not_finite(result: Result, tensor: str) -> str:
    """'3 NaN and 1 Inf of 60 values' when ``tensor`` of ``result`` is not all finite, else ''."""
    a = result.tensors().get(tensor, (None, None))[1]
    if a is None or np.all(np.isfinite(a)):
        return ""
    nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    parts = [f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else ""]
    return f"{' and '.join(p for p in parts if p)} of {a.size} values"


def _failed(decl, target, errors: dict[int, str], dtype: str, references=REFERENCES
            ) -> pd.DataFrame:
    """The table of a learner whose code raised in every case: one (error) row per case."""
    message = next(iter(errors.values()))
    frame = pd.DataFrame([dict(case=i + 1, tensor="(error)", shape="", max_rel=np.inf,
                               tol=tolerance(dtype).rel, ok=False, diagnosis=m, fix="")
                          for i, m in errors.items()], columns=COLUMNS)
    frame.attrs.update(ok=False, layer=decl.name, target=target.name, error=message,
                       references=list(references),
                       summary=f"{target.name} as {decl.title}: {message}")
    return frame


def _summary(decl, target, frame, ok, references=REFERENCES) -> str:
    if ok:
        return (f"{target.name} computes {decl.title}: every output and gradient matches "
                f"{reference_names(references)} in {frame['case'].nunique()} cases "
                f"(worst {frame['max_rel'].max():.1e})")
    bad = frame[~frame["ok"]]
    found = {case: set(rows["tensor"]) for case, rows in bad.groupby("case", sort=True)}
    first_case = min(found)
    first = bad[bad["case"] == first_case]
    by_diagnosis: dict[str, list[str]] = {}
    for r in first.itertuples():
        by_diagnosis.setdefault(r.diagnosis, []).append(r.tensor)
    n = len(found[first_case])
    differ = "1 tensor differs" if n == 1 else f"{n} tensors differ"
    if len(found) > 1:       # the diagnoses below are the first case's; say what the others had
        same = all(tensors == found[first_case] for tensors in found.values())
        every = "both" if len(found) == 2 else f"all {len(found)}"
        differ += (f" (in {every} cases)" if same else
                   f" in case {first_case} (" + ", ".join(
                       f"case {c}: {len(t)}" for c, t in found.items() if c != first_case) + ")")
    return (f"{target.name} as {decl.title}: {differ}: "
            + "; ".join(f"{', '.join(names)}: {d}" for d, names in by_diagnosis.items()))


__all__ = ["verify", "build_cases", "diagnose", "check_references"]
