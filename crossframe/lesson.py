"""A lesson per layer kind: the equations, the textbook scratch code, the torch and Keras code
that builds the layer and loads the canonical weights, the mapping table, the differences and
the parity figures — every part generated from the declarations and the source, so a lesson
cannot drift from the code it teaches.

    from crossframe import lesson
    lesson.kinds()                                 # ["dense", "relu", ..., "lstm", ...]
    info = lesson.lesson("lstm")                   # plain data (JSON-able)
    print(lesson.render(info))                     # what `crossframe describe lstm --lesson` prints
    lesson.lesson("lstm", measure=False, parity=False)   # no torch/TF: the parts read off code

Where each part comes from:

- equations: ``LayerDecl.equations`` (crossframe/layers/<family>.py);
- scratch code: ``inspect.getsource`` of the scratch class whose ``declaration`` is the layer
  (its ``forward``/``backward``, or the one-direction loops ``forward_one``/``backward_one`` of a
  recurrent layer, wherever in the class' bases they are written) and of the formula functions
  they call (``lstm_step_forward``, ``relu_grad``, ...);
- torch and Keras code: the declaration's ``torch_code``/``keras_code``/``torch_forward`` for the
  layer of its lone-layer check (``lstm_layer``), then one line per ``Mapping`` entry that puts
  a canonical tensor through the entry's transform (``transform_code``);
- mapping table: the same ``Mapping`` entries, reasons as numbered notes;
- differences: ``crossframe.difference.differences()`` whose ``layers`` name the kind, each
  measured with its own ``measure`` (``measure=True``);
- parity: ``crossframe.runner.check`` of each lone-layer check of the kind in float64 and
  float32, the worst relative error per framework pair (``parity=True``; imports torch and TF).

Shape legend for the generated code: N batch; the other sizes are the lone-layer check's own.
Nothing here imports torch or TensorFlow at import time.
"""
from __future__ import annotations

import importlib
import inspect
import re
import textwrap

import numpy as np

from .errors import InputError, did_you_mean
from .frameworks import FOLDERS, FRAMEWORKS, PACKAGES
from .mapping import BlockReorder, Chain, Identity, Permute, Row, Scale, Transform, Transpose

DTYPES = ("float64", "float32")
LIBRARIES = ("torch", "keras")
NBSP = "\u00a0"


# --- which kinds have a lesson ---------------------------------------------------------------
def kinds() -> list[str]:
    """Every layer kind a registered model or check uses, in the declarations' family order."""
    from .layers import all_layers
    from .spec import all_specs

    used = {cfg.decl.name for s in all_specs() for cfg in s.sequential(s.resolve()).layers}
    return [d.name for d in all_layers() if d.name in used]


def checks_of(kind: str) -> list:
    """The lone-layer checks (Specs of kind "layer") of one layer kind: ``lstm`` ->
    [lstm_layer]; ``gru`` -> [gru_layer, gru_reset_before_layer]."""
    from .spec import all_specs

    return [s for s in all_specs("layer") if s.layer == kind]


def resolve(name: str) -> str:
    """The layer kind a name means: a kind or its alias (``LSTM``), or a lone-layer check
    (``lstm_layer`` -> ``lstm``). InputError (one line) for a model, naming its layers'
    lessons, and for an unknown name."""
    from .layers import get as get_layer
    from .spec import all_specs

    specs = {s.name: s for s in all_specs()}
    try:
        decl = get_layer(name)
    except InputError:
        decl = None
    if decl is None and name in specs and specs[name].layer:
        decl = get_layer(specs[name].layer)
    if decl is not None and decl.name in kinds():
        return decl.name
    if name in specs:
        used = model_kinds(specs[name])
        raise InputError(f"{name} is a model, not a layer kind; its layers' lessons: "
                         + ", ".join(used),
                         f"e.g. `crossframe describe {used[0]} --lesson`")
    raise InputError(f"no lesson for '{name}'",
                     did_you_mean(name, kinds()) + " (lessons: the layer kinds in `crossframe "
                     "list`)")


def model_kinds(spec, opts: dict | None = None) -> list[str]:
    """The layer kinds (each with a lesson) a model is made of, in order, once each."""
    model = spec.sequential(spec.resolve() if opts is None else opts)
    return list(dict.fromkeys(cfg.decl.name for cfg in model.layers))


