"""``crossframe describe``: the canonical layout and each framework's mapping, printed from the
same declarations the loaders apply (so it cannot drift from the code), plus the layers, where
each is declared and implemented, and the equivalent torch and Keras code.

Nothing here allocates a weight or a batch: shapes come from the Sequential's shape inference,
so ``describe mlp --units 100000000`` prints shapes instantly.
"""
from __future__ import annotations

from .frameworks import FOLDERS, FRAMEWORKS, PACKAGES
from .keras_backends import NOTES as KERAS_NOTES
from .spec import Spec


def _rows(entries, shapes):
    return [{"canonical": e.canonical, "name": e.framework,
             "shape": list(e.transform.shape(shapes[e.canonical])) if e.canonical in shapes
             else None,
             "transform": e.transform.describe(), "reason": e.reason} for e in entries]


def _declaring_file(framework: str, decl) -> str | None:
    """The module of ``framework``'s package whose class says ``declaration = L.<Title>``,
    found by reading the sources (nothing imported: no torch, no TensorFlow)."""
    import importlib.util
    import pathlib

    spec = importlib.util.find_spec(PACKAGES[framework])
    if spec is None or spec.origin is None:
        return None
    folder = pathlib.Path(spec.origin).parent
    mark = f"declaration = L.{decl.title}\n"
    for path in sorted(folder.glob("*.py")):
        if mark in path.read_text(encoding="utf-8"):
            return f"{FOLDERS[framework]}{path.name}::{type(decl).__name__}"
    return None


def implementation_path(framework: str, decl) -> str:
    """Where ``decl`` is implemented in ``framework``: ``torch_impl/recurrent.py::LSTM``
    (the family file where nothing declares it yet: where to add it)."""
    return _declaring_file(framework, decl) or \
        f"{FOLDERS[framework]}{decl.family}.py::{type(decl).__name__}"


def fast_path(decl) -> str | None:
    return _declaring_file("scratch-fast", decl)


def describe(spec: Spec, opts: dict, batch_size: int | None = None) -> dict:
    model = spec.sequential(opts)
    batch_size = spec.default_batch_size if batch_size is None else batch_size
    params = model.params()
    shapes = {p.name: tuple(p.shape) for p in params}
    io_shapes = {k: (batch_size, *s) for k, s in {**model.inputs, **model.outputs}.items()}
    frameworks = {}
    for fw in FRAMEWORKS:
        m = model.mapping(fw)
        frameworks[fw] = {
            "params": _rows(m.params, shapes),
            "inputs": _rows(m.inputs, io_shapes),
            "outputs": _rows(m.outputs, io_shapes),
            "formula": m.formula,
            "implementations": sorted({implementation_path(fw, cfg.decl) for cfg in model.layers}),
        }
    layers = []
    for row, cfg in zip(model.summary(), model.layers):
        row = dict(row, options={k: _plain(v) for k, v in row["options"].items()})
        row["implementations"] = {fw: implementation_path(fw, cfg.decl) for fw in FRAMEWORKS}
        row["fast"] = fast_path(cfg.decl)
        layers.append(row)
    notes = list(spec.notes)
    for decl in dict.fromkeys(cfg.decl for cfg in model.layers):
        notes.extend(n for n in decl.notes if n not in notes)
    return {
        "name": spec.name, "kind": spec.kind, "family": spec.family,
        "summary": f"your model: {model.text()}" if spec.name == "sequential" else spec.summary,
        "loss": model.loss.text(), "dataset": spec.dataset,
        "options": {o.name: {"value": _plain(opts.get(o.name, o.default)), "help": o.help,
                             "aliases": list(o.aliases)}
                    for o in spec.options},
        "layers": layers,
        "inputs": {k: list(v) for k, v in model.inputs.items()},
        "outputs": {k: list(v) for k, v in model.outputs.items()},
        "params": [{"name": p.name, "shape": list(p.shape), "role": p.role, "doc": p.doc}
                   for p in params],
        "frameworks": frameworks,
        "code": {"torch": model.torch_code(), "keras": model.keras_code()},
        "notes": model.notes + notes,
        "keras_backends": list(KERAS_NOTES),
    }


def _plain(v):
    return list(v) if isinstance(v, tuple) else v


