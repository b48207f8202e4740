"""Curves with confidence bands: the band has the width statistics says it has."""

import numpy as np
import pytest

from latentlab.plots import curve_figure, curves_from_table, figure_data, mean_band

# Student's t quantiles t(0.975, df) from printed tables
T975 = {1: 12.706, 2: 4.303, 4: 2.776}


def test_ci95_and_std_bands_of_known_runs():
    y = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])  # 3 runs: means 2 and 20, sds 1 and 10
    mean, lo, hi = mean_band(y, "ci95")
    np.testing.assert_allclose(mean, [2.0, 20.0])
    np.testing.assert_allclose(hi - mean, np.array([1.0, 10.0]) * T975[2] / np.sqrt(3), rtol=1e-3)
    np.testing.assert_allclose(mean - lo, hi - mean)
    mean, lo, hi = mean_band(y, "std")
    np.testing.assert_allclose([lo, hi], [[1.0, 10.0], [3.0, 30.0]])
    mean, lo, hi = mean_band(y, None)
    np.testing.assert_array_equal(lo, mean)


def test_missing_runs_are_left_out_point_by_point():
    y = np.array([[0.0, 5.0], [2.0, np.nan]])
    mean, lo, hi = mean_band(y, "ci95")
    np.testing.assert_allclose(mean, [1.0, 5.0])
    np.testing.assert_allclose(hi[0] - mean[0], T975[1] * np.sqrt(2) / np.sqrt(2), rtol=1e-3)
    assert np.isnan(lo[1]) and np.isnan(hi[1])  # one run: no spread to estimate


def test_ci95_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    y = rng.normal(3.0, 2.0, size=(5, 4000))  # 4000 experiments of 5 runs each, one per point
    _, lo, hi = mean_band(y, "ci95")
    coverage = np.mean((lo <= 3.0) & (3.0 <= hi))
    assert 0.935 < coverage < 0.965


def test_figure_draws_the_mean_and_its_band():
    rng = np.random.default_rng(1)
    x = np.array([1.0, 2.0, 4.0, 8.0])
    runs = rng.normal(size=(5, 4)) + x
    fig = curve_figure(x, {"svm": runs, "lda": runs[:3] + 1}, band="ci95", xlabel="n", logx=True)
    ax = fig.axes[0]
    data = figure_data(fig)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), runs.mean(axis=0))
    np.testing.assert_array_equal(data["y/svm"], runs)
    assert np.all(data["lower/svm"] < data["mean/svm"]) and np.all(data["mean/svm"] < data["upper/svm"])
    band = ax.collections[0].get_paths()[0].vertices
    np.testing.assert_allclose([band[:, 1].min(), band[:, 1].max()],
                               [data["lower/svm"].min(), data["upper/svm"].max()])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["svm", "lda"]
    assert ax.get_xscale() == "log"


def test_one_unnamed_series_has_no_legend_and_bad_input_is_refused():
    fig = curve_figure(None, np.arange(4.0))
    assert fig.axes[0].get_legend() is None and len(fig.axes[0].collections) == 0  # one run: no band
    with pytest.raises(ValueError, match="band='sem' is not one of"):
        curve_figure(None, np.ones((2, 3)), band="sem")
    with pytest.raises(ValueError, match="same number of points"):
        curve_figure(None, {"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ValueError, match="x has 2 values but the series have 3 points"):
        curve_figure([1, 2], np.ones(3))


def test_rows_with_the_same_x_become_runs():
    table = {
        "step": np.array([0, 0, 10, 10, 0, 10, 10]),
        "method": np.array(["a", "a", "a", "a", "b", "b", "b"]),
        "loss": np.array([1.0, 3.0, 0.5, 0.7, 2.0, 1.0, 1.5]),
    }
    x, series = curves_from_table(table, x="step", y="loss", series="method")
    np.testing.assert_array_equal(x, [0, 10])
    assert list(series) == ["a", "b"]
    np.testing.assert_array_equal(series["a"], [[1.0, 0.5], [3.0, 0.7]])
    np.testing.assert_array_equal(series["b"], [[2.0, 1.0], [np.nan, 1.5]])  # b has one run at step 0
    with pytest.raises(ValueError, match="no column 'los' for y; the table has: step, method, loss"):
        curves_from_table(table, x="step", y="los")