# --- the scratch code ------------------------------------------------------------------------
def scratch_class(decl):
    """The class in scratch/ whose ``declaration`` is ``decl`` (a module of the scratch package
    named after the family file ``describe.implementation_path`` gives)."""
    from .describe import implementation_path

    path = implementation_path("scratch", decl)            # scratch/recurrent.py::LSTM
    stem = path.split("::")[0].rsplit("/", 1)[-1][:-3]
    module = importlib.import_module(f"{PACKAGES['scratch']}.{stem}")
    for value in vars(module).values():
        if inspect.isclass(value) and getattr(value, "declaration", None) is decl:
            return value
    raise LookupError(f"no class in {path.split('::')[0]} declares {decl.name}")


def _where(obj) -> str:
    """``scratch/recurrent.py``: the file of ``obj`` under its folder name."""
    return FOLDERS["scratch"] + inspect.getsourcefile(obj).rsplit("/", 1)[-1]


def _source(obj) -> str:
    return textwrap.dedent(inspect.getsource(obj)).rstrip("\n")


def _defining(cls, name: str):
    """The class of ``cls``' MRO that writes method ``name``."""
    return next(k for k in cls.__mro__ if name in vars(k))


def scratch_pieces(decl) -> list[dict]:
    """The textbook code of ``decl``: forward, backward and the formula functions they call,
    each ``{"role", "caption", "code"}`` with caption ``scratch/<file>.py::Class.method``
    (or ``::function``). ``code`` is exactly ``inspect.getsource`` of that object, dedented."""
    from . import activations as A

    cls = scratch_class(decl)
    loop = hasattr(cls, "forward_one")              # a recurrent layer: one direction's loop
    names = ("forward_one", "backward_one") if loop else ("forward", "backward")
    module = inspect.getmodule(cls)
    pieces, bodies = [], []
    for role, name in zip(("forward", "backward"), names):
        owner = _defining(cls, name)
        method = vars(owner)[name]
        bodies.append(_source(method))
        pieces.append({"role": role, "caption": f"{_where(cls)}::{owner.__qualname__}.{name}",
                       "code": bodies[-1]})
    formulas = set(A.names()) | {f"{n}_grad" for n in A.names()} | {f"{n}_vjp"
                                                                     for n in A.names()}
    spec_name = getattr(decl, "spec_name", "")
    if spec_name:                              # an activation read from the table
        math = A.get(spec_name).math
        wanted = [math, f"{math}_grad" if A.get(spec_name).elementwise else f"{math}_vjp"]
    else:
        called = re.findall(r"\b([a-z_][a-z0-9_]*)\(", "\n".join(bodies))
        wanted = [n for n in dict.fromkeys(called)
                  if n.endswith(("_step_forward", "_step_backward")) or n in formulas]
    for name in wanted:
        fn = getattr(module, name, None)
        if inspect.isfunction(fn) and fn.__module__ == module.__name__:
            role = "backward" if name.endswith(("_backward", "_grad", "_vjp")) else "forward"
            pieces.append({"role": f"{role} formula", "caption": f"{_where(cls)}::{name}",
                           "code": _source(fn)})
    order = ("forward", "forward formula", "backward", "backward formula")
    return sorted(pieces, key=lambda p: order.index(p["role"]))


# --- the torch and Keras code ----------------------------------------------------------------
def _flatten_shape(t: Permute, shape_hint) -> tuple[int, ...] | None:
    from .layers.base import flatten_order

    if shape_hint and tuple(t.index) == flatten_order(*shape_hint):
        return tuple(shape_hint)
    return None


