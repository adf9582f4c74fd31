"""report.md: the Report as GitHub-flavoured Markdown (tables via pandas + tabulate).

Tables and images whose ``show`` is "html" (timings) or "link" (long) appear as links to their
files, so report.md stays identical from run to run.
"""
from __future__ import annotations

from .document import Bullets, Code, Image, Report, Section, Table, Text


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(t: Table) -> str:
    if t.show != "both":
        return f"*{t.caption}*: [{t.csv}]({t.csv})"
    frame = (t.shown if t.shown is not None else t.data).map(_cell)
    body = frame.to_markdown(index=False, disable_numparse=True) if len(frame) else "(empty)"
    caption = f"*{t.caption}* ([{t.csv}]({t.csv}))\n\n" if t.caption else f"[{t.csv}]({t.csv})\n\n"
    return caption + body


def image(i: Image) -> str:
    if i.show != "both":
        return f"*{i.alt}*: [{i.path}]({i.path})"
    caption = f"\n\n*{i.caption}*" if i.caption else ""
    return f"![{i.alt}]({i.path}){caption}"


def block(b) -> str:
    if isinstance(b, Text):
        return f"**{b.text}**" if "verdict" in b.css else b.text
    if isinstance(b, Bullets):
        return "\n".join(f"- {item}" for item in b.items)
    if isinstance(b, Table):
        return table(b)
    if isinstance(b, Image):
        return image(b)
    if isinstance(b, Code):
        fence = "````" if "```" in b.text else "```"
        caption = f"*{b.caption}*\n\n" if b.caption else ""
        return f"{caption}{fence}{b.language}\n{b.text.rstrip()}\n{fence}"
    raise TypeError(f"unknown block {type(b).__name__}")


def section(s: Section) -> str:
    head = f'<a id="{s.id}"></a>\n\n{"#" * s.level} {s.title}'
    return "\n\n".join([head, *(block(b) for b in s.blocks)])


def contents(report: Report) -> str:
    lines = []
    for s in report.sections:
        indent = "  " * (s.level - 2)
        lines.append(f"{indent}- [{s.title}](#{s.id})")
    return "\n".join(lines)


def render(report: Report) -> str:
    parts = [f"# {report.title}", block(report.verdict),
             "Also in this folder: index.html (the same report with colours, self-contained), "
             "one CSV file per table, the plots in img/.",
             contents(report), *(section(s) for s in report.sections)]
    return "\n\n".join(parts) + "\n"
