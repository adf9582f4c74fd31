"""Build the comparison report and write it atomically.

    from crossframe.reports.build import build_report
    build_report("reports/out")                                  # everything (make report)
    build_report(tmp, models=["mlp", "dense"], repeats=1, epochs=1)   # a small one, for tests

Output folder: index.html (self-contained), report.md, one CSV per table, img/*.png, and
``.crossframe-report``: the marker that says crossframe wrote this folder, listing the files it
wrote. Everything the run needs is checked before any computing (the names, the dtypes, the
optimizer, that the folder can be written and has room), everything is computed next, then
written into a temporary folder beside ``out``:

- a new or empty ``out``, or one holding only an earlier report's files, is replaced in two
  renames: a failure part-way leaves the previous report as it was;
- a folder crossframe did not write (no marker) and that is not empty is refused, unless
  ``force``; then, as in a report folder where the user added files of their own, the report's
  files are moved in one by one and nothing crossframe did not write is ever removed.
An error or a signal (SIGINT, SIGTERM) leaves no temporary folder behind.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from crossframe.errors import InputError, raise_if_signalled
from crossframe.tolerances import DTYPES

from . import backends, guide, html, lessons, markdown, sections, training
from .document import Report

TITLE = "crossframe — NumPy from scratch vs PyTorch vs Keras: the comparison report"
ALWAYS_WRITTEN = ("index.html", "report.md")   # in every report, whatever the models
MARKER = ".crossframe-report"   # written by crossframe into every report folder: its files
FREE_SPACE = 64 * 1024 ** 2      # what a report needs on disk, with room (it is ~5-15 MB)


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
    """A tqdm bar whose total is known before the first step; ``tick`` = one step done."""

    def __init__(self, enabled: bool, total: int):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="report", unit="step", disable=not enabled,
                        dynamic_ncols=True)
        self._pending = False

    def tick(self, label: str) -> None:
        raise_if_signalled()     # an interrupt a gc callback swallowed still stops the report
        if self._pending:
            self.bar.update(1)
        self.bar.set_postfix_str(label)
        self._pending = True

    def close(self) -> None:
        if self._pending:
            self.bar.update(1)
        self.bar.close()


def steps(specs, dtypes, train: bool, differ: bool, bench: bool, named: bool = False) -> int:
    """Every step of a report, counted before the first: the environment, a check per model
    and dtype, a plot per model, each difference measured, each model measured without the
    float64 fix on each Keras backend, each model trained, each benchmark and the sweep."""
    from crossframe.spec import differences

    names = [s.name for s in specs]
    return (1 + len(specs) * len(dtypes) + len(specs) + lessons.steps(specs)
            + (len(differences()) + backends.steps(specs) if differ else 0)
            + (len(training.chosen(specs, named)) if train else 0)
            + (sections.speed_steps(names) if bench else 0))


def compose(models=None, dtypes=DTYPES, seed: int = 0, repeats: int = 5,
            epochs: int | None = None,
            bench: bool = True, train: bool = True, differ: bool = True,
            optimizer: str = "adam", progress: bool = False) -> Report:
    """Compute every section (nothing is written)."""
    specs = select(models)
    names = [s.name for s in specs]
    named = models is not None
    bar = Progress(progress, steps(specs, dtypes, train, differ, bench, named))
    unfixed = checks = None
    started = backends.start_workers()
    try:
        env = sections.environment(seed, bar.tick)
        # every case goes to the other backends' workers now; this process runs its own three
        # frameworks, draws, measures and trains while they compute, and collects theirs last
        checks = sections.Checks(specs, dtypes, seed)
        if differ:
            unfixed = backends.Unfixed(specs, seed)
        checks.local(bar.tick, each=lambda c: sections.draw(c, bar.tick))
        differences = sections.differences(bar.tick) if differ else None
        trained = training.training(specs, epochs, seed, optimizer, bar.tick, named) \
            if train else None
        checked = checks.finish()
        ok, verdict = sections.verdict(checked, dtypes)
        # the glance first: it is what a reader (or a class) looks at; the environment after it
        parts = [sections.parity(checked, dtypes), env, *sections.per_model(checked, bar.tick)]
        # a lesson quotes the measured size of each difference that concerns its layer kind
        parts += lessons.sections(checked, measured(differences), bar.tick)
        if differ:
            parts.append(differences)
            parts.append(backends.section(unfixed, checked, bar.tick))
        if trained is not None:
            parts.append(trained)
        if bench:       # after the workers are idle: Keras on JAX and torch is timed there
            parts.append(sections.speed(names, repeats, bar.tick))
        # after the matrix: how to read it, linking only to the sections this report has
        parts.insert(1, guide.section(checked, dtypes, present={p.id for p in parts}))
    finally:
        started.close()
        for pending in (checks, unfixed):
            if pending is not None:
                pending.close()
        bar.close()
    return Report(TITLE, verdict, parts, ok)


def measured(differences) -> dict[str, float] | None:
    """{topic: measured relative difference} from the differences section (None: not run)."""
    if differences is None:
        return None
    (table,) = [b for b in differences.blocks if getattr(b, "name", "") == "differences"]
    return dict(zip(table.data["topic"], table.data["measured_rel"].astype(float)))


def write(report: Report, folder: Path) -> list[str]:
    """Every file of the report into ``folder`` (which must exist and be empty); returns their
    names, relative to it."""
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
    return names + ["report.md", "index.html"]


def _manifest(out: Path) -> list[str] | None:
    """The files an earlier run wrote into ``out`` (None: crossframe did not write it)."""
    marker = out / MARKER
    if not marker.is_file():
        return None
    try:
        written = json.loads(marker.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [f for f in written if isinstance(f, str) and ".." not in Path(f).parts]


def _user_files(out: Path, ours: list[str]) -> list[str]:
    """What is in ``out`` that crossframe did not write, relative paths."""
    mine = set(ours) | {MARKER, "img"}
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if str(p.relative_to(out)) not in mine)


def check_out(out: Path, force: bool = False) -> None:
    """Everything about the output folder that can be checked before any computing."""
    if out.is_symlink():
        raise InputError(f"--out {out} is a symbolic link", "give the folder it points to, or "
                         "a new folder")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file", "give a folder for the report")
    if out.is_dir() and any(out.iterdir()) and _manifest(out) is None and not force:
        mine = [p.name for p in sorted(out.iterdir())][:3]
        raise InputError(f"--out {out} holds files crossframe did not write "
                         f"({', '.join(mine)}{', ...' if len(list(out.iterdir())) > 3 else ''})",
                         "give a new or empty folder, or pass --force to write the report into "
                         "it (nothing of yours is removed)")
    if out.is_dir():
        earlier = _manifest(out) or []
        taken = [n for n in ALWAYS_WRITTEN if (out / n).exists() and n not in earlier]
        if taken:
            raise InputError(f"--out {out} holds {', '.join(taken)} that crossframe did not "
                             "write and a report would replace", "move them, or give another "
                             "folder (--force never overwrites a file of yours)")
    from crossframe.writing import check_folder

    check_folder(str(out), "--out")
    parent = out if out.is_dir() else out.parent
    while not parent.exists():
        parent = parent.parent
    free = shutil.disk_usage(parent).free
    if free < FREE_SPACE:
        raise InputError(f"--out {out}: only {free // 1024 ** 2} MiB free on that disk",
                         f"a report needs about {FREE_SPACE // 1024 ** 2} MiB; free some space "
                         "or give another folder")


def replace_atomically(out: Path, fill, force: bool = False) -> None:
    """``fill(tmp) -> names`` writes into a fresh folder beside ``out``; then ``out`` gets them
    (see the module docstring: a swap where nothing of the user's is in ``out``, else a merge
    that removes only what an earlier report wrote)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        names = fill(tmp)
        (tmp / MARKER).write_text(json.dumps({"written_by": "crossframe report",
                                              "files": names}, indent=1), encoding="utf-8")
        mask = os.umask(0)
        os.umask(mask)
        tmp.chmod(0o777 & ~mask)  # mkdtemp makes it 0700; a report is meant to be read
        earlier = _manifest(out) if out.is_dir() else None
        if not out.exists() or not any(out.iterdir()):
            if out.exists():
                out.rmdir()
            tmp.rename(out)
        elif earlier is not None and not _user_files(out, earlier):
            out.rename(old)
            tmp.rename(out)
        else:
            _merge(tmp, out, names, earlier or [])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _merge(tmp: Path, out: Path, names: list[str], earlier: list[str]) -> None:
    """Move the new files in one by one; remove only files an earlier report wrote. A file of
    the user's under one of the new names: refused before anything is moved."""
    theirs = [n for n in names if (out / n).exists() and n not in earlier]
    if theirs:
        raise InputError(f"--out {out} holds {', '.join(theirs[:3])} that crossframe did not "
                         "write and the report would replace; nothing was changed",
                         "move them, or give another folder")
    for name in names:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / name, target)
    for name in set(earlier) - set(names):
        stale = out / name
        if stale.is_file():
            stale.unlink()
    os.replace(tmp / MARKER, out / MARKER)


