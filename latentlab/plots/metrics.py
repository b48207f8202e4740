"""Figure of an evaluation table: models side by side, mean and spread over seeds."""

from __future__ import annotations

import numpy as np

from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure, styled

__all__ = ["evaluation_figure"]

# metrics on a common [0, 1]-like scale, drawn as one group of bars per metric
_UNIT = ("precision", "recall", "density", "coverage", "high_quality_fraction")
# metrics drawn scaled, so their ticks read as a few digits; the saved data keep raw values
_SCALE = {"kid": (1e3, "10³")}
_DEFAULT = ("fid", "kid", "precision", "recall", "density", "coverage", "modes_covered", "high_quality_fraction",
            "reverse_kl")


@styled
def evaluation_figure(table, *, metrics=None, title: str | None = None):
    """Bars of every model for each metric of an :class:`~latentlab.metrics.EvaluationTable`.

    Metrics on a unit scale (precision, recall, density, coverage, high-quality
    fraction) share one panel of grouped bars (a group per metric, a bar per model);
    each other metric (FID, KID, modes covered, reverse KL, disentanglement scores) gets
    its own panel. Error bars are the standard deviation over seeds (none for one seed).
    KID (about 10⁻³ for good models) is drawn multiplied by 10³, and its axis label
    says so; the attached data keep the raw values.

    Parameters
    ----------
    table : EvaluationTable
    metrics : sequence of str, optional
        Which columns to draw, in order; default: all known columns of the table.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The whole table (``model``, ``<metric>_mean``, ``<metric>_std``) is attached, so
        :func:`~latentlab.plots.style.save_figure` writes it beside the figure as CSV.
    """
    if not hasattr(table, "rows") or not hasattr(table, "metrics"):
        raise TypeError(f"table must be an EvaluationTable (from evaluate_models), not {type(table).__name__}")
    if metrics is None:
        metrics = [m for m in table.metrics if m in _DEFAULT] + [m for m in table.metrics if m not in _DEFAULT]
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in table.metrics]
    if unknown or not metrics:
        raise ValueError(f"cannot draw metric {unknown[0] if unknown else None!r}; the table has: "
                         f"{', '.join(table.metrics)}")
    unit = [m for m in metrics if m in _UNIT]
    panels = ([unit] if unit else []) + [[m] for m in metrics if m not in _UNIT]
    models = list(table.models)
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    widths = [2.0 if len(p) > 1 else 1.0 for p in panels[:ncols]]
    fig, axes = new_figure(TWO_COLUMN if len(panels) > 1 else "one", aspect=0.32 * nrows + 0.08, nrows=nrows,
                           ncols=ncols, squeeze=False, gridspec_kw={"width_ratios": widths})
    axes = axes.ravel()
    seeds = len(table.seeds)
    for ax, panel in zip(axes, panels):
        x = np.arange(len(panel))
        width = 0.8 / len(models)
        factor, factor_text = _SCALE.get(panel[0], (1.0, None)) if len(panel) == 1 else (1.0, None)
        for i, name in enumerate(models):
            mean = [factor * table.mean(name, m) for m in panel]
            err = [factor * table.std(name, m) for m in panel] if seeds > 1 else None
            ax.bar(x + (i - (len(models) - 1) / 2) * width, mean, width, yerr=err, capsize=2,
                   color=PALETTE[i % len(PALETTE)], label=name, error_kw={"elinewidth": 0.8})
        ax.set_xticks(x, [table.label(m) for m in panel], rotation=25, ha="right")
        if len(panel) == 1:
            ax.set_xticks([])
            ax.set_title(table.label(panel[0]))
            if factor_text:
                ax.set_ylabel(f"{table.label(panel[0])} × {factor_text}")
        if len(panel) > 1:
            ax.axhline(1.0, color="0.6", lw=0.6, ls=":")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(models), 4), frameon=False, fontsize=7)
    note = f"mean ± sd over {seeds} seeds" if seeds > 1 else "one seed"
    fig.suptitle(f"{title + ': ' if title else ''}{table.info.get('data', '')} ({note})")
    rows = table.rows()
    attach_data(fig, **{key: np.asarray([r[key] for r in rows]) for key in rows[0]})
    attach_recipe(fig, "evaluation_figure", metrics=metrics, title=title, labels={m: table.label(m) for m in metrics},
                  data_name=str(table.info.get("data", "")))
    return fig


class _SavedTable:
    """The parts of an EvaluationTable that :func:`evaluation_figure` reads, rebuilt from its saved rows."""

    def __init__(self, data: dict, labels: dict, data_name: str):
        self.models = [str(m) for m in data["model"]]
        self.metrics = list(labels)
        self.seeds = range(int(np.max(data["n_seeds"])))
        self.info = {"data": data_name}
        self._labels = labels
        self._data = data

    def _value(self, model, column):
        return float(np.asarray(self._data[column], dtype=float)[self.models.index(model)])

    def mean(self, model, metric):
        return self._value(model, f"{metric}_mean")

    def std(self, model, metric):
        return self._value(model, f"{metric}_std")

    def label(self, metric):
        return self._labels[metric]

    def rows(self):
        return [{k: (str(v[i]) if k == "model" else v[i]) for k, v in self._data.items()} for i in range(len(self.models))]


@redrawable("evaluation_figure")
def _redraw_evaluation(data, *, labels, data_name, **options):
    return evaluation_figure(_SavedTable(data, labels, data_name), **options)
