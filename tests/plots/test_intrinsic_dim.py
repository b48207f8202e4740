"""The intrinsic-dimension figures: the cloud asked for, what the slope is, readable log axes."""

import itertools

import numpy as np
import pytest
from matplotlib.ticker import LogLocator

from latentlab.analysis.intrinsic_dim import flatten_points
from latentlab.id import TwoNN, estimate_id
from latentlab.plots import figure_data, redraw, save_figure
from latentlab.plots.intrinsic_dim import choose_point_set, id_scale_figure, intrinsic_dim_figure, log_axis_ticks
from latentlab.plots.style import new_figure

pytestmark = pytest.mark.usefixtures("one_thread")


def cloud(n, dim, ambient, seed):
    """``n`` points on a random ``dim``-dimensional linear subspace of R^ambient."""
    g = np.random.default_rng(seed)
    return g.standard_normal((n, dim)) @ g.standard_normal((dim, ambient))


POINTS = {"samples model.pt": cloud(300, 2, 8, 0), "data faces": cloud(300, 5, 8, 1), "codes": cloud(300, 3, 8, 2)}


def plotted_log_mu(fig):
    return figure_data(fig)["log_mu_sorted"]


def expected_log_mu(points):
    return np.sort(TwoNN().fit(flatten_points(points)).log_mu_)[:-1]  # the figure flattens to float32


@pytest.mark.parametrize("which", list(POINTS))
def test_the_cloud_asked_for_is_the_one_plotted(which):
    fig = intrinsic_dim_figure(POINTS, which=which)
    np.testing.assert_allclose(plotted_log_mu(fig), expected_log_mu(POINTS[which]))
    assert fig._suptitle.get_text() == which
    for other in set(POINTS) - {which}:  # and not another one
        assert not np.allclose(plotted_log_mu(fig), expected_log_mu(POINTS[other]))


def test_without_a_choice_the_data_cloud_is_plotted_not_the_first():
    assert choose_point_set(POINTS) == "data faces"
    assert choose_point_set({"codes": 0, "samples": 1}) == "codes"  # no data cloud: the first
    fig = intrinsic_dim_figure(POINTS)
    np.testing.assert_allclose(plotted_log_mu(fig), expected_log_mu(POINTS["data faces"]))
    with pytest.raises(ValueError, match="no point cloud named 'pixels'; choose one of: 'samples model.pt', 'data faces'"):
        intrinsic_dim_figure(POINTS, which="pixels")
    with pytest.raises(ValueError, match="which names a point cloud of a mapping"):
        intrinsic_dim_figure(POINTS["codes"], which="codes")


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_the_slope_is_labelled_uncalibrated_and_the_calibrated_value_is_the_tables(tmp_path):
    x = POINTS["data faces"]
    raw = TwoNN().fit(x).dimension_
    fig = intrinsic_dim_figure(x)
    twonn_ax = fig.axes[0]
    assert "uncalibrated" in twonn_ax.get_title()
    assert f"fit: slope d = {raw:.2f}" in legend_texts(twonn_ax)
    # the black line's slope is the raw fit
    line = next(l for l in twonn_ax.get_lines() if l.get_label().startswith("fit"))
    lx, ly = line.get_data()
    assert ly[-1] / lx[-1] == pytest.approx(raw)

    calibrated = estimate_id(x, "twonn", calibrate=True, random_state=0).dimension  # as id_table computes it
    assert abs(calibrated - raw) > 0.005  # the two differ, so the figure must say which is which
    fig = intrinsic_dim_figure(x, calibrate=True)
    texts = legend_texts(fig.axes[0])
    assert f"fit: slope d = {raw:.2f}" in texts and f"calibrated: d = {calibrated:.2f}" in texts
    # the saved figure redraws with both numbers
    written = save_figure(fig, tmp_path / "id.png", close=False)
    again = redraw(next(p for p in written if p.suffix == ".npz"))
    assert legend_texts(again.axes[0]) == texts


def visible_tick_labels(ax, which):
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = sorted(axis.get_view_interval())
    labels = axis.get_ticklabels(minor=False) + axis.get_ticklabels(minor=True)  # minor labels collide too
    return [t for t in labels
            if t.get_visible() and t.get_text() and lo <= (t.get_position()[0 if which == "x" else 1]) <= hi]


def assert_tick_labels_do_not_overlap(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for which in "xy":
            boxes = [t.get_window_extent(renderer) for t in visible_tick_labels(ax, which)]
            assert len(boxes) >= 2, f"{which} axis of {ax.get_title()!r} has fewer than two labels"
            for a, b in itertools.combinations(boxes, 2):
                assert not a.overlaps(b), f"{which} tick labels overlap in {ax.get_title()!r}"


@pytest.mark.parametrize("scales", [np.linspace(14.2, 19.5, 6), np.geomspace(0.5, 0.52, 5), np.geomspace(3, 40, 6),
                                    np.geomspace(0.7, 5, 5), np.geomspace(1e-2, 1e2, 8), np.geomspace(1e-4, 1e4, 9)],
                         ids=["14-19.5", "0.5-0.52", "3-40", "0.7-5", "4 decades", "8 decades"])
def test_log_scale_tick_labels_do_not_overlap(scales):
    from types import SimpleNamespace

    fig = id_scale_figure(SimpleNamespace(scales_=scales, dimensions_=np.linspace(10.8, 12.5, len(scales))))
    assert_tick_labels_do_not_overlap(fig)
    ax = fig.axes[0]
    assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))  # minor ticks are never labelled


def test_the_two_panel_figure_has_readable_ticks():
    assert_tick_labels_do_not_overlap(intrinsic_dim_figure(POINTS, which="samples model.pt"))


def test_log_axis_ticks_on_a_plain_axes():
    fig, ax = new_figure("one")
    ax.plot([2.0, 2.2, 2.9], [1, 2, 3])
    ax.set_xscale("log")
    log_axis_ticks(ax.xaxis, [2.0, 2.9])
    assert not isinstance(ax.xaxis.get_major_locator(), LogLocator)  # a narrow range: plain round values
    assert_tick_labels_do_not_overlap(fig)
