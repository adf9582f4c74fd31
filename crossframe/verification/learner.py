"""A learner's layer, loaded from their file (or handed over in Python) and run as a scratch layer.

The protocol (README, "Verify your own layer"), the same one crossframe's textbook layers follow:

    forward(params, x)          -> (y, cache)
    backward(params, cache, dy) -> (grads, dx)

as two module-level functions or as the two methods of a class; a recurrent layer takes and
returns its states as tuples (``forward(params, x, h0[, c0]) -> ((h_seq, h_last[, c_last]),
cache)``, ``backward(params, cache, (dh_seq, dh_last[, dc_last])) -> (grads, (dx, dh0[, dc0]))``).
The layer's options (``strides``, ``padding``, ``reset_after`` ...) go to the class'
constructor, or to ``forward`` / ``backward`` as keyword arguments where the function names
them (or takes ``**options``).

An exception raised inside the learner's code becomes a ``LearnerError`` that shows the
learner's own file and line, not crossframe's traceback.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import signal
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import InputError
from ..scratch.base import Layer
from ..scratch.model import ProtocolError


class LearnerError(Exception):
    """The learner's code raised: the message names their file, line and the error."""


class LearnerTimeout(LearnerError):
    """The learner's code ran past the time limit (an endless loop, most often)."""


@contextmanager
def time_limit(seconds: float | None, what: str = "your layer"):
    """Raise LearnerTimeout inside the code running when ``seconds`` have passed (SIGALRM; no
    limit where there is no such signal or off the main thread)."""
    if not seconds or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise LearnerTimeout(f"{what} ran for more than {seconds:g} s (an endless loop?); check "
                             "that every loop ends, or allow longer with --timeout SECONDS")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Target:
    """What verify runs: module-level functions, or a class (built per run with the options)."""

    name: str                 # "forward/backward in my_lstm.py", "class MyLSTM"
    source: str               # the file, for messages
    functions: tuple | None = None
    cls: type | None = None
    instance: object = None
    updated_state: object = None   # module-level updated_state (a layer with running stats)


def load_file(path: str, name: str | None = None) -> Target:
    """The learner's file, imported; an InputError (exit 2) when it cannot be."""
    if not path or not os.path.isfile(path):
        raise InputError(f"'{path}' is not a file", "give the .py file with your layer")
    if not path.endswith(".py"):
        raise InputError(f"'{path}' is not a Python file", "give a .py file")
    from ..environment import prepare

    prepare()          # TensorFlow's settings before the file can import it
    module_name = f"crossframe_learner_{abs(hash(os.path.abspath(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise InputError(f"{path}:{err.lineno}: SyntaxError: {err.msg}",
                         "fix the line, then run verify again") from None
    except BaseException as err:   # noqa: BLE001 - the learner's module-level code raised
        if isinstance(err, KeyboardInterrupt):
            raise
        raise InputError(f"importing {path} raised {where(err, path)}",
                         "fix it, then run verify again") from None
    return find(module, path, name)


def find(module, path: str, name: str | None = None) -> Target:
    """Module-level forward/backward, else the one class defining both (or ``name``)."""
    own = {k: v for k, v in vars(module).items()
           if getattr(v, "__module__", None) == module.__name__}
    if name is not None:
        obj = own.get(name)
        from .native import kind_of

        if not inspect.isclass(obj) or not (_has_protocol(obj) or kind_of(obj)):
            raise InputError(f"{path} has no class {name} with forward and backward",
                             _choices(own, path))
        return Target(f"class {name}", path, cls=obj)
    if callable(own.get("forward")) and callable(own.get("backward")):
        return Target(f"forward/backward in {os.path.basename(path)}", path,
                      functions=(own["forward"], own["backward"]),
                      updated_state=own.get("updated_state"))
    classes = [v for v in own.values() if inspect.isclass(v) and _has_protocol(v)]
    if not classes:             # a layer written in torch or Keras (crossframe.verification.native)
        from .native import kind_of

        classes = [v for v in own.values() if inspect.isclass(v) and kind_of(v)]
    if len(classes) == 1:
        return Target(f"class {classes[0].__name__}", path, cls=classes[0])
    if not classes:
        missing = [f for f in ("forward", "backward") if not callable(own.get(f))]
        if len(missing) == 1:
            raise InputError(f"{path} defines {'backward' if missing == ['forward'] else 'forward'}"
                             f" but no {missing[0]} function (nor a class with both)",
                             f"add {missing[0]}; `crossframe verify --template LAYER` shows its "
                             "signature")
        raise InputError(f"{path} defines no forward and backward functions, nor a class with "
                         "them", "start from `crossframe verify --template LAYER`")
    raise InputError(f"{path} defines {len(classes)} layer classes "
                     f"({', '.join(c.__name__ for c in classes)})",
                     "say which with --name CLASS")


