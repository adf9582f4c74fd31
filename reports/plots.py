"""Every plot of the report: matplotlib ``Figure`` objects (Agg, no pyplot state) -> PNG bytes.

PNG output is deterministic: no "Software" metadata, no dates, fixed size and dpi, so two runs
on the same data give the same bytes (timings aside).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from .structure import View  # noqa: E402

DPI = 80
FRAMEWORK_STYLE = {  # overlaid curves stay visible: different width, dash and marker
    "scratch": dict(color="#1b6ca8", lw=3.2, ls="-", marker="o", ms=6, alpha=0.55),
    "torch": dict(color="#e4572e", lw=1.8, ls="--", marker="s", ms=4),
    "keras": dict(color="#2a9d3f", lw=1.2, ls=":", marker="^", ms=4),
}


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


@dataclass
class HeatPanel:
    """One parameter: its 2-D view and the element-wise relative error per dtype and pair.

    ``errors[dtype][pair]``: a 2-D array (the view's rows x columns) of |a - b| / scale, as
    ``reports.sections.element_errors`` computes it; inf where a side is missing."""

    name: str
    shape: tuple[int, ...]
    view: View
    errors: dict[str, dict[str, np.ndarray]]
    what: str = ""  # a note under the name, e.g. "state after the pass" or "† sum of |terms|"


@dataclass(frozen=True)
class Scale:
    """One dtype's colour scale: white below ``eps`` / 1000 (drawn as exactly 0), red above
    ``tol``."""

    tol: float
    eps: float

    @property
    def limits(self) -> tuple[float, float]:
        return float(np.log10(self.eps) - 3), float(np.log10(self.tol))


# the heatmap's geometry, inches (at DPI 80: 1 inch = 80 pixels)
PANEL_W, PANEL_H = 1.8, 1.8     # the largest panel
CELL_MAX = 0.28                 # the largest cell: a (1,) bias is one 0.3 x 0.3 square
SIDE_MIN = 0.3                  # no panel thinner than this
ASPECT_MAX = 6.0                # no panel longer than 6x its width, or wider than 6x its height
VALUES_UP_TO = 12               # tensors of at most this many elements print each error
GAP, GROUP_GAP = 0.18, 0.55     # between pairs, between dtypes


def panel_size(rows: int, cols: int) -> tuple[float, float]:
    """(width, height) in inches of a rows x cols panel: square cells of at most CELL_MAX
    where they fit in PANEL_W x PANEL_H, each side at least SIDE_MIN, aspect at most
    ASPECT_MAX (cells stretch rather than the panel growing thinner)."""
    cell = min(CELL_MAX, PANEL_W / cols, PANEL_H / rows)
    w, h = max(cols * cell, SIDE_MIN), max(rows * cell, SIDE_MIN)
    if h > ASPECT_MAX * w:
        h = ASPECT_MAX * w
    if w > ASPECT_MAX * h:
        h = w / ASPECT_MAX
    if cols * cell < PANEL_W and rows * cell >= PANEL_H and w < h / 2:
        w = min(PANEL_W, h / 2, 2 * w)   # a tall kernel gets cells up to twice as wide
    return w, h


def _pooled(err: np.ndarray, rows_px: int, cols_px: int) -> tuple[np.ndarray, int, int]:
    """The worst error over blocks of rows / columns when there are more than pixels, so that
    no element over the tolerance can vanish between pixels: (array, row step, column step)."""
    fr = -(-err.shape[0] // max(rows_px, 1))
    fc = -(-err.shape[1] // max(cols_px, 1))
    if fr == 1 and fc == 1:
        return err, 1, 1
    R, C = -(-err.shape[0] // fr) * fr, -(-err.shape[1] // fc) * fc
    padded = np.full((R, C), -np.inf)
    padded[:err.shape[0], :err.shape[1]] = err
    return padded.reshape(R // fr, fr, C // fc, fc).max(axis=(1, 3)), fr, fc


def _short(v: float) -> str:
    """An error in at most 5 characters: 0, 3e-8, 1e-16, inf."""
    if v == 0:
        return "0"
    if not np.isfinite(v):
        return "miss"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def error_heatmap(title: str, panels: list[HeatPanel], scales: dict[str, Scale]) -> bytes:
    """A grid: one row per parameter, one column group per dtype (its own colour scale and
    bar), one column per pair; the colour is log10 of the relative error of each element.

    White: bitwise equal; red: over the dtype's tolerance (or missing). Gate blocks get
    labelled boundaries along the columns, row blocks (a conv kernel's taps) along the rows.
    Panels keep near-square cells (see ``panel_size``); a tensor of at most VALUES_UP_TO
    elements prints its errors. Laid out by hand in inches (no layout engine: fast, and the
    same bytes each run)."""
    dtypes = list(scales)
    pairs = list(panels[0].errors[dtypes[0]])
    sizes = [panel_size(*_grid(p)) for p in panels]
    label_w = max(len(s) for p in panels for s in _row_label(p).split("\n"))
    left = max(1.2, 0.068 * label_w + 0.45)
    group_w = len(pairs) * PANEL_W + (len(pairs) - 1) * GAP
    width = left + len(dtypes) * group_w + (len(dtypes) - 1) * GROUP_GAP + 0.25
    head, foot = 0.95, 1.2
    above = [0.2 if p.view.blocks else 0.08 for p in panels]
    below = 0.3
    height = head + sum(a + h + below for a, (_, h) in zip(above, sizes)) + foot
    fig = Figure(figsize=(width, height))
    fig.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=12)

    def box(x, y, w, h):  # inches from the top left -> figure fraction
        return [x / width, 1 - (y + h) / height, w / width, h / height]

    cmap = matplotlib.colormaps["viridis"].with_extremes(under="white", over="red")
    for g, dtype in enumerate(dtypes):
        x0 = left + g * (group_w + GROUP_GAP)
        scale = scales[dtype]
        vmin, vmax = scale.limits
        fig.text((x0 + group_w / 2) / width, 1 - 0.5 / height,
                 f"{dtype} (tolerance {scale.tol:g})", ha="center", va="center",
                 fontsize=11, fontweight="bold")
        y = head
        image = None
        for p, (w, h), a in zip(panels, sizes, above):
            y += a
            for k, pair in enumerate(pairs):
                sx = x0 + k * (PANEL_W + GAP)
                if y == head + a:
                    fig.text((sx + PANEL_W / 2) / width, 1 - (head - 0.16) / height, pair,
                             ha="center", va="center", fontsize=9)
                ax = fig.add_axes(box(sx + (PANEL_W - w) / 2, y, w, h))
                image = _panel(ax, p, p.errors[dtype][pair], w, h, vmin, vmax, cmap,
                               first=k == 0)
            if g == 0:
                fig.text((left + (PANEL_W - w) / 2 - 0.3) / width, 1 - (y + h / 2) / height,
                         _row_label(p), ha="right", va="center", fontsize=8)
            y += h + below
        cax = fig.add_axes(box(x0 + 0.1 * group_w, height - foot + 0.35, 0.8 * group_w, 0.16))
        _colour_bar(fig, cax, image, scale, dtype)
    return to_png(fig)


def _grid(p: HeatPanel) -> tuple[int, int]:
    """(rows, columns) of the panel's 2-D view."""
    some = next(iter(next(iter(p.errors.values())).values()))
    return some.shape


def _row_label(p: HeatPanel) -> str:
    v = p.view
    axes = (f"rows: {v.rows}\ncolumns: {v.cols}" if v.rows else f"columns: {v.cols}") \
        if v.cols else ""
    groups = f"\nrow blocks: one per {v.group_axes}" if v.group else ""
    what = f"\n{p.what}" if p.what else ""
    return f"{p.name}\n{p.shape}\n{axes}{groups}{what}".replace("\n\n", "\n").strip()


def _panel(ax, p: HeatPanel, err: np.ndarray, w: float, h: float, vmin: float, vmax: float,
           cmap, first: bool):
    R, C = err.shape
    shown_err, fr, fc = _pooled(err, int(h * DPI), int(w * DPI))
    with np.errstate(divide="ignore"):
        logged = np.log10(shown_err)
    logged = np.where(shown_err > 0, np.maximum(logged, vmin - 0.5), vmin - 1)
    logged = np.where(np.isfinite(shown_err), logged, vmax + 1)   # missing: red
    image = ax.imshow(logged, aspect="auto", interpolation="nearest", cmap=cmap, vmin=vmin,
                      vmax=vmax, extent=(-0.5, C - 0.5, R - 0.5, -0.5))
    ax.tick_params(labelsize=7, length=2, pad=1)
    blocks = p.view.blocks
    if blocks and C % len(blocks) == 0:
        bw = C // len(blocks)
        ax.set_xticks([i * bw for i in range(len(blocks))])
        for i, name in enumerate(blocks):
            if i:
                ax.axvline(i * bw - 0.5, color="black", lw=1.0)
                ax.plot([i * bw - 0.5] * 2, [-0.5, -0.5 - 0.14 * R / h * 1.0], color="black",
                        lw=1.0, clip_on=False)
            ax.text((i + 0.5) * bw - 0.5, -0.5, name, ha="center", va="bottom", fontsize=8,
                    fontweight="bold")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(w / 0.35)), integer=True,
                                               min_n_ticks=1))
    row_blocks = p.view.row_blocks(p.shape)
    if row_blocks and R > 1:
        for r0, _ in row_blocks[1:]:
            ax.axhline(r0 - 0.5, color="black", lw=0.6)
    if first and R > 1:
        if row_blocks and len(row_blocks) <= h / 0.12:
            ax.set_yticks([r0 + (p.view.group - 1) / 2 for r0, _ in row_blocks],
                          [lab for _, lab in row_blocks])
        else:
            ax.yaxis.set_major_locator(MaxNLocator(nbins=max(1, int(h / 0.25)), integer=True,
                                                   min_n_ticks=1))
    else:
        ax.set_yticks([])
    ax.set_xlim(-0.5, C - 0.5)
    ax.set_ylim(R - 0.5, -0.5)
    if R * C <= VALUES_UP_TO and w / C >= 0.27:
        for (r, c), v in np.ndenumerate(err):
            dark = np.isfinite(v) and v > 0 and logged[r, c] < vmin + 0.55 * (vmax - vmin)
            ax.text(c, r, _short(v), ha="center", va="center", fontsize=6,
                    color="white" if dark or not np.isfinite(v) or v > 10 ** vmax else "black")
    elif np.all(err == 0):
        ax.text(0.5, 0.5, "bitwise equal", transform=ax.transAxes, ha="center", va="center",
                fontsize=7, color="#555555")
    return image


