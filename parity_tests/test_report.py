"""The comparison report (``crossframe report``): what it writes, that it is built from the
registry and the declarations, that two runs agree, and that a failure leaves nothing half-done.

A small report (two specs, one timed repeat, one training epoch) is built twice per session;
``make report`` builds the full one.
"""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from crossframe.describe import describe
from crossframe.errors import InputError
from crossframe.mapping import BlockReorder, Chain, Entry, Identity, Mapping, Row, Transpose
from crossframe import keras_backends
from crossframe.reports import backends, sections, structure
from crossframe.reports import html as report_html
from crossframe.reports.build import build_report, select
from crossframe.spec import PAIRS, ParamSpec, all_specs, differences, get
from crossframe.tolerances import DTYPES, tolerance

# the module fixture builds a report: one worker runs the whole module (make test: --dist
# loadgroup), so the report is built once, not once per worker
pytestmark = pytest.mark.xdist_group(name="report")

MODELS = ["mlp", "dense"]
# timings: the only files allowed to change between runs
VOLATILE = {"speed.csv", "speed.png", "speed_sweep.png", "speed_linear_from.csv"}
CLI = [sys.executable, "-m", "crossframe.cli", "report"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The same small report, built twice: (first folder, second folder, first Report)."""
    root = tmp_path_factory.mktemp("report")
    report = build_report(root / "a", models=MODELS, repeats=1, epochs=1)
    build_report(root / "b", models=MODELS, repeats=1, epochs=1)
    return root / "a", root / "b", report


@pytest.fixture(scope="module")
def out(built):
    return built[0]


@pytest.fixture(scope="module")
def report(built):
    return built[2]


def stable_files(folder, suffixes):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.suffix in suffixes and p.name not in VOLATILE}


def section_titles(report):
    return [s.title for s in report.sections]


def crossframe_report(*args):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=env)


# --- what is written -------------------------------------------------------------------------
def test_writes_html_markdown_and_a_csv_for_every_table(out, report):
    written = {p.name for p in out.iterdir()}
    assert {"index.html", "report.md"} <= written
    assert {t.csv for t in report.tables()} <= written


def test_every_plot_is_a_png_beside_the_markdown_and_embedded_in_the_html(out, report):
    page = (out / "index.html").read_text(encoding="utf-8")
    pngs = {i.path: (out / i.path).read_bytes()[:8] for i in report.images()}
    assert set(pngs.values()) == {b"\x89PNG\r\n\x1a\n"}
    assert page.count('<img src="data:image/png;base64,') == len(pngs)


def test_html_is_self_contained(out):
    page = (out / "index.html").read_text(encoding="utf-8")
    assert report_html.CSP in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_sections_in_reading_order_glance_first(report):
    titles = section_titles(report)
    start = titles.index("Lessons: the mapping, layer by layer") + 1
    lessons = titles[start:titles.index("Where the libraries compute different formulas")]
    assert titles == [
        "Parity at a glance", "How to read this report", "Environment", "Models and layers",
        *MODELS, "Lessons: the mapping, layer by layer", *lessons,
        "Where the libraries compute different formulas", "Keras on JAX and torch", "Training",
        "Speed"]
    # one lesson per layer kind of the two models (mlp: dense, relu; dense: dense), not per model
    assert lessons == ["Dense (dense)", "ReLU (relu)"]


# --- built from the registry and the declarations --------------------------------------------
def test_the_default_report_covers_every_registered_model_and_layer():
    assert [s.name for s in select(None)] == [s.name for s in all_specs()]


def test_selected_models_keep_the_registry_order():
    assert [s.name for s in select(["dense", "mlp"])] == ["mlp", "dense"]


def test_parity_matrix_has_every_model_pair_and_dtype(out):
    matrix = pd.read_csv(out / "parity_matrix.csv")
    expected = {f"{d} {a}~{b}" for d in DTYPES for a, b in PAIRS}
    assert list(matrix["model"]) == MODELS
    assert expected <= set(matrix.columns)


def test_parity_matrix_has_keras_on_jax_and_torch_for_every_model_and_dtype(out):
    matrix = pd.read_csv(out / "parity_matrix.csv").set_index("model")
    backend = [f"{d} {p}" for d in DTYPES
               for p in ("keras~keras-jax", "keras~keras-torch", "torch~keras-jax",
                         "torch~keras-torch")]
    assert set(backend) <= set(matrix.columns)
    # measured, within the tolerance of their dtype, for every model
    assert all(matrix.loc[m, c] <= tolerance(c.split()[0]).rel for m in MODELS for c in backend)
    tensors = pd.read_csv(out / "tensors_dense.csv")
    assert {f"{d} torch~keras-{b}" for d in DTYPES for b in ("jax", "torch")} <= \
        set(tensors.columns)


def test_the_matrix_header_groups_the_pairs_under_their_dtype(out):
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<th colspan="7" class="group">float64</th>' in page
    assert "<th>keras~<wbr>keras-jax</th>" in page


def test_backend_pairs_follow_keras_backend(monkeypatch):
    assert backends.backend_pairs() == [("keras", "keras-jax"), ("keras", "keras-torch"),
                                        ("torch", "keras-jax"), ("torch", "keras-torch")]
    monkeypatch.setenv("KERAS_BACKEND", "jax")   # keras is then Keras on JAX itself
    assert backends.backend_pairs() == [("keras", "keras-tensorflow"), ("keras", "keras-torch"),
                                        ("torch", "keras-tensorflow"), ("torch", "keras-torch")]


def test_a_backend_not_installed_is_left_out_and_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "jax" else real(name, *args))
    assert backends.backend_pairs() == [("keras", "keras-torch"), ("torch", "keras-torch")]
    assert backends.missing_frameworks() == ["keras-jax"]


def test_keras_float64_promotion_is_measured_without_the_fix_and_restored(out, report):
    table = pd.read_csv(out / "keras_float64_promotion_all.csv").set_index(["model", "backend"])
    tol = tolerance("float64").rel
    assert set(table.index) == {(m, b) for m in MODELS for b in ("jax", "torch")}
    assert (table["max_rel_with_fix"] <= tol).all()
    # every Dense is an ops.matmul, which Keras computes in float32 on torch: float32's error
    assert tol < table.loc[("dense", "torch"), "max_rel_without_fix"] <= tolerance("float32").rel
    # the section's table: the models beyond the tolerance without the fix, one row each
    shown = pd.read_csv(out / "keras_float64_promotion.csv").set_index("model")
    beyond = table[table["max_rel_without_fix"] > tol].index.get_level_values("model")
    assert set(shown.index) == set(beyond) and "dense" in shown.index
    assert shown.loc["dense", "max_rel_without_fix_torch"] > tol
    # the worker that measured it has crossframe's one-line fix back
    promoted = keras_backends.call("torch", "keras.src.backend.common.dtypes:result_type",
                                   "float64", "float64")
    assert promoted == "float64"
    (section,) = [s for s in report.sections if s.id == "keras-backends"]
    text = " ".join(b.text for b in section.blocks if hasattr(b, "text"))
    assert backends.FIX in text and "keras-team/keras#23223" in text
    assert "BIT64_TO_BIT32_DTYPE" in text and "_lattice_result_type" in text


def test_a_keras_model_that_stops_without_the_fix_is_said_not_fatal():
    """Keras as shipped runs a float64 SimpleRNN's lax.scan with a float32 carry on JAX, which
    JAX refuses: the section says so (and the worker gets the fix back); torch only loses
    digits."""
    checked = sections.run_checks([get("rnn_layer")], ("float64",), seed=0)
    unfixed = backends.Unfixed([get("rnn_layer")], 0)
    table = unfixed.table(checked, lambda label: None).set_index("backend")
    unfixed.close()
    assert table.loc["jax", "max_rel_without_fix"] == np.inf
    assert table.loc["jax", "worst_tensor_without_fix"].startswith("stops: ")
    assert "float32" in table.loc["jax", "worst_tensor_without_fix"]
    tol = tolerance("float64").rel
    assert tol < table.loc["torch", "max_rel_without_fix"] <= tolerance("float32").rel
    assert (table["max_rel_with_fix"] <= tol).all()
    assert keras_backends.call("jax", "keras.src.backend.common.dtypes:result_type",
                               "float64", "float64") == "float64"


def test_speed_has_keras_on_jax_and_torch_timed_in_their_workers(out):
    speed = pd.read_csv(out / "speed.csv")
    rows = set(speed["framework"])
    assert {"keras", "keras (tf.function)", "keras-jax", "keras-jax (jax.jit)",
            "keras-torch"} <= rows
    assert (speed["median_ms"] > 0).all() and (speed["threads"] >= 1).all()


def test_speed_has_the_limits_and_the_sweep(out):
    speed = pd.read_csv(out / "speed.csv").set_index("framework")
    assert speed.loc["torch", "gflops"] > 0 and 0 < speed.loc["torch", "peak_share"]
    assert speed.loc["scratch-fast", "floor_ms"] > 0
    regimes = pd.read_csv(out / "speed_linear_from.csv")
    assert set(zip(regimes["benchmark"], regimes["framework"])) == {
        ("mlp", "scratch-fast"), ("mlp", "torch")}
    assert (out / "img" / "speed_sweep.png").stat().st_size > 0


def test_tensor_table_has_outputs_loss_every_parameter_and_the_input_gradient(out):
    spec = get("mlp")
    tensors = set(pd.read_csv(out / "tensors_mlp.csv")["tensor"])
    params = {f"grad:{p.name}" for p in spec.param_specs(spec.resolve())}
    assert params <= tensors
    assert {"loss", "grad:x"} <= tensors
    assert {t.split(":")[0] for t in tensors} == {"out", "loss", "grad"}


def test_mapping_table_prints_the_declarations_the_loaders_use(out):
    spec = get("dense")
    info = describe(spec, spec.resolve())
    declared = {r["canonical"].split(".")[-1]: r["transform"]
                for r in info["frameworks"]["torch"]["params"]}
    table = pd.read_csv(out / "lesson_dense_mapping.csv", keep_default_na=False)
    torch_rows = table[(table["library"] == "torch") & table["tensor"].isin(declared)]
    assert dict(zip(torch_rows["tensor"], torch_rows["transform"])) == declared
    keras_rows = table[table["library"] == "keras"]
    assert set(keras_rows["name"]) >= {r["name"] for r in info["frameworks"]["keras"]["params"]}


def test_every_declared_difference_is_listed_and_measured_where_it_can_be(out):
    table = pd.read_csv(out / "differences.csv")
    declared = differences()
    assert list(table["topic"]) == [d.topic for d in declared]
    assert list(table["measured_rel"].notna()) == [d.measure is not None for d in declared]


def test_every_parameter_model_gets_a_heatmap(report):
    names = {i.name for i in report.images()}
    assert {"heatmap_mlp", "heatmap_dense"} <= names


def test_training_curves_for_every_model_not_for_lone_layers(out, report):
    final = pd.read_csv(out / "training_final.csv")
    assert set(final["model"]) == {"mlp"}
    assert "training_mlp" in {i.name for i in report.images()}


def test_loss_reductions_are_measured_for_every_trained_model(out):
    table = pd.read_csv(out / "loss_reductions.csv")
    assert set(table["model"]) == {"mlp"} and len(table) == 4
    mean = table[(table["library"] == "torch") & (table["reduction"] == "mean")]
    assert list(mean["factor"]) == [1.0]
    assert (table["factor"] >= 1).all() and table["factor"].max() > 1


def test_training_is_never_dropped_silently(tmp_path):
    # the training section always trains what ships with a data set and names the rest
    report = build_report(tmp_path / "r", models=["linear", "sequential"], bench=False,
                          train=True, differ=False, epochs=1)
    (training,) = [s for s in report.sections if s.id == "training"]
    texts = [b.text for b in training.blocks if hasattr(b, "text")]
    assert any("Not trained (no data set ships with them): sequential" in t for t in texts)
    assert any(getattr(b, "path", "").endswith("training_linear.png") for b in training.blocks)


def keras_gradient_off_by_one_percent(run_all, param):
    """``run_all`` with Keras' gradient of ``param`` moved by 1% of its scale in one column."""
    def corrupted(case, *args, **kwargs):
        results = run_all(case, *args, **kwargs)
        grad = results["keras"].grads[param].copy()
        grad[:, 0] += 0.01 * np.abs(grad).max()
        results["keras"].grads[param] = grad
        return results
    return corrupted


def test_a_mismatch_is_shown_red_and_fails_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(sections, "run_all",
                        keras_gradient_off_by_one_percent(sections.run_all, "dense1.W"))
    report = build_report(tmp_path / "r", models=["dense"], dtypes=("float32",), bench=False,
                          train=False, differ=False)
    matrix = pd.read_csv(tmp_path / "r" / "parity_matrix.csv").iloc[0]
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert not report.ok
    assert matrix["float32 scratch~keras"] > tolerance("float32").rel
    assert matrix["float32 scratch~torch"] <= tolerance("float32").rel
    assert 'class="verdict fail"' in page and 'class="fail num"' in page


# --- deterministic: identical Markdown, CSV and plots, timings aside -------------------------
def test_markdown_and_csv_are_identical_across_runs(built):
    first, second, _ = built
    assert stable_files(first, {".md", ".csv"}) == stable_files(second, {".md", ".csv"})


def test_plots_are_identical_across_runs(built):
    first, second, _ = built
    assert stable_files(first, {".png"}) == stable_files(second, {".png"})


def test_timings_live_in_their_own_files_and_the_html_not_in_the_markdown(out):
    markdown = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "index.html").read_text(encoding="utf-8")
    timing_column = "ratio_to_torch"
    assert timing_column in pd.read_csv(out / "speed.csv").columns
    assert timing_column in page and timing_column not in markdown
    assert "(speed.csv)" in markdown


