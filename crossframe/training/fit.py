"""Real training runs: a model trained on its data set in each framework, same everything.

    df = curves("mlp", epochs=20)                 # long format, writes nothing
    paths = train("mlp", epochs=20, out="runs/mlp")   # CSV + overlaid PNG, atomically

Same everything: the canonical initial weights (seeded), the seeded train/test split
(``data.train_test_split``), and each epoch's seeded shuffle into mini-batches. Each framework
trains with its real optimizer on its own model (``crossframe.training.engines``); scratch
uses torch's formula where the two libraries differ (see ``crossframe train --table``). The
frameworks default to scratch, torch and keras; Keras on a named backend (``keras-jax``,
``keras-torch``, ``keras-tensorflow``) trains in that backend's worker process.

After every epoch (and before the first, epoch 0) the whole train and test splits are run
forward in each framework and measured by one NumPy function, so the three curves differ only
where the models do: the loss (the spec's loss), and accuracy for a classifier, or MAE and
RMSE in the target's original units for a regression (diabetes: x ``diabetes_target_std()``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data
from ..errors import InputError, raise_if_signalled
from ..runner import Case, prepare
from ..spec import FRAMEWORKS, Batch, get
from .config import OptimizerConfig, make_config
from ..writing import write_all_atomic
from .engines import make_side

DATASETS = data.DATASETS
TARGET_UNITS = {"diabetes": data.diabetes_target_std}  # standardised target -> original units
CLASSIFIER_LOSSES = ("softmax_ce", "binary_ce")
STYLES = {"scratch": dict(lw=3.0, alpha=0.45), "torch": dict(lw=1.6, ls="--"),
          "keras": dict(lw=1.6, ls=":"), "keras-tensorflow": dict(lw=1.2, ls=(0, (1, 3))),
          "keras-jax": dict(lw=1.2, ls="-."), "keras-torch": dict(lw=1.2, ls=(0, (5, 2, 1, 2)))}


@dataclass
class Plan:
    """Everything the three runs share: the full data set in canonical form, the split, the
    initial weights (``case.weights``), the optimizer config and the batch size."""

    case: Case
    config: OptimizerConfig
    epochs: int
    batch_size: int
    train: np.ndarray  # row positions in case.batch
    test: np.ndarray
    recurrent_bias: str = "two"  # torch's recurrent biases (engines.train_mapping)
    init: str = "canonical"      # how the starting weights were drawn (runner.prepare)

    def batches(self, epoch: int) -> list[np.ndarray]:
        """Epoch ``epoch``'s mini-batches: a seeded shuffle of the train rows, cut in order
        (the last batch may be smaller)."""
        order = data.rng_for(self.case.seed, "epoch", str(epoch)).permutation(self.train)
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def rows(self, positions: np.ndarray) -> Batch:
        b = self.case.batch
        return Batch({k: v[positions] for k, v in b.inputs.items()}, b.target[positions])


def plan(model: str, epochs: int, optimizer: str | OptimizerConfig = "adam", seed: int = 0,
         dtype: str = "float64", lr: float | None = None, batch_size: int | None = None,
         options: dict | None = None, recurrent_bias: str = "two",
         init: str = "canonical") -> Plan:
    """Validate everything (InputError on bad input) and lay the run out; trains nothing.
    ``optimizer``: a name (with ``lr``) or a whole OptimizerConfig; ``recurrent_bias``: torch's
    ("two", or "single": bias_hh frozen at 0, see ``engines.single_bias``); ``init``: the
    starting weights, crossframe's draw or a library's defaults (``runner.prepare``)."""
    spec = get(model)
    if spec.kind != "model" or spec.dataset not in DATASETS:
        trainable = ", ".join(s.name for s in _trainable())
        raise InputError(f"{model} is a lone {spec.kind} with no data set to train on",
                         f"train one of: {trainable}")
    if epochs < 1:
        raise InputError(f"--epochs {epochs} must be at least 1", "pass e.g. --epochs 20")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"--batch-size {batch_size} must be at least 1", "pass e.g. 32")
    config = optimizer if isinstance(optimizer, OptimizerConfig) else make_config(optimizer,
                                                                                 lr=lr)
    n = len(DATASETS[spec.dataset]()[0])
    case = prepare(model, dtype=dtype, seed=seed, batch_size=n, options=options, init=init)
    train_rows, test_rows = data.train_test_split(n, seed)
    if batch_size is not None and batch_size > len(train_rows):
        raise InputError(f"--batch-size {batch_size} is larger than the {len(train_rows)} "
                         f"training examples of {spec.dataset}",
                         f"pass at most --batch-size {len(train_rows)}")
    size = batch_size or spec.default_batch_size
    smallest = min(size, len(train_rows) % size or size)   # an epoch's last batch may be short
    for cfg in case.model.layers:
        cfg.decl.check_batch(cfg, smallest, "train")
    return Plan(case, config, epochs, size, train_rows, test_rows, recurrent_bias, init)


def _trainable():
    from ..spec import all_specs

    return [s for s in all_specs("model") if s.dataset in DATASETS]


def measure(plan: Plan, outputs: dict, batch: Batch) -> dict[str, float]:
    """{metric: value} for canonical ``outputs`` of ``batch``, by one NumPy function."""
    from ..scratch.losses import make

    spec, loss = plan.case.spec, plan.case.model.loss
    (pred,) = outputs.values()
    metrics = {"loss": float(make(loss).forward(pred, batch.target))}
    if loss.name == "softmax_ce":
        metrics["accuracy"] = float(np.mean(pred.argmax(axis=-1) == batch.target))
    elif loss.name == "binary_ce":
        threshold = 0.0 if loss.from_logits else 0.5
        metrics["accuracy"] = float(np.mean((pred > threshold) == (batch.target > 0.5)))
    else:
        units = TARGET_UNITS.get(spec.dataset, lambda: 1.0)()
        error = (pred - batch.target).astype(np.float64) * units
        metrics["mae"] = float(np.mean(np.abs(error)))
        metrics["rmse"] = float(np.sqrt(np.mean(error * error)))
    return metrics


def curves(model: str, epochs: int, optimizer: str = "adam", seed: int = 0,
           dtype: str = "float64", lr: float | None = None, batch_size: int | None = None,
           options: dict | None = None, frameworks=FRAMEWORKS,
           progress: bool = False) -> pd.DataFrame:
    """Train ``model`` ``epochs`` epochs in each of ``frameworks`` (``engines.TRAINABLE``);
    writes nothing.

    Returns the long format: one row per (framework, epoch, split, metric) with its value;
    epoch 0 is the untrained model.
    """
    p = plan(model, epochs, optimizer, seed, dtype, lr, batch_size, options)
    return run_plan(p, frameworks, progress)


def run_plan(p: Plan, frameworks=FRAMEWORKS, progress: bool = False) -> pd.DataFrame:
    rows = [row for fw in frameworks for row in run_framework(p, fw, progress)]
    return pd.DataFrame(rows, columns=["framework", "epoch", "split", "metric", "value"])


def run_framework(p: Plan, framework: str, progress: bool = False) -> list[dict]:
    """Train in one framework, measuring after every epoch; a tqdm bar on stderr."""
    from tqdm import tqdm

    case = p.case
    side = make_side(framework, case.model, case.dtype, case.weights, p.config,
                     p.recurrent_bias)
    splits = {"train": p.rows(p.train), "test": p.rows(p.test)}
    headline = "accuracy" if case.model.loss.name in CLASSIFIER_LOSSES else "rmse"
    rows: list[dict] = []

    def evaluate(epoch: int) -> dict[str, dict[str, float]]:
        found = {split: measure(p, side.predict(b.inputs), b) for split, b in splits.items()}
        rows.extend(dict(framework=framework, epoch=epoch, split=split, metric=m, value=v)
                    for split, metrics in found.items() for m, v in metrics.items())
        return found

    evaluate(0)
    with tqdm(total=p.epochs, desc=f"{framework:>11}", unit="epoch", file=sys.stderr,
              disable=not progress) as bar:
        for epoch in range(1, p.epochs + 1):
            for positions in p.batches(epoch):
                raise_if_signalled()     # an interrupt a gc callback swallowed still stops it
                batch = p.rows(positions)
                side.step(batch.inputs, batch.target)
            found = evaluate(epoch)
            bar.set_postfix({"train loss": f"{found['train']['loss']:.4f}",
                             f"test {headline}": f"{found['test'][headline]:.4g}"})
            bar.update()
    return rows


def plot(df: pd.DataFrame, title: str):
    """One panel per (metric, split), the frameworks overlaid: scratch a wide translucent
    band, torch dashed, keras dotted, each keras-* a thinner line of its own dashes, so lines
    that coincide stay visible."""
    from matplotlib.figure import Figure

    metrics = list(dict.fromkeys(df["metric"]))
    splits = list(dict.fromkeys(df["split"]))
    fig = Figure(figsize=(4.2 * len(splits), 2.8 * len(metrics)), layout="constrained")
    axes = fig.subplots(len(metrics), len(splits), squeeze=False, sharex=True)
    for (metric, split), ax in zip([(m, s) for m in metrics for s in splits], axes.flat):
        sel = df[(df["metric"] == metric) & (df["split"] == split)]
        for fw, line in sel.groupby("framework", sort=False):
            ax.plot(line["epoch"], line["value"], label=fw, **STYLES.get(fw, {}))
        ax.set_title(f"{split} {metric}", fontsize=10)
        ax.grid(alpha=0.3)
        if metric == "loss":
            ax.set_yscale("log")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def final(df: pd.DataFrame) -> pd.DataFrame:
    """The last epoch's values: one row per framework, columns ``split metric``."""
    last = df[df["epoch"] == df["epoch"].max()]
    table = last.pivot_table(index="framework", columns=["split", "metric"], values="value",
                             sort=False)
    table.columns = [f"{s} {m}" for s, m in table.columns]
    return table


