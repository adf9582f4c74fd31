"""Framework-neutral geometry: padding rules, output sizes, and the parsing of sizes.

Every implementation (scratch, torch, Keras) and every declaration reads its sizes from here, so
the three can never disagree on an output size or a pad.

Shape legend: ``size`` an input length along one axis (H, W or L), ``kernel`` a window length
(kh, kw or k), ``stride`` a step (sh, sw or s), ``dilation`` the gap between taps (d: tap t
reads input t*d; 1 = adjacent).

Keras' (TensorFlow's) rule, which is the canonical one::

    padding="valid":  out = floor((size - kernel) / stride) + 1      (rows that do not fit drop)
    padding="same":   out = ceil(size / stride)
                      total = max((out - 1) * stride + kernel - size, 0)
                      before = total // 2,  after = total - before

    padding="causal": (1-D only) out = ceil(size / stride)
                      before = (kernel - 1) * dilation,  after = 0

so an odd extra zero goes *after* (bottom/right), and at stride 2 often all of them do. With a
dilation ``d`` every rule reads the *effective* kernel ``(kernel - 1) * d + 1`` (the span of
the taps), as TensorFlow does. torch's ``nn.Conv2d(padding=p)`` pads ``p`` on both sides and
refuses ``padding="same"`` when strided, and has no "causal", so the torch implementation pads
explicitly with these amounts.
"""
from __future__ import annotations

import numbers

PADDINGS = ("valid", "same")                 # 2-D layers (and pools)
PADDINGS_1D = ("valid", "same", "causal")    # Conv1D adds "causal"


def effective(kernel: int, dilation: int = 1) -> int:
    """The span of a dilated kernel: ``(kernel - 1) * dilation + 1`` input positions.

    >>> effective(3), effective(3, 2), effective(1, 5)
    (3, 5, 1)
    """
    return (kernel - 1) * dilation + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Zeros to add (before, after) along one axis for Keras' ``padding="same"``.

    >>> same_padding(28, 3, 1), same_padding(28, 3, 2), same_padding(5, 4, 1), same_padding(5, 2, 3)
    ((1, 1), (0, 1), (1, 2), (0, 0))
    >>> same_padding(9, 2, 1, dilation=3)   # effective kernel 4: total 3, the odd one after
    (1, 2)
    """
    out = -(-size // stride)  # ceil without floats
    total = max((out - 1) * stride + effective(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def pads(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> tuple[int, int]:
    """(before, after) zeros along one axis for ``padding`` "valid" (none), "same" or "causal"
    (all ``(kernel - 1) * dilation`` before: output t sees inputs up to t, never later)."""
    if padding == "valid":
        return (0, 0)
    if padding == "causal":
        return (effective(kernel, dilation) - 1, 0)
    return same_padding(size, kernel, stride, dilation)


def output_size(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis; ``ValueError`` when no window fits ("valid")."""
    if padding not in PADDINGS_1D:
        raise ValueError(f"padding: expected one of {PADDINGS_1D}, got {padding!r}")
    if padding in ("same", "causal"):
        return -(-size // stride)
    span = effective(kernel, dilation)
    if size < span:
        what = f"window ({kernel})" if dilation == 1 else \
            f"dilated window ({kernel} taps {dilation} apart: {span})"
        raise ValueError(f"padding='valid': the {what} is larger than the input "
                         f"({size}); use padding='same' or a smaller window")
    return (size - span) // stride + 1


def single(value, name: str = "size") -> int:
    """A 1-D size: ``3``, ``"3"`` or ``(3,)`` -> 3 (Keras' Conv1D takes an int or a 1-tuple).
    Raises ``ValueError`` unless it is one integer >= 1."""
    if isinstance(value, str):
        text = value.strip().strip("()[]").rstrip(",").strip()
        if not text.lstrip("+").isdigit():
            raise ValueError(f"{name}: {value!r} is not a 1-D size (e.g. 3)")
        out = int(text)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        out = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 1 and isinstance(
            value[0], numbers.Integral) and not isinstance(value[0], bool):
        out = int(value[0])
    else:
        raise ValueError(f"{name}: {value!r} is not a 1-D size (e.g. 3)")
    if out < 1:
        raise ValueError(f"{name}: {value!r} must be at least 1")
    return out


def pair(value, name: str = "size") -> tuple[int, int]:
    """A 2-D size as (height, width): ``3`` -> (3, 3); ``"3x2"``, ``"3,2"`` or ``(3, 2)`` ->
    (3, 2). Raises ``ValueError`` unless both entries are integers >= 1."""
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        parts = [p.strip() for p in text.replace("x", ",").split(",")]
        if len(parts) not in (1, 2) or not all(p.lstrip("+").isdigit() for p in parts):
            raise ValueError(f"{name}: {value!r} is not a size (e.g. 3 or 3x2)")
        h, w = int(parts[0]), int(parts[-1])
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        h = w = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        h, w = int(value[0]), int(value[1])
    else:
        raise ValueError(f"{name}: {value!r} is not a size (e.g. 3 or 3x2)")
    if h < 1 or w < 1:
        raise ValueError(f"{name}: {value!r} must be at least 1")
    return h, w


def shape(text, name: str = "shape") -> tuple[int, ...]:
    """A per-sample shape: ``"28x28x3"``, ``"28,28,3"``, ``"(8, 16)"``, ``64`` or a tuple ->
    a tuple of integers >= 1. Raises ``ValueError`` otherwise."""
    if isinstance(text, numbers.Integral) and not isinstance(text, bool):
        parts = [text]
    elif isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        cleaned = str(text).strip().strip("()[]").replace("x", ",")
        items = [p.strip() for p in cleaned.split(",")]
        if items and items[-1] == "" and str(text).strip().endswith(")"):
            items = items[:-1]                   # "(64,)": Python's one-tuple
        try:
            parts = [int(p) for p in items]
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a shape (e.g. 28x28x3)") from None
    if not parts or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool)
                            and p >= 1 for p in parts):
        raise ValueError(f"{name}: {text!r} is not a shape of sizes >= 1 (e.g. 28x28x3)")
    return tuple(int(p) for p in parts)


def shape_text(s) -> str:
    """(28, 28, 3) -> "28x28x3"."""
    return "x".join(str(v) for v in s)


def sizes(text, name: str = "sizes") -> list[int]:
    """"32,16" -> [32, 16]: a list of layer sizes, each >= 1 (an empty item is an error)."""
    if isinstance(text, numbers.Integral) and not isinstance(text, bool):
        items = [text]
    elif isinstance(text, (list, tuple)):
        items = list(text)
    else:
        items = [p.strip() for p in str(text).split(",")]
        if any(p == "" for p in items):
            raise ValueError(f"{name}: {text!r} has an empty item")
        try:
            items = [int(p) for p in items]
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a list of integers") from None
    if not items or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                            and v >= 1 for v in items):
        raise ValueError(f"{name}: {text!r} must be positive integers, e.g. 32,16")
    return [int(v) for v in items]
