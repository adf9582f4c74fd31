"""The report as data: sections of blocks (text, bullets, tables, images, code), rendered twice.

The section builders (``crossframe.reports.sections``) produce a ``Report``; the renderers
(``markdown.render``, ``html.render``) and the writer (``build.write``) only walk it. So the
Markdown, the HTML and the CSV files show the same tables by construction.

``show`` says where a table or image is displayed: ``"both"`` (the default), ``"html"`` (what
changes from run to run, the timings: its own CSV/PNG and index.html, while report.md only links
to the files — so two runs give identical Markdown) or ``"link"`` (too long to read inline, e.g.
every row of every comparison: both documents link to the CSV).
This module imports nothing heavy: tables are pandas DataFrames, but pandas is not imported here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass
class Text:
    """A paragraph. Inline markup: `code` and [label](href) (rendered by both renderers)."""

    text: str
    css: str = ""  # an optional HTML class, e.g. "verdict pass"


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    """A pandas table: ``data`` goes to ``<name>.csv`` at full precision; ``shown`` (strings, same
    rows) is what Markdown and HTML display; ``css`` (same shape as ``shown``) colours HTML cells.
    """

    name: str
    data: Any  # pandas.DataFrame
    shown: Any = None  # pandas.DataFrame of str; None: ``data`` formatted
    css: Any = None  # pandas.DataFrame of HTML class names, or None
    caption: str = ""
    show: str = "both"  # "both" | "html" | "link", see the module docstring
    # HTML: columns named "<group> <name>" ("float64 scratch~torch") under one header cell per
    # run of the same group; the others span both header rows (Markdown keeps one header row)
    grouped: bool = False

    @property
    def csv(self) -> str:
        return f"{self.name}.csv"


@dataclass
class Image:
    """A PNG: written to ``img/<name>.png``, embedded base64 in index.html."""

    name: str
    png: bytes
    alt: str
    caption: str = ""
    show: str = "both"  # "both" | "html" (report.md links to the file)

    @property
    def path(self) -> str:
        return f"img/{self.name}.png"


@dataclass
class Code:
    """A block of source or terminal text shown as it is (monospace, no wrapping of its own);
    ``language`` is a hint for readers ("python", "text"), ``caption`` says where it comes from
    (e.g. ``scratch/recurrent.py::LSTM.forward``)."""

    text: str
    language: str = "python"
    caption: str = ""


Block = Union[Text, Bullets, Table, Image, Code]


@dataclass
class Section:
    title: str
    id: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2  # 2: a top-level section; 3: a subsection (one per model)


@dataclass
class Report:
    title: str
    verdict: Text
    sections: list[Section]
    ok: bool = True  # every parity check within tolerance

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def images(self) -> list[Image]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Image)]


def slug(text: str) -> str:
    """A file- and anchor-safe name: ``gru_reset_before`` stays, ``a~b`` -> ``a-b``."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")