def build_report(out, models=None, dtypes=DTYPES, seed: int = 0, repeats: int = 5,
                 epochs: int | None = None, bench: bool = True, train: bool = True,
                 differ: bool = True, optimizer: str = "adam", progress: bool = False,
                 force: bool = False) -> Report:
    """Check everything, compute the report, and write it to ``out`` (see the module).

    ``models``: names from the registry (default: every registered model and layer);
    ``repeats``: timed runs per benchmark; ``epochs``: training epochs for every model (None:
    each model's recipe, crossframe.training.recipes);
    ``bench`` / ``train`` / ``differ``: include the speed / training / differences sections
    (measuring the differences runs optimizers for a few seconds; ``differ`` also measures
    Keras on JAX and torch without crossframe's float64 fix); ``force``: write into a
    non-empty folder crossframe did not write (nothing in it is removed).
    """
    from crossframe.environment import keras_backend_error
    from crossframe.training.config import make_config

    out = Path(out)
    if seed < 0:
        raise InputError(f"--seed {seed} must be >= 0", "pass e.g. --seed 0")
    from crossframe.bench import MAX_REPEATS

    if not 1 <= repeats <= MAX_REPEATS:
        raise InputError(f"--repeats {repeats} must be from 1 to {MAX_REPEATS}", "pass e.g. 5")
    if epochs is not None and epochs < 1:
        raise InputError(f"--epochs {epochs} must be at least 1", "pass e.g. 3")
    if train:
        make_config(optimizer)          # an unknown optimizer: one line now, not "not trained"
    select(models)
    if keras_backend_error() is not None:
        raise keras_backend_error()
    check_out(out, force)
    report = compose(models, dtypes, seed, repeats, epochs, bench, train, differ, optimizer,
                     progress)
    replace_atomically(out, lambda folder: write(report, folder), force)
    return report
