"""Why a hand-made port differs from its torch checkpoint, said only when it is proven.

    findings = diagnose_port(model, reference, port, "float32", torch_tensors, port_model)

``crossframe convert --check A B`` reads a torch checkpoint A and the Keras file B someone
converted from it, both mapped to crossframe's canonical layout (``crossframe describe MODEL``).
Where a tensor of B differs from A's, this module names the porting mistake that made it, and
only when that mistake, applied to A's tensor, reproduces B's (to the dtype's tolerance,
crossframe.tolerances; the house rule of crossframe.verification). The mistakes tried, each a
transform of the reference:

- ``gates-permuted``: a recurrent kernel's or bias' k gate blocks (the last axis, k blocks of H:
  LSTM i, f, c, o; GRU z, r, h) in another order; a GRU's in torch's r, z, n;
- ``transposed``: a square kernel (or each square gate block) transposed; a conv kernel with
  its axes moved by the wrong transpose (every axis order that gives the canonical shape);
- ``reshaped-not-transposed``: torch's tensor (the mapping's torch layout of the reference)
  reshaped to the canonical shape, ``weight_ih.reshape(D, 4H)`` for ``weight_ih.T``;
- ``bias-halved`` / ``bias-doubled``: b / 2 or 2 b; ``bias-one-side``: a recurrent Keras bias
  that is torch's bias_ih or bias_hh alone (needs torch's own tensors: only their sum is in the
  reference);
- ``flatten-order``: a Dense after a Flatten whose kernel rows are in torch's (c, h, w) or
  (c, l) order (crossframe.layers.base.flatten_order);
- ``running-stats-swapped``: a BatchNormalization's moving_mean holding the running variance or
  the other way round, likewise gamma and beta;
- and, from the Keras file's own config (``port_model``), options that differ: ``epsilon``
  (torch's default 1e-5 against Keras' 1e-3), ``momentum`` (torch's number where Keras' is
  1 - it), any other (``differs``).

What none of them reproduces is ``differs`` with its max abs and max rel difference, and no
guessed cause. Shape legend: D inputs, H units, k gate blocks, F features, U units of a Dense;
kernels (kh, kw, C_in, C_out) as ``crossframe describe`` prints them.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..layers.base import flatten_order
from ..mapping import BlockReorder, Chain, Identity, Permute, Scale, Transform, Transpose
from ..tolerances import DTYPES, errors, tolerance


@dataclass(frozen=True)
class PortFinding:
    """One thing wrong with a port, in the model's layer order.

    ``tensor``: the canonical name (``"lstm.W_x"``), or the layer's name for an option.
    ``key``: "gates-permuted" | "transposed" | "reshaped-not-transposed" | "bias-halved" |
    "bias-doubled" | "bias-one-side" | "flatten-order" | "running-stats-swapped" | "epsilon" |
    "momentum" | "differs" (no proven hint, or an option that differs).
    ``says``: one sentence, what is wrong; ``fix``: one sentence, how to port it right."""

    tensor: str
    key: str
    says: str
    fix: str


# the names of the gate blocks, by crossframe's (Keras') block letter
GATE_NAMES = {"lstm": {"i": "input (i)", "f": "forget (f)", "g": "cell candidate (c)",
                       "o": "output (o)"},
              "gru": {"z": "update (z)", "r": "reset (r)", "h": "candidate (h)"}}
KERAS_LETTER = {"g": "c"}          # crossframe's LSTM g is Keras' c
TORCH_LETTER = {"gru": {"h": "n"}}  # the GRU's candidate is torch's n
# options that say how crossframe checks a model, not what the layer computes
NOT_COMPUTED = frozenset({"initial_state", "return_state", "seed"})
RECURRENT_TENSOR = re.compile(r"^(W_x|W_h|b)((?:_l\d+)?(?:_reverse)?)$")


# --- comparing ---------------------------------------------------------------------------------
def _reproduces(candidate, port: np.ndarray, tol: float) -> bool:
    """``candidate`` equals ``port`` to the tolerance (normwise, crossframe.tolerances)."""
    if candidate is None:
        return False
    candidate = np.asarray(candidate)
    if candidate.shape != port.shape or not np.all(np.isfinite(candidate)):
        return False
    return errors(candidate, port)[1] <= tol


def _g(value: float) -> str:
    return f"{value:.3g}"


# --- the torch side of a tensor ----------------------------------------------------------------
def _entries(model, framework: str) -> dict[str, list]:
    """{canonical name: the mapping's entries for it} of ``framework``, in declared order."""
    out: dict[str, list] = {}
    for e in model.mapping(framework).params:
        out.setdefault(e.canonical, []).append(e)
    return out


def _steps(t: Transform) -> tuple[Transform, ...]:
    return tuple(t.steps) if isinstance(t, Chain) else (t,)


def _unscaled(t: Transform) -> Transform:
    """``t`` without its Scale steps (torch's b/2 shares): a pure relayout, whose adjoint is
    its inverse."""
    steps = tuple(s for s in _steps(t) if not isinstance(s, Scale))
    if not steps:
        return Identity()
    return steps[0] if len(steps) == 1 else Chain(steps)


def _axis_labels(spec) -> list[str] | None:
    """The axis names a parameter's doc gives, ``kernel (kh, kw, C_in, C_out)`` -> [kh, kw,
    C_in, C_out], when there is one per axis."""
    found = re.search(r"\(([^()]*)\)", spec.doc or "")
    labels = [s.strip() for s in found.group(1).split(",")] if found else []
    return labels if len(labels) == len(spec.shape) and all(labels) else None


def _to_keras_code(entry) -> str:
    """How torch's tensor of ``entry`` becomes the canonical (Keras) one, as NumPy code."""
    fw, parts = entry.framework, []
    for step in reversed(_steps(entry.transform)):
        if isinstance(step, Transpose):
            axes = tuple(int(a) for a in np.argsort(step.axes))
            parts.append(".T" if axes == (1, 0) else f".transpose{axes}")
        elif isinstance(step, BlockReorder):
            parts.append(f" with its blocks put back from {', '.join(step.dst)} to "
                         f"{', '.join(step.src)}")
        elif isinstance(step, Permute):
            parts.append(" with its rows put back in Keras' channels-last flatten order")
        elif isinstance(step, Scale):
            parts.append(" summed with the other bias")
    return fw + "".join(parts)


# --- the candidates, per tensor ----------------------------------------------------------------
def _gate_candidates(cfg, local: str, ref: np.ndarray):
    """(finding, candidate) for every other order of the gate blocks on the last axis."""
    decl = cfg.decl
    gates, k = tuple(decl.gates), decl.k
    if k < 2 or ref.shape[-1] % k:
        return
    blocks = np.split(ref, k, axis=-1)
    names = GATE_NAMES.get(decl.name, {})
    keras = [KERAS_LETTER.get(g, g) if decl.name == "lstm" else g for g in gates]
    torch_letter = TORCH_LETTER.get(decl.name, {})
    tensor = cfg.p(local)
    for perm in itertools.permutations(range(k)):
        if perm == tuple(range(k)):
            continue
        candidate = np.concatenate([blocks[j] for j in perm], axis=-1)
        held = [gates[j] for j in perm]
        moved = [i for i in range(k) if perm[i] != i]
        if tuple(held) == tuple(decl.torch_gates) and decl.torch_gates != decl.gates:
            order = ", ".join(torch_letter.get(g, g) for g in held)
            says = (f"{tensor}: the gate blocks are in torch's order {order} where Keras wants "
                    f"{', '.join(keras)}: torch's rows were copied without swapping r and z")
            fix = ("swap torch's first two blocks (r, z -> z, r) of each bias: Keras' blocks "
                   "are z, r, h") if local.startswith("b") else (
                   "swap torch's first two row blocks (r, z -> z, r) before transposing: "
                   "Keras' columns are z, r, h")
        elif len(moved) == 2:
            a, b = (gates[i] for i in moved)
            says = (f"{tensor}: the {names.get(a, a)} and {names.get(b, b)} gate blocks are "
                    "swapped")
            fix = (f"keep the gate blocks in Keras' order {', '.join(keras)} (torch's rows "
                   f"{', '.join(torch_letter.get(g, g) for g in decl.torch_gates)})")
        else:
            says = (f"{tensor}: the gate blocks hold {', '.join(names.get(g, g) for g in held)} "
                    f"where Keras wants {', '.join(keras)}")
            fix = (f"keep the gate blocks in Keras' order {', '.join(keras)} (torch's rows "
                   f"{', '.join(torch_letter.get(g, g) for g in decl.torch_gates)})")
        yield PortFinding(tensor, "gates-permuted", says, fix), candidate


def _block_transposed(cfg, local: str, ref: np.ndarray, torch_name: str):
    """Each (H, H) gate block of a recurrent kernel with H rows, transposed."""
    k, H = cfg.decl.k, cfg.opts["units"]
    if ref.ndim != 2 or ref.shape != (H, k * H):
        return None
    candidate = np.concatenate([b.T for b in np.split(ref, k, axis=1)], axis=1)
    tensor = cfg.p(local)
    what = "every (H, H) gate block" if k > 1 else "the (H, H) kernel"
    says = (f"{tensor}: {what} is transposed ({H}x{H}, so the shape could not tell): torch's "
            f"{torch_name} blocks were laid side by side without .T")
    fix = f"transpose torch's {torch_name} as a whole: {torch_name}.T ({k * H}, {H}) -> " \
          f"({H}, {k * H})"
    return PortFinding(tensor, "transposed", says, fix), candidate


def _axis_candidates(spec, ref: np.ndarray, entries):
    """Every other axis order of ``ref`` with the canonical shape (fewest axes moved first): a
    square kernel transposed, a conv kernel moved with the wrong transpose."""
    labels = _axis_labels(spec)
    torch_axes = None
    if len(entries) == 1 and isinstance(entries[0].transform, Transpose):
        torch_axes = tuple(entries[0].transform.axes)
    perms = [p for p in itertools.permutations(range(ref.ndim))
             if p != tuple(range(ref.ndim)) and tuple(ref.shape[a] for a in p) == ref.shape]
    perms.sort(key=lambda p: sum(1 for i, a in enumerate(p) if i != a))
    for perm in perms:
        candidate = np.transpose(ref, perm)
        if ref.ndim == 2:
            says = (f"{spec.name} is the reference's {_shape(ref.shape)} kernel transposed "
                    "(square, so the shape could not tell)")
            fix = (f"Keras' kernel is {_layout(labels, 'in, out')}: kernel = "
                   f"{_to_keras_code(entries[0]) if len(entries) == 1 else spec.name + '.T'}")
        elif torch_axes is not None and len(torch_axes) == ref.ndim:
            # the user's P on torch's tensor: port = torch.transpose(P) = ref.transpose(A[P])
            wrong = tuple(int(np.argsort(torch_axes)[q]) for q in perm)
            right = tuple(int(a) for a in np.argsort(torch_axes))
            torch_labels = ([labels[a] for a in torch_axes] if labels else None)
            says = (f"{spec.name}: torch's {entries[0].framework} {_layout(torch_labels)} was "
                    f"moved with transpose{wrong} where the canonical {_layout(labels)} needs "
                    f"transpose{right}").replace("  ", " ")
            fix = f"kernel = {entries[0].framework}.transpose{right}"
        else:
            says = (f"{spec.name} holds the reference's axes in the order {perm}"
                    + (f" ({', '.join(labels[a] for a in perm)})" if labels else ""))
            fix = f"keep the axes in the canonical order {_layout(labels)}".rstrip()
        yield PortFinding(spec.name, "transposed", says, fix), candidate


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def _layout(labels, default: str = "") -> str:
    """"(kh, kw, C_in, C_out)" from axis labels, else "(default)", else ""."""
    return f"({', '.join(labels)})" if labels else (f"({default})" if default else "")


def _reshaped(spec, ref: np.ndarray, entries):
    """torch's tensor (the declared layout of the reference) reshaped, not transposed."""
    if len(entries) != 1 or ref.ndim < 2 or not entries[0].transform.permutation:
        return None
    e = entries[0]
    torch_tensor = e.transform.forward(ref)
    if torch_tensor.shape == ref.shape and np.array_equal(torch_tensor, ref):
        return None
    candidate = torch_tensor.reshape(ref.shape)
    says = (f"{spec.name} is torch's {e.framework} {_shape(torch_tensor.shape)} reshaped to "
            f"{_shape(ref.shape)} instead of transposed: a reshape moves no entry to its axis, "
            "so the weights land in the wrong places")
    fix = f"kernel = {_to_keras_code(e)}, not .reshape{tuple(ref.shape)}"
    return PortFinding(spec.name, "reshaped-not-transposed", says, fix), candidate


def _bias_candidates(cfg, spec, ref: np.ndarray, entries, torch_tensors):
    """b / 2, 2 b, and (with torch's own tensors) one of torch's two recurrent biases alone."""
    name, recurrent = spec.name, cfg.decl.recurrent
    split = [e for e in entries if any(isinstance(s, Scale) for s in _steps(e.transform))]
    pair = " + ".join(e.framework for e in split) if len(split) == 2 else ""
    right = f"Keras' bias = {pair}" if pair else "copy torch's bias as it is"
    says = f"{name} is half the reference's bias"
    if pair:
        says += f" (the mean of torch's {pair.replace(' + ', ' and ')}, not their sum)"
    yield PortFinding(name, "bias-halved", says, right), ref / 2
    says = f"{name} is twice the reference's bias: it is counted twice"
    if pair:
        says += f" (torch's {pair} added twice, or each taken as the whole)"
    yield PortFinding(name, "bias-doubled", says, right + ", once"), ref * 2
    if not (recurrent and len(split) == 2 and torch_tensors):
        return
    for e in split:
        if e.framework not in torch_tensors:
            continue
        t = np.asarray(torch_tensors[e.framework], dtype=np.float64)
        shape = tuple(ref.shape)
        if _unscaled(e.transform).shape(shape) != t.shape:
            continue
        candidate = _unscaled(e.transform).adjoint(t, shape)
        side = e.framework.split(".")[-1].rsplit("_l", 1)[0]
        says = (f"the Keras bias {name} is torch's {side} alone ({e.framework}); Keras' single "
                "bias is bias_ih + bias_hh")
        fix = f"Keras' bias = {pair}"
        yield PortFinding(name, "bias-one-side", says, fix), candidate


def _flatten_order(cfg, spec, ref: np.ndarray, entries):
    """A Dense after a Flatten of an (H, W, C) image or an (L, C) map, its kernel rows in
    torch's channels-first order."""
    shape = cfg.flow_in.flattened
    if shape is None or cfg.decl.name != "dense" or not spec.name.endswith(".W"):
        return None
    index = np.asarray(flatten_order(*shape))
    candidate = ref[index]
    torch_order, keras_order = ("(c, h, w)", "(h, w, c)") if len(shape) == 3 else \
        ("(c, l)", "(l, c)")
    says = (f"{spec.name}: the kernel rows were copied in torch's {torch_order} order; Keras "
            f"flattens {keras_order} (the Flatten's input is {_shape(shape)})")
    weight = entries[0].framework if len(entries) == 1 else "weight"
    fix = (f"reorder the rows of {weight}.T from {torch_order} to {keras_order}: {weight}"
           f".reshape({ref.shape[1]}, {', '.join(map(str, (shape[-1], *shape[:-1])))})"
           f".transpose(0, {', '.join(str(i) for i in range(2, len(shape) + 1))}, 1)"
           f".reshape({ref.shape[1]}, -1).T")
    return PortFinding(spec.name, "flatten-order", says, fix), candidate


BN_SWAPS = {"moving_mean": ("moving_variance", "running variance", "running mean"),
            "moving_variance": ("moving_mean", "running mean", "running variance"),
            "gamma": ("beta", "offset beta", "scale gamma"),
            "beta": ("gamma", "scale gamma", "offset beta")}


def _swapped(cfg, spec, reference):
    """A BatchNormalization tensor holding its partner's values (mean/variance, gamma/beta)."""
    local = spec.name[len(cfg.name) + 1:]
    if cfg.decl.name != "batchnorm" or local not in BN_SWAPS:
        return None
    partner, holds, wants = BN_SWAPS[local]
    other = cfg.p(partner)
    if other not in reference:
        return None
    torch = {"moving_mean": "running_mean", "moving_variance": "running_var",
             "gamma": "weight", "beta": "bias"}
    says = (f"{spec.name} holds the {holds} (torch's {torch[partner]}), not the {wants}")
    fix = f"{local} = torch's {torch[local]}, {partner} = torch's {torch[partner]}"
    return PortFinding(spec.name, "running-stats-swapped", says, fix), reference[other]


def _candidates(maps, cfg, spec, reference, torch_tensors):
    ref = np.asarray(reference[spec.name], dtype=np.float64)
    entries = maps["torch"].get(spec.name, [])
    local = spec.name[len(cfg.name) + 1:]
    recurrent = cfg.decl.recurrent and RECURRENT_TENSOR.match(local)
    if recurrent:
        yield from _gate_candidates(cfg, local, ref)
        if local.startswith("W_"):
            torch_name = entries[0].framework if len(entries) == 1 else "the torch kernel"
            found = _block_transposed(cfg, local, ref, torch_name)
            if found:
                yield found
    elif ref.ndim >= 2:
        yield from _axis_candidates(spec, ref, entries)
    found = _reshaped(spec, ref, entries)
    if found:
        yield found
    found = _flatten_order(cfg, spec, ref, entries)
    if found:
        yield found
    if re.match(r"^b(_|$)", local):
        yield from _bias_candidates(cfg, spec, ref, entries, torch_tensors)
    found = _swapped(cfg, spec, reference)
    if found:
        yield found


def _differs(maps, spec, ref, port, tol: float) -> PortFinding:
    max_abs, max_rel = errors(ref, port)
    torch = ", ".join(f"{e.framework} ({e.transform.describe()})"
                      for e in maps["torch"].get(spec.name, []))
    keras = ", ".join(e.framework for e in maps["keras"].get(spec.name, []))
    says = (f"{spec.name} differs from the torch checkpoint's by up to {_g(max_abs)} (max_rel "
            f"{_g(max_rel)}, tolerance {tol:g}), and no known porting mistake reproduces it")
    fix = (f"port it as `crossframe describe` maps it: torch {torch or '(none)'} -> Keras "
           f"{keras or '(none)'}")
    return PortFinding(spec.name, "differs", says, fix)


def _tensor_finding(maps, cfg, spec, reference, port, torch_tensors, tol) -> PortFinding | None:
    name = spec.name
    if name not in port or name not in reference:
        where = "the port" if name not in port else "the reference"
        return PortFinding(name, "differs", f"{name} is missing from {where}",
                           f"give {name} {_shape(spec.shape)} as `crossframe describe` lists it")
    ref, got = np.asarray(reference[name]), np.asarray(port[name])
    if ref.shape != got.shape:
        return PortFinding(name, "differs", f"{name} is {_shape(got.shape)} in the port and "
                           f"{_shape(ref.shape)} in the reference",
                           f"give {name} the shape {_shape(ref.shape)}")
    if _reproduces(ref, got, tol):
        return None
    for finding, candidate in _candidates(maps, cfg, spec, reference, torch_tensors):
        if _reproduces(candidate, got, tol):
            return finding
    return _differs(maps, spec, ref, got, tol)


# --- options, from the port's own config -------------------------------------------------------
def _same_value(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) \
            or not isinstance(b, (int, float)):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def _pairs(model, port_model) -> list:
    """(cfg, port cfg or None) for every layer of the model: by name, else by position among
    the port's unmatched layers of the same kind."""
    by_name = {c.name: c for c in port_model.layers}
    used = {c.name for c in model.layers if c.name in by_name}
    spare = [c for c in port_model.layers if c.name not in used]
    out = []
    for cfg in model.layers:
        if cfg.name in by_name:
            out.append((cfg, by_name[cfg.name]))
            continue
        match = next((c for c in spare if c.decl.name == cfg.decl.name), None)
        if match is not None:
            spare.remove(match)
        out.append((cfg, match))
    return out


def _option_findings(cfg, other) -> list[PortFinding]:
    name, title = cfg.name, cfg.decl.title
    if other is None:
        return [PortFinding(name, "differs", f"{name}: the port's config has no {title} "
                            "layer for it", f"add a {title} layer named {name}")]
    if other.decl.name != cfg.decl.name:
        return [PortFinding(name, "differs", f"{name} is a {other.decl.title} in the port's "
                            f"config where the reference has a {title}",
                            f"make {name} a {title}")]
    out = []
    for key, want in cfg.opts.items():
        got = other.opts.get(key)
        if key in NOT_COMPUTED or _same_value(want, got):
            continue
        if key == "epsilon":
            says = (f"{name}: the port's {title} has epsilon={got:g}"
                    f"{' (Keras default)' if _same_value(got, 1e-3) else ''}, the torch model "
                    f"eps={want:g}{' (torch default)' if _same_value(want, 1e-5) else ''}")
            out.append(PortFinding(name, "epsilon", says,
                                   f"set epsilon={want:g} in Keras: {title}(epsilon={want:g})"))
        elif key == "momentum" and cfg.decl.name == "batchnorm" and _same_value(got, 1 - want):
            says = (f"{name}: the port's momentum={got:g} is torch's number; Keras' momentum "
                    f"is 1 - torch's, {want:g}")
            out.append(PortFinding(name, "momentum", says,
                                   f"set momentum={want:g} in Keras (1 - torch's momentum "
                                   f"{1 - want:g})"))
        else:
            says = f"{name}: the port's {title} has {key}={got!r}, the reference {key}={want!r}"
            out.append(PortFinding(name, "differs", says, f"set {key}={want!r} in the Keras "
                                   f"{title}"))
    return out


# --- the diagnosis -----------------------------------------------------------------------------
def diagnose_port(model, reference: dict[str, np.ndarray], port: dict[str, np.ndarray],
                  dtype: str, torch_tensors: dict[str, np.ndarray] | None = None,
                  port_model=None) -> list[PortFinding]:
    """What is wrong with a port, one finding per differing tensor (and option), in the
    model's layer order; [] when every tensor agrees within the tolerance of ``dtype``.

    ``model``: the crossframe Sequential both files were read with. ``reference``: canonical
    weights from the torch checkpoint; ``port``: canonical weights from the Keras file (each
    {canonical name: array in the canonical shape}, ``crossframe describe`` lists them).
    ``torch_tensors``: the checkpoint's own tensors under crossframe's torch names (for the
    recurrent bias_ih / bias_hh, of which the reference holds only the sum). ``port_model``:
    the Sequential read from the Keras file's own config, for its options (None: not read).

    A hint (any key but "differs") is given only when its mistake applied to the reference
    reproduces the port's tensor within ``crossframe.tolerances.tolerance(dtype)``. A tensor
    missing from either side, or of another shape, is a "differs" finding saying so. Raises
    InputError for a dtype other than float64 and float32 (the tolerance table's)."""
    if str(dtype) not in DTYPES:
        raise InputError(f"unknown dtype '{dtype}'", f"choose one of: {', '.join(DTYPES)}")
    tol = tolerance(str(dtype)).rel
    pairs = dict((cfg.name, other) for cfg, other in _pairs(model, port_model)) \
        if port_model is not None else {}
    maps = {fw: _entries(model, fw) for fw in ("torch", "keras")}
    out: list[PortFinding] = []
    for cfg in model.layers:
        if port_model is not None:
            out += _option_findings(cfg, pairs[cfg.name])
        for spec in cfg.params:
            found = _tensor_finding(maps, cfg, spec, reference, port, torch_tensors, tol)
            if found is not None:
                out.append(found)
    return out


__all__ = ["PortFinding", "diagnose_port"]