def transform_code(t: Transform, expr: str, shape_hint=None) -> str:
    """NumPy code applying ``t`` (canonical -> library) to the array named by ``expr``.

    ``shape_hint``: the (H, W, C) or (L, C) map a Flatten permutation reorders (its rows)."""
    if isinstance(t, Identity):
        return expr
    if isinstance(t, Transpose):
        return f"{expr}.T" if t.axes == (1, 0) else f"{expr}.transpose{tuple(t.axes)}"
    if isinstance(t, Scale):
        return f"{expr} * {t.alpha:g}"
    if isinstance(t, Row):
        return f"{expr}[{t.i}]"
    if isinstance(t, BlockReorder):
        order = tuple(t.src.index(k) for k in t.dst)
        return (f"np.concatenate([np.split({expr}, {len(t.src)}, axis={t.axis})[k] for k in "
                f"{order}], axis={t.axis})")
    if isinstance(t, Permute):
        shape = _flatten_shape(t, shape_hint)
        if shape is not None and t.axis == 0:        # the rows of a Dense after a Flatten
            last = len(shape) - 1
            axes = (last, *range(last), len(shape))
            return (f"{expr}.reshape({', '.join(map(str, shape))}, -1)"
                    f".transpose{axes}.reshape({int(np.prod(shape))}, -1)")
        return f"np.take({expr}, {list(t.index)}, axis={t.axis})"
    if isinstance(t, Chain):
        for step in t.steps:
            expr = transform_code(step, expr if _atomic(expr) else f"({expr})", shape_hint)
        return expr
    raise TypeError(f"no code for the transform {t!r}")


def _atomic(expr: str) -> bool:
    return re.fullmatch(r"[\w.\[\]]+(\.T)?", expr) is not None


def output_code(t: Transform, expr: str, shape_hint=None) -> str:
    """NumPy code bringing a library's output back to the canonical layout (the adjoint of a
    permutation ``t``; outputs are permutations only, crossframe.mapping.Mapping)."""
    if isinstance(t, Identity):
        return expr
    if isinstance(t, Transpose):
        return f"{expr}.transpose{tuple(int(i) for i in np.argsort(t.axes))}"
    if isinstance(t, Permute):
        shape = _flatten_shape(t, shape_hint)
        if shape is not None and t.axis == 1:        # torch's flattened (c, h, w) features
            first = (shape[-1], *shape[:-1])
            axes = (0, *range(2, len(shape) + 1), 1)
            return f"{expr}.reshape(-1, {', '.join(map(str, first))}).transpose{axes}" \
                   f".reshape(len({expr}), -1)"
        return f"np.take({expr}, {[int(i) for i in np.argsort(t.index)]}, axis={t.axis})"
    raise TypeError(f"no output code for the transform {t!r}")


def _local(cfg, name: str) -> str:
    return name[len(cfg.name) + 1:] if name.startswith(cfg.name + ".") else name


def _variable(local: str) -> str:
    return local if local.isidentifier() else f"w[{local!r}]"


def _example(spec):
    opts = spec.resolve()
    model = spec.sequential(opts)
    return opts, model, model.layers[0]


def _weights_comment(model, cfg) -> str:
    params = ", ".join(f"{_local(cfg, p.name)} {tuple(p.shape)}" for p in model.params())
    inputs = ", ".join(f"{k} (N, {', '.join(map(str, s))})" if s else f"{k} (N,)"
                       for k, s in model.inputs.items())
    return f"# given (NumPy, canonical = Keras' layout): {params + '; ' if params else ''}{inputs}"


