"""Errors a user can act on.

``InputError`` is bad input: an unknown name, a bad flag value, a weights file that is missing,
corrupt, pickled, or holds the wrong parameters. The CLI prints its message as one line and
exits 2, with no traceback and nothing written. Each message names the problem and the fix.
"""
from __future__ import annotations


class InputError(Exception):
    """Bad input from the user: the CLI prints ``str(err)`` on one line and exits 2."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem, self.fix = problem, fix
        message = problem if not fix else f"{problem} — {fix}"
        super().__init__(" ".join(message.split()))  # always one line


def did_you_mean(name: str, choices) -> str:
    """A short hint listing the valid choices, closest first."""
    import difflib

    choices = sorted(choices)
    said = name.strip().lower().replace("_", "-")
    # the same letters in another order (a swapped pair: "adma") first; then the name with "_"
    # for "-" or in another case ("Keras_JAX"); a part of a longer name ("jax" for keras-jax),
    # then difflib's ratio
    close = [c for c in choices if sorted(c) == sorted(name)] or \
        [c for c in choices if c.lower().replace("_", "-") == said] or \
        [c for c in choices if len(said) >= 3 and said in c.lower().replace("_", "-").split("-")] \
        or difflib.get_close_matches(name, choices, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}choose one of: {', '.join(choices)}"
