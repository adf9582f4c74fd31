"""The report's training section: each model that ships with a data set trained in every
framework from the same canonical weights, the curves overlaid, the final metrics compared.

    trainable(specs)                  the models that train (a data set ships with them)
    chosen(specs, named)              the ones the report trains: those with a recipe
                                      (crossframe.training.recipes), or every one named
    training(specs, epochs, seed)     curves first, then final metrics, the optimizer
                                      translation and the loss reductions

Each model trains with its recipe (epochs, Adam's learning rate, the options it trains with),
long enough to show learning: digits MLP and ConvNet above 95% test accuracy, linear
regression on its plateau. ``epochs`` given: every model that many epochs instead.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from crossframe.spec import FRAMEWORKS, Spec

from .plots import FRAMEWORK_STYLE, to_png
from .document import Image, Section, Table, Text, slug
from .sections import Ticker, _no_tick, shown


# --- units ----------------------------------------------------------------------------------
UNITS = {"diabetes": "diabetes progression units",   # MAE and RMSE: the target's own units
         "series": "the series' units"}
LOSS_UNITS = {"softmax_ce": "nats per sample", "binary_ce": "nats per sample",
              "mse": "standardised target squared", "mae": "standardised target"}


def axis_label(metric: str, loss: str, dataset: str) -> str:
    """The y-axis of one metric's panel: the quantity over its unit, two short lines."""
    if metric == "loss":
        return f"loss: {loss}\n({LOSS_UNITS.get(loss, 'the loss value')})"
    if metric == "accuracy":
        return "accuracy\n(fraction correct)"
    return f"{metric.upper()}\n({UNITS.get(dataset, 'target units')})"


