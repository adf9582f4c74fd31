"""The pooling family: MaxPool2D, AveragePooling2D, MaxPooling1D, AveragePooling1D and the global
pools GlobalMaxPooling1D/2D, GlobalAveragePooling1D/2D.

Canonical layout (Keras', channels_last): images ``(N, H, W, C)``, 1-D maps ``(N, L, C)``
("signal", or a "sequence" ``(N, T, D)`` read as one). torch holds images NCHW and signals NCL;
a 1-D pool given a sequence ``(N, T, D)`` transposes it to NCL itself (``torch_forward`` prints
the line). Pools have no parameters: nothing to map, only the window geometry
(``crossframe.geometry``: output sizes and pads by Keras' rule) and three facts that differ:

- **where 'same' pads**: Keras pads ``max((out-1)*s + k - n, 0)``, the odd one bottom/right;
  torch's own ``padding=p`` is symmetric and at most k/2, so torch pads explicitly where the
  pads are asymmetric (``-inf`` for a max, so a pad never wins);
- **what an average at the border divides by**: TensorFlow's 'same' average divides by the
  number of REAL elements in the window; torch's ``AvgPool(padding=p)`` divides by the whole
  window unless ``count_include_pad=False`` (``DIFFERENCES``);
- **ties in a global max**: TensorFlow's ``reduce_max`` (Keras' GlobalMaxPooling) and torch's
  ``amax`` split the gradient evenly among tied maxima; torch's ``max(dim)``,
  ``AdaptiveMaxPool2d(1)`` and ``max_pool2d`` send all of it to the first (``DIFFERENCES``).
  crossframe's torch side uses ``amax``.

Shape legend: N batch, H, W height and width, L length (T steps), C channels (D features),
ph, pw / k pool window, sh, sw / s strides, Ho, Wo / Lo output sizes.
"""
from __future__ import annotations

from ..difference import Difference
from ..errors import InputError
from ..geometry import PADDINGS, output_size, pads, shape_text
from .base import Flow, LayerDecl, Option, integer, size2
from .conv import _hw

SAME_NOTE = (
    "padding='same' (Keras/TF rule): output ceil(n / stride); pad_total = max((out - 1) * "
    "stride + k - n, 0); pad_before = pad_total // 2 and the odd extra one goes AFTER "
    "(bottom/right). torch's padding=p pads p on both sides (p <= k/2), so where Keras' pads "
    "are asymmetric torch_impl pads explicitly with F.pad (left, right[, top, bottom]) and "
    "pools with padding=0.")
MAX_SAME_NOTE = (
    "A max pool pads with -inf (F.pad(..., value=-inf) in torch; TensorFlow ignores the "
    "padded positions): every 'same' window holds at least one real element, so a pad is "
    "never the maximum and gets no gradient.")
AVERAGE_SAME_NOTE = (
    "An average at a 'same' border divides by the number of REAL elements in the window "
    "(TensorFlow's avg_pool 'SAME'; measured: [1, 2, 3, 4, 5], k=3, s=1 -> 1.5 at the left "
    "edge, 4.5 at the right). torch's AvgPool(padding=p) divides by the whole window k by "
    "default (count_include_pad=True: 1.0 and 3.0 there); count_include_pad=False divides by "
    "the real count and matches Keras where the pads are symmetric. Where they are not, "
    "torch_impl averages the zero-padded input and divides by the same pool of a padded "
    "ones-mask: mean(pad(x)) / mean(pad(1)) = sum(real x) / count(real x).")
KERAS_TORCH_SAME_NOTE = (
    "Keras 3.15 on the torch backend pads asymmetric 'same' pads itself by replicating the "
    "edge and then averages over the whole window, counting the edge twice ([1..8], k=3, "
    "s=2: 7.67 where TensorFlow and JAX give 7.5). keras_impl's average pools on torch "
    "(keras_impl/pooling.py, RealCountSame) zero-pad and divide by the pooled ones-mask as "
    "torch_impl does; parity_tests/test_keras_backends.py pins Keras' own result.")
TIES_NOTE = (
    "Ties (ReLU zeros make them common): the whole gradient of a window goes to its FIRST "
    "maximum in row-major window order, in scratch, torch and TensorFlow (measured for 2-D, "
    "1-D and 'same'; a -inf pad never ties).")


