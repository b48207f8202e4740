"""Figures of training runs: the losses logged in ``<checkpoint stem>.metrics.jsonl``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure

__all__ = ["read_metrics_log", "training_curves_figure"]

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


def training_curves_figure(logs: dict, *, width: float = TWO_COLUMN):
    """Losses against step, one panel per run.

    Parameters
    ----------
    logs : dict of run name -> path of a metrics log, or the dict :func:`read_metrics_log` returns

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``<run>/<column>`` arrays for every run.
    """
    if not logs:
        raise ValueError("give at least one run")
    runs = {name: read_metrics_log(v) if isinstance(v, (str, os.PathLike)) else dict(v) for name, v in logs.items()}
    fig, axes = new_figure(width, aspect=0.3, ncols=len(runs), squeeze=False)
    data = {}
    for ax, (name, cols) in zip(axes[0], runs.items()):
        losses = [k for k in cols if k not in _NOT_LOSSES]
        for i, k in enumerate(losses):
            ax.plot(cols["step"], cols[k], color=PALETTE[i % len(PALETTE)], label=k)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.legend(frameon=False, fontsize=6)
        data.update({f"{name}/{k}": v for k, v in cols.items()})
    axes[0][0].set_ylabel("loss")
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
