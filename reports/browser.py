"""Open the report in a real browser (headless Chromium), with no Python dependency beyond stdlib
(counting and reading PDF pages uses pypdf, from the ``test`` extras).

    check_page("reports/out/index.html")   -> PageCheck(title, images, errors)
    screenshot("reports/out/index.html", "shot.png")
    print_pdf("reports/out/index.html", "report.pdf"); pdf_pages("report.pdf") -> int
    print_overflow("reports/out/index.html") -> [Overflow(...)]: what runs off the printed page
    screen_overflow("reports/out/index.html", 1280) -> the same in a 1280 px window
    python -m crossframe.reports.browser reports/out/index.html shot.png
    python -m crossframe.reports.browser --pdf reports/out/index.html report.pdf

``check_page`` loads a *copy* of the page from an empty temporary folder (so anything that is not
embedded in the page fails to load and is reported) with a small script injected first in
<head>. The script records every JavaScript error, failed resource, Content-Security-Policy
violation, unhandled rejection and ``console.error`` call, and after the load event writes them,
with ``naturalWidth``/``naturalHeight`` of every <img>, as JSON into the DOM, which Chromium's
``--dump-dom`` prints. The page itself carries no script.

``print_overflow`` loads a copy of the page as it prints: every ``@media print`` rule made to
apply on screen (``@media screen`` rules dropped), the window as wide as the printable width of
the report's ``@page`` box (reports.html.PRINT_WIDTH_PX), and a second injected script that
lists every element whose box or text runs past the right edge or is wider than its column (a
multi-column lesson), and every scroll or clip box whose content is cut (a scroll bar cannot be
used on paper). Chromium's own print shrinks the whole document when something is too wide
(measured: one 800 px box on a 703 px page printed every page at 0.87 of its size) and cuts
what sits in a scroll box, so the PDF alone says neither which element is too wide nor that
something was cut.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars")
MARK = "crossframe-page-check"

PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    if (e.target && e.target !== window && (e.target.src || e.target.href)) {
      errors.push('failed to load ' + e.target.tagName.toLowerCase() + ' ' +
                  String(e.target.src || e.target.href).slice(0, 120));
    } else {
      errors.push('error: ' + e.message + ' at ' + e.filename + ':' + e.lineno);
    }
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection: ' + e.reason);
  });
  document.addEventListener('securitypolicyviolation', function (e) {
    errors.push('blocked by the page policy: ' + e.blockedURI + ' (' + e.violatedDirective + ')');
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return consoleError.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    var images = Array.prototype.map.call(document.images, function (img) {
      return {alt: img.alt, src: img.src.slice(0, 60), complete: img.complete,
              width: img.naturalWidth, height: img.naturalHeight};
    });
    var out = document.createElement('pre');
    out.id = 'MARK';
    out.textContent = JSON.stringify({title: document.title, images: images, errors: errors});
    document.body.appendChild(out);
  });
})();
</script>""".replace("MARK", MARK)


OVERFLOW = """<script>
(function () {
  function where(el) {
    var s = el.closest('section[id]');
    var name = el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')
      .join('.') : '');
    var cap = el.querySelector ? el.querySelector('caption, figcaption') : null;
    return {element: name, section: s ? s.id : '',
            text: ((cap || el).textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 80)};
  }
  window.addEventListener('load', function () {
    var limit = document.documentElement.clientWidth, found = [], seen = new Set();
    function add(el, width, room, why) {
      for (var a = el; a; a = a.parentElement) { if (seen.has(a)) return false; }
      seen.add(el);
      var item = where(el);
      item.width = Math.round(width); item.room = Math.round(room); item.why = why;
      found.push(item);
      return true;
    }
    function column(el) {  // the width of the column el sits in, if in a multi-column box
      if (getComputedStyle(el).columnSpan === 'all') return null;
      for (var a = el.parentElement; a; a = a.parentElement) {
        var s = getComputedStyle(a), n = parseInt(s.columnCount, 10);
        if (n > 1) {
          var gap = parseFloat(s.columnGap) || 0;
          var inner = a.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
          return (inner - gap * (n - 1)) / n;
        }
      }
      return null;
    }
    var all = document.body.querySelectorAll('*'), boxes = [];
    for (var i = 0; i < all.length; i++) {
      var el = all[i], r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.right > limit + 1 || r.left < -1) {
        if (add(el, r.right - Math.min(r.left, 0), limit, 'box')) boxes.push(el);
        continue;
      }
      var col = getComputedStyle(el).display === 'inline' ? null : column(el);
      if (col !== null && r.width > col + 1) {
        if (add(el, r.width, col, 'box wider than its column')) boxes.push(el);
      }
    }
    for (i = 0; i < all.length; i++) {
      el = all[i];
      var x = getComputedStyle(el).overflowX;
      if (x === 'visible' || el.scrollWidth <= el.clientWidth + 1) continue;
      var inside = found.filter(function (item, k) { return el.contains(boxes[k]); });
      if (inside.length === 0) {
        add(el, el.scrollWidth, el.clientWidth, 'cut (overflow-x: ' + x + ')');
      }
      inside.forEach(function (item) { item.why += ', cut by a scroll box'; });
    }
    var walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), node;
    var range = document.createRange();
    while ((node = walk.nextNode())) {
      range.selectNodeContents(node);
      var t = range.getBoundingClientRect();
      if (t.right > limit + 1) { add(node.parentElement, t.right, limit, 'text'); }
    }
    var out = document.createElement('pre');
    out.id = 'MARK';
    out.style.display = 'none';
    out.textContent = JSON.stringify({page: limit, overflow: found});
    document.body.appendChild(out);
  });
})();
</script>""".replace("MARK", MARK)