def _colour_bar(fig, cax, image, scale: Scale, dtype: str) -> None:
    vmin, vmax = scale.limits
    bar = fig.colorbar(image, cax=cax, orientation="horizontal", extend="both",
                       extendfrac=0.06)
    ticks = list(range(int(np.ceil(vmin)), int(np.floor(vmax)) + 1))
    bar.set_ticks(ticks, labels=[f"1e{t}" for t in ticks])
    bar.ax.tick_params(labelsize=8, length=3)
    eps = float(np.log10(scale.eps))
    for at, name in ((eps, f"eps {scale.eps:.1e}"), (vmax, f"tolerance {scale.tol:g}")):
        bar.ax.axvline(at, color="black", lw=2)
        bar.ax.text(at, 1.15, name, transform=bar.ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=9)
    bar.ax.set_xlabel(f"{dtype}: relative error |a - b| / scale, log scale; tolerance and "
                      "machine eps marked\nwhite: bitwise equal, red: over the tolerance or "
                      "missing", fontsize=9.5)


PALETTE = ["#1b6ca8", "#e4572e", "#2a9d3f", "#8ab17d", "#9c6ade", "#e9c46a", "#6c757d",
           "#c8553d", "#3d8bc8", "#b5838d"]
MARKERS = "osD^v<>pP*"


