"""A SIGINT or SIGTERM is never lost: the command line's handlers record the signal before they
raise, and ``errors.raise_if_signalled`` raises it again where a long loop steps.

The raise itself is lost when the signal arrives while a garbage-collector callback runs (JAX
registers one, ``_xla_gc_callback``, and Keras on TensorFlow imports JAX when it is installed):
Python prints "Exception ignored in ..." and goes on. These tests make that happen on purpose,
with no timing: the callback raises the handler's exception itself (in process), or raises the
signal with ``signal.raise_signal``, whose handler runs before that call returns (in a process
of its own, so a real handler and exit code).
"""
from __future__ import annotations

import gc
import signal
import subprocess
import sys
import textwrap

import pytest

from crossframe import cli
from crossframe.errors import (Terminated, clear_signals, raise_if_signalled, record_signal,
                               signalled)


@pytest.fixture(autouse=True)
def _no_record_left():
    clear_signals()
    yield
    clear_signals()


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt),
                                            (signal.SIGTERM, Terminated)])
def test_a_recorded_signal_is_raised_again_until_cleared(signum, raised):
    raise_if_signalled()                       # nothing recorded: nothing raised
    record_signal(signum)
    for _ in range(2):                         # every step after it stops, not just the first
        with pytest.raises(raised):
            raise_if_signalled()
    clear_signals()
    assert not signalled()
    raise_if_signalled()


def test_the_first_signal_decides():
    record_signal(signal.SIGTERM)
    record_signal(signal.SIGINT)
    with pytest.raises(Terminated):
        raise_if_signalled()


@pytest.fixture
def resent(monkeypatch):
    """The signals the command line would send itself again, kept here instead; main's
    handlers as if in place."""
    sent = []
    monkeypatch.setattr(cli, "_send_again", sent.append)
    monkeypatch.setattr(cli, "_catching", [True])
    return sent


def _collect_with(callback, hook):
    previous, sys.unraisablehook = sys.unraisablehook, hook
    gc.callbacks.append(callback)
    try:
        gc.collect()                           # a raise ends in the callback: Python drops it
    finally:
        gc.callbacks.remove(callback)
        sys.unraisablehook = previous


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt),
                                            (signal.SIGTERM, Terminated)])
def test_a_raise_a_gc_callback_swallows_is_kept_sent_again_and_not_printed(signum, raised,
                                                                          resent):
    heard, seen = [], []

    def callback(phase, info):
        if phase == "start":
            try:
                cli._on_signal(signum, sys._getframe())   # the signal lands in the callback
            except BaseException as error:
                seen.append(type(error))
                raise

    _collect_with(callback, cli._quiet_lost_signal(heard.append))
    assert seen == [raised]                    # the handler did raise, where it was lost
    assert heard == []                         # no "Exception ignored in ..." on stderr
    assert resent == [signum]                  # owed again, so any verb stops
    with pytest.raises(raised):
        cli._on_signal(signum, sys._getframe())  # the signal sent again, in plain code
    with pytest.raises(raised):
        raise_if_signalled()                   # and each step of a report stops too


def test_a_signal_once_raised_is_not_raised_again_by_the_handler(resent):
    with pytest.raises(KeyboardInterrupt):
        cli._on_signal(signal.SIGINT, sys._getframe())
    cli._on_signal(signal.SIGINT, sys._getframe())   # a second Ctrl-C: the clean-up goes on
    assert resent == []


def test_any_other_lost_exception_is_still_reported(resent):
    heard = []

    def callback(phase, info):
        raise ValueError("a callback's own bug")

    _collect_with(callback, cli._quiet_lost_signal(heard.append))
    assert [type(u.exc_value) for u in heard] == [ValueError, ValueError]   # start and stop
    assert resent == []


def test_main_clears_the_record_and_puts_everything_back(capsys):
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    hook = sys.unraisablehook
    record_signal(signal.SIGINT)               # left from an earlier command in this process
    assert cli.main(["list"]) == 0             # cleared at the start: the command runs
    assert "mlp" in capsys.readouterr().out
    assert not signalled()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert sys.unraisablehook is hook


# A command whose verb gets the signal inside a gc callback, then steps on as a report does.
# Before the fix it printed every step and exited 0, the "Exception ignored" on stderr.
SCRIPT = textwrap.dedent("""
    import argparse, gc, signal, sys
    from crossframe import cli
    from crossframe.errors import raise_if_signalled

    def verb(args, extra):
        def callback(phase, info):
            gc.callbacks.remove(callback)
            signal.raise_signal(signal.{name})   # the handler runs before this returns
        gc.callbacks.append(callback)
        gc.collect()                             # the raise is swallowed in there
        for step in range(3):
            raise_if_signalled()
            print("step", step, flush=True)
        return 0

    def parser():
        p = argparse.ArgumentParser()
        p.set_defaults(func=verb, verb="signalled")
        return p

    cli.build_parser = parser
    sys.exit(cli.main([]))
""")


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)   # as a shell has it (xdist ignores SIGINT)


@pytest.mark.parametrize("name, code, word", [("SIGINT", 130, "interrupted"),
                                              ("SIGTERM", 143, "terminated")])
def test_a_swallowed_signal_still_stops_the_command(name, code, word):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(name=name)], capture_output=True,
                         text=True, preexec_fn=_default_sigint, timeout=120)
    # stopped by the signal sent again or at the first step, whichever comes first
    assert out.stdout == "", out.stdout
    assert out.returncode == code, out.stderr
    assert out.stderr.strip().splitlines() == [f"crossframe: {word}; nothing was written"], \
        out.stderr


# A command whose verb gets the signal in the middle of an import (a native module's
# initialiser may abort the process on an exception raised there), then runs on with no step
# that calls raise_if_signalled: the signal sent again stops it.
IMPORTING = textwrap.dedent("""
    import argparse, sys, time
    from crossframe import cli

    def verb(args, extra):
        sys.path.insert(0, {folder!r})
        import signalled_on_import
        for _ in range(500):
            time.sleep(0.01)
        print("ran to the end", flush=True)
        return 0

    def parser():
        p = argparse.ArgumentParser()
        p.set_defaults(func=verb, verb="signalled")
        return p

    cli.build_parser = parser
    sys.exit(cli.main([]))
""")


@pytest.mark.parametrize("name, code, word", [("SIGINT", 130, "interrupted"),
                                              ("SIGTERM", 143, "terminated")])
def test_a_signal_during_an_import_waits_for_its_end(name, code, word, tmp_path):
    (tmp_path / "signalled_on_import.py").write_text(
        f"import signal\nsignal.raise_signal(signal.{name})\nprint('imported', flush=True)\n")
    out = subprocess.run([sys.executable, "-c", IMPORTING.format(folder=str(tmp_path))],
                         capture_output=True, text=True, preexec_fn=_default_sigint,
                         timeout=120)
    assert out.stdout == "imported\n", out.stdout
    assert out.returncode == code, out.stderr
    assert out.stderr.strip().splitlines() == [f"crossframe: {word}; nothing was written"], \
        out.stderr
