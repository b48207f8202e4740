"""Curves with confidence bands: a mean line over repeated runs and its uncertainty.

``y`` holds one row per run (seed, fold, repetition) and one column per point of ``x``.
The line is the mean over runs; the band is either the 95 % confidence interval of that
mean (Student's t with ``runs - 1`` degrees of freedom) or ± one standard deviation of
the runs. Missing runs are NaN and are left out point by point.
"""

from __future__ import annotations

from typing import Literal, Mapping

import numpy as np

from latentlab._validation import check_choice
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, attach_data, attach_recipe, new_figure, styled

__all__ = ["BANDS", "mean_band", "curve_figure", "curves_from_table"]

Band = Literal["ci95", "std"]
BANDS = ("ci95", "std", None)


def mean_band(y, band: Band | None = "ci95") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, lower, upper)`` over runs, each of shape (P,).

    Parameters
    ----------
    y : array of shape (R, P) or (P,)
        R runs of P points; NaN marks a missing value.
    band : {"ci95", "std", None}
        ``"ci95"``: mean ± t(0.975, n - 1) · s / √n, the 95 % confidence interval of the
        mean under a normal model; ``"std"``: mean ± s; ``None``: lower = upper = mean.
        ``s`` is the sample standard deviation (ddof 1) and ``n`` the runs present at
        the point; where ``n < 2`` the band is NaN (no spread can be estimated).
    """
    from scipy.stats import t as student_t

    check_choice(band, "band", BANDS)
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if y.ndim != 2:
        raise ValueError(f"y must have shape (runs, points) or (points,); got {y.shape}")
    n = np.sum(np.isfinite(y), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(y, axis=0)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        if band is None:
            return mean, mean.copy(), mean.copy()
        sq = np.nansum((y - mean) ** 2, axis=0)
        sd = np.where(n > 1, np.sqrt(sq / np.maximum(n - 1, 1)), np.nan)
        half = sd if band == "std" else student_t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return mean, mean - half, mean + half


def _series(y, labels) -> dict[str, np.ndarray]:
    """``{name: (R, P) float array}`` from an array (one series) or a dict of them."""
    if isinstance(y, Mapping):
        if labels is not None:
            raise ValueError("with a dict of series the keys name them; leave labels out")
        items = [(str(k), v) for k, v in y.items()]
        if not items:
            raise ValueError("y is an empty dict; give at least one series")
    else:
        if labels is not None and not isinstance(labels, str):
            if len(labels) != 1:
                raise ValueError(f"got {len(labels)} labels for one series; give several series as a dict {{name: runs}}")
            labels = labels[0]
        items = [("y" if labels is None else str(labels), y)]
    out = {}
    for name, values in items:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] == 0:
            raise ValueError(f"series {name!r} must have shape (runs, points) or (points,); got {np.shape(values)}")
        out[name] = arr
    return out


@styled
def curve_figure(x, y, *, band: Band | None = "ci95", labels=None, xlabel: str | None = None,
                 ylabel: str | None = None, title: str | None = None, logx: bool = False, logy: bool = False,
                 markers: bool = False, legend: bool | None = None, width: str | float = "one",
                 aspect: float = 0.75):
    """Mean curves over runs with a confidence band, one colour per series.

    Parameters
    ----------
    x : array of shape (P,) or None
        Shared abscissa (default 0 .. P-1).
    y : array (R, P) or (P,), or a dict ``{name: array (R, P) or (P,)}``
        One series, or one per key; R runs (rows) of P points. Series may have different R.
    band : {"ci95", "std", None}
        See :func:`mean_band`. A series of one run has no band.
    labels : str, optional
        Name of a single series (for the legend); a dict's keys name its series.
    xlabel, ylabel, title : str, optional
    logx, logy : bool
        Logarithmic axes.
    markers : bool
        Mark each point of the mean line.
    legend : bool, optional
        Default: a legend when there are several series or the one series is named.
    width : "one", "two" or inches
    aspect : float
        Height / width.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``x`` (P,), and for each series ``name``: ``y/name`` (R, P), the
        runs, and ``mean/name``, ``lower/name``, ``upper/name`` (P,), the drawn line and band.
    """
    series = _series(y, labels)
    points = {arr.shape[1] for arr in series.values()}
    if len(points) != 1:
        raise ValueError(f"every series needs the same number of points; got {sorted(points)}")
    p = points.pop()
    xs = np.arange(p, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64).reshape(-1)
    if xs.size != p:
        raise ValueError(f"x has {xs.size} values but the series have {p} points")
    check_choice(band, "band", BANDS)
    fig, ax = new_figure(width=width, aspect=aspect)
    data = {"x": xs}
    for i, (name, runs) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        mean, lower, upper = mean_band(runs, band)
        ax.plot(xs, mean, color=colour, marker="o" if markers else None, ms=3, label=name)
        if band is not None and np.isfinite(lower).any():
            ax.fill_between(xs, lower, upper, color=colour, alpha=0.25, lw=0)
        data.update({f"y/{name}": runs, f"mean/{name}": mean, f"lower/{name}": lower, f"upper/{name}": upper})
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    if title:
        ax.set_title(title)
    if legend is None:
        legend = len(series) > 1 or labels is not None
    if legend:
        ax.legend(frameon=False)
    attach_data(fig, **data)
    attach_recipe(fig, "curve_figure", band=band, xlabel=xlabel, ylabel=ylabel, title=title, logx=logx, logy=logy,
                  markers=markers, legend=bool(legend), width=width, aspect=aspect)
    return fig


@redrawable("curve_figure")
def _redraw_curves(data: dict, **options):
    series = {key[2:]: value for key, value in data.items() if key.startswith("y/")}
    return curve_figure(data["x"], series, **options)


def curves_from_table(table: Mapping[str, np.ndarray], x: str | None = None, y=None,
                      series: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(x (P,), {name: runs (R, P)})`` for :func:`curve_figure` from a table of columns.

    Rows with the same ``x`` value are runs of the same point (a long table of
    ``step, seed, loss`` rows gives one series with a run per seed). Points where a series
    has fewer runs than others get NaN for the missing ones.

    Parameters
    ----------
    table : dict of 1-D arrays of equal length
        E.g. from :func:`latentlab.plots.read_table`.
    x : str, optional
        Column of the abscissa (default: the first column).
    y : str or sequence of str, optional
        Columns to draw, one series each (default: every other numeric column except ``series``).
    series : str, optional
        Column splitting the rows into series (e.g. the method); with several ``y``
        columns the series are named ``"y-column series-value"``.
    """
    columns = list(table)
    if not columns:
        raise ValueError("the table has no columns")

    def column(name, role):
        if name not in table:
            raise ValueError(f"no column {name!r} for {role}; the table has: {', '.join(columns)}")
        return np.asarray(table[name])

    x = columns[0] if x is None else x
    xv = column(x, "x")
    if xv.dtype.kind not in "iuf":
        raise ValueError(f"x column {x!r} is not numeric")
    groups = column(series, "series") if series is not None else None
    if y is None:
        y = [c for c in columns if c not in (x, series) and np.asarray(table[c]).dtype.kind in "iuf"]
        if not y:
            raise ValueError(f"the table has no numeric column to draw besides {x!r}; columns: {', '.join(columns)}")
    ys = [y] if isinstance(y, str) else list(y)
    for name in ys:
        if column(name, "y").dtype.kind not in "iuf":
            raise ValueError(f"y column {name!r} is not numeric")
    xs = np.unique(xv.astype(np.float64))
    xs = xs[np.isfinite(xs)]
    where = np.searchsorted(xs, xv.astype(np.float64))
    levels = [None] if groups is None else list(dict.fromkeys(groups.tolist()))
    out = {}
    for name in ys:
        values = np.asarray(table[name], dtype=np.float64)
        for level in levels:
            rows = np.ones(len(values), bool) if level is None else groups == level
            rows &= np.isfinite(xv.astype(np.float64))
            counts = np.bincount(where[rows], minlength=len(xs))
            runs = np.full((max(1, counts.max()), len(xs)), np.nan)
            seen = np.zeros(len(xs), int)
            for j, v in zip(where[rows], values[rows]):
                runs[seen[j], j] = v
                seen[j] += 1
            key = name if level is None else (str(level) if len(ys) == 1 else f"{name} {level}")
            out[key] = runs
    return xs, out
