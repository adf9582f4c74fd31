"""The report on paper: headless Chromium prints index.html to PDF with the report's print
stylesheet (reports/html.py: A4 landscape), and the PDF is read back with pypdf.

- the first page holds the verdict and every row of the parity matrix;
- the page count stays within a bound taken from the report's structure;
- nothing is wider than the printed page (or than its column), laid out with the print rules
  at the printable width (crossframe.reports.browser.print_overflow), and on screen the parity
  matrix fits a 1280 px window without scrolling;
- the tools are not blind: a page built with known faults is caught, a page of known length is
  counted.

Without Chromium this module skips with the reason; under CI=true it fails instead (.ci/run
installs Debian's ``chromium``), as test_report_browser.py does.
"""

import pytest

from crossframe.reports import browser
from crossframe.reports.build import build_report

# one worker builds the report for every test here under `pytest -n --dist loadgroup`
pytestmark = pytest.mark.xdist_group(name="report_print")



def squeeze(text: str) -> str:
    """Text with every whitespace removed: a PDF line may break anywhere in a long cell."""
    return "".join(text.split())




@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A small report (a model of several layers, a lone layer, a recurrent layer and their
    lessons, heatmaps and training curves); the speed and differences sections are measured
    for seconds each and printed by the lead's full report, so they are left out here."""
    out = tmp_path_factory.mktemp("print") / "report"
    report = build_report(out, models=["mlp", "dense", "lstm_layer"], repeats=1, epochs=1,
                          bench=False, differ=False)
    return report, out / "index.html"


@pytest.fixture(scope="module")
def pdf(chromium, built, tmp_path_factory):
    return browser.print_pdf(built[1], tmp_path_factory.mktemp("pdf") / "report.pdf", chromium)


def test_first_page_is_the_verdict_and_the_matrix(built, pdf):
    report, _ = built
    first = squeeze(browser.pdf_text(pdf, 0))
    assert squeeze(report.verdict.text) in first
    matrix = next(t for t in report.tables() if t.name == "parity_matrix")
    assert len(matrix.shown) == 3
    for _, row in matrix.shown.iterrows():   # every cell of every row, in its order
        assert squeeze(" ".join(str(v) for v in row)) in first, row.iloc[0]


def test_page_count_within_the_bound(built, pdf):
    """Each top-level section starts a page, so at least one page per level-2 section; and
    no section needs more than two landscape pages on average (printed without the print
    stylesheet, portrait, this report took 20 pages and cut every wide table at the edge)."""
    report, _ = built
    top = sum(s.level == 2 for s in report.sections)
    pages = browser.pdf_pages(pdf)
    assert top <= pages <= 2 * len(report.sections), (pages, top, len(report.sections))


def test_nothing_is_wider_than_the_printed_page(chromium, built):
    overflow = browser.print_overflow(built[1], chromium)
    assert overflow == [], "\n".join(map(str, overflow))


def test_the_parity_matrix_fits_the_screen(chromium, built):
    """On screen the matrix reads without its scroll bar in a 1280 px window (wider tables,
    one per model, may scroll inside their box)."""
    overflow = browser.screen_overflow(built[1], 1280, chromium)
    assert [o for o in overflow if o.section == "parity"] == []


BAD = """<!DOCTYPE html><html><head><title>bad</title><style>
@media print { .cols { columns: 2; column-gap: 0; } .scroll { overflow-x: auto; } }
@media screen { .cols { width: 300px; } }
body { margin: 0; }
</style></head><body>
<table><tr><td style="white-space: nowrap">ROW-%s</td></tr></table>
<pre>short line
%s</pre>
<div class="scroll"><div style="width: 2000px">SCROLLED</div></div>
<section class="cols"><div style="width: 600px">COLUMN</div><p>fits</p></section>
<p>an ordinary paragraph that wraps as it should: %s</p>
</body></html>""" % ("A" * 300, "a long line " * 30, "words " * 200)


def test_the_overflow_check_is_not_blind(chromium, tmp_path):
    """Four faults at a 700 px page: a nowrap table, a <pre> line, a scroll box (print rules
    only: on screen it is plain) and a box wider than its column of 350 px; the paragraph that
    wraps is not reported."""
    bad = tmp_path / "bad.html"
    bad.write_text(BAD, encoding="utf-8")
    found = browser.print_overflow(bad, chromium, width=700)
    got = {(o.element, o.text[:8], o.room) for o in found}
    assert got == {("table", "ROW-AAAA", 700), ("pre", "short li", 700),
                   ("div", "SCROLLED", 700), ("div", "COLUMN", 350)}, found
    assert all(o.width > o.room for o in found)
    scrolled = next(o for o in found if o.text == "SCROLLED")
    assert "cut by a scroll box" in scrolled.why


def test_pages_are_counted_and_read(chromium, tmp_path, capsys, monkeypatch):
    """A page made of three forced pages prints to three pages, each with its own text; the
    command line prints the count and finds nothing too wide."""
    page = tmp_path / "three.html"
    page.write_text('<!DOCTYPE html><html><head><title>three</title><style>'
                    "div + div { break-before: page; }</style></head><body>"
                    "<div>first page</div><div>second page</div><div>third page</div>"
                    "</body></html>", encoding="utf-8")
    monkeypatch.setenv("CROSSFRAME_CHROMIUM", chromium)
    assert browser.main(["--pdf", str(page), str(tmp_path / "three.pdf")]) == 0
    assert capsys.readouterr().out.strip().endswith(": 3 pages")
    assert browser.pdf_pages(tmp_path / "three.pdf") == 3
    assert [browser.pdf_text(tmp_path / "three.pdf", i) for i in range(3)] == [
        "first page", "second page", "third page"]
