"""How to draw a parameter's error so that its structure shows: 2-D view, axis names, gate blocks.

Everything is read from the declarations, never from a list of model names, so a model added
later is drawn the same way:

- **2-D view**: the last axis becomes the columns (output units of a Dense kernel ``(in, out)``,
  gate columns of a recurrent ``(D, kH)`` kernel, output channels of a conv kernel
  ``(kh, kw, I, O)``); all other axes are flattened into rows. A bias ``(n,)`` is one row.
- **axis names**: from the parameter's doc when it spells a shape with as many entries as the
  tensor has axes, e.g. ``"kernel (kh, kw, I, O)"`` -> rows ``kh*kw*I``, columns ``O``.
- **gate blocks** (equal column blocks along the last axis), in this order of trust:
  1. a ``BlockReorder`` in any framework's mapping of that parameter acting on its last axis
     (followed through transposes and row picks: the GRU's ``z,r,h``);
  2. the words "gate(s) (blocks) (in the order) i, f, g, o" in the parameter doc, then in the
     spec's summary and notes;
  3. a size written ``4H`` / ``3H`` in the parameter doc (blocks named ``1..k``).
  A declaration is used only when its block count divides the last axis.
- **row blocks**: a tensor of 3 or more axes, e.g. a conv kernel ``(kh, kw, I, O)``, has one
  block of ``I`` rows per position of its leading axes (each tap ``kh, kw``), drawn with a
  boundary and labelled ``0,0``, ``0,1``, ...
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from crossframe.mapping import (BlockReorder, Chain, Identity, Permute, Row, Scale, Transform,
                                Transpose)
from crossframe.spec import FRAMEWORKS, ParamSpec, Spec

_GATE_WORDS = re.compile(
    r"\bgates?(?:\s+blocks?)?(?:\s+in\s+the(?:\s+\w+)?\s+order)?\s*:?\s*"
    r"([a-z]\w{0,3}(?:\s*,\s*[a-z]\w{0,3})+)\b", re.IGNORECASE)
_BLOCK_SIZE = re.compile(r"\b([2-9])\s*\*?\s*H\b")
_SHAPE_WORDS = re.compile(r"\(([^()]+)\)")


@dataclass(frozen=True)
class View:
    """A parameter drawn as a 2-D image."""

    rows: str  # what a row is, e.g. "kh*kw*I" or "in"
    cols: str  # what a column is, e.g. "O" or "out"
    blocks: tuple[str, ...] = ()  # gate-block names along the columns, or () for none
    # row blocks of a tensor with 3 or more axes: the rows are (leading axes) x (axis -2), so
    # every ``group`` rows are one position of the leading axes (a conv kernel's tap (kh, kw),
    # ``group`` = its input channels); 0: no row blocks
    group: int = 0
    group_axes: str = ""  # the leading axes' names, e.g. "kh,kw"

    def row_blocks(self, shape: tuple[int, ...]) -> list[tuple[int, str]]:
        """(first row, label) of every row block, e.g. (0, "0,0"), (3, "0,1"), ... for a
        (3, 3, 3, 4) kernel; [] when the view has none."""
        if not self.group:
            return []
        lead = shape[:-2]
        return [(i * self.group, ",".join(map(str, idx)))
                for i, idx in enumerate(np.ndindex(*lead))]


def as_2d(a: np.ndarray) -> np.ndarray:
    """Last axis -> columns, the other axes flattened into rows; a scalar is 1x1."""
    a = np.asarray(a)
    if a.ndim == 0:
        return a.reshape(1, 1)
    return a.reshape(-1, a.shape[-1])


def _steps(t: Transform) -> list[Transform]:
    return [s for step in t.steps for s in _steps(step)] if isinstance(t, Chain) else [t]


def _reorder_on_last_axis(transform: Transform, ndim: int) -> tuple[str, ...]:
    """The canonical block names of a BlockReorder acting on the canonical last axis.

    The axis is followed through the chain: a transpose moves it, a row pick drops axis 0.
    """
    pos = ndim - 1
    for t in _steps(transform):
        if isinstance(t, BlockReorder):
            if t.axis % ndim == pos:
                return tuple(t.src)
        elif isinstance(t, Transpose):
            pos = list(t.axes).index(pos)
        elif isinstance(t, Row):
            if pos == 0:
                return ()
            pos, ndim = pos - 1, ndim - 1
        elif not isinstance(t, (Identity, Scale, Permute)):
            return ()  # a transform this function does not know how to follow
    return ()


def _declared_reorder(spec: Spec, opts: dict, param: ParamSpec) -> tuple[str, ...]:
    for fw in FRAMEWORKS:
        for entry in spec.mapping(fw, opts).params:
            if entry.canonical == param.name:
                names = _reorder_on_last_axis(entry.transform, len(param.shape))
                if names:
                    return names
    return ()


def _named_in_words(texts: list[str]) -> tuple[str, ...]:
    for text in texts:
        m = _GATE_WORDS.search(text)
        if m:
            return tuple(n.strip() for n in m.group(1).split(","))
    return ()


def _sized_in_doc(doc: str) -> tuple[str, ...]:
    m = _BLOCK_SIZE.search(doc)
    return tuple(str(i + 1) for i in range(int(m.group(1)))) if m else ()


def gate_blocks(spec: Spec, opts: dict, param: ParamSpec) -> tuple[str, ...]:
    """Names of the equal gate blocks along ``param``'s last axis, or () when none is declared."""
    if not param.shape:
        return ()
    n = param.shape[-1]
    candidates = (
        _declared_reorder(spec, opts, param),
        _named_in_words([param.doc]),
        _named_in_words([spec.summary, *spec.notes]),
        _sized_in_doc(param.doc),
    )
    for names in candidates:
        if len(names) > 1 and n % len(names) == 0:
            return names
    return ()


def axis_names(param: ParamSpec) -> tuple[str, ...]:
    """Axis names spelt in the doc ("kernel (in, out)" -> ("in", "out")), else axis0, axis1..."""
    for m in _SHAPE_WORDS.finditer(param.doc):
        names = tuple(p.strip() for p in m.group(1).split(",") if p.strip())
        if len(names) == len(param.shape):
            return names
    return tuple(f"axis{i}" for i in range(len(param.shape)))


def view(spec: Spec, opts: dict, param: ParamSpec) -> View:
    """How ``param`` is drawn: row and column names, gate blocks along the columns, and row
    blocks (one per position of the leading axes) when the tensor has 3 or more axes, each
    leading position covers more than one row and there is more than one position."""
    names = axis_names(param)
    blocks = gate_blocks(spec, opts, param)
    if len(names) <= 1:
        return View("", names[0] if names else "", blocks)
    shape = tuple(param.shape)
    group, group_axes = 0, ""
    if len(shape) >= 3 and shape[-2] > 1 and int(np.prod(shape[:-2])) > 1:
        group, group_axes = shape[-2], ",".join(names[:-2])
    return View("*".join(names[:-1]), names[-1], blocks, group, group_axes)