def speed_bars(table) -> bytes:
    """Median ms per forward + backward on a log axis, one line per workload (benchmark and
    dtype), one marker per framework; the bar behind a marker spans the fastest run to the
    90th percentile (the spread), and a hollow marker is a busy row (median over 1.25x the
    fastest)."""
    table = table.assign(workload=table["benchmark"] + " " + table["dtype"])
    workloads = list(dict.fromkeys(table["workload"]))
    frameworks = list(dict.fromkeys(table["framework"]))
    fig = Figure(figsize=(9.0, 1.4 + 0.42 * len(workloads)), layout="constrained")
    ax = fig.subplots()
    step = 0.7 / max(1, len(frameworks))
    for i, fw in enumerate(frameworks):
        rows = table[table["framework"] == fw].set_index("workload").reindex(workloads)
        y = np.arange(len(workloads)) + (i - (len(frameworks) - 1) / 2) * step
        color = PALETTE[i % len(PALETTE)]
        high = rows["p90_ms"] if "p90_ms" in rows else rows["median_ms"]
        ax.hlines(y, rows["min_ms"], high, color=color, lw=2, alpha=0.5)
        busy = rows["busy"].fillna(False).astype(bool) if "busy" in rows else \
            np.zeros(len(rows), bool)
        ax.scatter(rows["median_ms"][~busy], y[~busy], color=color, marker=MARKERS[i % 10],
                   s=28, label=fw, zorder=3)
        ax.scatter(rows["median_ms"][busy], y[busy], facecolors="none", edgecolors=color,
                   marker=MARKERS[i % 10], s=28, zorder=3)
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(workloads)), workloads, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("ms per forward + backward (log scale; marker: median, bar: fastest to "
                  "90th percentile; hollow: busy)")
    ax.grid(axis="x", which="both", alpha=0.3)
    # beside the axis, never over a marker
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return to_png(fig)


