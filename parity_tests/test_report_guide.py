"""The report's reader's guide (``reports.guide``) and its heatmaps (``reports.plots``): the worked
example is a real tensor's numbers, the guide names exactly the comparisons measured against a
sum of |terms|, both dtypes are drawn, and small tensors are drawn at a readable size.

The checks run here are the report's own (prepare / run / check on the three frameworks, both
dtypes) for one lone linear layer (``dense``: every tensor against its sum of |terms|) and one
lone recurrent layer (``lstm_layer``: only the loss sum(G * y)); Keras on its other backends is
left to test_report.py.
"""
import io

import numpy as np
import pytest
from matplotlib.image import imread

from crossframe.reports import guide, markdown, plots, sections, structure
from crossframe.reports.sections import Checked
from crossframe.runner import check, prepare, run_all
from crossframe.spec import FRAMEWORKS, PAIRS, get
from crossframe.tolerances import DTYPES, tolerance

# the module fixture builds a report: one worker runs the whole module (make test: --dist
# loadgroup), so the report is built once, not once per worker
pytestmark = pytest.mark.xdist_group(name="report_guide")

MODELS = ["dense", "lstm_layer"]


@pytest.fixture(scope="module")
def checked():
    out = []
    for name in MODELS:
        tables, results, opts = {}, {}, {}
        for dtype in DTYPES:
            case = prepare(name, dtype=dtype, seed=0)
            opts = case.opts
            results[dtype] = run_all(case, FRAMEWORKS)
            tables[dtype] = check(case, PAIRS, results=results[dtype])
        out.append(Checked(get(name), opts, tables, results))
    return out


def tensor_of(result, tensor):
    kind, _, name = tensor.partition(":")
    if tensor == "loss":
        return np.asarray(result.loss)
    return {"out": result.outputs, "grad": {**result.grads, **result.input_grads},
            "state": result.state}[kind][name]


def text_of(section):
    return markdown.section(section)


# --- the worked example ----------------------------------------------------------------------
def test_the_worked_example_is_a_recomputation_of_a_real_row(checked):
    e = guide.worked_example(checked)
    c = next(c for c in checked if c.spec.name == e.model)
    a_fw, b_fw = e.pair.split("~")
    a = tensor_of(c.results[e.dtype][a_fw], e.tensor).astype(np.float64)
    b = tensor_of(c.results[e.dtype][b_fw], e.tensor).astype(np.float64)
    diff = np.abs(a - b)
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    scale = max(np.abs(a).max(), np.abs(b).max())
    row = c.tables[e.dtype].set_index(["pair", "tensor"]).loc[(e.pair, e.tensor)]
    assert e.index == tuple(int(i) for i in worst)
    assert (e.a, e.b, e.diff, e.scale) == (a[worst], b[worst], diff.max(), scale)
    assert e.quotient == pytest.approx(diff.max() / scale, rel=1e-15)
    # the table (crossframe.runner.check) says the same: the example is measured against the
    # tensor's own scale, not a sum of |terms|
    assert e.quotient == pytest.approx(row["max_rel"], rel=1e-15) and row["max_abs"] > 0
    text = text_of(guide.section(checked, DTYPES))
    digits = 9 if e.dtype == "float32" else 17
    for shown in (f"a = {a[worst]:.{digits}g}", f"b = {b[worst]:.{digits}g}",
                  f"= {diff.max() / scale:.3e}", f"{scale:.{digits}g}", f"`{e.tensor}`"):
        assert shown in text


def test_the_example_prefers_a_float32_parameter_gradient(checked):
    e = guide.worked_example(checked)
    assert (e.dtype, e.pair) == ("float32", "~".join(PAIRS[0]))
    assert e.tensor.startswith("grad:") and e.tensor[5:] in {
        p.name for c in checked for p in c.spec.param_specs(c.opts)}


# --- the sum-of-terms rows -------------------------------------------------------------------
def expected_terms_rows(c):
    """The rows compare measures against a sum of |terms| (crossframe.tolerances): all of a lone
    bilinear layer's, and the loss sum(G * y) of any lone layer."""
    model = c.spec.sequential(c.opts)
    return {(d, p, t) for d, table in c.tables.items() for p, t in zip(table.pair, table.tensor)
            if model.bilinear or (t == "loss" and model.loss.upstream)}


def test_the_guide_lists_exactly_the_rows_measured_against_a_sum_of_terms(checked):
    listed = guide.terms_rows(checked)
    got = set(zip(listed.model, listed.dtype, listed.pair, listed.tensor))
    want = {(c.spec.name, *k) for c in checked for k in expected_terms_rows(c)}
    assert got == want
    assert {t for m, _, _, t in want if m == "lstm_layer"} == {"loss"}
    assert len({t for m, _, _, t in want if m == "dense"}) == len(checked[0].tables["float64"]) // 3
    text = text_of(guide.section(checked, DTYPES))
    assert "lstm_layer" in text and "`grad:dense1.W`" in text


def test_the_tables_did_divide_those_rows_and_only_those_by_the_larger_scale(checked):
    for c in checked:
        listed = guide.terms_scales(c)
        for dtype, table in c.tables.items():
            for r in table.itertuples():
                a_fw, b_fw = r.pair.split("~")
                a = tensor_of(c.results[dtype][a_fw], r.tensor).astype(np.float64)
                b = tensor_of(c.results[dtype][b_fw], r.tensor).astype(np.float64)
                own = max(np.abs(a).max(), np.abs(b).max())
                key = (dtype, r.pair, r.tensor)
                scale = max(listed[key], own) if key in listed else own
                assert r.max_rel == pytest.approx(r.max_abs / scale, rel=1e-12, abs=0), key
                if key in listed and r.max_abs > 0 and listed[key] > 1.01 * own:
                    assert r.max_rel < r.max_abs / own