def geometry(sizes, window, strides, padding, where: str, fix: str):
    """(out sizes, ((before, after) per axis)) for a window along each axis of ``sizes``
    (Keras' rule, crossframe.geometry), or an InputError naming ``where``."""
    try:
        out = tuple(output_size(n, k, s, padding) for n, k, s in zip(sizes, window, strides))
    except ValueError:
        raise InputError(f"{where}: a {_hw(window)} window does not fit its "
                         f"{_hw(sizes)} input with padding='{padding}'", fix) from None
    return out, tuple(pads(n, k, s, padding) for n, k, s in zip(sizes, window, strides))


def _size(value) -> str:
    return str(value[0]) if len(set(value)) == 1 else shape_text(value)


class Pool(LayerDecl):
    """What the windowed pools share: pool_size, strides, padding; ``rank`` 1 or 2 spatial
    axes; ``op`` "max" or "average". Options and sizes are tuples of ``rank`` entries
    internally; a 1-D pool's options are integers, as in Keras."""

    family = "pooling"
    rank = 2
    op = "max"
    stem = "pool"

    # -- sizes -------------------------------------------------------------------------------
    def window(self, opts) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(pool, strides) as tuples of ``rank`` entries."""
        if self.rank == 1:
            return (opts["pool_size"],), (opts["strides"],)
        return opts["pool_size"], opts["strides"]

    def spatial(self, flow: Flow) -> tuple[int, ...]:
        return tuple(flow.shape[:self.rank])

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        if opts["strides"] is None:
            opts["strides"] = opts["pool_size"]
        window, strides = self.window(opts)
        geometry(self.spatial(flow), window, strides, opts["padding"], where,
                 "use padding=same, a smaller pool_size or a larger input")

    def output(self, opts, flow):
        window, strides = self.window(opts)
        out, _ = geometry(self.spatial(flow), window, strides, opts["padding"], self.name, "")
        return Flow((*out, flow.features), "image" if self.rank == 2 else "signal")

    def pads_of(self, cfg) -> tuple[tuple[int, int], ...]:
        window, strides = self.window(cfg.opts)
        return geometry(self.spatial(cfg.flow_in), window, strides, cfg.opts["padding"],
                        cfg.name, "")[1]

    def symmetric(self, cfg) -> bool:
        """torch's own padding=p can do it: the same pad before and after on every axis."""
        return all(before == after for before, after in self.pads_of(cfg))

    def torch_pad(self, cfg) -> tuple[int, ...]:
        """F.pad's order: the last axis first, (left, right[, top, bottom])."""
        return tuple(p for axis in reversed(self.pads_of(cfg)) for p in axis)

    def dropped(self, cfg) -> tuple[int, ...]:
        """Rows / columns at the bottom/right that no window covers (floor, padding='valid')."""
        window, strides = self.window(cfg.opts)
        return tuple(n - ((o - 1) * s + k) for n, o, k, s in zip(
            self.spatial(cfg.flow_in), self.spatial(cfg.flow_out), window, strides))

    # -- printed code ------------------------------------------------------------------------
    @property
    def torch_class(self) -> str:
        return {("max", 1): "MaxPool1d", ("max", 2): "MaxPool2d", ("average", 1): "AvgPool1d",
                ("average", 2): "AvgPool2d"}[self.op, self.rank]

    def _opt(self, value):
        return value[0] if self.rank == 1 else value

    def torch_code(self, cfg):
        window, strides = self.window(cfg.opts)
        head = f"nn.{self.torch_class}({self._opt(window)}, stride={self._opt(strides)}"
        if cfg.opts["padding"] == "valid" or not self.symmetric(cfg):
            return head + ")"
        padding = tuple(before for before, _ in self.pads_of(cfg))
        extra = ", count_include_pad=False" if self.op == "average" else ""
        return f"{head}, padding={self._opt(padding)}{extra})"

    def torch_forward(self, cfg):
        lines = []
        if self.rank == 1 and cfg.flow_in.layout == "sequence":
            lines.append("x = x.transpose(1, 2)  # (N, T, D) -> (N, D, T): nn."
                         f"{self.torch_class} pools the last axis of (N, C, L)")
        pool = f"self.{cfg.name}"
        if cfg.opts["padding"] == "valid" or self.symmetric(cfg):
            return lines + [f"x = {pool}(x)"]
        pad = self.torch_pad(cfg)
        if self.op == "max":
            return lines + [f"x = {pool}(F.pad(x, {pad}, value=float('-inf')))  # Keras' "
                            "'same': the odd pad after (bottom/right)"]
        ones = "torch.ones_like(x[:1, :1])"
        return lines + [f"x = {pool}(F.pad(x, {pad})) / {pool}(F.pad({ones}, {pad}))  # mean "
                        "over the real elements, Keras' 'same'"]

    def keras_code(self, cfg):
        window, strides = self.window(cfg.opts)
        return (f"layers.{self.keras.rsplit('.', 1)[1]}({self._opt(window)}, "
                f"strides={self._opt(strides)}, padding='{cfg.opts['padding']}')")

    def formula(self, cfg, framework):
        window, strides = self.window(cfg.opts)
        sizes = (shape_text(self.spatial(cfg.flow_in)), shape_text(self.spatial(cfg.flow_out)))
        head = (f"window {shape_text(window)}, stride {_size(strides)}, "
                f"{cfg.opts['padding']}: {sizes[0]} -> {sizes[1]}")
        if cfg.opts["padding"] == "valid":
            unused = self.dropped(cfg)
            if any(unused):
                names = ("row(s)", "column(s)") if self.rank == 2 else ("position(s)",)
                head += " (floor: last " + ", ".join(f"{u} {n}" for u, n in zip(unused, names)) \
                    + " unused)"
            return head
        sides = (("top", "bottom"), ("left", "right")) if self.rank == 2 else (("left", "right"),)
        text = ", ".join(f"{a} {before} {b} {after}" for (a, b), (before, after)
                         in zip(sides, self.pads_of(cfg)))
        how = {"scratch": "padded by Keras' rule",
               "keras": "TensorFlow pads at run time",
               "torch": ("torch's symmetric padding" if self.symmetric(cfg)
                         else f"F.pad {self.torch_pad(cfg)}")}[framework]
        if self.op == "average":
            how += ({"torch": ", count_include_pad=False" if self.symmetric(cfg)
                     else ", divided by the pooled ones-mask"}.get(framework, "")
                    + "; each mean over the real elements only")
        return f"{head}, pad {text} ({how})"


