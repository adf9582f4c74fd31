"""The canonical <-> framework mapping, declared as data.

Every registered model declares, for each framework, a ``Mapping``: a list of ``Entry`` rows,
one per (canonical tensor, framework tensor) pair, each carrying a ``Transform`` and a one-line
reason. The loaders apply ``transform.forward`` to put canonical weights (and inputs) where the
framework wants them; gradients come back through ``transform.adjoint``; and ``describe`` and
the report print the very same rows, so the documentation cannot drift from the code.

Why the *adjoint* brings gradients back: if a framework tensor is ``w = T(c)`` for a linear map
``T`` (a transpose, a gate-block reorder, a row pick, a scaling), then the chain rule gives
``dL/dc = T^T(dL/dw)``. For a permutation ``T^T`` is its inverse; for one canonical tensor fanned
out to several framework tensors (one canonical bias split across torch's ``bias_ih`` and
``bias_hh``) the adjoints add up. So each transform is written once, with its adjoint beside it.

Outputs are mapped back with the adjoint too, which is only right when the output transform is
a pure permutation (a layout change such as NCHW -> NHWC); ``Mapping`` enforces that.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


# --- transforms: forward (canonical -> framework) and adjoint (framework grad -> canonical) ----
class Transform:
    """A linear map from a canonical tensor to a framework tensor."""

    permutation = True  # True when forward only moves entries (then adjoint == inverse)

    def forward(self, a: Array) -> Array:
        raise NotImplementedError

    def adjoint(self, g: Array, shape: tuple[int, ...]) -> Array:
        """dL/d(canonical) given dL/d(framework); ``shape`` is the canonical shape."""
        raise NotImplementedError

    def shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The framework shape of a canonical ``shape``, computed without allocating."""
        return tuple(shape)

    def describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.describe()


@dataclass(frozen=True, repr=False)
class Identity(Transform):
    def forward(self, a):
        return a

    def adjoint(self, g, shape):
        return g

    def describe(self):
        return "identity"


@dataclass(frozen=True, repr=False)
class Transpose(Transform):
    """``np.transpose(a, axes)``; the adjoint transposes back with the inverse permutation."""

    axes: tuple[int, ...] = (1, 0)

    def forward(self, a):
        return np.ascontiguousarray(np.transpose(a, self.axes))

    def adjoint(self, g, shape):
        return np.ascontiguousarray(np.transpose(g, np.argsort(self.axes)))

    def shape(self, shape):
        return tuple(shape[a] for a in self.axes)

    def describe(self):
        return "transpose" if self.axes == (1, 0) else f"transpose{self.axes}"


@dataclass(frozen=True, repr=False)
class BlockReorder(Transform):
    """Split ``axis`` into equal named blocks (gates) and put them in another order."""

    src: tuple[str, ...]
    dst: tuple[str, ...]
    axis: int = -1

    def _reorder(self, a, frm, to):
        blocks = dict(zip(frm, np.split(a, len(frm), axis=self.axis)))
        return np.ascontiguousarray(np.concatenate([blocks[k] for k in to], axis=self.axis))

    def forward(self, a):
        return self._reorder(a, self.src, self.dst)

    def adjoint(self, g, shape):
        return self._reorder(g, self.dst, self.src)

    def describe(self):
        return f"gate blocks {','.join(self.src)} -> {','.join(self.dst)} (axis {self.axis})"


@dataclass(frozen=True, repr=False)
class Permute(Transform):
    """Reorder the entries along ``axis`` by an index array: ``a.take(index, axis)``."""

    index: tuple[int, ...]
    axis: int = 0
    note: str = "permute"

    def forward(self, a):
        return np.ascontiguousarray(np.take(a, np.asarray(self.index), axis=self.axis))

    def adjoint(self, g, shape):
        return np.ascontiguousarray(np.take(g, np.argsort(self.index), axis=self.axis))

    def describe(self):
        return self.note


@dataclass(frozen=True, repr=False)
class Row(Transform):
    """Pick row ``i`` of a stacked tensor; the adjoint puts the gradient back in that row."""

    i: int
    permutation = False

    def forward(self, a):
        return np.ascontiguousarray(a[self.i])

    def adjoint(self, g, shape):
        out = np.zeros(shape, dtype=g.dtype)
        out[self.i] = g
        return out

    def shape(self, shape):
        return tuple(shape[1:])

    def describe(self):
        return f"row {self.i}"


@dataclass(frozen=True, repr=False)
class Scale(Transform):
    """Multiply by a constant (one share of a canonical tensor split across two framework ones)."""

    alpha: float
    permutation = False

    def forward(self, a):
        return (a * a.dtype.type(self.alpha)).astype(a.dtype, copy=False)

    def adjoint(self, g, shape):
        return (g * g.dtype.type(self.alpha)).astype(g.dtype, copy=False)

    def describe(self):
        return f"x {self.alpha:g}"


@dataclass(frozen=True, repr=False)
class Chain(Transform):
    """Apply transforms left to right; the adjoint applies their adjoints right to left."""

    steps: tuple[Transform, ...]

    @property
    def permutation(self):  # type: ignore[override]
        return all(t.permutation for t in self.steps)

    def forward(self, a):
        for t in self.steps:
            a = t.forward(a)
        return a

    def shape(self, shape):
        for t in self.steps:
            shape = t.shape(shape)
        return tuple(shape)

    def adjoint(self, g, shape):
        shapes = [tuple(shape)]
        for t in self.steps[:-1]:
            shapes.append(t.shape(shapes[-1]))
        for t, s in zip(reversed(self.steps), reversed(shapes)):
            g = t.adjoint(g, s)
        return g

    def describe(self):
        return ", then ".join(t.describe() for t in self.steps)