def test_the_tensor_tables_mark_those_tensors(checked):
    for c in checked:
        data, text, _ = sections.tensor_table(c)
        summed = {t for _, _, t in expected_terms_rows(c)}
        marked = {t for t, shown in zip(data.tensor, text.tensor) if shown.endswith(" †")}
        assert marked == summed
        assert set(data.tensor[data.scale == "sum of |terms|"]) == summed
        notes = [b.text for s in sections.per_model([c]) for b in s.blocks
                 if getattr(b, "text", "").startswith("†")]
        assert len(notes) == 1


# --- the heatmaps ----------------------------------------------------------------------------
def test_both_dtypes_are_drawn_with_the_errors_of_the_results(checked, monkeypatch):
    drawn = {}

    def capture(title, panels, scales):
        drawn.update(panels=panels, scales=scales)
        return b"png"

    monkeypatch.setattr(plots, "error_heatmap", capture)
    c = next(c for c in checked if c.spec.name == "lstm_layer")
    assert sections.heatmap(c) is not None
    assert list(drawn["scales"]) == ["float64", "float32"]
    for dtype, scale in drawn["scales"].items():
        assert (scale.tol, scale.eps) == (tolerance(dtype).rel, np.finfo(dtype).eps)
    panel = next(p for p in drawn["panels"] if p.name == "lstm.W_h")
    assert panel.view.blocks == ("i", "f", "g", "o")
    for dtype in DTYPES:
        for a_fw, b_fw in PAIRS:
            a = c.results[dtype][a_fw].grads["lstm.W_h"].astype(np.float64)
            b = c.results[dtype][b_fw].grads["lstm.W_h"].astype(np.float64)
            want = np.abs(a - b) / max(np.abs(a).max(), np.abs(b).max())
            np.testing.assert_array_equal(panel.errors[dtype][f"{a_fw}~{b_fw}"], want)
            table = c.tables[dtype].set_index(["pair", "tensor"])
            assert want.max() == pytest.approx(
                table.loc[(f"{a_fw}~{b_fw}", "grad:lstm.W_h"), "max_rel"], rel=1e-15)


def colour_box(png, value, scale):
    """The pixel bounding box (height, width) of the colour the heatmap gives ``value``."""
    image = imread(io.BytesIO(png))[..., :3]
    vmin, vmax = scale.limits
    rgb = np.array(plots.matplotlib.colormaps["viridis"]((np.log10(value) - vmin)
                                                          / (vmax - vmin))[:3])
    rows, cols = np.nonzero(np.all(np.abs(image - rgb) < 2 / 255, axis=-1))
    assert len(rows), "the colour is not drawn"
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1, image.shape[:2]


@pytest.mark.parametrize("shape", [(1,), (10, 1)], ids=["bias-1", "kernel-10x1"])
def test_a_tiny_tensor_is_drawn_at_a_readable_size(shape):
    scale = plots.Scale(tolerance("float32").rel, float(np.finfo("float32").eps))
    value = 1e-7
    errors = structure.as_2d(np.full(shape, value))
    names = ("out",) if len(shape) == 1 else ("in", "out")
    view = structure.View("*".join(names[:-1]), names[-1])
    panel = plots.HeatPanel("w", shape, view, {"float32": {"a~b": errors, "c~d": errors}})
    png = plots.error_heatmap("tiny", [panel], {"float32": scale})
    height, width, (fig_h, fig_w) = colour_box(png, value, scale)
    dpi = plots.DPI
    assert width >= 0.9 * plots.SIDE_MIN * dpi and height >= 0.9 * plots.SIDE_MIN * dpi
    assert max(height / width, width / height) <= plots.ASPECT_MAX + 0.5
    assert fig_h <= 6 * dpi and fig_w <= 15 * dpi     # the figure stays small too


def test_panel_sizes_keep_cells_near_square_and_aspect_capped():
    for rows, cols in [(1, 1), (10, 1), (1, 32), (64, 32), (192, 1), (3, 16), (27, 4)]:
        w, h = plots.panel_size(rows, cols)
        assert plots.SIDE_MIN <= w <= plots.PANEL_W and plots.SIDE_MIN <= h <= plots.PANEL_H
        assert max(w / h, h / w) <= plots.ASPECT_MAX + 1e-9
        cell_w, cell_h = w / cols, h / rows
        if rows * plots.CELL_MAX <= plots.PANEL_H and cols * plots.CELL_MAX <= plots.PANEL_W:
            assert cell_w == pytest.approx(cell_h) or min(w, h) == plots.SIDE_MIN


def test_no_element_over_the_tolerance_vanishes_when_rows_are_pooled():
    err = np.full((400, 1), 1e-9)
    err[123, 0] = np.inf     # a missing element, drawn red
    pooled, step, _ = plots._pooled(err, 100, 10)
    assert step == 4 and pooled.shape == (100, 1) and np.isinf(pooled[30, 0])


def test_a_conv_kernel_view_has_one_row_block_per_tap():
    from crossframe.layers.base import ParamSpec

    class Spec:
        summary, notes = "", ()

        def mapping(self, fw, opts):
            from crossframe.mapping import Entry, Mapping
            return Mapping(fw, (Entry("w", "w"),))

    view = structure.view(Spec(), {}, ParamSpec("w", (3, 3, 2, 5), doc="kernel (kh, kw, I, O)"))
    assert (view.group, view.group_axes) == (2, "kh,kw")
    blocks = view.row_blocks((3, 3, 2, 5))
    assert len(blocks) == 9 and blocks[:2] == [(0, "0,0"), (2, "0,1")] and blocks[-1] == (16, "2,2")