def _pool2d_options():
    return (
        Option("pool_size", (2, 2), "window ph x pw: 2, or 2x3", size2, aliases=("pool",)),
        Option("strides", None, "step (default: the window size)", size2, aliases=("stride",)),
        Option("padding", "valid", "'valid' (floor: what does not fill a window is dropped) "
               "or 'same' (Keras' rule, the odd pad bottom/right)", str, PADDINGS),
    )


def _pool1d_options():
    return (
        Option("pool_size", 2, "window length k", integer(1), aliases=("pool",)),
        Option("strides", None, "step (default: the window length)", integer(1),
               aliases=("stride",)),
        Option("padding", "valid", "'valid' (floor: what does not fill a window is dropped) "
               "or 'same' (Keras' rule, the odd pad at the end)", str, PADDINGS),
    )


class Pool2D(Pool):
    """The 2-D pools: images (H, W, C) -> (Ho, Wo, C)."""

    layouts = ("image",)
    options = _pool2d_options()


class Pool1D(Pool):
    """The 1-D pools: a signal (L, C) or a sequence (T, D) -> a signal (Lo, C), pooled along
    the length (time) axis, never the channels."""

    rank = 1
    layouts = ("sequence", "signal")
    options = _pool1d_options()

    def wrong_layout_fix(self, flow):
        if flow.layout == "image":
            return "use maxpool2d / averagepool2d for an image"
        return "a 1-D pool takes (L, C): give a 2-D --input such as 12x3"


class MaxPool2D(Pool2D):
    name, title = "maxpool2d", "MaxPool2D"
    keras, torch = "keras.layers.MaxPooling2D", "torch.nn.MaxPool2d"
    aliases = ("MaxPooling2D", "max_pooling2d", "maxpooling2d", "MaxPool2D", "maxpool")
    example = ((5, 7, 2), {"pool_size": (2, 2)})
    equations = (
        "y[n,i,j,c] = max over the window of xp[n, i*sh+di, j*sw+dj, c]    xp: x padded with "
        "-inf by Keras' rule ('same'), or x ('valid')\n"
        "dL/dx: the whole G[n,i,j,c] goes to the window's FIRST maximum in row-major window "
        "order (ties: the first), and adds up where windows overlap")
    notes = (
        "Floor semantics (torch ceil_mode=False, Keras padding='valid'): Ho = floor((H - ph) / "
        "sh) + 1; rows and columns at the bottom/right that do not fill a window are unused "
        "and get a zero gradient.",
        TIES_NOTE, SAME_NOTE, MAX_SAME_NOTE)


