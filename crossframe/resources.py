"""The memory budget: estimate before allocating, refuse above it with the estimate and the fix.

A check runs a model in three frameworks, forward and backward; its memory is dominated by the
parameters (each framework's copy, its gradients, the optimizer's state when training) and the
activations a backward pass keeps (each layer's output and its working arrays: im2col columns,
a recurrent layer's gates at every step). ``estimate`` adds those up from the Sequential's
shapes, without allocating anything, and ``guard`` refuses a run whose estimate is above the
budget, with one line that gives both numbers and the fix.

The budget: ``--max-memory`` (e.g. ``16G``), else ``CROSSFRAME_MAX_MEMORY``, else half of the
machine's memory, at most 8 GiB. The estimate is deliberately generous (a factor for every
framework's copies and temporaries), so a run it admits fits; the default budget leaves room
for the frameworks themselves (importing TensorFlow and torch takes about 1 GiB).
"""
from __future__ import annotations

import math
import os

from .errors import InputError

GIB = 1024 ** 3
DEFAULT_CAP = 8 * GIB
_budget: int | None = None


def parse_size(text: str) -> int:
    """"16G", "512M", "1.5GiB", "2000000000" -> bytes."""
    raw = str(text).strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1024, "M": 1024 ** 2, "G": GIB, "T": 1024 * GIB}
    scale = units.get(raw[-1:], 1)
    number = raw[:-1] if raw[-1:] in units else raw
    try:
        value = float(number) * scale
    except ValueError:
        raise InputError(f"--max-memory {text!r} is not a size",
                         "give e.g. 16G, 512M or a number of bytes") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"--max-memory {text!r} must be positive", "give e.g. 16G")
    return int(value)


def total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 2 * DEFAULT_CAP


def budget() -> int:
    if _budget is not None:
        return _budget
    env = os.environ.get("CROSSFRAME_MAX_MEMORY")
    if env:
        try:
            return parse_size(env)
        except InputError as err:
            raise InputError(f"CROSSFRAME_MAX_MEMORY={env!r}: "
                             f"{err.problem.replace(f'--max-memory {env!r} ', '')}",
                             "set it to e.g. 16G, or unset it") from None
    return min(DEFAULT_CAP, total_memory() // 2)


def set_budget(text: str | None) -> None:
    """``--max-memory``: None keeps the default."""
    global _budget
    _budget = None if text is None else parse_size(text)


def text(n: float) -> str:
    for unit, size in (("TiB", 1024 * GIB), ("GiB", GIB), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _per_sample(cfg) -> int:
    """Numbers a layer keeps per sample for its backward pass: its output, and its working
    arrays (a convolution's im2col columns; a recurrent layer's k gates and states per step)."""
    out = math.prod(cfg.flow_out.shape)
    name = cfg.decl.name
    if name == "conv2d":
        (kh, kw), C = cfg.opts["kernel_size"], cfg.flow_in.features
        return out + math.prod(cfg.flow_out.shape[:2]) * kh * kw * C + \
            math.prod(cfg.flow_in.shape)
    if cfg.decl.recurrent:
        T, H = cfg.flow_in.shape[0], cfg.opts["units"]
        k = len(getattr(cfg.decl, "gates", ("h",)))
        return out + T * (k + 4) * H + math.prod(cfg.flow_in.shape)
    return out + math.prod(cfg.flow_in.shape)


def estimate(model, batch_size: int, dtype: str, frameworks: int = 3) -> int:
    """Bytes a check of ``model`` on ``batch_size`` samples needs, about (see the module)."""
    itemsize = 4 if dtype == "float32" else 8
    params = sum(math.prod(p.shape) for p in model.params())
    inputs = sum(math.prod(s) for s in model.inputs.values())
    activations = inputs + sum(_per_sample(cfg) for cfg in model.layers)
    # per framework: the weights, a copy in its layout, the gradients; the batch's activations
    # forward and their gradients backward, twice for temporaries
    return itemsize * frameworks * (3 * params + 4 * batch_size * activations)


def guard(need: int, what: str, fix: str = "") -> None:
    """Refuse (an InputError, nothing allocated yet) when ``need`` bytes exceed the budget."""
    limit = budget()
    if need > limit:
        source = " (CROSSFRAME_MAX_MEMORY)" if _budget is None and \
            os.environ.get("CROSSFRAME_MAX_MEMORY") else ""
        raise InputError(f"{what}: about {text(need)}, above the memory budget of "
                         f"{text(limit)}{source}",
                         (fix + ", or " if fix else "") + "raise it with --max-memory"
                         + (" or CROSSFRAME_MAX_MEMORY" if source else ""))