def _plain(value, _pos=None) -> str:
    """A log axis' tick as a plain number: 0.6, 2, 300, 1000."""
    return f"{value:g}"


def _plain_minor(value, _pos=None) -> str:
    """Minor ticks labelled only at 2 and 5 times a power of ten (the rest stay unlabelled)."""
    mantissa = value / 10 ** np.floor(np.log10(value)) if value > 0 else 0
    return f"{value:g}" if round(mantissa, 6) in (2.0, 5.0) else ""


AXIS_LABEL = {"batch": "batch size (samples)", "steps": "sequence length (time steps)"}


def sweep_lines(table) -> bytes:
    """Cost against size on log-log axes: one panel per benchmark, axis and dtype, one line per
    framework (median ms per forward + backward). A line of slope 1 is a cost linear in the
    size; a flat start is a fixed cost per call."""
    panels = list(dict.fromkeys(zip(table["benchmark"], table["axis"], table["dtype"])))
    frameworks = list(dict.fromkeys(table["framework"]))
    cols = min(3, len(panels))
    rows_ = -(-len(panels) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows_ + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows_, cols, squeeze=False)).ravel()
    for ax, (b, axis, d) in zip(axes, panels):
        part = table[(table["benchmark"] == b) & (table["axis"] == axis)
                     & (table["dtype"] == d)]
        for i, fw in enumerate(frameworks):
            g = part[part["framework"] == fw].sort_values("size")
            if len(g):
                ax.plot(g["size"], g["median_ms"], marker=MARKERS[i % 10], ms=4, lw=1.4,
                        color=PALETTE[i % len(PALETTE)], label=fw)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for which in (ax.xaxis, ax.yaxis):   # 0.6, 2, 1000: not 6x10^-1
            which.set_major_formatter(FuncFormatter(_plain))
            which.set_minor_formatter(FuncFormatter(_plain_minor))
        ax.set_title(f"{b} {d}", fontsize=10)
        ax.set_xlabel(AXIS_LABEL.get(axis, axis))
        ax.set_ylabel("median ms per forward + backward")
        ax.grid(which="both", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    return to_png(fig)
