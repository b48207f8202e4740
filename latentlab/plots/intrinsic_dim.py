"""Figures for intrinsic dimension: the TwoNN fit and ID against neighbourhood scale."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from latentlab.analysis.intrinsic_dim import flatten_points
from latentlab.id import MultiscaleID, TwoNN, estimate_id
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure, styled

__all__ = ["twonn_fit_figure", "id_scale_figure", "intrinsic_dim_figure", "id_comparison_figure", "choose_point_set",
           "log_axis_ticks"]


def log_axis_ticks(axis, values) -> None:
    """Readable ticks for a log-scaled ``axis`` (``ax.xaxis`` or ``ax.yaxis``) showing ``values``.

    Over less than about 1.5 decades matplotlib labels the minor ticks too (``1.5x10^1,
    1.6x10^1, ...``), which collide. Here a range within a factor 3 gets a few evenly
    spaced round values in plain notation (``14, 15, 16``), up to 1.5 decades 1-2-5
    values (``5, 10, 20``), and wider ranges one label per decade; minor ticks are never
    labelled.
    """
    from matplotlib import ticker

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    axis.set_minor_formatter(ticker.NullFormatter())
    if len(values) == 0:
        return
    lo, hi = float(values.min()), float(values.max())
    plain = ticker.FuncFormatter(lambda v, _: f"{v:.3g}")
    if lo * 3 < hi <= lo * 10**1.5:  # one to 1.5 decades: 1, 2, 5 times powers of ten
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(plain)
    elif hi <= lo * 3:  # a narrow range: round values, evenly spaced
        view_lo, view_hi = sorted(axis.get_view_interval())
        view_lo, view_hi = min(lo, view_lo) if view_lo > 0 else lo, max(hi, view_hi)  # the data, and the margins
        ticks = ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(view_lo, view_hi)
        ticks = ticks[(ticks >= view_lo) & (ticks <= view_hi) & (ticks > 0)]
        if len(ticks) < 2:  # a very narrow range: its ends
            ticks = np.array([lo, hi]) if hi > lo else np.array([lo])
        axis.set_major_locator(ticker.FixedLocator(ticks))
        axis.set_major_formatter(plain)
    else:
        axis.set_major_locator(ticker.LogLocator(base=10, numticks=6))
        axis.set_major_formatter(ticker.LogFormatterSciNotation(labelOnlyBase=True))


def _twonn_panel(ax, log_mu: np.ndarray, dimension: float, discard_fraction: float, calibrated: float | None = None):
    n = len(log_mu)
    x = np.sort(log_mu)[: n - 1]  # the largest ratio has F = 1: off the plot
    y = -np.log1p(-np.arange(1, n) / n)
    keep = max(1, min(n - 1, int(np.floor(n * (1.0 - discard_fraction)))))
    ax.scatter(x[:keep], y[:keep], s=2, color=PALETTE[0], alpha=0.5, label="kept", rasterized=True)
    ax.scatter(x[keep:], y[keep:], s=2, color=PALETTE[3], alpha=0.5, label="discarded", rasterized=True)
    line = np.linspace(0, x[keep - 1], 50)
    # the line is what is fitted: its slope is the raw TwoNN estimate, before any calibration
    ax.plot(line, dimension * line, color="k", lw=1, label=f"fit: slope d = {dimension:.2f}")
    if calibrated is not None:
        ax.plot([], [], " ", label=f"calibrated: d = {calibrated:.2f}")
    ax.set_xlabel(r"$\log \mu$  ($\mu = r_2 / r_1$)")
    ax.set_ylabel(r"$-\log(1 - F(\mu))$")
    ax.set_title("TwoNN fit (slope: uncalibrated ID)")
    ax.legend(frameon=False, markerscale=4, loc="lower right")
    return x, y


@styled
def twonn_fit_figure(estimator):
    """The TwoNN plot of a fitted :class:`latentlab.id.TwoNN`: a line whose slope is the ID.

    A fitted :class:`latentlab.id.CalibratedID` wrapping a TwoNN works too: the line is
    its uncalibrated fit (slope ``raw_dimension_``) and the legend also states the
    calibrated ``dimension_``.
    """
    calibrated = None
    if hasattr(estimator, "raw_dimension_"):
        calibrated, estimator = float(estimator.dimension_), estimator.estimator_
    fig, ax = new_figure("one", aspect=0.8)
    x, y = _twonn_panel(ax, estimator.log_mu_, estimator.dimension_, estimator.discard_fraction, calibrated)
    attach_data(fig, log_mu_sorted=x, neg_log_survival=y)
    attach_recipe(fig, "twonn_fit_figure", dimension=float(estimator.dimension_),
                  discard_fraction=float(estimator.discard_fraction), calibrated_dimension=calibrated)
    return fig


def _saved_log_mu(data: dict) -> np.ndarray:
    # the largest ratio is not saved (it is off the plot); any larger value stands in for it
    return np.append(data["log_mu_sorted"], np.inf)


@redrawable("twonn_fit_figure")
def _redraw_twonn(data: dict, *, dimension: float, discard_fraction: float, calibrated_dimension: float | None = None):
    from types import SimpleNamespace

    fitted = SimpleNamespace(log_mu_=_saved_log_mu(data), dimension_=dimension, discard_fraction=discard_fraction)
    if calibrated_dimension is not None:
        fitted = SimpleNamespace(raw_dimension_=dimension, dimension_=calibrated_dimension, estimator_=fitted)
    return twonn_fit_figure(fitted)


def _scale_panel(ax, scales, dimensions) -> None:
    ax.plot(scales, dimensions, "o-", color=PALETTE[1], ms=3)
    ax.set_xscale("log")
    log_axis_ticks(ax.xaxis, scales)
    ax.set_xlabel("neighbourhood scale (median distance)")
    ax.set_ylabel("intrinsic dimension (uncalibrated)")
    ax.set_title("ID against scale (GRIDE)")


@styled
def id_scale_figure(estimator):
    """ID against neighbourhood scale from a fitted :class:`latentlab.id.MultiscaleID`."""
    fig, ax = new_figure("one", aspect=0.8)
    _scale_panel(ax, estimator.scales_, estimator.dimensions_)
    attach_data(fig, scale=np.asarray(estimator.scales_), dimension=np.asarray(estimator.dimensions_))
    attach_recipe(fig, "id_scale_figure")
    return fig


@redrawable("id_scale_figure")
def _redraw_id_scale(data: dict):
    from types import SimpleNamespace

    return id_scale_figure(SimpleNamespace(scales_=data["scale"], dimensions_=data["dimension"]))


def choose_point_set(points: Mapping, which: str | None = None) -> str:
    """The name of the point cloud to draw from ``{name: points}``.

    ``which`` if given (a ``ValueError`` lists the names when it is not one of them);
    else the first cloud whose name starts with ``"data"`` (the cloud whose ID
    ``latentlab intrinsic-dim`` bases its latent-size advice on), else the first.
    """
    names = list(points)
    if not names:
        raise ValueError("no point clouds to choose from")
    if which is not None:
        if which not in points:
            raise ValueError(f"no point cloud named {which!r}; choose one of: {', '.join(map(repr, names))}")
        return which
    return next((name for name in names if str(name).startswith("data")), names[0])


def intrinsic_dim_figure(points, title: str | None = None, random_state: int = 0, *, which: str | None = None,
                         calibrate: bool = False):
    """Both panels for one point cloud: the TwoNN fit and ID against scale.

    Parameters
    ----------
    points : array of shape (N, D), or mapping ``{name: array (N, ...)}``
        The points; samples of a mapping are flattened to ``(N, D)``.
    title : str, optional
        Figure title; default the chosen cloud's name (for a mapping).
    random_state : int
        Seed of the calibration (as ``random_state`` of :func:`latentlab.estimate_id`).
    which : str, optional
        For a mapping, the name of the cloud to draw; default as
        :func:`choose_point_set`.
    calibrate : bool
        Also state the calibrated TwoNN ID (:func:`latentlab.estimate_id` with
        ``calibrate=True``, the value an ID table with calibration reports). The line is
        always the uncalibrated fit, and its slope is labelled as such: calibration maps
        the fitted slope to a dimension afterwards, so it has no line of its own.

    Returns
    -------
    matplotlib.figure.Figure
    """

    if isinstance(points, Mapping):
        name = choose_point_set(points, which)
        points = flatten_points(points[name])
        title = name if title is None else title
    elif which is not None:
        raise ValueError("which names a point cloud of a mapping {name: points}; got a single array")
    calibrated = None
    if calibrate:
        fitted = estimate_id(points, "twonn", calibrate=True, random_state=random_state).estimator
        twonn, calibrated = fitted.estimator_, float(fitted.dimension_)
    else:
        twonn = TwoNN().fit(points)
    multi = MultiscaleID().fit(points)
    return _both_panels(twonn.log_mu_, float(twonn.dimension_), float(twonn.discard_fraction), np.asarray(multi.scales_),
                        np.asarray(multi.dimensions_), title=title, calibrated=calibrated)


@styled
def _both_panels(log_mu, dimension, discard_fraction, scales, dimensions, *, title=None, calibrated=None):
    fig, (a, b) = new_figure(TWO_COLUMN, aspect=0.38, ncols=2)
    x, y = _twonn_panel(a, log_mu, dimension, discard_fraction, calibrated)
    _scale_panel(b, scales, dimensions)
    if title:
        fig.suptitle(title)
    attach_data(fig, log_mu_sorted=x, neg_log_survival=y, scale=scales, dimension=dimensions)
    attach_recipe(fig, "intrinsic_dim_figure", twonn_dimension=dimension, discard_fraction=discard_fraction, title=title,
                  calibrated_dimension=calibrated)
    return fig


@redrawable("intrinsic_dim_figure")
def _redraw_intrinsic_dim(data: dict, *, twonn_dimension: float, discard_fraction: float, title=None,
                          calibrated_dimension: float | None = None):
    return _both_panels(_saved_log_mu(data), twonn_dimension, discard_fraction, data["scale"], data["dimension"],
                        title=title, calibrated=calibrated_dimension)


@styled
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