class AveragePooling2D(Pool2D):
    name, title = "averagepool2d", "AveragePooling2D"
    op = "average"
    keras, torch = "keras.layers.AveragePooling2D", "torch.nn.AvgPool2d"
    aliases = ("average_pooling2d", "avgpool2d", "avg_pool2d", "AvgPool2d")
    example = ((7, 9, 3), {"pool_size": (2, 3), "strides": (2, 2)})
    equations = (
        "y[n,i,j,c] = (1 / count[i,j]) * sum over the window of xp[n, i*sh+di, j*sw+dj, c]\n"
        "    xp: x zero-padded by Keras' rule ('same'); count[i,j]: the REAL elements in window "
        "(i, j) (ph*pw for 'valid' and inside the image)\n"
        "dL/dx[n, i*sh+di, j*sw+dj, c] += G[n,i,j,c] / count[i,j], adding up where windows "
        "overlap; what lands on a pad is dropped")
    notes = ("Floor semantics (torch ceil_mode=False, Keras padding='valid'): rows and columns "
             "that do not fill a window are unused and get a zero gradient.",
             SAME_NOTE, AVERAGE_SAME_NOTE, KERAS_TORCH_SAME_NOTE)


class MaxPooling1D(Pool1D):
    name, title = "maxpool1d", "MaxPooling1D"
    keras, torch = "keras.layers.MaxPooling1D", "torch.nn.MaxPool1d"
    aliases = ("max_pooling1d", "maxpooling1d", "MaxPool1D", "MaxPool1d")
    example = ((9, 3), {"pool_size": 3, "strides": 2, "padding": "same"})
    equations = (
        "y[n,i,c] = max_{d < k} xp[n, i*s + d, c]    xp: x padded with -inf by Keras' rule "
        "('same'), or x ('valid'); x (N, L, C) -> y (N, Lo, C)\n"
        "dL/dx: the whole G[n,i,c] goes to the window's FIRST maximum (ties: the first), "
        "adding up where windows overlap")
    notes = (
        "Pools the length axis L (Keras' steps axis 1 of (N, L, C); torch's last axis of "
        "(N, C, L)), never the channels. A sequence (N, T, D) input is read as (N, L, C); "
        "torch needs it transposed to (N, D, T) first, which the torch module does.",
        "Output: a 'signal' (L, C), held (N, C, L) by torch like nn.Conv1d's output.",
        TIES_NOTE, SAME_NOTE, MAX_SAME_NOTE)


class AveragePooling1D(Pool1D):
    name, title = "averagepool1d", "AveragePooling1D"
    op = "average"
    keras, torch = "keras.layers.AveragePooling1D", "torch.nn.AvgPool1d"
    aliases = ("average_pooling1d", "avgpool1d", "avg_pool1d", "AvgPool1d", "AveragePool1D")
    example = ((8, 3), {"pool_size": 3, "strides": 2, "padding": "same"})
    equations = (
        "y[n,i,c] = (1 / count[i]) * sum_{d < k} xp[n, i*s + d, c]    xp: x zero-padded by "
        "Keras' rule; count[i]: the REAL elements in window i\n"
        "dL/dx[n, i*s + d, c] += G[n,i,c] / count[i], adding up where windows overlap")
    notes = (
        "Pools the length axis L, never the channels; a sequence (N, T, D) is transposed to "
        "(N, D, T) for torch by the torch module.",
        SAME_NOTE, AVERAGE_SAME_NOTE, KERAS_TORCH_SAME_NOTE)


# --- the global pools ------------------------------------------------------------------------
class GlobalPool(LayerDecl):
    """A reduction over every spatial position: (H, W, C) or (L, C) -> (C,)."""

    family = "pooling"
    stem = "pool"
    rank = 2
    op = "max"

    def output(self, opts, flow):
        return Flow((flow.features,), "flat")

    def reduce_axes(self, cfg) -> str:
        """The axis torch reduces, after its module: (N, C, positions) -> dim 2."""
        return "2"

    def torch_code(self, cfg):
        return "nn.Flatten(2)"

    def torch_forward(self, cfg):
        lines = []
        if cfg.flow_in.layout == "sequence":
            lines.append("x = x.transpose(1, 2)  # (N, T, D) -> (N, D, T): reduce over T")
        red = "amax" if self.op == "max" else "mean"
        why = ("; amax: ties split the gradient evenly, as Keras' reduce_max (not "
               "max(dim) / AdaptiveMaxPool, which send it to the first)") if self.op == "max" \
            else ""
        shape = "(N, C, H*W)" if self.rank == 2 else "(N, C, L)"
        return lines + [f"x = self.{cfg.name}(x).{red}(dim=2)  # {shape} -> (N, C){why}"]

    def keras_code(self, cfg):
        return f"layers.{self.keras.rsplit('.', 1)[1]}()"

    def formula(self, cfg, framework):
        sizes = shape_text(cfg.flow_in.shape[:-1])
        what = "max" if self.op == "max" else "mean"
        how = {"scratch": ("ties split the gradient evenly" if self.op == "max"
                           else "G / count to every position"),
               "torch": ("x.flatten(2).amax(dim=2): ties split evenly" if self.op == "max"
                         else "x.flatten(2).mean(dim=2)"),
               "keras": ("ops.max (tf.reduce_max): ties split evenly" if self.op == "max"
                         else "ops.mean")}[framework]
        return f"{what} over {sizes} positions -> ({cfg.flow_in.features},) ({how})"


