"""index.html: the Report as one self-contained page.

Inline CSS, every image embedded as a base64 data URI, no script, and a Content-Security-Policy
that forbids any network or file access (only inline styles and data: images), so the page
shows the same on a classroom projector with no network as on the machine that built it.

Printed (a browser's print dialog, or ``python -m crossframe.reports.browser --pdf``), the page
follows PRINT_CSS: A4 landscape, the verdict and the parity matrix first, each top-level section
from a new page, two columns per lesson, every table shrunk to the page width
(parity_tests/test_report_print.py prints it and checks).
"""
from __future__ import annotations

import base64
import html
import re
from string import Template

from .document import Bullets, Code, Image, Report, Section, Table, Text

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# The printed page: A4 landscape (297 x 210 mm; a US Letter printer fits it at 94 %), these
# margins. Landscape because the tables are wide: the matrix and the per-model tables have two
# dtypes x seven framework pairs of graded cells, which in portrait's 703 px crushed the name
# columns to a letter per line. PRINT_WIDTH_PX is the printable width in CSS px (96 px per
# inch), the width at which browser.print_overflow lays the page out to find what would run
# off the paper.
PAGE_SIZE_MM = (297, 210)
PAGE_MARGIN_MM = (12, 12)  # top and bottom, left and right
# a figure at most this tall on paper (its width scaled alike): a heatmap keeps about 0.6 of
# its screen size, legible, and never fills a page alone
FIGURE_HEIGHT_MM = 130
PRINT_WIDTH_PX = round((PAGE_SIZE_MM[0] - 2 * PAGE_MARGIN_MM[1]) / 25.4 * 96)

# Paper: the verdict, a one-line contents (top-level sections only) and the parity matrix on
# the first page; each top-level section from a new page; a heading, a table's head or its
# caption never last on a page; figures, code blocks and table rows kept whole where they fit;
# tables shrunk to the page (smaller type, long names broken at their <wbr> or anywhere as a
# last resort, a graded number never broken), code wrapped; the colour grades printed; no
# scroll boxes or sticky headers; a link to the web followed by its address.
PRINT_CSS = Template("""
@page { size: ${width}mm ${height}mm; margin: ${tb}mm ${lr}mm; }
@media print {
  body { font-size: 10pt; line-height: 1.35; max-width: none; margin: 0; padding: 0; }
  h1 { font-size: 17pt; margin: 0 0 6px; }
  h2 { font-size: 14pt; margin: 0 0 6px; padding-top: 0; border-top: none; }
  section ~ section > h2 { break-before: page; }
  h3 { font-size: 11.5pt; margin: 14px 0 4px; }
  h1, h2, h3, caption, figcaption { break-after: avoid; }
  header { break-after: avoid; }
  .verdict { padding: 6px 10px; }
  .verdict, td.good, td.near, td.fail, th, pre {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav ul { margin: 4px 0 6px; padding: 0; list-style: none; font-size: 8.5pt; }
  nav li { display: inline; }
  nav li + li::before { content: " | "; color: #868e96; }
  nav .sub { display: none; }
  a { color: inherit; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: 85%;
                           overflow-wrap: anywhere; }
  .table-wrap { overflow: visible; margin: 4px 0 10px; }
  table { font-size: 7.5pt; max-width: 100%; }
  th { position: static; }
  th, td.num { font-size: 100%; }
  th, td { padding: 1px 3px; overflow-wrap: break-word; }
  tr, figure, pre, .verdict { break-inside: avoid; }
  thead { break-after: avoid; }
  tbody tr:nth-child(-n+2) { break-before: avoid; }
  figure { margin: 4px 0 10px; }
  figure img { max-height: ${figure}mm; border: none; }
  /* a tensor table's graded numbers may wrap before their mark (convnet's is 5 px too wide) */
  table:has(tbody td:last-child:not(.num):not(:empty)) td.num,
  section[id^="model-"] td.num { white-space: normal; }
  figcaption, .files { font-size: 8pt; }
  /* a lesson in one column: two (its code is narrower than half a page) saved a quarter of
     its pages, but Chromium laid some mapping tables across both columns, off the page */
  section[id^="lesson-"] > h3 { border-top: 1px solid #ced4da; padding-top: 6px; }
  pre { overflow: visible; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 7.5pt;
        line-height: 1.3; padding: 4px 6px; }
}
""").substitute(width=PAGE_SIZE_MM[0], height=PAGE_SIZE_MM[1], tb=PAGE_MARGIN_MM[0],
                lr=PAGE_MARGIN_MM[1], figure=FIGURE_HEIGHT_MM)

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232a;
       margin: 0 auto; max-width: 1240px; padding: 0 24px 48px; background: #fff; }