@dataclass
class PageCheck:
    title: str
    images: list[dict]  # alt, src (first 60 chars), complete, width, height (natural size)
    errors: list[str]  # JS errors, failed loads, policy violations, console.error calls

    @property
    def broken_images(self) -> list[str]:
        return [i["alt"] or i["src"] for i in self.images if not i["width"] > 0]


@dataclass
class Overflow:
    """One element that runs off the printed page: its tag and classes, the id of the section
    around it, its caption or first text (80 characters), ``width`` against ``room`` (CSS px:
    how far it reaches against the page's printable width, or its width against its column's
    or its scroll box's) and why: ``box``
    (its box runs past the page's edge), ``box wider than its column``, ``text`` (its text runs
    past the page's edge) or ``cut`` (a scroll or clip box hides part of its content)."""
    element: str
    section: str
    text: str
    width: int
    room: int
    why: str

    def __str__(self) -> str:
        where = f" in #{self.section}" if self.section else ""
        return (f"{self.element}{where} ({self.text!r}): {self.width} px in {self.room} px, "
                f"{self.why}")


def find_chromium() -> str | None:
    """$CROSSFRAME_CHROMIUM, else the first Chromium/Chrome on PATH, else None."""
    explicit = os.environ.get("CROSSFRAME_CHROMIUM")
    if explicit:
        return explicit
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def _chromium(args: list[str], binary: str | None, timeout: float) -> str:
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found: apt-get install -y chromium "
                                "(or set CROSSFRAME_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="crossframe-chromium-") as profile:
        done = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def inject(page: str, probe: str = PROBE) -> str:
    """The page with ``probe`` as the first element of <head> (before any CSP meta tag)."""
    head = re.search(r"<head[^>]*>", page, re.IGNORECASE)
    at = head.end() if head else 0
    return page[:at] + probe + page[at:]