GLOBAL_MAX_TIES = (
    "Ties: TensorFlow's reduce_max (Keras' GlobalMaxPooling) gives each of the m tied maxima "
    "G / m (measured: [[1, 3], [3, 2]], G = 6 -> 0, 3, 3, 0); torch's amax does the same, but "
    "torch's max(dim), AdaptiveMaxPool2d(1) and max_pool2d over the whole map send all of G "
    "to the FIRST maximum (0, 6, 0, 0). crossframe's torch side uses amax, so it matches "
    "Keras; the other is a declared difference.")
GLOBAL_MAX_EQ = ("y[n,c] = max over positions p of x[n,p,c]\n"
                 "dL/dx[n,p,c] = G[n,c] / m[n,c] where x[n,p,c] = y[n,c], else 0    m: the "
                 "number of tied maxima (TF's reduce_max and torch's amax)")
GLOBAL_AVG_EQ = ("y[n,c] = (1 / P) sum over the P positions p of x[n,p,c]\n"
                 "dL/dx[n,p,c] = G[n,c] / P")


class GlobalMaxPooling2D(GlobalPool):
    name, title = "globalmaxpool2d", "GlobalMaxPooling2D"
    keras, torch = "keras.layers.GlobalMaxPooling2D", "torch.Tensor.amax"
    aliases = ("global_max_pooling2d", "globalmaxpooling2d", "GlobalMaxPool2D")
    layouts = ("image",)
    example = ((4, 5, 3), {})
    equations = GLOBAL_MAX_EQ + "    (positions: H*W)"
    notes = ("(N, H, W, C) -> (N, C); torch: x.flatten(2).amax(dim=2) on NCHW (= "
             "x.amax(dim=(2, 3))).", GLOBAL_MAX_TIES)


class GlobalAveragePooling2D(GlobalPool):
    name, title = "globalaveragepool2d", "GlobalAveragePooling2D"
    op = "average"
    keras, torch = "keras.layers.GlobalAveragePooling2D", "torch.Tensor.mean"
    aliases = ("global_average_pooling2d", "globalaveragepooling2d", "GlobalAvgPool2D",
               "globalavgpool2d")
    layouts = ("image",)
    example = ((4, 5, 3), {})
    equations = GLOBAL_AVG_EQ + "    (P = H*W)"
    notes = ("(N, H, W, C) -> (N, C); torch: x.flatten(2).mean(dim=2) on NCHW (= "
             "nn.AdaptiveAvgPool2d(1) then flatten).",)


class GlobalMaxPooling1D(GlobalPool):
    name, title = "globalmaxpool1d", "GlobalMaxPooling1D"
    rank = 1
    mask = "ends"        # supports_masking=False: Keras warns and takes the max over every step
    keras, torch = "keras.layers.GlobalMaxPooling1D", "torch.Tensor.amax"
    aliases = ("global_max_pooling1d", "globalmaxpooling1d", "GlobalMaxPool1D")
    layouts = ("sequence", "signal")
    example = ((6, 4), {})
    equations = GLOBAL_MAX_EQ + "    (positions: the L steps)"
    notes = ("(N, L, C) -> (N, C), over the length (steps) axis; torch: amax(dim=2) of "
             "(N, C, L), a sequence (N, T, D) transposed first.", GLOBAL_MAX_TIES)


