"""The lessons (crossframe.lesson, reports/lessons.py, `describe LAYER --lesson`): their code is
the live source, their generated torch and Keras code runs and computes what scratch computes,
every layer kind in use has one, and the report section renders."""
from __future__ import annotations

import importlib
import inspect
import json
import textwrap

import numpy as np
import pytest

from crossframe import lesson
from crossframe.difference import differences
from crossframe.layers import all_layers
from crossframe.layers import get as get_layer
from crossframe.spec import all_specs
from crossframe.tolerances import rel_error, tolerance

KINDS = lesson.kinds()


def test_every_layer_kind_in_use_has_a_lesson():
    used = {cfg.decl.name for s in all_specs() for cfg in s.sequential(s.resolve()).layers}
    assert set(KINDS) == used
    for kind in KINDS:
        assert lesson.checks_of(kind), f"{kind}: no lone-layer check to take the example from"


def test_differences_name_declared_layer_kinds():
    names = {d.name for d in all_layers()}
    tagged = [d for d in differences() if d.layers]
    assert len(tagged) >= 20
    for d in tagged:
        assert set(d.layers) <= names, d.topic
    assert {d.topic for d in lesson.differences_of("gru")} >= {"GRU gate order", "GRU reset gate",
                                                               "recurrent biases"}


@pytest.mark.parametrize("kind", KINDS)
def test_scratch_code_is_the_live_source(kind):
    info = lesson.lesson(kind, measure=False, parity=False)
    json.dumps(info)                                          # plain data
    assert info["equations"] == get_layer(kind).equations
    roles = [p["role"] for p in info["scratch"]]
    assert "forward" in roles and "backward" in roles
    for piece in info["scratch"]:
        path, qualname = piece["caption"].split("::")
        assert path.startswith("scratch/")
        module = importlib.import_module("crossframe.scratch." + path[len("scratch/"):-3])
        obj = module
        for part in qualname.split("."):
            obj = getattr(obj, part)
        assert piece["code"] == textwrap.dedent(inspect.getsource(obj)).rstrip("\n"), \
            piece["caption"]


def _run(code: str, names: dict) -> dict:
    scope = {k: v.copy() for k, v in names.items()}
    exec(compile(code, "<lesson>", "exec"), scope)
    return scope


# Keras' own leaky_relu and gelu keep float32 constants in float64 (a declared difference):
# the lesson's Keras code uses Keras' own op, so it is as exact as float32 there.
FLOAT32_CONSTANTS = "Keras' leaky_relu and gelu in float64"


@pytest.mark.parametrize("library", ["torch", "keras"])
@pytest.mark.parametrize("kind", KINDS)
def test_generated_code_reproduces_scratch(kind, library):
    """The lesson's torch / Keras code, run on the check's random weights (distinct non-zero
    biases) and batch in float64, gives scratch's forward outputs."""
    from crossframe.keras_impl import backend  # noqa: F401  (TF set up as crossframe runs it)
    from crossframe.runner import prepare, run

    spec = lesson.checks_of(kind)[0]
    case = prepare(spec.name, "float64", seed=3)
    prefix = case.model.layers[0].name + "."
    names = {k[len(prefix):]: v for k, v in case.weights.items()}
    names.update(case.batch.inputs)
    code = (lesson.torch_code if library == "torch" else lesson.keras_code)(spec)
    scope = _run(code, names)
    expected = run(case, "scratch", backward=False).outputs
    if kind == "dropout":   # each library draws its own mask: only the kept values compare
        got = np.asarray(scope["output"])
        kept = got != 0
        assert got.shape == expected["output"].shape and kept.any() and (~kept).any()
        x = case.batch.inputs["x"]
        scale = 1 / (1 - case.model.layers[0].opts["rate"])
        assert rel_error(got[kept], x[kept] * scale) <= tolerance("float64").rel
        return
    tol = tolerance("float64").rel
    if library == "keras" and any(d.topic == FLOAT32_CONSTANTS
                                  for d in lesson.differences_of(kind)):
        tol = tolerance("float32").rel
    for name, want in expected.items():
        got = np.asarray(scope[name])
        assert got.shape == want.shape, name
        assert rel_error(got, want) <= tol, f"{kind} {library} {name}"


def test_lstm_code_loads_through_the_declared_transforms():
    text = lesson.torch_code(lesson.checks_of("lstm")[0])
    assert "lstm.weight_ih_l0.copy_(torch.from_numpy(W_x.T))" in text
    assert "lstm.bias_hh_l0.copy_(torch.from_numpy(b * 0.5))" in text
    gru = lesson.torch_code(lesson.checks_of("gru")[0])
    assert "np.split(W_x, 3, axis=-1)[k] for k in (1, 0, 2)" in gru   # z, r, h -> r, z, n


def test_describe_lesson_in_the_terminal(capsys):
    from crossframe.cli import main

    assert main(["describe", "lstm", "--lesson"]) == 0
    out = capsys.readouterr().out
    assert "Gate order i, f, g (Keras calls it c), o in both libraries" in out
    assert "scratch/recurrent.py::lstm_step_forward" in out
    assert "MISMATCH" not in out and "not measured" not in out
    rows = [line for line in out.splitlines() if line.strip().startswith("lstm_layer")]
    assert len(rows) == 6 and all(line.endswith(" ok") for line in rows)


@pytest.mark.parametrize("argv, says", [
    (["describe", "mlp", "--lesson"], "mlp is a model, not a layer kind; its layers' lessons: "
                                      "dense, relu"),
    (["describe", "nosuch", "--lesson"], "no lesson for 'nosuch'"),
    (["describe", "lstm", "--lesson", "--units", "3"], "takes no options"),
])
def test_bad_names_exit_2_in_one_line(capsys, argv, says):
    from crossframe.cli import main

    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and says in captured.err


def test_report_section_renders():
    from crossframe.reports import html
    from crossframe.reports.lessons import sections
    from crossframe.reports.sections import Checked
    from crossframe.runner import check, prepare
    from crossframe.spec import get

    checked = []
    for name in ("lstm_layer", "flatten_dense"):
        spec = get(name)
        checked.append(Checked(spec, spec.resolve(),
                               {"float64": check(prepare(name, "float64"))}, {}))
    measured = {"recurrent biases": 0.383}
    ticks = []
    out = sections(checked, measured, ticks.append)
    ids = [s.id for s in out]
    assert len(ids) == len(set(ids))
    assert ids == ["lessons", "lesson-dense", "lesson-flatten", "lesson-lstm"]
    assert ticks == ["lesson dense", "lesson flatten", "lesson lstm"]
    assert out[0].level == 2 and all(s.level == 3 for s in out[1:])
    for section in out:
        for block in section.blocks:
            assert html.block(block)
    tables = {b.name: b for s in out for b in s.blocks if hasattr(b, "name")}
    table = checked[0].tables["float64"]
    parity = tables["lesson_lstm_parity"].data
    for pair in set(table.pair):
        assert parity[parity.pair == pair].max_rel.item() == table[table.pair == pair].max_rel.max()
    diffs = tables["lesson_lstm_differences"].shown
    assert "3.83e-01" in set(diffs["measured difference"])
    models = tables["lessons_models"].data
    assert "rows (H,W,C)" in models.set_index("model").loc["flatten_dense", "beyond the lessons"]
    shapes = tables["lesson_lstm_mapping"].shown["shape"]
    assert all(" " not in s for s in shapes)                # never wrapped mid-tuple
