"""Argument helpers every verb shares: a parser whose errors are InputErrors, a model's options
as flags, and JSON rows. Imported by the verb modules (``crossframe.cli``, the training, bench
and report verbs); nothing in the core imports it."""
from __future__ import annotations

import argparse
import math
import os
import sys

from .errors import InputError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is an InputError (one line, exit 2), and no abbreviations:
    a model's ``--input`` must never be taken for the verb's ``--inputs``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise InputError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def model_options(spec, extra: list[str]) -> dict:
    """Parse ``--name value`` flags against the spec's declared options.

    Each option answers to ``--return-sequences`` and ``--return_sequences``, and to its older
    aliases (``--hidden`` for ``--units``)."""
    p = Parser(prog=f"crossframe ... {spec.name}", add_help=False)
    for o in spec.options:
        spellings = dict.fromkeys([o.name, *o.aliases])
        flags = dict.fromkeys(f"--{n}" for s in spellings
                              for n in (s.replace("_", "-"), s))
        p.add_argument(*flags, dest=o.name, default=None, help=o.help)
    ns, rest = p.parse_known_args(extra)
    seen: dict[str, str] = {}
    for token in extra:                    # argparse keeps the last of a repeated flag: refuse
        flag = token.split("=", 1)[0]
        if flag.startswith("--"):
            name = flag[2:].replace("-", "_")
            option = next((o.name for o in spec.options if name in (o.name, *o.aliases)), None)
            if option is not None and option in seen:
                raise InputError(f"--{option.replace('_', '-')} is given twice ({seen[option]}, "
                                 f"{flag})", "give it once")
            if option is not None:
                seen[option] = flag
    if rest:
        names = ", ".join(o.flag for o in spec.options) or "none"
        raise InputError(f"unknown option(s) for {spec.name}: {' '.join(rest)}",
                         f"{spec.name} takes: {names}")
    return {k: v for k, v in vars(ns).items() if v is not None}


def table_records(table) -> list[dict]:
    """Rows as plain JSON values, full float precision (inf -> null: strict JSON)."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v.item() if hasattr(v, "item") else v

    return [{k: clean(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def framework_list(text: str | None, default) -> list[str]:
    """``--frameworks scratch,torch`` -> the frameworks, two or more, each known, no repeats."""
    from .frameworks import FRAMEWORKS, VARIANTS

    if text is None:
        return list(default)
    names = [n.strip().lower() for n in text.split(",")]
    if any(not n for n in names):
        raise InputError(f"--frameworks {text!r} has an empty item", "e.g. --frameworks "
                         "scratch,torch")
    known = (*FRAMEWORKS, *VARIANTS)
    for n in names:
        if n not in known:
            from .errors import did_you_mean

            raise InputError(f"--frameworks: unknown framework '{n}'", did_you_mean(n, known))
    if len(set(names)) != len(names) or len(names) < 2:
        raise InputError(f"--frameworks {text!r}: name two or more different frameworks",
                         "e.g. --frameworks scratch,torch")
    same_keras(names, "--frameworks")
    return names


def same_keras(names, flag: str) -> None:
    """Two names for Keras on one backend in this process (``keras`` and ``keras-tensorflow``
    where KERAS_BACKEND is unset) would compare a run with itself: InputError."""
    from .keras_backends import NAMES, runs_here

    here = [n for n in names if n == "keras" or (n in NAMES and runs_here(n))]
    if len(here) > 1:
        raise InputError(f"{flag}: {' and '.join(here)} are the same Keras, on this process' "
                         "backend", "keep one of them (KERAS_BACKEND picks what keras runs on)")


def emit(text: str = "") -> None:
    """print, except that a closed stdout (``| head``) silences the rest instead of failing: the
    exit code stays the one the verb decides (crossframe.cli)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        silence_stdout()
    except OSError as err:        # a full disk, a device that refuses writes: said, not lost
        silence_stdout()
        from .errors import InputError

        raise InputError(f"the output cannot be written ({err.strerror or err})",
                         "free some space, or send the output elsewhere") from None


def silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def add_max_memory(p) -> None:
    p.add_argument("--max-memory", default=None,
                   help="memory budget, e.g. 16G (default: half the machine, at most 8 GiB; "
                        "env CROSSFRAME_MAX_MEMORY)")


def check_seed(seed: int) -> int:
    from .errors import InputError

    if seed < 0:
        raise InputError(f"--seed {seed} must be >= 0", "pass e.g. --seed 0")
    return seed
