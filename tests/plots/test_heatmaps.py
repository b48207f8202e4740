"""Heatmaps: limits, annotations and the CSV reader."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from latentlab.plots import figure_data, heatmap_figure, read_matrix


def test_centred_heatmap_has_symmetric_limits_and_readable_annotations():
    m = np.array([[-2.0, 0.0, 0.5], [1.0, np.nan, 0.25]])
    fig = heatmap_figure(m, ["a", "b"], ["x", "y", "z"], center=0.0, fmt=".1f", colorbar_label="effect")
    ax = fig.axes[0]
    image = ax.images[0]
    assert image.get_clim() == (-2.0, 2.0)
    texts = {t.get_text(): t for t in ax.texts}
    assert sorted(texts) == ["-2.0", "0.0", "0.2", "0.5", "1.0"]  # NaN cell left blank
    assert to_rgba(texts["-2.0"].get_color()) == to_rgba("white")  # dark blue end of RdBu_r
    assert to_rgba(texts["0.0"].get_color()) == to_rgba("black")  # near-white middle
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert fig.axes[1].get_ylabel() == "effect"
    np.testing.assert_array_equal(figure_data(fig)["matrix"], m)
    # a tiny negative value (a cosine after orthogonalization) is written 0.00, not -0.00
    fig = heatmap_figure(np.array([[-3e-17, -0.004, -0.006]]), fmt=".2f")
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.00", "0.00", "-0.01"]
    fig = heatmap_figure(np.array([[-1e-4, -0.02]]), fmt=".0%")  # any format, not only fixed-point
    assert [t.get_text() for t in fig.axes[0].texts] == ["0%", "-2%"]


def test_sequential_limits_and_bad_input():
    fig = heatmap_figure(np.array([[1.0, 3.0]]), annotate=False)
    assert fig.axes[0].images[0].get_clim() == (1.0, 3.0) and not fig.axes[0].texts
    with pytest.raises(ValueError, match="2 row names for a matrix with 1 rows"):
        heatmap_figure(np.ones((1, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="2-D"):
        heatmap_figure(np.ones(3))


def test_read_matrix_with_and_without_row_names(tmp_path):
    (tmp_path / "named.csv").write_text("attr,d1,d2\nglasses,0.5,-0.1\nsmile,0.0,0.9\n")
    m, rows, cols = read_matrix(tmp_path / "named.csv")
    np.testing.assert_array_equal(m, [[0.5, -0.1], [0.0, 0.9]])
    assert rows == ["glasses", "smile"] and cols == ["d1", "d2"]
    (tmp_path / "plain.csv").write_text("a,b\n1,2\n3,nan\n")
    m, rows, cols = read_matrix(tmp_path / "plain.csv")
    assert rows == ["0", "1"] and cols == ["a", "b"] and np.isnan(m[1, 1])
    (tmp_path / "bad.csv").write_text("name,a,b\nx,1,oops\n")
    with pytest.raises(ValueError, match="column 'b' is not numeric"):
        read_matrix(tmp_path / "bad.csv")
