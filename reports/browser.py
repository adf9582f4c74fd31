"""Open the report in a real browser (headless Chromium), with no Python dependency beyond stdlib.

    check_page("reports/out/index.html")   -> PageCheck(title, images, errors)
    screenshot("reports/out/index.html", "shot.png")
    python -m crossframe.reports.browser reports/out/index.html shot.png

``check_page`` loads a *copy* of the page from an empty temporary folder (so anything that is not
embedded in the page fails to load and is reported) with a small script injected first in
<head>. The script records every JavaScript error, failed resource, Content-Security-Policy
violation, unhandled rejection and ``console.error`` call, and after the load event writes them,
with ``naturalWidth``/``naturalHeight`` of every <img>, as JSON into the DOM, which Chromium's
``--dump-dom`` prints. The page itself carries no script.
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


@dataclass
class PageCheck:
    title: str
    images: list[dict]  # alt, src (first 60 chars), complete, width, height (natural size)
    errors: list[str]  # JS errors, failed loads, policy violations, console.error calls

    @property
    def broken_images(self) -> list[str]:
        return [i["alt"] or i["src"] for i in self.images if not i["width"] > 0]


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


def inject(page: str) -> str:
    """The page with the probe as the first element of <head> (before any CSP meta tag)."""
    head = re.search(r"<head[^>]*>", page, re.IGNORECASE)
    at = head.end() if head else 0
    return page[:at] + PROBE + page[at:]


def check_page(path, binary: str | None = None, timeout: float = 120) -> PageCheck:
    page = Path(path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="crossframe-page-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(inject(page), encoding="utf-8")
        dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", copy.as_uri()], binary,
                        timeout)
    found = re.search(rf'<pre id="{MARK}">(.*?)</pre>', dom, re.DOTALL)
    if not found:
        raise RuntimeError("the page never finished loading (no load event in the dumped DOM)")
    return PageCheck(**json.loads(html.unescape(found.group(1))))


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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print("usage: python -m crossframe.reports.browser INDEX.html [SCREENSHOT.png]",
              file=sys.stderr)
        return 2
    result = check_page(argv[0])
    print(json.dumps({"title": result.title, "images": len(result.images),
                      "broken_images": result.broken_images, "errors": result.errors}, indent=1))
    if len(argv) == 2:
        print(f"screenshot: {screenshot(argv[0], argv[1])}")
    return 0 if not result.errors and not result.broken_images else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
