"""Figures for intrinsic dimension: the TwoNN fit and ID against neighbourhood scale."""

from __future__ import annotations

import numpy as np

from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure

__all__ = ["twonn_fit_figure", "id_scale_figure", "intrinsic_dim_figure", "id_comparison_figure"]


def _twonn_panel(ax, log_mu: np.ndarray, dimension: float, discard_fraction: float):
    n = len(log_mu)
    x = np.sort(log_mu)[: n - 1]  # the largest ratio has F = 1: off the plot
    y = -np.log1p(-np.arange(1, n) / n)
    keep = max(1, min(n - 1, int(np.floor(n * (1.0 - discard_fraction)))))
    ax.scatter(x[:keep], y[:keep], s=2, color=PALETTE[0], alpha=0.5, label="kept", rasterized=True)
    ax.scatter(x[keep:], y[keep:], s=2, color=PALETTE[3], alpha=0.5, label="discarded", rasterized=True)
    line = np.linspace(0, x[keep - 1], 50)
    ax.plot(line, dimension * line, color="k", lw=1, label=f"slope d = {dimension:.2f}")
    ax.set_xlabel(r"$\log \mu$  ($\mu = r_2 / r_1$)")
    ax.set_ylabel(r"$-\log(1 - F(\mu))$")
    ax.set_title("TwoNN fit")
    ax.legend(frameon=False, markerscale=4)
    return x, y


def twonn_fit_figure(estimator):
    """The TwoNN plot of a fitted :class:`latentlab.id.TwoNN`: a line whose slope is the ID."""
    fig, ax = new_figure("one", aspect=0.8)
    x, y = _twonn_panel(ax, estimator.log_mu_, estimator.dimension_, estimator.discard_fraction)
    attach_data(fig, log_mu_sorted=x, neg_log_survival=y)
    attach_recipe(fig, "twonn_fit_figure", dimension=float(estimator.dimension_),
                  discard_fraction=float(estimator.discard_fraction))
    return fig


def _saved_log_mu(data: dict) -> np.ndarray:
    # the largest ratio is not saved (it is off the plot); any larger value stands in for it
    return np.append(data["log_mu_sorted"], np.inf)


@redrawable("twonn_fit_figure")
def _redraw_twonn(data: dict, *, dimension: float, discard_fraction: float):
    from types import SimpleNamespace

    return twonn_fit_figure(SimpleNamespace(log_mu_=_saved_log_mu(data), dimension_=dimension,
                                            discard_fraction=discard_fraction))


def id_scale_figure(estimator):
    """ID against neighbourhood scale from a fitted :class:`latentlab.id.MultiscaleID`."""
    fig, ax = new_figure("one", aspect=0.8)
    ax.plot(estimator.scales_, estimator.dimensions_, "o-", color=PALETTE[1], ms=3)
    ax.set_xscale("log")
    ax.set_xlabel("neighbourhood scale (median distance)")
    ax.set_ylabel("intrinsic dimension")
    ax.set_title("ID against scale (GRIDE)")
    attach_data(fig, scale=np.asarray(estimator.scales_), dimension=np.asarray(estimator.dimensions_))
    attach_recipe(fig, "id_scale_figure")
    return fig


@redrawable("id_scale_figure")
def _redraw_id_scale(data: dict):
    from types import SimpleNamespace

    return id_scale_figure(SimpleNamespace(scales_=data["scale"], dimensions_=data["dimension"]))


def intrinsic_dim_figure(points, title: str | None = None, random_state: int = 0):
    """Both panels for the points ``(N, D)``: the TwoNN fit and ID against scale."""
    from latentlab.id import MultiscaleID, TwoNN

    twonn = TwoNN().fit(points)
    multi = MultiscaleID().fit(points)
    return _both_panels(twonn.log_mu_, float(twonn.dimension_), float(twonn.discard_fraction), np.asarray(multi.scales_),
                        np.asarray(multi.dimensions_), title=title)


def _both_panels(log_mu, dimension, discard_fraction, scales, dimensions, *, title=None):
    fig, (a, b) = new_figure(TWO_COLUMN, aspect=0.38, ncols=2)
    x, y = _twonn_panel(a, log_mu, dimension, discard_fraction)
    b.plot(scales, dimensions, "o-", color=PALETTE[1], ms=3)
    b.set_xscale("log")
    b.set_xlabel("neighbourhood scale (median distance)")
    b.set_ylabel("intrinsic dimension")
    b.set_title("ID against scale (GRIDE)")
    if title:
        fig.suptitle(title)
    attach_data(fig, log_mu_sorted=x, neg_log_survival=y, scale=scales, dimension=dimensions)
    attach_recipe(fig, "intrinsic_dim_figure", twonn_dimension=dimension, discard_fraction=discard_fraction, title=title)
    return fig


@redrawable("intrinsic_dim_figure")
def _redraw_intrinsic_dim(data: dict, *, twonn_dimension: float, discard_fraction: float, title=None):
    return _both_panels(_saved_log_mu(data), twonn_dimension, discard_fraction, data["scale"], data["dimension"],
                        title=title)


def id_comparison_figure(rows, *, title: str | None = None, width="one"):
    """Intrinsic dimension of several point clouds side by side (one bar per cloud and method).

    Parameters
    ----------
    rows : sequence of :class:`latentlab.analysis.intrinsic_dim.IDRow`
        As returned by :func:`~latentlab.analysis.intrinsic_dim.id_table`; rows with an
        interval get an error bar (95 %).

    Returns
    -------
    matplotlib.figure.Figure
        Data attached (a table): ``what``, ``method``, ``dimension``, ``ci_low``, ``ci_high``.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to plot; give the output of id_table")
    clouds = list(dict.fromkeys(r.what for r in rows))
    methods = list(dict.fromkeys(r.method for r in rows))
    fig, ax = new_figure(width, aspect=0.55 + 0.05 * len(clouds))
    bar = 0.8 / len(methods)
    for j, method in enumerate(methods):
        for i, cloud in enumerate(clouds):
            r = next((r for r in rows if r.what == cloud and r.method == method), None)
            if r is None:
                continue
            err = None
            if r.ci is not None:
                err = [[max(0.0, r.dimension - r.ci[0])], [max(0.0, r.ci[1] - r.dimension)]]
            ax.barh(i + (j - (len(methods) - 1) / 2) * bar, r.dimension, height=bar, xerr=err, color=PALETTE[j % len(PALETTE)],
                    label=method if i == 0 else None, error_kw={"lw": 0.8, "capsize": 2})
    ax.set_yticks(range(len(clouds)), clouds)
    ax.invert_yaxis()
    ax.set_xlabel("intrinsic dimension")
    if len(methods) > 1:
        ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    nan = float("nan")
    attach_data(fig, what=np.asarray([r.what for r in rows], dtype=str), method=np.asarray([r.method for r in rows], dtype=str),
                dimension=np.asarray([r.dimension for r in rows]),
                ci_low=np.asarray([r.ci[0] if r.ci else nan for r in rows]),
                ci_high=np.asarray([r.ci[1] if r.ci else nan for r in rows]))
    attach_recipe(fig, "id_comparison_figure", title=title, width=width)
    return fig


@redrawable("id_comparison_figure")
def _redraw_id_comparison(data: dict, **options):
    from types import SimpleNamespace

    rows = [SimpleNamespace(what=str(w), method=str(m), dimension=float(d),
                            ci=None if np.isnan(lo) else (float(lo), float(hi)))
            for w, m, d, lo, hi in zip(data["what"], data["method"], data["dimension"], data["ci_low"], data["ci_high"])]
    return id_comparison_figure(rows, **options)
