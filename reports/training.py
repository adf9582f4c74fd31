"""The report's training section: each model that ships with a data set trained in every
framework from the same canonical weights, the curves overlaid, the final metrics compared.

    trainable(specs)                  the models that train (a data set ships with them)
    training(specs, epochs, seed)     curves + final metrics
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from crossframe.spec import FRAMEWORKS, Spec

from .plots import FRAMEWORK_STYLE, to_png
from .document import Image, Section, Table, Text, slug
from .sections import Ticker, _no_tick, shown


# --- Training --------------------------------------------------------------------------------
def training_curves(title: str, curves) -> bytes:
    """One panel per (metric, split); the three frameworks overlaid in each."""
    metrics = list(dict.fromkeys(curves["metric"]))
    splits = list(dict.fromkeys(curves["split"]))
    fig = Figure(figsize=(4.2 * len(splits) + 0.6, 2.8 * len(metrics) + 0.6),
                 layout="constrained")
    axes = fig.subplots(len(metrics), len(splits), squeeze=False, sharex=True)
    for r, metric in enumerate(metrics):
        for c, split in enumerate(splits):
            ax = axes[r, c]
            part = curves[(curves["metric"] == metric) & (curves["split"] == split)]
            for fw, rows in part.groupby("framework", sort=False):
                rows = rows.sort_values("epoch")
                ax.plot(rows["epoch"], rows["value"], label=fw,
                        **FRAMEWORK_STYLE.get(fw, {}))
            ax.set_title(f"{metric} ({split})", fontsize=10)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.grid(alpha=0.3)
            if r == len(metrics) - 1:
                ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=12)
    return to_png(fig)



def final_metrics(curves: pd.DataFrame) -> pd.DataFrame:
    """The last epoch, one row per (model, split, metric), one column per framework."""
    last = curves[curves["epoch"] == curves.groupby("model")["epoch"].transform("max")]
    wide = last.pivot_table(index=["model", "split", "metric"], columns="framework",
                            values="value", sort=False).reset_index()
    wide.columns.name = None
    fws = [fw for fw in FRAMEWORKS if fw in wide.columns]
    wide["max_abs_diff"] = wide[fws].max(axis=1) - wide[fws].min(axis=1)
    return wide


def trainable(specs: list[Spec]) -> list[Spec]:
    """The models of ``specs`` that train on a shipped data set (the others are named, not
    trained)."""
    from crossframe.training.fit import DATASETS

    return [s for s in specs if s.kind == "model" and s.dataset in DATASETS]


def training(specs: list[Spec], epochs: int, seed: int, optimizer: str = "adam",
             tick: Ticker = _no_tick) -> Section:
    import crossframe.training as module

    section = Section("Training", "training")
    section.blocks.append(Text(
        f"Each model trained for {epochs} epoch(s) with {optimizer}, seed {seed}, from the same "
        "canonical weights in all three frameworks; the curves are overlaid (thick blue "
        "scratch, dashed orange torch, dotted green Keras), so one visible line means they "
        "agree."))
    translation = module.translation_table()
    section.blocks.append(Table(
        "optimizer_translation", translation, shown(translation),
        caption="optimizer hyper-parameters, torch <-> Keras (crossframe.training)"))
    all_curves = []
    chosen = trainable(specs)
    if chosen:
        from crossframe.training.reductions import reduction_table

        reductions = pd.concat([reduction_table(s.name).assign(model=s.name) for s in chosen],
                               ignore_index=True)
        section.blocks.append(Table(
            "loss_reductions", reductions, shown(reductions),
            caption="loss reductions, measured with the real libraries on each model's own "
                    "output and batch: the factor on every gradient relative to torch's mean, "
                    "the SGD learning rate that follows a mean run at lr 1, and the ratio of a "
                    "first Adam step to the mean's (Adam divides the factor out, up to eps)"))
    others = [s.name for s in specs if s.kind == "model" and s not in chosen]
    if others:
        section.blocks.append(Text(f"Not trained (no data set ships with them): "
                                   f"{', '.join(others)}."))
    for spec in chosen:
        tick(f"train {spec.name}")
        curves = module.curves(spec.name, epochs, optimizer=optimizer, seed=seed)
        all_curves.append(curves.assign(model=spec.name))
        section.blocks.append(Image(
            f"training_{slug(spec.name)}",
            training_curves(f"{spec.name}: {optimizer}, {epochs} epoch(s)", curves),
            f"training curves of {spec.name} in scratch, torch and Keras"))
    if all_curves:
        curves = pd.concat(all_curves, ignore_index=True)
        final = final_metrics(curves)
        section.blocks += [
            Table("training_final", final, shown(final),
                  caption="metrics after the last epoch; max_abs_diff across the frameworks"),
            Table("training_curves", curves, show="link",
                  caption="every point of every curve (model, framework, epoch, split, metric, "
                          "value)"),
        ]
    return section
