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


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so every writer cleans up as on an interrupt."""


# The signals the command line's handlers received during this command, in order of arrival,
# and whether the first has been raised (and not swallowed since).
_signalled: list[int] = []
_raised: list[bool] = [False]


def record_signal(signum: int) -> None:
    """Note a received SIGINT or SIGTERM (called by the handler, before it raises)."""
    if int(signum) not in _signalled:
        _signalled.append(int(signum))


def signalled() -> bool:
    """Whether a signal was recorded since the last ``clear_signals``."""
    return bool(_signalled)


def raised() -> bool:
    """Whether the recorded signal was raised and is on its way out (not swallowed)."""
    return _raised[0]


def signal_lost() -> None:
    """The raise was swallowed (a gc callback, a ``__del__``): it is owed again."""
    _raised[0] = False


def clear_signals() -> None:
    _signalled.clear()
    _raised[0] = False


def raise_if_signalled() -> None:
    """Raise again the first recorded signal: KeyboardInterrupt for SIGINT, ``Terminated``
    for SIGTERM; nothing when none was recorded.

    The handler's own raise is lost when the signal arrives while a garbage-collector
    callback, a ``__del__`` or a weakref callback runs (JAX's ``_xla_gc_callback`` is one,
    and Keras on TensorFlow imports JAX when it is installed): Python prints it as "Exception
    ignored" and goes on. Long loops call this at each step so the command still stops.
    """
    if _signalled:
        import signal

        _raised[0] = True
        raise Terminated() if _signalled[0] == signal.SIGTERM else KeyboardInterrupt()
