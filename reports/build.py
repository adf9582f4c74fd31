"""Build the comparison report and write it atomically.

    from crossframe.reports.build import build_report
    build_report("reports/out")                                  # everything (make report)
    build_report(tmp, models=["mlp", "dense"], repeats=1, epochs=1)   # a small one, for tests

Output folder: index.html (self-contained), report.md, one CSV per table, img/*.png.
Everything is computed first, then written into a temporary folder beside ``out`` which then
replaces ``out`` in two renames: a failure part-way leaves the previous report as it was.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from crossframe.errors import InputError
from crossframe.tolerances import DTYPES

from . import html, markdown, sections
from .document import Report

TITLE = "crossframe — NumPy from scratch vs PyTorch vs Keras: the comparison report"
MARKERS = ("index.html", "report.md")  # what makes a folder a report we may replace


def select(models) -> list:
    """The registered specs named in ``models`` (registry order), or all of them."""
    from crossframe.spec import all_specs, get

    if models is None:
        return all_specs()
    wanted = {get(name).name for name in models}  # an unknown name is an InputError
    if not wanted:
        raise InputError("no model given", "pass e.g. --models mlp,dense (see `crossframe list`)")
    return [s for s in all_specs() if s.name in wanted]


class Progress:
    """A tqdm bar whose total grows as sections discover their work; ``tick`` = one step done."""

    def __init__(self, enabled: bool):
        from tqdm import tqdm

        self.bar = tqdm(total=0, desc="report", unit="step", disable=not enabled,
                        dynamic_ncols=True)
        self._pending = False

    def expect(self, n: int) -> None:
        self.bar.total += n
        self.bar.refresh()

    def tick(self, label: str) -> None:
        if self._pending:
            self.bar.update(1)
        self.bar.set_postfix_str(label)
        self._pending = True

    def close(self) -> None:
        if self._pending:
            self.bar.update(1)
        self.bar.total = self.bar.n  # work expected but skipped (an untrainable model) is done
        self.bar.close()


def compose(models=None, dtypes=DTYPES, seed: int = 0, repeats: int = 5, epochs: int = 3,
            bench: bool = True, train: bool = True, differ: bool = True,
            optimizer: str = "adam", progress: bool = False) -> Report:
    """Compute every section (nothing is written)."""
    from crossframe.spec import differences

    specs = select(models)
    names = [s.name for s in specs]
    bar = Progress(progress)
    try:
        bar.expect(1 + len(specs) * len(dtypes) + len(specs))
        env = sections.environment(seed, bar.tick)
        checked = sections.run_checks(specs, dtypes, seed, bar.tick)
        ok, verdict = sections.verdict(checked, dtypes)
        # the glance first: it is what a reader (or a class) looks at; the environment after it
        parts = [sections.parity(checked, dtypes), env, *sections.per_model(checked, bar.tick),
                 *sections.mapping(checked)]
        if differ:
            bar.expect(len(differences()))
            parts.append(sections.differences(bar.tick))
        if train:
            bar.expect(sum(s.kind == "model" for s in specs))
            parts.append(sections.training(specs, epochs, seed, optimizer, bar.tick))
        if bench:
            from crossframe.bench import benchmarks

            bar.expect(sum(b.spec in names for b in benchmarks().values()))
            parts.append(sections.speed(names, repeats, bar.tick))
    finally:
        bar.close()
    return Report(TITLE, verdict, parts, ok)


def write(report: Report, folder: Path) -> None:
    """Every file of the report into ``folder`` (which must exist and be empty)."""
    tables, images = report.tables(), report.images()
    names = [t.csv for t in tables] + [i.path for i in images]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two report files share a name: {duplicates}")
    for t in tables:
        t.data.to_csv(folder / t.csv, index=False, lineterminator="\n")
    if images:
        (folder / "img").mkdir()
    for i in images:
        (folder / i.path).write_bytes(i.png)
    (folder / "report.md").write_text(markdown.render(report), encoding="utf-8")
    (folder / "index.html").write_text(html.render(report), encoding="utf-8")


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file", "give a folder for the report")
    if out.is_dir() and any(out.iterdir()) and not all((out / m).exists() for m in MARKERS):
        raise InputError(f"--out {out} is a folder that does not hold a crossframe report",
                         "refusing to replace it; give a new or an empty folder")


def replace_atomically(out: Path, fill) -> None:
    """``fill(tmp)`` writes into a fresh folder beside ``out``, which then replaces ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        fill(tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; a report is meant to be read
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_report(out, models=None, dtypes=DTYPES, seed: int = 0, repeats: int = 5,
                 epochs: int = 3, bench: bool = True, train: bool = True, differ: bool = True,
                 optimizer: str = "adam", progress: bool = False) -> Report:
    """Compute the report and write it to ``out`` atomically; returns the Report.

    ``models``: names from the registry (default: every registered model and layer);
    ``repeats``: timed runs per benchmark; ``epochs``: training epochs per model;
    ``bench`` / ``train`` / ``differ``: include the speed / training / differences sections
    (measuring the differences runs optimizers for a few seconds).
    """
    out = Path(out)
    _check_replaceable(out)
    if repeats < 1:
        raise InputError(f"--repeats {repeats} must be at least 1", "pass e.g. 5")
    if epochs < 1:
        raise InputError(f"--epochs {epochs} must be at least 1", "pass e.g. 3")
    report = compose(models, dtypes, seed, repeats, epochs, bench, train, differ, optimizer,
                     progress)
    replace_atomically(out, lambda folder: write(report, folder))
    return report