def _has_protocol(cls) -> bool:
    return callable(getattr(cls, "forward", None)) and callable(getattr(cls, "backward", None))


def _choices(own: dict, path: str) -> str:
    names = [k for k, v in own.items() if inspect.isclass(v) and _has_protocol(v)]
    return f"classes with forward and backward in {path}: {', '.join(names) or 'none'}"


def from_object(obj) -> Target:
    """The Python API: a module, a class, an instance, or a (forward, backward) pair."""
    if isinstance(obj, tuple) and len(obj) == 2 and all(callable(f) for f in obj):
        return Target("forward/backward", _file_of(obj[0]), functions=obj)
    if inspect.ismodule(obj):
        return find(obj, _file_of(obj))
    from .native import kind_of

    if inspect.isclass(obj) and (_has_protocol(obj) or kind_of(obj)):
        return Target(f"class {obj.__name__}", _file_of(obj), cls=obj)
    if _has_protocol(type(obj)):
        return Target(f"{type(obj).__name__} instance", _file_of(type(obj)), instance=obj)
    raise InputError(f"cannot verify {obj!r}", "give a module, a class or an instance with "
                     "forward(params, x) and backward(params, cache, dy), or the two functions")


def _file_of(obj) -> str:
    try:
        return inspect.getsourcefile(obj) or "<python>"
    except TypeError:
        return "<python>"


def _frames(err: BaseException, path: str) -> list:
    return [f for f in traceback.extract_tb(err.__traceback__)
            if os.path.abspath(f.filename) == os.path.abspath(path)]


def where(err: BaseException, path: str) -> str:
    """'my_layer.py:12 in backward: ValueError: ...': the learner's last frame of ``err``."""
    frames = _frames(err, path)
    head = f"{type(err).__name__}: {err}".splitlines()[0]
    if not frames:
        return head
    f = frames[-1]
    code = f" `{f.line.strip()}`" if f.line else ""
    return f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}:{code} {head}"


def signature(decl) -> str:
    """How verify calls a ``decl`` layer: 'forward(params, x, h0, c0)'."""
    states = {"lstm": ", h0, c0"}.get(decl.name, ", h0" if decl.recurrent else "")
    return f"forward(params, x{states})"


def _call(fn, args, options: dict):
    """fn(*args, **the options fn names (all of them if it takes **options))."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn(*args)
    params = sig.parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(*args, **options)
    named = {k: v for k, v in options.items() if k in sig.parameters}
    return fn(*args, **named)


def adapter(target: Target, decl):
    """A scratch layer class (``cls(**options)``) that runs the learner's code."""

    class LearnerLayer(Layer):
        declaration = decl
        source = target.source

        def __init__(self, **options):
            self.options = dict(options)
            if target.cls is not None:
                try:
                    self.obj = _call(target.cls, (), self.options)
                except Exception as err:  # noqa: BLE001
                    raise LearnerError(f"building {target.name} raised "
                                       f"{where(err, target.source)}") from err
            else:
                self.obj = target.instance

        def _run(self, which: str, *args, **mode):
            if which == "updated_state":
                fn = target.updated_state if target.functions else \
                    getattr(self.obj, "updated_state", None)
                if not callable(fn):
                    raise ProtocolError(f"{decl.title} keeps running statistics: your file "
                                        "has no updated_state(params, cache, training) "
                                        "returning them after the pass")
            else:
                fn = getattr(self.obj, which) if target.functions is None else \
                    target.functions[0 if which == "forward" else 1]
            try:
                return _call(fn, args, {**(self.options if target.functions else {}), **mode})
            except LearnerError:
                raise
            except Exception as err:  # noqa: BLE001 - the learner's code raised
                if isinstance(err, TypeError) and not _frames(err, target.source):
                    # the call itself failed: the file is another layer, or another protocol
                    raise LearnerError(
                        f"your {which} cannot be called as verify calls a {decl.title} "
                        f"layer, {signature(decl)} and backward(params, cache, dy) ({err}); "
                        f"is --layer {decl.name} the layer your file implements?") from err
                raise LearnerError(f"your {which} raised {where(err, target.source)}") from err

        def forward(self, params, x, *states, **mode):
            return self._run("forward", params, x, *states, **mode)

        def updated_state(self, params, cache, **mode):
            return self._run("updated_state", params, cache, **mode)

        def backward(self, params, cache, dy):
            return self._run("backward", params, cache, dy)

    LearnerLayer.__name__ = LearnerLayer.__qualname__ = target.name.split()[-1]
    return LearnerLayer


__all__ = ["LearnerError", "LearnerTimeout", "Target", "adapter", "from_object", "load_file",
           "time_limit"]