# --- how the error of a parameter is drawn (structure read from declarations) ---------------
class FakeSpec:
    """An unregistered spec with one parameter ``w``: what ``structure`` reads of a spec (its
    mappings, summary and notes); torch maps ``w`` through the given transforms."""

    summary = "a fake layer"

    def __init__(self, torch_entry, notes):
        self.torch_entry, self.notes = torch_entry, tuple(notes)

    def mapping(self, framework, opts):
        entry = self.torch_entry if framework == "torch" else Entry("w", "w")
        return Mapping(framework, (entry,))


def fake_spec(doc, shape, transforms=(), notes=()):
    param = ParamSpec("w", shape, "weight", doc=doc)
    torch_entry = Entry("w", "w", Chain(tuple(transforms)) if transforms else Identity())
    return FakeSpec(torch_entry, notes), param


@pytest.mark.parametrize("doc, shape, transforms, notes, blocks", [
    ("kernel (D, 3H)", (5, 12), [Transpose(), BlockReorder(("z", "r", "h"), ("r", "z", "n"), 0)],
     (), ("z", "r", "h")),  # torch rows after the transpose are the canonical columns
    ("bias (2, 3H)", (2, 12), [Row(0), BlockReorder(("z", "r", "h"), ("r", "z", "n"))], (),
     ("z", "r", "h")),  # one row of a stacked bias, then reordered
    ("kernel (D, 3H)", (5, 12), [BlockReorder(("z", "r", "h"), ("r", "z", "n"))], (),
     ("z", "r", "h")),
    ("kernel (D, 4H), gate blocks in the order i, f, g, o", (5, 16), [], (), ("i", "f", "g", "o")),
    ("recurrent kernel (H, 4H)", (4, 16), [], (), ("1", "2", "3", "4")),
    ("bias", (16,), [], ("gates i, f, g, o side by side",), ("i", "f", "g", "o")),
    ("kernel (in, out)", (6, 7), [Transpose()], (), ()),
    ("kernel (D, 4H)", (5, 18), [], (), ()),  # 4 does not divide 18: no blocks
], ids=["transpose-then-reorder", "row-then-reorder", "reorder", "named-in-doc", "sized-in-doc",
        "named-in-notes", "dense", "not-dividing"])
