"""The report's lessons: one per layer kind of the checked models (crossframe.lesson), in place
of a mapping table per preset.

    sections(checked, measured=None, tick=None) -> [Section "lessons" (level 2),
                                                    Section "lesson-<kind>" (level 3), ...]

The top section has the index of lessons and one line per model made of several layers: the
lessons it uses and what its mapping adds to theirs (a Flatten's row order, a stacked state).
Each lesson: the equations, the scratch forward and backward (the live source), the torch and
Keras code that loads the canonical weights, the mapping table with its reasons as numbered
notes, the differences that concern the kind (measured sizes from ``measured``, topic ->
relative difference, or a pointer to the differences section), and the parity figures of its
lone-layer checks, read from ``checked`` (``reports.sections.Checked``).
"""
from __future__ import annotations

from typing import Callable

import pandas as pd

from crossframe import lesson as L

from .document import Bullets, Code, Section, Table, Text, slug
from .sections import grade, mark

Ticker = Callable[[str], None]


def lesson_kinds(checked) -> list[str]:
    """The layer kinds the checked specs use, in crossframe.lesson.kinds()' order; ``checked``
    holds ``Checked`` objects or Specs (at their default options)."""
    used = {k for c in checked
            for k in L.model_kinds(getattr(c, "spec", c), getattr(c, "opts", None))}
    return [k for k in L.kinds() if k in used]


def steps(checked) -> int:
    """Progress steps of ``sections``: one per lesson (``checked``: Checked objects or the
    Specs about to be checked, so the total is known before the first step)."""
    return len(lesson_kinds(checked))


def _link(kind: str) -> str:
    return f"[{kind}](#lesson-{slug(kind)})"


# --- what a model's mapping adds to its layers' lessons --------------------------------------
def model_facts(spec, opts) -> list[str]:
    """The entries of a model's torch and Keras mappings that no lesson of its layer kinds
    shows: a transform its kind's lesson does not have (a Dense's rows permuted after a
    Flatten), an input or output laid out differently (a stacked initial state)."""
    model = spec.sequential(opts)
    kinds = L.model_kinds(spec, opts)
    params, io = set(), set()
    for kind in kinds:
        rows, _ = L.mapping_rows(L.checks_of(kind))
        for r in rows:
            if r["tensor"] in ("x", "output") or r["shape"][:1] == ["N"]:
                io.add((r["library"], r["tensor"], r["transform"]))
            else:
                params.add((kind, r["library"], r["transform"]))
    facts = []
    for lib in L.LIBRARIES:
        m = model.mapping(lib)
        for e in m.params:
            cfg = model.layer_of(e.canonical)
            if (cfg.decl.name, lib, e.transform.describe()) not in params:
                facts.append(f"{lib}: {e.canonical} -> {e.framework}, {e.transform.describe()}")
        for e in (*m.inputs, *m.outputs):
            t = e.transform.describe()
            name = "output" if e in m.outputs else e.canonical
            if t != "identity" and (lib, name, t) not in io:
                facts.append(f"{lib}: {e.canonical}, {t} ({e.reason})")
    return list(dict.fromkeys(facts))


def models_table(checked) -> Table | None:
    """One row per checked model made of several layers: its lessons and its own facts."""
    rows = []
    for c in checked:
        if c.spec.layer:                      # a lone-layer check: its lesson is the kind's
            continue
        facts = model_facts(c.spec, c.opts)
        rows.append({"model": c.spec.name,
                     "lessons": ", ".join(L.model_kinds(c.spec, c.opts)),
                     "beyond the lessons": "; ".join(facts) or "nothing: each tensor as in "
                                                               "its layer's lesson"})
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    return Table("lessons_models", frame, frame,
                 caption="models made of several layers: the lessons of their layers (linked "
                         "above), and what their own mapping adds")


# --- one lesson ------------------------------------------------------------------------------
def _mapping_table(kind: str, info: dict) -> list:
    rows = info["mapping"]["rows"]
    if not rows:
        return [Text("No parameters, and every tensor in the same layout in scratch, torch and "
                     "Keras.")]
    data = pd.DataFrame(rows)
    shown = pd.DataFrame([{
        "tensor": r["tensor"], "shape": L.shape_text(r["shape"], nbsp=True),
        "library": r["library"], "library name": r["name"],
        "library shape": L.shape_text(r["library_shape"], nbsp=True),
        "transform": r["transform"], "why": f"[{r['note']}]" if r["note"] else ""}
        for r in rows])
    data = data.assign(shape=[L.shape_text(s) for s in data["shape"]],
                       library_shape=[L.shape_text(s) for s in data["library_shape"]])
    notes = [f"[{i + 1}] {reason}" for i, reason in enumerate(info["mapping"]["notes"])]
    return [Table(f"lesson_{slug(kind)}_mapping", data, shown,
                  caption=f"{kind}: canonical -> torch and Keras (scratch: "
                          f"{info['mapping']['scratch']})"),
            Bullets(notes)]