def torch_code(spec, notes: dict | None = None) -> str:
    """The torch code a user writes for the lone-layer check ``spec``: build the module with
    its options, copy each canonical tensor in through its declared transform, run it, and
    bring the outputs back to the canonical layout. Runs as it is, given the canonical arrays
    (NumPy, float64) named in its first line; ``notes`` (reason -> number) tags each line."""
    opts, model, cfg = _example(spec)
    mapping = model.mapping("torch")
    lines = [_weights_comment(model, cfg), "import numpy as np", "import torch",
             "import torch.nn.functional as F", "from torch import nn",
             *cfg.decl.torch_imports(cfg), "",
             f"{cfg.name} = {cfg.decl.torch_code(cfg)}"]
    lines[-1] = lines[-1].split("  #")[0] + ".double()  # .float() for float32"
    if mapping.params:
        lines.append("with torch.no_grad():  # each canonical tensor through its transform")
        for e in mapping.params:
            value = transform_code(e.transform, _variable(_local(cfg, e.canonical)),
                                   cfg.flow_in.flattened)
            tag = f"  # {e.transform.describe()}" + (f" [{notes[e.reason]}]"
                                                     if notes and e.reason in notes else "")
            lines.append(f"    {e.framework}.copy_(torch.from_numpy({value})){tag}")
    if cfg.decl.mode_dependent:
        lines.append(f"{cfg.name}.train()  # training mode, as the check runs it")
    # the run is a function, so torch's tensors never take the NumPy inputs' names: the Keras
    # code after it (or a second run) still finds x, h0, ... as they were
    head = len(lines)
    plain = [e.canonical for e in mapping.inputs if isinstance(e.transform, Identity)]
    if plain:
        names = ", ".join(plain)
        lines.append(f"{names} = map(torch.from_numpy, ({names},))" if len(plain) > 1
                     else f"{names} = torch.from_numpy({names})")
    for e in mapping.inputs:
        if not isinstance(e.transform, Identity):
            value = transform_code(e.transform, e.canonical)
            lines.append(f"{e.framework} = torch.from_numpy({value}.copy())  # {e.reason}")
    lines += [line.replace("self.", "") for line in cfg.decl.torch_forward(cfg)]
    if cfg.decl.recurrent:
        values = cfg.decl.torch_returns(cfg)
        if not opts.get("return_sequences", True) and not cfg.decl.general(opts):
            values["h_last"] = "x"
        returns = {n: values[n] for n in model.outputs}
    else:
        returns = {name: "x" for name in model.outputs}
    flat = model.output_flow.flattened
    for e in mapping.outputs:
        value = output_code(e.transform, f"{returns[e.canonical]}.detach().numpy()", flat)
        lines.append(f"{e.canonical} = {value}")
    args = ", ".join(e.canonical for e in mapping.inputs)
    outs = ", ".join(e.canonical for e in mapping.outputs)
    body = ["    " + line for line in lines[head:]]
    lines[head:] = [f"def run_torch({args}):", *body, f"    return {outs}",
                    f"{outs} = run_torch({args})"]
    return "\n".join(lines)


def _keras_named(code: str, name: str) -> str:
    """``layers.Dense(7)`` -> ``layers.Dense(7, name='dense1', dtype='float64')``."""
    head, _, tail = code.rpartition(")")
    sep = "" if head.endswith("(") else ", "
    return f"{head}{sep}name={name!r}, dtype='float64'){tail}"


def keras_code(spec, notes: dict | None = None) -> str:
    """The Keras code a user writes for the lone-layer check ``spec``: build the layer, assign
    each canonical tensor to the variable the mapping names (by its path), call it. Runs as
    it is on Keras 3, given the canonical NumPy arrays named in its first line."""
    opts, model, cfg = _example(spec)
    mapping = model.mapping("keras")
    lines = [_weights_comment(model, cfg), "import numpy as np", "import keras",
             "from keras import layers", ""]
    if cfg.decl.recurrent:
        lines += [line for line in cfg.decl.keras_preamble(cfg) if line.strip()]
    if cfg.decl.recurrent and cfg.decl.general(opts):
        raise ValueError(f"{spec.name}: a stacked or bidirectional layer has no one-layer code")
    lines.append(f"{cfg.name} = {_keras_named(cfg.decl.keras_code(cfg), cfg.name)}")
    lines.append(f"{cfg.name}.build((None, {', '.join(map(str, model.input_shape))}))")
    if mapping.params:
        lines.append(f"variables = {{v.path: v for v in {cfg.name}.weights}}")
        for e in mapping.params:
            value = transform_code(e.transform, _variable(_local(cfg, e.canonical)))
            tag = (f"  # [{notes[e.reason]}]" if notes and e.reason in notes else "")
            lines.append(f"variables[{e.framework!r}].assign({value}){tag}")
    call = "x"
    states = [s for s in model.inputs if s != "x"]
    if states:
        call += f", initial_state=[{', '.join(states)}]"
    if cfg.decl.mode_dependent:
        call += ", training=True"
    outs = list(model.outputs)
    target = ", ".join(outs)
    lines.append(f"{target} = {cfg.name}({call})")
    lines.append(f"{target} = {', '.join(f'np.asarray({n})' for n in outs)}")
    return "\n".join(lines)


# --- the mapping table -----------------------------------------------------------------------
def shape_text(shape, nbsp: bool = False) -> str:
    """``(3, 16)``; with ``nbsp`` the spaces are non-breaking, so a table never wraps it."""
    if shape is None:
        return ""
    shape = tuple(shape)
    text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    return text.replace(" ", NBSP) if nbsp else text