# --- the declarations ------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One row of a mapping: canonical tensor -> framework tensor, how, and why."""

    canonical: str
    framework: str
    transform: Transform = field(default_factory=Identity)
    reason: str = ""


@dataclass(frozen=True)
class Mapping:
    """How one framework lays out a model's parameters, inputs and outputs.

    ``params``, ``inputs`` and ``outputs`` are lists of ``Entry``. A canonical name may appear
    in several entries (fan-out); a framework name appears exactly once.
    ``formula`` optionally says, in one line, what this framework computes where it differs.
    """

    framework: str
    params: tuple[Entry, ...]
    inputs: tuple[Entry, ...] = ()
    outputs: tuple[Entry, ...] = ()
    formula: str = ""
    # how non-trainable state (running statistics) is read back after a pass: canonical <-
    # framework tensor (usually the entry that loaded it; see LayerDecl.torch_states)
    states: tuple[Entry, ...] = ()

    def __post_init__(self):
        for e in self.outputs:
            if not e.transform.permutation:
                raise ValueError(f"output {e.canonical}: output transforms must be permutations")

    # canonical -> framework
    def params_to_framework(self, canonical: dict[str, Array]) -> dict[str, Array]:
        return _forward(self.params, canonical)

    def inputs_to_framework(self, canonical: dict[str, Array]) -> dict[str, Array]:
        return _forward(self.inputs, canonical)

    def target_to_framework(self, target, labels: bool = False):
        """A loss' target, laid out as the framework's output is: the output's own transform
        (NCHW, a flatten order) for values; labels (class indices) are left as they are."""
        if target is None or labels or len(self.outputs) != 1:
            return target
        return self.outputs[0].transform.forward(target)

    def upstream_to_framework(self, canonical: dict[str, Array]) -> dict[str, Array]:
        """Upstream gradients of canonical outputs -> of framework outputs (permutations only)."""
        return _forward(self.outputs, canonical)

    # framework -> canonical
    def param_grads_to_canonical(self, fw: dict[str, Array], shapes: dict[str, tuple]) -> dict:
        return _adjoint(self.params, fw, shapes)

    def params_to_canonical(self, fw: dict[str, Array], shapes: dict[str, tuple]) -> dict:
        """The inverse of ``params_to_framework``: a framework's tensors (a checkpoint) back to
        the canonical weights; every declared framework tensor must be in ``fw``.

        With ``w_i = T_i(c)`` for each entry of a canonical tensor ``c``, the least-squares
        inverse is ``c = (sum T_i^T T_i)^-1 sum T_i^T w_i``. Every transform here moves, picks or
        scales entries, so ``sum T_i^T T_i`` is diagonal: ``adjoint(forward(ones))`` summed. It
        is exact for a permutation (its adjoint is its inverse) and for the rows of a stacked
        tensor (each fills its own row); for equal shares the framework adds (torch's
        ``bias_ih = bias_hh = b/2``) it gives their sum, whatever the split was, which is all
        the framework computes with."""
        num = _adjoint(self.params, {e.framework: fw[e.framework] for e in self.params}, shapes)
        out = {}
        for c in {e.canonical: None for e in self.params}:
            shape = tuple(shapes[c])
            one = np.ones(shape, dtype=num[c].dtype)
            gain = sum(e.transform.adjoint(e.transform.forward(one), shape)
                       for e in self.params if e.canonical == c)
            out[c] = num[c] if np.all(gain == 1) else num[c] / gain
        return out

    def input_grads_to_canonical(self, fw: dict[str, Array], shapes: dict[str, tuple]) -> dict:
        return _adjoint(self.inputs, fw, shapes)

    def outputs_to_canonical(self, fw: dict[str, Array]) -> dict:
        """Framework outputs -> canonical layout. Output transforms are permutations, whose
        adjoint is their inverse and needs no canonical shape."""
        return _adjoint(self.outputs, fw, {e.canonical: None for e in self.outputs})

    def state_to_canonical(self, fw: dict[str, Array], shapes: dict[str, tuple]) -> dict:
        """Framework state after a pass -> canonical names and layout; a framework tensor no
        entry names (torch's num_batches_tracked) is left out."""
        return {e.canonical: e.transform.adjoint(fw[e.framework], tuple(shapes[e.canonical]))
                for e in self.states if e.framework in fw}

    def framework_shapes(self, canonical_shapes: dict[str, tuple]) -> dict[str, tuple]:
        return {e.framework: e.transform.shape(canonical_shapes[e.canonical]) for e in self.params}


def _entries_for(entries, names) -> list[Entry]:
    """Entries whose canonical tensor is present (an optional input may be absent)."""
    return [e for e in entries if e.canonical in names]


def _forward(entries, canonical: dict[str, Array]) -> dict[str, Array]:
    declared = {e.canonical for e in entries}
    passthrough = {k: v for k, v in canonical.items() if k not in declared}
    out = {e.framework: e.transform.forward(canonical[e.canonical])
           for e in _entries_for(entries, canonical)}
    return {**passthrough, **out}


def _adjoint(entries, fw: dict[str, Array], shapes: dict[str, tuple]) -> dict[str, Array]:
    declared = {e.framework for e in entries}
    out: dict[str, Array] = {k: v for k, v in fw.items() if k not in declared}
    for e in entries:
        if e.framework not in fw:
            continue
        shape = shapes[e.canonical]
        g = e.transform.adjoint(fw[e.framework], None if shape is None else tuple(shape))
        out[e.canonical] = g if e.canonical not in out else out[e.canonical] + g
    return out


def identity_mapping(framework: str, names, reason: str = "") -> Mapping:
    """Every parameter under its canonical name, unchanged (the scratch side)."""
    return Mapping(framework, tuple(Entry(n, n, Identity(), reason) for n in names))