class GlobalAveragePooling1D(GlobalPool):
    name, title = "globalaveragepool1d", "GlobalAveragePooling1D"
    rank = 1
    op = "average"
    keras, torch = "keras.layers.GlobalAveragePooling1D", "torch.Tensor.mean"
    aliases = ("global_average_pooling1d", "globalaveragepooling1d", "GlobalAvgPool1D",
               "globalavgpool1d")
    layouts = ("sequence", "signal")
    example = ((6, 4), {})
    equations = GLOBAL_AVG_EQ + "    (P = L)"
    notes = ("(N, L, C) -> (N, C), over the length (steps) axis; torch: mean(dim=2) of "
             "(N, C, L), a sequence (N, T, D) transposed first.",)


# one object per kind of layer (what implementations name and users call: MaxPool2D(2))
MaxPool2D, AveragePooling2D = MaxPool2D(), AveragePooling2D()
MaxPooling1D, AveragePooling1D = MaxPooling1D(), AveragePooling1D()
GlobalMaxPooling2D, GlobalAveragePooling2D = GlobalMaxPooling2D(), GlobalAveragePooling2D()
GlobalMaxPooling1D, GlobalAveragePooling1D = GlobalMaxPooling1D(), GlobalAveragePooling1D()


# --- where the libraries differ (crossframe.difference) --------------------------------------
def _average_border_divisor() -> float:
    """Keras' AveragePooling2D(3, strides=1, padding='same') vs the usual torch port
    nn.AvgPool2d(3, stride=1, padding=1) (count_include_pad=True by default) on the same
    6x5x2 input: equal inside, the border windows divided by 9 instead of 6 or 4."""
    import torch
    import torch.nn.functional as F

    from ..runner import prepare, run
    from ..sequential import NCHW, Sequential
    from ..tolerances import rel_error

    model = Sequential([AveragePooling2D(pool_size=3, strides=1, padding="same")], (6, 5, 2))
    case = prepare(model)
    keras_out = run(case, "keras").outputs["output"]
    x = torch.from_numpy(NCHW.forward(case.batch.inputs["x"]))
    port = F.avg_pool2d(x, 3, stride=1, padding=1)
    return rel_error(NCHW.adjoint(port.numpy(), None), keras_out)


def _global_max_ties() -> float:
    """The input gradient of Keras' GlobalMaxPooling2D vs torch's nn.AdaptiveMaxPool2d(1)
    (+ flatten) on a batch with tied maxima (values rounded to whole numbers, 4x4x3)."""
    import dataclasses

    import numpy as np
    import torch

    from ..runner import prepare, run
    from ..sequential import NCHW, Sequential
    from ..spec import Batch
    from ..tolerances import rel_error

    case = prepare(Sequential([GlobalMaxPooling2D()], (4, 4, 3)), batch_size=4)
    x = np.round(case.batch.inputs["x"])           # whole numbers: the maxima tie
    case = dataclasses.replace(case, batch=Batch({"x": x}, None, case.batch.upstream))
    keras_dx = run(case, "keras").input_grads["x"]
    x_t = torch.from_numpy(NCHW.forward(x)).requires_grad_()
    y = torch.nn.AdaptiveMaxPool2d(1)(x_t).flatten(1)
    y.backward(torch.from_numpy(case.batch.upstream["output"]))
    return rel_error(NCHW.adjoint(x_t.grad.numpy(), None), keras_dx)


DIFFERENCES = (
    Difference(
        "average pooling at a 'same' border",
        torch="nn.AvgPool2d(3, stride=1, padding=1) divides every window by 9 "
              "(count_include_pad=True, the default): the zeros of the border count",
        keras="AveragePooling2D(3, strides=1, padding='same') divides each window by the "
              "number of real elements in it: 4 in a corner, 6 along an edge",
        agree_when="count_include_pad=False where the pads are symmetric; else F.pad with "
                   "Keras' pads and a division by the pooled ones-mask (crossframe's "
                   "torch_impl.pooling does both); or padding='valid'",
        measure=_average_border_divisor, layers=('averagepool2d', 'averagepool1d'),
    ),
    Difference(
        "ties in a global max pool",
        torch="nn.AdaptiveMaxPool2d(1), x.max(dim) and max_pool2d send the whole gradient to "
              "the FIRST maximum; x.amax splits it evenly",
        keras="GlobalMaxPooling2D (tf.reduce_max) splits the gradient evenly among the tied "
              "maxima",
        agree_when="torch uses x.amax(dim=...) (crossframe's torch_impl does), or no two "
                   "maxima tie",
        measure=_global_max_ties, layers=('globalmaxpool2d', 'globalmaxpool1d'),
    ),
)