def _differences(kind: str, info: dict, measured: dict | None) -> list:
    diffs = info["differences"]
    if not diffs:
        return [Text("No declared difference concerns this layer kind.")]
    data = pd.DataFrame([{"topic": d["topic"], "agree_when": d["agree_when"],
                          "measured_rel": (measured or {}).get(d["topic"])} for d in diffs])
    shown = data.copy()
    shown["measured_rel"] = [
        "see the differences section" if measured is None
        else (f"{v:.2e}" if isinstance(v, float) else "not measured")
        for v in data["measured_rel"]]
    shown = shown.rename(columns={"agree_when": "they agree when",
                                  "measured_rel": "measured difference"})
    return [Table(f"lesson_{slug(kind)}_differences", data, shown,
                  caption=f"{kind}: where torch and Keras compute different formulas (what "
                          "each side does, and the sizes measured in this run: [the differences "
                          "section](#differences))")]


def _parity(kind: str, checked) -> list:
    names = {s.name for s in L.checks_of(kind)}
    rows = []
    for c in checked:
        if c.spec.name not in names:
            continue
        for dtype, t in c.tables.items():
            rows += L.worst_per_pair(c.spec.name, dtype, t)
    if not rows:
        return [Text(f"Its lone-layer check ({', '.join(sorted(names))}) is not in this "
                     "report's checks: `crossframe check "
                     f"{sorted(names)[0]}` runs it.")]
    data = pd.DataFrame(rows).drop(columns="ok")
    shown = data.assign(max_rel=[mark(v, t) for v, t in zip(data.max_rel, data.tolerance)],
                        tolerance=[f"{t:g}" for t in data.tolerance])
    css = shown.map(lambda _: "")
    css["max_rel"] = [grade(v, t) for v, t in zip(data.max_rel, data.tolerance)]
    return [Table(f"lesson_{slug(kind)}_parity", data, shown, css,
                  caption=f"{kind}: worst relative error over every tensor of the check, per "
                          "framework pair and dtype")]


def lesson_section(kind: str, checked, measured: dict | None, shown_notes: dict) -> Section:
    """The level-3 section of one lesson. ``shown_notes`` (note -> kind that showed it first)
    turns a note already shown by an earlier lesson into a link there."""
    info = L.lesson(kind, measure=False, parity=False)
    ex = info["example"]
    options = ", ".join(f"{k}={v}" for k, v in ex["options"].items())
    blocks: list = [
        Text(f"`{info['keras']}` / `{info['torch']}`; declared in `{info['declaration']}`, "
             f"scratch in `{info['implementations']['scratch']}`. The code below is the "
             f"layer of the check `{ex['check']}`: input {L.shape_text(ex['input'])} per "
             f"sample" + (f", {options}" if options else "") + "."),
        Code(info["equations"], "text", caption=f"equations ({info['declaration']})"),
    ]
    blocks += [Code(p["code"], caption=f"scratch {p['role']}: {p['caption']}")
               for p in info["scratch"]]
    blocks += [Code(info["code"]["torch"], caption="PyTorch: build, load the canonical "
                    "weights through the declared transforms, run (generated from the mapping)"),
               Code(info["code"]["keras"], caption="Keras: build, assign each variable by its "
                    "path, run (generated from the mapping)")]
    blocks += _mapping_table(kind, info)
    new, seen = [], []
    for note in info["notes"]:
        if note in shown_notes:
            seen.append(shown_notes[note])
        else:
            shown_notes[note] = kind
            new.append(note)
    if new:
        blocks.append(Bullets(new))
    if seen:
        blocks.append(Text("Also: the notes of " + ", ".join(_link(k) for k in
                                                               dict.fromkeys(seen)) + "."))
    blocks += _differences(kind, info, measured)
    blocks += _parity(kind, checked)
    return Section(f"{info['title']} ({kind})", f"lesson-{slug(kind)}", blocks, level=3)


def sections(checked, measured: dict | None = None, tick: Ticker | None = None) -> list[Section]:
    """The "Lessons" section and one subsection per layer kind of the checked specs.

    ``checked``: ``reports.sections.Checked`` objects (their ``tables[dtype]`` give the parity
    figures); ``measured``: topic -> measured relative difference (the differences section's),
    or None (the lessons then point to that section)."""
    kinds = lesson_kinds(checked)
    intro = [
        Text("One lesson per layer kind: its equations; the textbook scratch code (NumPy, "
             "forward and backward, pulled from the source); the torch and Keras code that "
             "builds the layer and loads the same canonical weights, each tensor through its "
             "declared transform; the mapping table, its reasons as numbered notes; the "
             "differences between the libraries that concern it, with their measured sizes; "
             "and the parity figures of its lone-layer check. Everything is generated from the "
             "declarations and the source (`crossframe.lesson`), so it cannot drift from the "
             "code; `crossframe describe LAYER --lesson` prints the same in a terminal."),
        Text("Lessons: " + ", ".join(_link(k) for k in kinds) + "."),
    ]
    table = models_table(checked)
    if table is not None:
        intro.append(table)
    out = [Section("Lessons: the mapping, layer by layer", "lessons", intro)]
    shown_notes: dict = {}
    for kind in kinds:
        if tick is not None:
            tick(f"lesson {kind}")
        out.append(lesson_section(kind, checked, measured, shown_notes))
    return out


__all__ = ["lesson_kinds", "lesson_section", "model_facts", "models_table", "sections", "steps"]
