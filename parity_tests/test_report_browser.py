"""The report opened in a real browser: headless Chromium loads index.html, every image decodes
(naturalWidth > 0), nothing is logged as an error, and a screenshot shows what a reader sees
first. Driven through Chromium's command line (crossframe.reports.browser), no Python browser
package.

Without Chromium this module skips with the reason; under CI=true it fails instead (.ci/run
installs Debian's ``chromium``).
"""
import struct

import pytest

from crossframe.reports import browser
from crossframe.reports.build import build_report

# the module fixture builds a report: one worker runs the whole module (make test: --dist
# loadgroup), so the report is built once, not once per worker
pytestmark = pytest.mark.xdist_group(name="report_browser")

SCREEN = (1280, 2000)





@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "report"
    # every kind of image (heatmaps, training curves, speed bars); the differences section is
    # tables only and takes seconds to measure, test_report.py covers it
    build_report(out, models=["mlp", "dense"], repeats=1, epochs=1, differ=False)
    return out / "index.html"


@pytest.fixture(scope="module")
def page(chromium, index):
    return browser.check_page(index, chromium)


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_every_image_loaded(page, index):
    embedded = index.read_text(encoding="utf-8").count("<img ")
    assert len(page.images) == embedded > 0
    assert page.broken_images == []


def test_no_console_errors(page):
    assert page.errors == []


def test_the_page_is_the_report(page):
    assert page.title.startswith("crossframe")


def test_screenshot_of_what_a_reader_sees_first(chromium, index, tmp_path):
    shot = browser.screenshot(index, tmp_path / "screenshot.png", SCREEN, chromium)
    assert png_size(shot) == SCREEN


def test_the_check_catches_a_broken_page(chromium, tmp_path):
    """The probe is not blind: a missing image and a console error are both reported."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                   '<img src="missing.png" alt="gone"><script>console.error("boom")</script>'
                   "</body></html>", encoding="utf-8")
    result = browser.check_page(bad, chromium)
    assert result.broken_images == ["gone"]
    assert any("boom" in e for e in result.errors)
    assert any("missing.png" in e for e in result.errors)