FILES = ("curves.csv", "curves.png")


def check_out(out: str, force: bool = False) -> str:
    """Say now, before any training, why ``out`` could not take the run's files (an
    InputError); the folder itself is created only when the files are written."""
    from ..writing import check_folder, check_writable

    if not out:
        raise InputError("--out is empty", "give a folder, e.g. --out runs/mlp")
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out} is a file", "give a folder (it is created if missing)")
    check_folder(out, "--out")
    if os.path.isdir(out):
        for name in FILES:
            check_writable(os.path.join(out, name), force)
    return out


def save(df: pd.DataFrame, p: Plan, out: str) -> dict[str, str]:
    """Write ``curves.csv`` and ``curves.png`` into ``out`` (created now); return their paths."""
    created = not os.path.exists(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise InputError(f"--out {out}: cannot create the folder ({err.strerror})",
                         "give a writable folder") from None
    try:
        return _save(df, p, out)
    except BaseException:
        if created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)          # the folder this run made, and nothing in it: gone again
        raise


def _save(df: pd.DataFrame, p: Plan, out: str) -> dict[str, str]:
    case = p.case
    title = (f"{case.spec.name} on {case.spec.dataset}: {p.config.describe()}, "
             f"batch {p.batch_size}, {case.dtype}, seed {case.seed}"
             + (f", torch recurrent bias {p.recurrent_bias}" if p.recurrent_bias != "two" else "")
             + (f", init {p.init}" if p.init != "canonical" else ""))
    paths = {"csv": os.path.join(out, "curves.csv"), "png": os.path.join(out, "curves.png")}
    fig = plot(df, title)
    write_all_atomic({paths["csv"]: lambda tmp: df.to_csv(tmp, index=False),
                      paths["png"]: lambda tmp: fig.savefig(tmp, format="png", dpi=110)})
    return paths


def train(model: str, epochs: int, optimizer: str = "adam", seed: int = 0,
          dtype: str = "float64", lr: float | None = None, batch_size: int | None = None,
          options: dict | None = None, out: str | None = None, progress: bool = True,
          force: bool = False, recurrent_bias: str = "two", init: str = "canonical",
          frameworks=FRAMEWORKS) -> tuple[pd.DataFrame, Plan, dict[str, str]]:
    """``curves`` plus the files: validate everything (``out``, default runs/MODEL, included),
    train each of ``frameworks`` (``engines.TRAINABLE``) with a progress bar, write CSV and PNG
    atomically (an earlier run's files are replaced only with ``force``). Returns (curves,
    plan, {"csv", "png": path})."""
    p = plan(model, epochs, optimizer, seed, dtype, lr, batch_size, options, recurrent_bias,
             init)
    folder = check_out(os.path.join("runs", model) if out is None else out, force)
    df = run_plan(p, frameworks, progress=progress)
    return df, p, save(df, p, folder)