def test_gate_blocks_come_from_the_declarations(doc, shape, transforms, notes, blocks):
    spec, param = fake_spec(doc, shape, transforms, notes)
    assert structure.gate_blocks(spec, {}, param) == blocks


def test_a_conv_kernel_is_drawn_one_column_per_output_channel():
    spec, param = fake_spec("kernel (kh, kw, I, O)", (3, 3, 2, 5))
    view = structure.view(spec, {}, param)
    assert structure.as_2d(np.zeros((3, 3, 2, 5))).shape == (18, 5)
    assert (view.rows, view.cols) == ("kh*kw*I", "O")


# --- bad input and failures ------------------------------------------------------------------
def test_unknown_model_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="unknown model or layer 'nope'"):
        build_report(tmp_path / "r", models=["nope"])
    assert not (tmp_path / "r").exists()


def test_refuses_to_replace_a_folder_that_is_not_a_report(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    (tmp_path / "index.html").write_text("my page")
    (tmp_path / "report.md").write_text("my notes")
    with pytest.raises(InputError, match="holds files crossframe did not write"):
        build_report(tmp_path, models=["relu"], bench=False, train=False, differ=False)
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "keep.txt", "report.md"]


def test_a_users_file_in_a_report_folder_survives_the_next_report(tmp_path):
    out = tmp_path / "site"
    build_report(out, models=["relu"], bench=False, train=False, differ=False)
    (out / "notes.txt").write_text("mine")
    build_report(out, models=["tanh"], bench=False, train=False, differ=False)
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "tensors_relu.csv").exists() and (out / "tensors_tanh.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_force_writes_into_a_users_folder_and_removes_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    build_report(tmp_path, models=["relu"], bench=False, train=False, differ=False, force=True)
    assert (tmp_path / "keep.txt").read_text() == "mine" and (tmp_path / "index.html").exists()


def test_a_failed_write_leaves_the_previous_report_untouched(tmp_path, monkeypatch):
    out = tmp_path / "out"
    build_report(out, models=["relu"], bench=False, train=False, differ=False)
    before = stable_files(out, {".md", ".csv", ".html", ".png"})

    def broken(report):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_html, "render", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build_report(out, models=["tanh"], bench=False, train=False, differ=False)
    assert stable_files(out, {".md", ".csv", ".html", ".png"}) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left behind


@pytest.mark.parametrize("args, message", [
    (["--models", "nope"], "unknown model or layer 'nope'"),
    (["--repeats", "0"], "--repeats 0 must be from 1 to 10000"),
    (["--dtype", "float16"], "unknown dtype 'float16'"),
    (["--models", "relu", "--surprise"], "unknown argument"),
])
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    done = crossframe_report("--out", str(tmp_path / "r"), *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_cli_writes_the_report_with_a_progress_bar(tmp_path):
    done = crossframe_report("--out", str(tmp_path / "r"), "--models", "relu,tanh", "--no-bench",
                             "--no-train", "--no-differences")
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # tqdm's bar, on stderr
    assert (tmp_path / "r" / "index.html").exists()


def test_cli_module_imports_nothing_heavy():
    code = ("import sys, crossframe.reports.cli; print(sorted(m for m in "
            "('numpy', 'pandas', 'matplotlib', 'torch', 'tensorflow', 'keras') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]"