def mapping_rows(specs) -> tuple[list[dict], list[str]]:
    """The mapping of a layer kind: one row per (canonical tensor, library tensor) of its
    lone-layer checks (the first check's rows, then only what another check adds, named),
    and the reasons as numbered notes: ``rows[i]["note"]`` is an index into ``notes`` + 1.

    Each row: ``tensor`` (canonical local name: ``W_x``; ``x`` an input), ``shape`` (the
    canonical shape; inputs and outputs with the batch axis N), ``library``, ``name``,
    ``library_shape``, ``transform``, ``note``, ``check`` (the check it comes from)."""
    rows, notes, seen = [], [], set()
    for spec in specs:
        _, model, cfg = _example(spec)
        shapes = {p.name: tuple(p.shape) for p in model.params()}
        io = {k: ("N", *s) for k, s in {**model.inputs, **model.outputs}.items()}
        for lib in LIBRARIES:
            m = model.mapping(lib)
            entries = [(e, shapes[e.canonical]) for e in m.params]
            entries += [(e, io[e.canonical]) for e in (*m.inputs, *m.outputs)
                        if not isinstance(e.transform, Identity)]
            for e, shape in entries:
                is_param = e.canonical in shapes
                local = _local(cfg, e.canonical) if is_param else e.canonical
                name = _local(cfg, e.framework) if lib == "torch" else e.framework
                key = (lib, local, name, e.transform.describe(), e.reason)
                if key in seen:
                    continue
                seen.add(key)
                if e.reason and e.reason not in notes:
                    notes.append(e.reason)
                rows.append({"tensor": local, "shape": list(shape), "library": lib,
                             "name": name, "library_shape": list(e.transform.shape(shape)),
                             "transform": e.transform.describe(),
                             "note": notes.index(e.reason) + 1 if e.reason else None,
                             "check": spec.name})
    return rows, notes


# --- differences and parity ------------------------------------------------------------------
def differences_of(kind: str) -> list:
    """The declared Differences whose ``layers`` name ``kind``."""
    from .difference import differences

    return [d for d in differences() if kind in d.layers]


def parity_rows(specs, dtypes=DTYPES, seed: int = 0) -> list[dict]:
    """Each check in each dtype, run in scratch, torch and Keras (crossframe.runner.check):
    the worst relative error per pair, with the tolerance. Imports torch and TensorFlow."""
    from .runner import check, prepare

    return [row for spec in specs for dtype in dtypes
            for row in worst_per_pair(spec.name, dtype,
                                      check(prepare(spec.name, dtype=dtype, seed=seed)))]


def worst_per_pair(check: str, dtype: str, table) -> list[dict]:
    """One row per framework pair of a ``crossframe.runner.check`` table (in its order): the
    worst relative error over every tensor, the dtype's tolerance, and whether all were ok."""
    from .tolerances import tolerance

    tol = tolerance(dtype).rel
    return [{"check": check, "dtype": dtype, "pair": pair, "max_rel": float(part.max_rel.max()),
             "tolerance": tol, "ok": bool(part.ok.all())}
            for pair, part in table.groupby("pair", sort=False)]