def training_curves(title: str, curves, loss: str, dataset: str) -> bytes:
    """One row of panels per metric, train and test side by side; the frameworks overlaid in
    each (scratch a wide translucent band, torch dashed, Keras dotted), units on every axis."""
    metrics = list(dict.fromkeys(curves["metric"]))
    splits = list(dict.fromkeys(curves["split"]))
    fig = Figure(figsize=(3.6 * len(splits) + 0.8, 2.3 * len(metrics) + 0.7),
                 layout="constrained")
    axes = fig.subplots(len(metrics), len(splits), squeeze=False, sharex=True, sharey="row")
    for r, metric in enumerate(metrics):
        for c, split in enumerate(splits):
            ax = axes[r, c]
            part = curves[(curves["metric"] == metric) & (curves["split"] == split)]
            for fw, rows in part.groupby("framework", sort=False):
                rows = rows.sort_values("epoch")
                ax.plot(rows["epoch"], rows["value"], label=fw,
                        **FRAMEWORK_STYLE.get(fw, {}))
            ax.set_title(f"{split} split", fontsize=10)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.grid(alpha=0.3)
            if c == 0:
                ax.set_ylabel(axis_label(metric, loss, dataset), fontsize=9)
            if r == len(metrics) - 1:
                ax.set_xlabel("epoch (0 = before training)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    return to_png(fig)


# --- the section ------------------------------------------------------------------------------
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
    """The models of ``specs`` that train on a shipped data set."""
    from crossframe.training.fit import DATASETS

    return [s for s in specs if s.kind == "model" and s.dataset in DATASETS]


def chosen(specs: list[Spec], named: bool = False) -> list[Spec]:
    """What the report trains: the trainable models with a recipe, or (``named``: the user
    listed the models) every trainable one."""
    from crossframe.training.recipes import recipes

    known = recipes()
    return [s for s in trainable(specs) if named or s.name in known]


def _setting(spec: Spec, epochs: int | None, optimizer: str):
    """(epochs, lr or None for the optimizer's default, options, batch size, how to rerun)."""
    from crossframe.training.recipes import Recipe, recipes

    r = recipes().get(spec.name) or Recipe(spec.name, epochs=3, lr=0.0)
    n = r.epochs if epochs is None else epochs
    lr = r.lr if (optimizer == "adam" and r.lr) else None
    rerun = Recipe(spec.name, n, lr or 0.0, r.options, r.batch_size).flags()
    if optimizer != "adam":
        rerun += f" --optimizer {optimizer}"
    return n, lr, r.options, r.batch_size, rerun


def training(specs: list[Spec], epochs: int | None, seed: int, optimizer: str = "adam",
             tick: Ticker = _no_tick, named: bool = False) -> Section:
    """Curves, final metrics, then the tables behind them (``epochs`` None: each recipe's)."""
    import crossframe.training as module
    from crossframe.training.recipes import recipes

    section = Section("Training", "training")
    runs = chosen(specs, named)
    length = "each model's recipe (below each plot)" if epochs is None else \
        f"{epochs} epoch(s)"
    section.blocks.append(Text(
        f"Each model trained with {optimizer} for {length}, seed {seed}, from the same "
        "canonical weights and the same mini-batches in all three frameworks; the curves are "
        "overlaid (thick blue band scratch, dashed orange torch, dotted green Keras): where "
        "one line shows, they agree. Epoch 0 is the untrained model. Every run is float64. "
        "scratch computes torch's formula where the two libraries differ; Keras' Adam adds eps "
        "to the square root of the uncorrected second moment, torch's to the corrected one "
        "(\"Adam eps\" in [the differences](#differences), measured there), so over hundreds "
        "of steps at these learning rates Keras' curve can part from the other two by a "
        "visible amount: a formula, not an error (`crossframe train MODEL --check` compares "
        "them step by step net of it). Two layers part torch's curve the same way, by a "
        "declared formula: its recurrent layers hold the bias twice, each share taking its own "
        "step (\"recurrent biases\"), and its BatchNorm's running variance moves with the "
        "unbiased batch variance, which the test split is normalized with (\"BatchNormalization "
        "moving variance update\"); crossframe's checks compare the biased one it also keeps."))
    skipped = [s.name for s in trainable(specs) if s not in runs]
    untrainable = [s.name for s in specs if s.kind == "model" and s not in trainable(specs)]
    if skipped:
        section.blocks.append(Text(
            "Trained here: one model per cell and family, to keep the report within its time. "
            f"The others train the same way with `crossframe train NAME`: {', '.join(skipped)}."))
    if untrainable:
        section.blocks.append(Text(f"Not trained (no data set ships with them): "
                                   f"{', '.join(untrainable)}."))
    all_curves = []
    for spec in runs:
        tick(f"train {spec.name}")
        n, lr, options, batch_size, rerun = _setting(spec, epochs, optimizer)
        curves = module.curves(spec.name, n, optimizer=optimizer, seed=seed, lr=lr,
                               options=options or None, batch_size=batch_size)
        all_curves.append(curves.assign(model=spec.name))
        why = recipes().get(spec.name)
        model = spec.sequential(spec.resolve(options or None))
        section.blocks.append(Image(
            f"training_{slug(spec.name)}",
            training_curves(f"{spec.name} on {spec.dataset}: {optimizer}"
                            + (f", lr {lr:g}" if lr else "") + f", {n} epoch(s)",
                            curves, model.loss.name, spec.dataset),
            f"training curves of {spec.name} in scratch, torch and Keras",
            caption=f"`{rerun}`" + (f": {why.why}" if why and why.why and epochs is None
                                    else "")))
    if all_curves:
        curves = pd.concat(all_curves, ignore_index=True)
        final = final_metrics(curves)
        section.blocks += [
            Table("training_final", final, shown(final),
                  caption="metrics after the last epoch (accuracy: fraction correct; MAE and "
                          "RMSE in the target's own units); max_abs_diff across the "
                          "frameworks"),
            Table("training_curves", curves, show="link",
                  caption="every point of every curve (model, framework, epoch, split, metric, "
                          "value)"),
        ]
    translation = module.translation_table()
    section.blocks.append(Table(
        "optimizer_translation", translation, shown(translation),
        caption="optimizer hyper-parameters, torch <-> Keras (crossframe.training)"))
    if runs:
        from crossframe.training.reductions import reduction_table

        reductions = pd.concat([reduction_table(s.name).assign(model=s.name) for s in runs],
                               ignore_index=True)
        section.blocks.append(Table(
            "loss_reductions", reductions, shown(reductions),
            caption="loss reductions, measured with the real libraries on each model's own "
                    "output and batch: the factor on every gradient relative to torch's mean, "
                    "the SGD learning rate that follows a mean run at lr 1, and the ratio of a "
                    "first Adam step to the mean's (Adam divides the factor out, up to eps)"))
    return section
