"""``crossframe describe``: the canonical layout and each framework's mapping, printed from the
same ``Mapping`` declarations the loaders apply (so it cannot drift from the code)."""
from __future__ import annotations

from .spec import FRAMEWORKS, Spec


def _rows(entries, shapes):
    return [{"canonical": e.canonical, "name": e.framework,
             "shape": list(e.transform.shape(shapes[e.canonical])) if e.canonical in shapes
             else None,
             "transform": e.transform.describe(), "reason": e.reason} for e in entries]


def describe(spec: Spec, opts: dict, batch_size: int = 2) -> dict:
    params = spec.param_specs(opts)
    shapes = {p.name: tuple(p.shape) for p in params}
    batch = spec.batch(opts, "float64", 0, batch_size)
    io_shapes = {k: v.shape for k, v in batch.inputs.items()}
    io_shapes.update({k: v.shape for k, v in batch.upstream.items()})
    frameworks = {}
    for fw in FRAMEWORKS:
        m = spec.mapping(fw, opts)
        frameworks[fw] = {
            "params": _rows(m.params, shapes),
            "inputs": _rows(m.inputs, io_shapes),
            "outputs": _rows(m.outputs, io_shapes),
            "formula": m.formula,
            "builder": spec.builders[fw],
        }
    return {
        "name": spec.name, "kind": spec.kind, "family": spec.family, "summary": spec.summary,
        "loss": spec.loss, "dataset": spec.dataset,
        "options": {o.name: {"value": opts.get(o.name, o.default), "help": o.help}
                    for o in spec.options},
        "inputs": {k: list(v.shape[1:]) for k, v in batch.inputs.items()},
        "params": [{"name": p.name, "shape": list(p.shape), "role": p.role, "doc": p.doc}
                   for p in params],
        "frameworks": frameworks,
        "notes": list(spec.notes),
    }


def render(info: dict) -> str:
    out = [f"{info['name']} ({info['kind']}, {info['family']}): {info['summary']}",
           f"loss: {info['loss']}" + (f"   data: {info['dataset']}" if info['dataset'] else "")]
    if info["options"]:
        out.append("options: " + "  ".join(f"--{k} {v['value']}"
                                           for k, v in info["options"].items()))
    out.append("inputs (per sample): " + ", ".join(f"{k} {tuple(v)}"
                                                   for k, v in info["inputs"].items()))
    out.append("")
    out.append("canonical parameters:")
    for p in info["params"]:
        out.append(f"  {p['name']:<16} {str(tuple(p['shape'])):<14} {p['role']:<7} {p['doc']}")
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
    if info["notes"]:
        out.append("")
        out.append("notes:")
        out.extend(f"  - {n}" for n in info["notes"])
    return "\n".join(out)
