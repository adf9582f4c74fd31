"""The pooling family: MaxPool2D and AveragePooling2D.

Canonical layout (Keras', channels_last): images ``(N, H, W, C)``; torch holds them NCHW (the
model's input and output entries convert). Pools have no parameters: nothing to map, only the
window geometry (``crossframe.geometry``, shared with the convolutions through ``Window``).
"""
from __future__ import annotations

from .base import Flow, LayerDecl, Option, size2
from .conv import Window, _hw


class Pool2D(LayerDecl, Window):
    """What MaxPool2D and (later) the other 2-D pools share: window, strides, padding."""

    family = "pooling"
    layouts = ("image",)
    options = (
        Option("pool_size", (2, 2), "window ph x pw: 2, or 2x3", size2, aliases=("pool",)),
        Option("strides", None, "step (default: the window size)", size2, aliases=("stride",)),
        Option("padding", "valid", "'valid' (floor: what does not fill a window is dropped)",
               str, ("valid",)),
    )

    def validate(self, opts, flow, where):
        super().validate(opts, flow, where)
        if opts["strides"] is None:
            opts["strides"] = opts["pool_size"]
        self.geometry(flow, opts["pool_size"], opts["strides"], opts["padding"], where,
                      "use a smaller pool_size or a larger input")

    def output(self, opts, flow):
        (Ho, Wo), _ = self.geometry(flow, opts["pool_size"], opts["strides"], opts["padding"],
                                    self.name, "")
        return Flow((Ho, Wo, flow.features), "image")

    def dropped(self, cfg) -> tuple[int, int]:
        """Rows and columns at the bottom/right that no window covers (floor semantics)."""
        (ph, pw), (sh, sw) = cfg.opts["pool_size"], cfg.opts["strides"]
        (H, W), (Ho, Wo) = cfg.flow_in.shape[:2], cfg.flow_out.shape[:2]
        return H - ((Ho - 1) * sh + ph), W - ((Wo - 1) * sw + pw)

    def formula(self, cfg, framework):
        rows, cols = self.dropped(cfg)
        floor = f" (floor: last {rows} row(s), {cols} column(s) unused)" if rows or cols else ""
        o = cfg.opts
        stride = o["strides"][0] if o["strides"][0] == o["strides"][1] else _hw(o["strides"])
        return (f"{_hw(o['pool_size'])} window, stride {stride}: {_hw(cfg.flow_in.shape[:2])} "
                f"-> {_hw(cfg.flow_out.shape[:2])}{floor}")


class MaxPool2D(Pool2D):
    name, title, stem = "maxpool2d", "MaxPool2D", "pool"
    keras, torch = "keras.layers.MaxPooling2D", "torch.nn.MaxPool2d"
    aliases = ("MaxPooling2D", "max_pooling2d", "maxpooling2d", "MaxPool2D", "maxpool")
    example = ((5, 7, 2), {"pool_size": (2, 2)})
    equations = (
        "y[n,i,j,c] = max over the window of x[n, i*sh+di, j*sw+dj, c]\n"
        "dL/dx: the whole G[n,i,j,c] goes to the window's FIRST maximum in row-major window "
        "order (ties: the first), and adds up where windows overlap")
    notes = (
        "Floor semantics (torch ceil_mode=False, Keras padding='valid'): Ho = floor((H - ph) / "
        "sh) + 1; rows and columns at the bottom/right that do not fill a window are unused "
        "and get a zero gradient.",
        "Ties (ReLU zeros make them common): the whole gradient of a window goes to its FIRST "
        "maximum in row-major window order, in scratch, torch and TensorFlow.",
    )

    def torch_code(self, cfg):
        return f"nn.MaxPool2d({cfg.opts['pool_size']}, stride={cfg.opts['strides']})"

    def keras_code(self, cfg):
        return (f"layers.MaxPooling2D({cfg.opts['pool_size']}, strides={cfg.opts['strides']}, "
                "padding='valid')")


class AveragePooling2D(Pool2D):
    name, title, stem = "averagepool2d", "AveragePooling2D", "pool"
    keras, torch = "keras.layers.AveragePooling2D", "torch.nn.AvgPool2d"
    aliases = ("average_pooling2d", "avgpool2d", "avg_pool2d", "AvgPool2d")
    example = ((7, 9, 3), {"pool_size": (2, 3), "strides": (2, 2)})
    equations = (
        "y[n,i,j,c] = mean over the window of x[n, i*sh+di, j*sw+dj, c]    (ph*pw values)\n"
        "dL/dx[n, i*sh+di, j*sw+dj, c] += G[n,i,j,c] / (ph*pw), adding up where windows "
        "overlap")
    notes = ("Floor semantics (torch ceil_mode=False, Keras padding='valid'): rows and columns "
             "that do not fill a window are unused and get a zero gradient.",)

    def torch_code(self, cfg):
        return f"nn.AvgPool2d({cfg.opts['pool_size']}, stride={cfg.opts['strides']})"

    def keras_code(self, cfg):
        return (f"layers.AveragePooling2D({cfg.opts['pool_size']}, "
                f"strides={cfg.opts['strides']}, padding='valid')")


# one object per kind of layer (what implementations name and users call: MaxPool2D(2))
MaxPool2D, AveragePooling2D = MaxPool2D(), AveragePooling2D()
