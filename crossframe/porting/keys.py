"""Which tensor of a checkpoint is which: the key report, before anything is converted.

A checkpoint names its tensors its own way: a plain ``nn.Sequential`` writes ``0.weight``,
``2.bias``; a module with an attribute ``encoder`` writes ``encoder.weight_ih_l0``; Keras 3
writes ``layers/dense/vars/0`` by layer class and position. crossframe's code for the same model
(``crossframe describe``) names them ``dense1.weight`` / ``dense1/kernel``. Matching is by
structure, never by a silent reshape:

- torch: the file's keys are grouped by module (all but the last dotted part), in the file's
  order, and lined up with the model's layers that hold parameters, in layer order; two groups
  match when they hold the same parameter names (``weight``, ``bias``, ``weight_ih_l0`` ...).
- Keras: both sides are laid out by Keras itself (layer class, its index among layers of that
  class, the variable's position), so the paths must be equal.

Then every matched tensor's shape is checked. ``KeyReport`` lists, like the big model hubs'
loaders but exact: missing keys, unexpected keys, and shape mismatches (expected vs received,
"looks transposed" when it is the transpose).
"""
from __future__ import annotations

from dataclasses import dataclass, field



@dataclass
class KeyReport:
    """What does not fit between a checkpoint (``received``) and the model (``expected``).

    ``pairs``: file key -> the model's key, for every matched tensor (shapes checked)."""

    source: str
    pairs: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)       # the model's keys no tensor fills
    unexpected: list[str] = field(default_factory=list)    # the file's keys nothing takes
    mismatched: list[tuple[str, str, tuple, tuple]] = field(default_factory=list)
    # (file key, model key, expected shape, received shape)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def lines(self) -> list[str]:
        """The report, one line per key that does not fit."""
        out = [f"missing: {k}" for k in self.missing]
        out += [f"unexpected: {k}" for k in self.unexpected]
        for got, want, shape, received in self.mismatched:
            hint = " (looks transposed)" if _transposed(shape, received) else ""
            name = got if got == want else f"{got} (the model's {want})"
            out.append(f"shape mismatch: {name}: expected {shape}, received {received}{hint}")
        return out

    def summary(self) -> str:
        parts = [f"{len(v)} {what}" for what, v in (("missing", self.missing),
                 ("unexpected", self.unexpected), ("shape mismatch", self.mismatched)) if v]
        return f"{self.source}: the keys do not fit the model ({', '.join(parts)})"


def _transposed(shape: tuple, received: tuple) -> bool:
    return len(shape) == len(received) > 1 and tuple(shape) == tuple(received)[::-1]


def _module(key: str) -> tuple[str, str]:
    head, _, tail = key.rpartition(".")
    return head, tail


def _groups(keys) -> list[tuple[str, list[str]]]:
    """Keys grouped by module prefix, in order of first appearance."""
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(_module(k)[0], []).append(k)
    return list(groups.items())


def match_torch(received: dict[str, tuple], expected: dict[str, tuple], source: str
                ) -> KeyReport:
    """Line up a torch state dict's keys (``received``: key -> shape) with the model's
    (``expected``: crossframe's torch names, layer order) module by module.

    Each expected module takes a module of the file holding the same parameter names (the
    last dotted part), preferring one whose shapes all fit, and among those the next in the
    file's order (a .safetensors file keeps its keys sorted by name, not by module, so order
    alone is not enough). A module of the file nothing takes is unexpected; an expected module
    nothing fits is missing; a module that fits by names but not by shapes is reported shape
    by shape."""
    report = KeyReport(source)
    got, want = _groups(received), _groups(expected)
    used: set[int] = set()
    cursor = 0

    def names(keys):
        return sorted(_module(k)[1] for k in keys)

    def fits(theirs, ours) -> bool:
        by_name = {_module(k)[1]: k for k in theirs}
        return all(tuple(received[by_name[_module(k)[1]]]) == tuple(expected[k]) for k in ours)

    for _, keys in want:
        free = [j for j in range(cursor, len(got)) if j not in used] + \
            [j for j in range(cursor) if j not in used]          # from the cursor on, then back
        same = [j for j in free if names(got[j][1]) == names(keys)]
        exact = [j for j in same if fits(got[j][1], keys)]
        # next in order sharing a name: the same module with a key too many or too few, or with
        # a shape that does not fit, reported name by name
        near = [j for j in free if j >= cursor and _overlap(got[j][1], keys)][:1]
        pick = (exact or near or same or [None])[0]
        if pick is None:
            report.missing += keys
            continue
        used.add(pick)
        cursor = pick + 1
        by_name = {_module(k)[1]: k for k in got[pick][1]}
        for k in keys:
            theirs = by_name.pop(_module(k)[1], None)
            if theirs is None:
                report.missing.append(k)
            elif tuple(received[theirs]) != tuple(expected[k]):
                report.mismatched.append((theirs, k, tuple(expected[k]),
                                          tuple(received[theirs])))
            else:
                report.pairs[theirs] = k
        report.unexpected += list(by_name.values())
    for j, (_, rest) in enumerate(got):
        if j not in used:
            report.unexpected += rest
    return report


def _overlap(a: list[str], b: list[str]) -> bool:
    return bool({_module(k)[1] for k in a} & {_module(k)[1] for k in b})


def match_exact(received: dict[str, tuple], expected: dict[str, tuple], source: str
                ) -> KeyReport:
    """Keys that must be equal (Keras' own layout, canonical names): compare as sets."""
    report = KeyReport(source)
    for k, shape in expected.items():
        if k not in received:
            report.missing.append(k)
        elif tuple(received[k]) != tuple(shape):
            report.mismatched.append((k, k, tuple(shape), tuple(received[k])))
        else:
            report.pairs[k] = k
    report.unexpected = [k for k in received if k not in expected]
    return report