def _probe(page: str, args: list[str], binary: str | None, timeout: float) -> dict:
    """Load ``page`` (HTML text, a probe script injected) from an empty temporary folder and
    return the JSON the probe wrote into the DOM after the load event."""
    with tempfile.TemporaryDirectory(prefix="crossframe-page-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(page, encoding="utf-8")
        dom = _chromium([*args, "--virtual-time-budget=10000", "--dump-dom", copy.as_uri()],
                        binary, timeout)
    found = re.search(rf'<pre id="{MARK}"[^>]*>(.*?)</pre>', dom, re.DOTALL)
    if not found:
        raise RuntimeError("the page never finished loading (no load event in the dumped DOM)")
    return json.loads(html.unescape(found.group(1)))


def check_page(path, binary: str | None = None, timeout: float = 120) -> PageCheck:
    page = Path(path).read_text(encoding="utf-8")
    return PageCheck(**_probe(inject(page), [], binary, timeout))


def as_printed(page: str) -> str:
    """The page with its print rules applied on screen: ``@media print`` -> ``@media all``,
    ``@media screen`` -> ``@media not all`` (a rule for both, ``screen, print``, stays on)."""
    page = re.sub(r"@media\s+print\b", "@media all", page)
    return re.sub(r"@media\s+screen\s*\{", "@media not all {", page)


def print_overflow(path, binary: str | None = None, width: int | None = None,
                   timeout: float = 120) -> list[Overflow]:
    """Every element that runs off a printed page of ``path`` (see the module); ``width``: the
    printable width in CSS px (default reports.html.PRINT_WIDTH_PX, the width of the report's
    ``@page`` box less its margins). An empty list: nothing is wider than the page."""
    if width is None:
        from .html import PRINT_WIDTH_PX
        width = PRINT_WIDTH_PX
    return _overflow(as_printed(Path(path).read_text(encoding="utf-8")), width, binary, timeout)


def screen_overflow(path, width: int = 1280, binary: str | None = None,
                    timeout: float = 120) -> list[Overflow]:
    """The same check on screen, in a window ``width`` px wide: what is wider than the window
    or than its column, and every scroll box that hides part of its content (a wide table
    in its ``.table-wrap`` scrolls, and is listed)."""
    return _overflow(Path(path).read_text(encoding="utf-8"), width, binary, timeout)


def _overflow(page: str, width: int, binary: str | None, timeout: float) -> list[Overflow]:
    found = _probe(inject(page, OVERFLOW), [f"--window-size={width},1200"], binary, timeout)
    if found["page"] != width:
        raise RuntimeError(f"chromium laid the page out {found['page']} px wide, not {width}")
    return [Overflow(**item) for item in found["overflow"]]


def print_pdf(index_html, pdf_path, chromium: str | None = None, timeout: float = 300) -> Path:
    """Print ``index_html`` to ``pdf_path`` as Chromium prints it (its ``@page`` size and
    margins, no header or footer line), from a copy in an empty temporary folder.

    Raises FileNotFoundError without Chromium, RuntimeError when it writes no PDF."""
    pdf = Path(pdf_path).resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.unlink(missing_ok=True)
    page = Path(index_html).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="crossframe-print-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(page, encoding="utf-8")
        _chromium(["--no-pdf-header-footer", "--virtual-time-budget=10000",
                   f"--print-to-pdf={pdf}", copy.as_uri()], chromium, timeout)
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF to {pdf}")
    return pdf


def _pdf(pdf_path):
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf comes with the test extras
        raise RuntimeError("reading a PDF needs pypdf: pip install -e '.[test]'") from None
    return PdfReader(str(pdf_path))


def pdf_pages(pdf_path) -> int:
    """The number of pages of a PDF (pypdf walks the page tree)."""
    return len(_pdf(pdf_path).pages)


def pdf_text(pdf_path, page: int = 0) -> str:
    """The text of one page (0: the first) as pypdf extracts it, NFKC-normalised (the font's
    ligatures, ``ﬂ`` in ``ﬂoat64``, back to letters) and each run of whitespace made one space.
    A line may break inside a word (``1e-`` / ``12``): compare with whitespace removed."""
    text = unicodedata.normalize("NFKC", _pdf(pdf_path).pages[page].extract_text())
    return " ".join(text.split())


def screenshot(path, png, size=(1280, 2000), binary: str | None = None,
               timeout: float = 120) -> Path:
    """A PNG of the top ``size`` pixels of the page, as a reader first sees it."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    _chromium([f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
               "--virtual-time-budget=10000", Path(path).resolve().as_uri()], binary, timeout)
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")
    return png


USAGE = ("usage: python -m crossframe.reports.browser INDEX.html [SCREENSHOT.png]\n"
         "       python -m crossframe.reports.browser --pdf INDEX.html OUT.pdf")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[:1] == ["--pdf"]:
        if len(argv) != 3:
            print(USAGE, file=sys.stderr)
            return 2
        if not Path(argv[1]).is_file():
            print(f"error: no page at {argv[1]} — give the report's index.html "
                  "(crossframe report --out DIR writes DIR/index.html)", file=sys.stderr)
            return 2
        if find_chromium() is None:
            print("error: no Chromium found — apt-get install -y chromium (or set "
                  "CROSSFRAME_CHROMIUM)", file=sys.stderr)
            return 2
        pdf = print_pdf(argv[1], argv[2])
        print(f"{pdf}: {pdf_pages(pdf)} pages")
        overflow = print_overflow(argv[1])
        for item in overflow:
            print(f"wider than the page: {item}")
        return 1 if overflow else 0
    if len(argv) not in (1, 2):
        print(USAGE, file=sys.stderr)
        return 2
    result = check_page(argv[0])
    print(json.dumps({"title": result.title, "images": len(result.images),
                      "broken_images": result.broken_images, "errors": result.errors}, indent=1))
    if len(argv) == 2:
        print(f"screenshot: {screenshot(argv[0], argv[1])}")
    return 0 if not result.errors and not result.broken_images else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