def describe_layer(decl) -> dict:
    """One declaration: options, equations, notes, and where it is declared and implemented."""
    return {
        "name": decl.name, "title": decl.title, "family": decl.family,
        "aliases": list(decl.aliases), "keras": decl.keras, "torch": decl.torch,
        "declaration": decl.source,
        "implementations": {fw: implementation_path(fw, decl) for fw in FRAMEWORKS},
        "fast": fast_path(decl),
        "options": {o.name: {"default": _plain(o.default), "help": o.help,
                             "type": getattr(o.parse, "__name__", ""),
                             "choices": list(o.choices) if o.choices else None}
                    for o in decl.options},
        "equations": decl.equations, "notes": list(decl.notes),
        "recurrent": decl.recurrent, "mode_dependent": decl.mode_dependent,
        "keras_backends": list(KERAS_NOTES),
    }


def render(info: dict) -> str:
    out = [f"{info['name']} ({info['kind']}, {info['family']}): {info['summary']}",
           f"loss: {info['loss']}" + (f"   data: {info['dataset']}" if info['dataset'] else "")]
    if info["loss"] != "upstream":
        out.append("  reduction: torch's 'mean' is Keras' 'sum_over_batch_size'; a 'sum' puts a "
                   "factor on every gradient (torch: the loss elements; Keras: the per-sample "
                   f"losses) — `crossframe describe {info['name']} --reductions` measures it")
    if info["options"]:
        out.append("options: " + "  ".join(f"--{k.replace('_', '-')} {option_text(v['value'])}"
                                           for k, v in info["options"].items()
                                           if v["value"] is not None))
    out.append("inputs (per sample): " + ", ".join(f"{k} {tuple(v)}"
                                                   for k, v in info["inputs"].items()))
    out.append("")
    out.append("layers (declaration -> scratch | torch | keras):")
    for row in info["layers"]:
        opts = ", ".join(f"{k}={option_text(v)}" for k, v in row["options"].items())
        out.append(f"  {row['layer']:<10} {row['kind']}({opts})  {row['input']} -> "
                   f"{row['output']}")
        impl = row["implementations"]
        fast = f" (fast: {row['fast']})" if row["fast"] else ""
        out.append(f"  {'':<10} {row['declaration']} -> {impl['scratch']}{fast} | "
                   f"{impl['torch']} | {impl['keras']}")
    out.append("")
    out.append("canonical parameters:")
    for p in info["params"]:
        out.append(f"  {p['name']:<16} {str(tuple(p['shape'])):<14} {p['role']:<9} {p['doc']}")
    if not info["params"]:
        out.append("  (none)")
    for fw, m in info["frameworks"].items():
        out.append("")
        out.append(f"{fw}:")
        if m["formula"]:
            out.append(f"  computes: {m['formula']}")
        for section in ("params", "inputs", "outputs"):
            for r in m[section]:
                shape = str(tuple(r["shape"])) if r["shape"] is not None else ""
                label = "" if section == "params" else f"[{section[:-1]}] "
                out.append(f"  {label}{r['canonical']:<16} -> {r['name']:<24} {shape:<14} "
                           f"{r['transform']}" + (f"  ({r['reason']})" if r["reason"] else ""))
    for fw in ("torch", "keras"):
        out.append("")
        out.append(f"the same model in {fw}:")
        out.extend("  " + line for line in info["code"][fw].splitlines())
    if info["notes"]:
        out.append("")
        out.append("notes:")
        out.extend(f"  - {n}" for n in info["notes"])
    out.extend(_backends(info))
    return "\n".join(out)


def _backends(info: dict) -> list[str]:
    return ["", "Keras on JAX and torch:", *(f"  - {n}" for n in info["keras_backends"])]


def render_layer(info: dict) -> str:
    out = [f"{info['name']} ({info['title']}, {info['family']} family): {info['keras']} / "
           f"{info['torch']}",
           f"declared in {info['declaration']}",
           "implemented in " + " | ".join(info["implementations"].values())
           + (f" (fast: {info['fast']})" if info["fast"] else "")]
    if info["aliases"]:
        out.append("also written: " + ", ".join(info["aliases"]))
    out.append("")
    out.append("options (Keras' names):")
    for name, o in info["options"].items():
        choices = f" one of {', '.join(map(str, o['choices']))}" if o["choices"] else ""
        out.append(f"  {name:<17} default {option_text(o['default']):<8} {o['help']}{choices}")
    if not info["options"]:
        out.append("  (none)")
    out.append("")
    out.append("equations:")
    out.extend("  " + line for line in info["equations"].splitlines())
    if info["notes"]:
        out.append("")
        out.append("notes:")
        out.extend(f"  - {n}" for n in info["notes"])
    out.extend(_backends(info))
    return "\n".join(out)


def option_text(v) -> str:
    """An option value as the command line takes it: true/false, 3x3, tanh."""
    if isinstance(v, (list, tuple)):
        return "x".join(map(str, v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


__all__ = ["describe", "describe_layer", "render", "render_layer"]
