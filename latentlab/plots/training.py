"""Figures of training runs: the losses logged in ``<checkpoint stem>.metrics.jsonl``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure, styled

__all__ = ["read_metrics_log", "training_curves_figure", "loss_panels"]

# columns of the log that are not losses
_NOT_LOSSES = {"step", "images_per_s", "time", "lr"}


def read_metrics_log(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The columns of a metrics log: ``{"step": (T,), name: (T,), ...}`` (NaN where a line lacks a name)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no metrics log at {path} (it is written beside a checkpoint during training)")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path} holds no logged steps")
    names = list(dict.fromkeys(k for line in lines for k in line))
    return {k: np.asarray([float(line.get(k, np.nan)) for line in lines]) for k in names}


# Logged quantities on other scales than the losses get panels of their own: a KL term of
# tens beside a reconstruction loss of thousands, a gradient norm of hundreds beside GAN
# losses of about 1, or the discriminator's mean output would be flat lines on a shared axis.
# (panel label, test on the column name), in panel order; the rest are losses.
_GROUPS = (
    ("KL", lambda k: k == "kl" or k.startswith("kl_")),
    ("gradient norm", lambda k: "grad_norm" in k),
    ("discriminator", lambda k: k in ("d_real", "d_fake")),
)

_YLABELS = {"discriminator": "mean D output"}


def loss_panels(columns) -> list[tuple[str, list[str]]]:
    """How the columns of one run's log are split into panels: ``[(label, [column, ...]), ...]``.

    Losses (every column not named below) share the first panel; a KL term (``kl``),
    gradient norms (``*grad_norm*``) and the discriminator's mean outputs (``d_real``,
    ``d_fake``) get one panel each, since their scales differ from the losses'. Columns
    that are not logged quantities (step, time, images per second, learning rate) are left out.
    """
    columns = [k for k in columns if k not in _NOT_LOSSES]
    grouped = {label: [k for k in columns if match(k)] for label, match in _GROUPS}
    taken = {k for ks in grouped.values() for k in ks}
    panels = [("loss", [k for k in columns if k not in taken])] + list(grouped.items())
    return [(label, ks) for label, ks in panels if ks]


@styled
def training_curves_figure(logs: dict, *, width: float = TWO_COLUMN):
    """Logged losses against step, each run's quantities of different scales on separate panels.

    Every run gets one panel per group of :func:`loss_panels` (its losses; its KL term;
    its gradient norm; its discriminator outputs), laid out three panels to a row, so a
    quantity is never drawn on the axis of another of a different scale. Runs with few
    logged steps are drawn with markers (a single step still shows).

    Parameters
    ----------
    logs : dict of run name -> path of a metrics log, or the dict :func:`read_metrics_log` returns
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``<run>/<column>`` arrays for every run.
    """
    if not logs:
        raise ValueError("give at least one run")
    runs = {name: read_metrics_log(v) if isinstance(v, (str, os.PathLike)) else dict(v) for name, v in logs.items()}
    panels = [(name, label, ks) for name, cols in runs.items() for label, ks in loss_panels(cols)]
    if not panels:
        raise ValueError("the logs hold no losses to draw (only step, time and speed columns)")
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = new_figure(width, aspect=0.3 * nrows, nrows=nrows, ncols=ncols, squeeze=False)
    axes = axes.ravel()
    for ax, (name, label, ks) in zip(axes, panels):
        cols = runs[name]
        few = len(cols["step"]) < 20
        for i, k in enumerate(ks):
            ax.plot(cols["step"], cols[k], color=PALETTE[i % len(PALETTE)], label=k, marker="o" if few else None, ms=3)
        ax.set_title(name if label == "loss" else f"{name}: {label}")
        ax.set_xlabel("step")
        ax.set_ylabel(_YLABELS.get(label, label) if len(ks) > 1 or label != "loss" else ks[0])
        ax.xaxis.get_major_locator().set_params(integer=True)
        if len(np.unique(cols["step"])) == 1:  # one logged step: one tick, not fractions of a step
            ax.set_xticks(np.unique(cols["step"]))
        if len(ks) > 1:
            ax.legend(frameon=False, loc="best")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    data = {f"{name}/{k}": v for name, cols in runs.items() for k, v in cols.items()}
    attach_data(fig, **data)
    attach_recipe(fig, "training_curves_figure", width=width)
    return fig


@redrawable("training_curves_figure")
def _redraw_training_curves(data, **options):
    runs = {}
    for key, values in data.items():
        run, _, column = key.rpartition("/")
        runs.setdefault(run, {})[column] = values
    return training_curves_figure(runs, **options)
