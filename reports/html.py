"""index.html: the Report as one self-contained page.

Inline CSS, every image embedded as a base64 data URI, no script, and a Content-Security-Policy
that forbids any network or file access (only inline styles and data: images), so the page
shows the same on a classroom projector with no network as on the machine that built it.
"""
from __future__ import annotations

import base64
import html
import re

from .document import Bullets, Code, Image, Report, Section, Table, Text

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

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
th, td { border: 1px solid #dee2e6; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; position: sticky; top: 0; }
th.group { text-align: center; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.good, tbody tr:nth-child(even) td.good { background: #d3f9d8; }
td.near, tbody tr:nth-child(even) td.near { background: #fff3bf; }
td.fail, tbody tr:nth-child(even) td.fail { background: #ffc9c9; font-weight: 700; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 8px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e9ecef; }
figcaption { font-size: 13px; color: #495057; font-style: italic; }
.files { font-size: 13px; color: #495057; }
pre { background: #f8f9fa; border: 1px solid #e9ecef; padding: 8px 10px; overflow-x: auto;
      font-size: 12.5px; line-height: 1.35; margin: 2px 0 12px; }
pre code { background: none; padding: 0; font-size: 100%; }
"""

_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text: str) -> str:
    """Escape, then `code` and [label](href)."""
    out = html.escape(text, quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    return _LINK.sub(r'<a href="\2">\1</a>', out)


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
            attr = f' class="{cls} num"' if cls else ""
            cells.append(f"<td{attr}>{html.escape(str(value))}</td>")
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
