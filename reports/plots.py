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
from matplotlib.ticker import MaxNLocator  # noqa: E402

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
    """One parameter: its 2-D view and the element-wise relative error per framework pair."""

    name: str
    shape: tuple[int, ...]
    view: View
    errors: dict[str, np.ndarray]  # pair -> 2-D |a - b| / max(|a|, |b|)


def error_heatmap(title: str, panels: list[HeatPanel], tol: float, eps: float) -> bytes:
    """A grid: one row per parameter, one column per pair, log10 of the relative error.

    White = bitwise equal, red = over the tolerance; gate blocks get white boundaries.
    """
    pairs = list(panels[0].errors)
    heights = [1.0 if len(p.shape) > 1 else 0.45 for p in panels]
    fig = Figure(figsize=(4.0 * len(pairs) + 1.6, 1.0 + 2.1 * sum(heights)), layout="constrained")
    axes = fig.subplots(len(panels), len(pairs), squeeze=False,
                        gridspec_kw={"height_ratios": heights})
    vmin, vmax = np.log10(eps) - 3, np.log10(tol)
    cmap = matplotlib.colormaps["viridis"].with_extremes(under="white", over="red")
    image = None
    for r, panel in enumerate(panels):
        for c, pair in enumerate(pairs):
            ax = axes[r, c]
            err = panel.errors[pair]
            shown = np.where(err > 0, np.log10(np.maximum(err, 10.0 ** (vmin - 1))), vmin - 1)
            image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap=cmap,
                              vmin=vmin, vmax=vmax)
            _gate_lines(ax, panel.view.blocks, err.shape[1])
            if r == 0:
                ax.set_title(pair, fontsize=11, pad=16 if panel.view.blocks else 6)
            if c == 0:
                rows = f"\nrows: {panel.view.rows}" if panel.view.rows else ""
                ax.set_ylabel(f"{panel.name}\n{panel.shape}{rows}", fontsize=9)
            ax.set_xlabel(f"columns: {panel.view.cols}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            if err.shape[0] == 1:
                ax.set_yticks([])
    tall = fig.get_figheight() > 5
    bar = fig.colorbar(image, ax=axes, extend="both", shrink=0.6 if tall else 1.0)
    bar.set_label("log10 |a - b| / max(|a|, |b|)\nwhite: equal, red: over the tolerance",
                  fontsize=8)
    fig.suptitle(title, fontsize=12)
    return to_png(fig)


def _gate_lines(ax, blocks: tuple[str, ...], cols: int) -> None:
    if not blocks:
        return
    width = cols / len(blocks)
    for i, name in enumerate(blocks):
        if i:
            ax.axvline(i * width - 0.5, color="white", lw=1.5)
        ax.text((i + 0.5) * width - 0.5, 1.01, name, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=9, fontweight="bold")


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
    ax.legend(fontsize=8, loc="lower right", ncol=2)
    return to_png(fig)


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
        ax.set_title(f"{b} {d}", fontsize=10)
        ax.set_xlabel(AXIS_LABEL.get(axis, axis))
        ax.set_ylabel("median ms per forward + backward")
        ax.grid(which="both", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    return to_png(fig)