# --- the lesson ------------------------------------------------------------------------------
def lesson(name: str, measure: bool = True, parity: bool = True, seed: int = 0) -> dict:
    """The lesson of layer kind ``name`` (a kind, an alias or a lone-layer check's name), as
    plain data (JSON-able).

    ``measure``: run each difference's ``measure`` (else ``measured`` is None); ``parity``: run
    the lone-layer checks in float64 and float32 (else ``parity`` is None). Both import torch
    and TensorFlow; with both False nothing heavy is imported.
    Raises InputError for a model name (naming its layers' lessons) and an unknown name."""
    from .describe import implementation_path
    from .layers import get as get_layer

    kind = resolve(name)
    decl = get_layer(kind)
    specs = checks_of(kind)
    rows, notes = mapping_rows(specs)
    number = {reason: i + 1 for i, reason in enumerate(notes)}
    first = specs[0]
    opts, model, cfg = _example(first)
    diffs = []
    for d in differences_of(kind):
        value = None
        if measure and d.measure is not None:
            value = float(d.measure())
        diffs.append({"topic": d.topic, "torch": d.torch, "keras": d.keras,
                      "agree_when": d.agree_when, "measured": value})
    return {
        "name": kind, "title": decl.title, "family": decl.family,
        "keras": decl.keras, "torch": decl.torch, "declaration": decl.source,
        "implementations": {fw: implementation_path(fw, decl) for fw in FRAMEWORKS},
        "checks": [s.name for s in specs],
        "example": {"check": first.name, "layer": cfg.name,
                    "input": list(model.input_shape),
                    "options": {k: list(v) if isinstance(v, tuple) else v
                                for k, v in cfg.opts.items()}},
        "equations": decl.equations,
        "scratch": scratch_pieces(decl),
        "code": {"torch": torch_code(first, number), "keras": keras_code(first, number)},
        "mapping": {"rows": rows, "notes": notes,
                    "scratch": "every tensor under its canonical name and layout"},
        "notes": list(decl.notes),
        "differences": diffs,
        "parity": parity_rows(specs, seed=seed) if parity else None,
    }


# --- the terminal ----------------------------------------------------------------------------
def _indent(text: str, pad: str = "    ") -> list[str]:
    return [pad + line if line else "" for line in text.splitlines()]


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False)


def render(info: dict) -> str:
    """The lesson as terminal text (what ``crossframe describe LAYER --lesson`` prints)."""
    out = [f"Lesson: {info['title']} ({info['name']}) — {info['keras']} / {info['torch']}",
           f"declared in {info['declaration']}; example: the check `{info['example']['check']}`"
           f" (input {shape_text(info['example']['input'])} per sample)", "",
           "1. Equations", *_indent(info["equations"]), "",
           "2. From scratch (NumPy, the textbook code)"]
    for piece in info["scratch"]:
        out += [f"  {piece['role']}: {piece['caption']}", *_indent(piece["code"]), ""]
    for n, lib in ((3, "torch"), (4, "keras")):
        out += [f"{n}. {'PyTorch' if lib == 'torch' else 'Keras'}: build, load the canonical "
                "weights, run", *_indent(info["code"][lib]), ""]
    out.append("5. The mapping (canonical -> library; scratch: "
               f"{info['mapping']['scratch']})")
    rows = info["mapping"]["rows"]
    if rows:
        table = [("tensor", "shape", "library", "name", "shape", "transform", "note")]
        table += [(r["tensor"], shape_text(r["shape"]), r["library"], r["name"],
                   shape_text(r["library_shape"]), r["transform"],
                   f"[{r['note']}]" if r["note"] else "") for r in rows]
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        out += ["  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
                for row in table]
        for i, reason in enumerate(info["mapping"]["notes"]):
            out += _wrap(reason, f"  [{i + 1}] ", "      ")
    else:
        out.append("  no parameters, and every tensor in the same layout in all three")
    if info["notes"]:
        out += ["", "Notes"]
        for note in info["notes"]:
            out += _wrap(note, "  - ", "    ")
    out += ["", "6. Where the libraries differ"]
    for d in info["differences"]:
        size = "not measured" if d["measured"] is None else f"{d['measured']:.2e}"
        out.append(f"  - {d['topic']} (measured relative difference: {size})")
        for label in ("torch", "keras", "agree_when"):
            head = "they agree when" if label == "agree_when" else label
            out += _wrap(d[label], f"      {head}: ", "        ")
    if not info["differences"]:
        out.append("  (none declared for this layer kind)")
    out += ["", "7. Parity: worst relative error, each framework pair and dtype"]
    if info["parity"] is None:
        out.append(f"  not run: `crossframe check {info['example']['check']}` runs it")
    else:
        for r in info["parity"]:
            out.append(f"  {r['check']:<24} {r['dtype']:<8} {r['pair']:<16} "
                       f"{r['max_rel']:.1e}  (tolerance {r['tolerance']:g}) "
                       + ("ok" if r["ok"] else "MISMATCH"))
    return "\n".join(out)


__all__ = ["checks_of", "keras_code", "kinds", "lesson", "mapping_rows", "model_kinds",
           "output_code", "parity_rows", "render", "resolve", "scratch_pieces", "torch_code",
           "transform_code"]