h1 { font-size: 26px; margin: 22px 0 8px; }
h2 { font-size: 21px; margin: 34px 0 8px; padding-top: 8px; border-top: 2px solid #d7dde3; }
h3 { font-size: 17px; margin: 24px 0 6px; }
code { background: #f1f3f5; padding: 0 3px; border-radius: 3px; font-size: 90%; }
nav ul { margin: 8px 0 10px; padding-left: 18px; font-size: 14px; }
nav li > a { font-weight: 600; }
nav .sub { font-size: 13px; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.verdict.pass { background: #d3f9d8; border: 1px solid #69db7c; }
.verdict.fail { background: #ffe3e3; border: 1px solid #ff8787; }
.table-wrap { overflow-x: auto; margin: 6px 0 14px; }
table { border-collapse: collapse; font-size: 13px; }
caption { caption-side: top; text-align: left; font-style: italic; color: #495057;
          padding-bottom: 4px; }
th, td { border: 1px solid #dee2e6; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; position: sticky; top: 0; font-size: 12px; }
th.group { text-align: center; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.good, tbody tr:nth-child(even) td.good { background: #d3f9d8; }
td.near, tbody tr:nth-child(even) td.near { background: #fff3bf; }
td.fail, tbody tr:nth-child(even) td.fail { background: #ffc9c9; font-weight: 700; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; font-size: 12px;
         padding: 3px 4px; }
figure { margin: 8px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e9ecef; }
figcaption { font-size: 13px; color: #495057; font-style: italic; }
.files { font-size: 13px; color: #495057; }
pre { background: #f8f9fa; border: 1px solid #e9ecef; padding: 8px 10px; overflow-x: auto;
      font-size: 12.5px; line-height: 1.35; margin: 2px 0 12px; }
pre code { background: none; padding: 0; font-size: 100%; }
""" + PRINT_CSS

_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text: str) -> str:
    """Escape, then `code` and [label](href)."""
    out = html.escape(text, quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    return _LINK.sub(r'<a href="\2">\1</a>', out)


_JOINT = re.compile(r"(?<=[.:_/])(?=[A-Za-z])")


def breakable(text: str) -> str:
    """Escaped text that may break after a ``.``, ``:``, ``_`` or ``/`` followed by a letter
    (``grad:<wbr>batchnorm1.<wbr>moving_<wbr>variance``), so a long name wraps in a narrow
    column on paper instead of widening the table; a number (``1.5e-16``) never breaks."""
    return _JOINT.sub("<wbr>", html.escape(text, quote=True)) if len(text) > 12 else \
        html.escape(text, quote=True)


def _name(column: str) -> str:
    """A header cell's text: a pair ``keras~keras-jax`` may break after its ``~``."""
    return html.escape(column).replace("~", "~<wbr>")


def header(columns: list[str], grouped: bool = False) -> str:
    """The ``<tr>`` rows of a table head: one, or (``grouped``) a row of groups over a row of
    names, ``float64 scratch~torch`` -> ``float64`` over ``scratch~torch``."""
    if not grouped:
        return "<tr>" + "".join(f"<th>{_name(c)}</th>" for c in columns) + "</tr>"
    split = [c.split(" ", 1) if " " in c else [None, c] for c in columns]
    top, bottom, i = [], [], 0
    while i < len(columns):
        group, name = split[i]
        if group is None:
            top.append(f'<th rowspan="2">{_name(name)}</th>')
            i += 1
            continue
        j = i
        while j < len(columns) and split[j][0] == group:
            j += 1
        top.append(f'<th colspan="{j - i}" class="group">{html.escape(group)}</th>')
        bottom += [f"<th>{_name(split[k][1])}</th>" for k in range(i, j)]
        i = j
    return f"<tr>{''.join(top)}</tr><tr>{''.join(bottom)}</tr>"


def table(t: Table) -> str:
    if t.show == "link":
        return f'<p class="files">{inline(t.caption)}: <a href="{t.csv}">{t.csv}</a></p>'
    frame = t.shown if t.shown is not None else t.data
    head = header([str(c) for c in frame.columns], t.grouped)
    rows = []
    for i in range(len(frame)):
        cells = []
        for j, value in enumerate(frame.iloc[i]):
            cls = t.css.iloc[i, j] if t.css is not None else ""
            if cls:
                cells.append(f'<td class="{cls} num">{html.escape(str(value))}</td>')
            else:
                cells.append(f"<td>{breakable(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = (f"<caption>{inline(t.caption)} (<a href=\"{t.csv}\">{t.csv}</a>)</caption>"
               if t.caption else "")
    return (f'<div class="table-wrap"><table>{caption}<thead>{head}</thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def image(i: Image) -> str:
    data = base64.b64encode(i.png).decode("ascii")
    caption = f"<figcaption>{inline(i.caption)}</figcaption>" if i.caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(i.alt)}">'
            f"{caption}</figure>")


def block(b) -> str:
    if isinstance(b, Text):
        cls = f' class="{b.css}"' if b.css else ""
        return f"<p{cls}>{inline(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{inline(x)}</li>" for x in b.items) + "</ul>"
    if isinstance(b, Table):
        return table(b)
    if isinstance(b, Image):
        return image(b)
    if isinstance(b, Code):
        caption = f"<figcaption>{inline(b.caption)}</figcaption>" if b.caption else ""
        return (f'<figure class="code">{caption}<pre><code class="language-{b.language}">'
                f"{html.escape(b.text)}</code></pre></figure>")
    raise TypeError(f"unknown block {type(b).__name__}")


def section(s: Section) -> str:
    body = "\n".join(block(b) for b in s.blocks)
    head = f"<h{s.level}>{html.escape(s.title)}</h{s.level}>"
    return f'<section id="{s.id}">\n{head}\n{body}\n</section>'


def contents(report: Report) -> str:
    """One line per section, its subsections (one per model) inline after it."""
    lines: list[list[str]] = []
    for s in report.sections:
        link = f'<a href="#{s.id}">{html.escape(s.title)}</a>'
        if s.level == 2 or not lines:
            lines.append([link, ""])
        else:
            lines[-1][1] += (" · " if lines[-1][1] else ": ") + link
    items = "".join(f"<li>{head}<span class=\"sub\">{sub}</span></li>" for head, sub in lines)
    return f"<nav><ul>{items}</ul></nav>"


def render(report: Report) -> str:
    title = html.escape(report.title)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{title}</h1>",
        block(report.verdict),
        contents(report),
        '<p class="files">Also in this folder: report.md (the same report as Markdown), one '
        "CSV file per table, the plots as PNG in img/.</p></header>",
        *(section(s) for s in report.sections),
        "</body>",
        "</html>",
        "",
    ])
