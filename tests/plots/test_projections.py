"""Projections of latent codes: planted clusters are recovered and colours follow the labels."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from latentlab.codes import LatentCodes
from latentlab.plots import PALETTE, embed, figure_data, projection_figure


def two_clusters(n=50, d=8, gap=12.0, seed=0):
    """Two Gaussian clouds (unit variance) whose centres are ``gap`` apart along a random direction."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    x = rng.normal(size=(2 * n, d))
    y = np.repeat([0, 1], n)
    x += np.where(y[:, None] == 1, gap / 2, -gap / 2) * u
    return x, y


def knn_purity(xy, y, k=5):
    """Share of each point's k nearest neighbours (in the embedding) with its own label."""
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    return float(np.mean(y[nn] == y[:, None]))


def point_colours(fig):
    """``{(x, y): rgba}`` of every point drawn in the figure's first axes."""
    out = {}
    for coll in fig.axes[0].collections:
        offsets, colours = coll.get_offsets(), coll.get_facecolors()
        for i, xy in enumerate(np.asarray(offsets)):
            out[tuple(xy)] = tuple(colours[i if len(colours) > 1 else 0])
    return out


def test_pca_separates_planted_clusters_along_the_first_axis_and_colours_follow_labels():
    x, y = two_clusters()
    fig = projection_figure(x, y, method="pca", attribute="glasses", level_names=["no", "yes"])
    data = figure_data(fig)
    np.testing.assert_array_equal(data["label"], y)
    first, second = data["x"], data["y"]
    # the gap is the largest variance: the clusters lie on either side along PC 1, not PC 2
    assert first[y == 0].max() < first[y == 1].min() or first[y == 1].max() < first[y == 0].min()
    assert abs(first[y == 0].mean() - first[y == 1].mean()) > 10
    assert abs(second[y == 0].mean() - second[y == 1].mean()) < 1
    colours = point_colours(fig)
    assert len(colours) == len(y)
    for px, py, label in zip(first, second, y):
        assert colours[(px, py)] == to_rgba(PALETTE[label])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["no (50)", "yes (50)"]
    assert "PC 1" in fig.axes[0].get_xlabel()


def test_any_latent_shape_is_flattened():
    x, y = two_clusters(n=20, d=12)
    a = embed(x, "pca")
    b = embed(x.reshape(40, 3, 2, 2), "pca")
    np.testing.assert_allclose(a, b)


def test_continuous_values_get_a_colour_bar():
    x, _ = two_clusters(n=20)
    score = x[:, 0]
    fig = projection_figure(x, score, method="pca", attribute="score")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "score"  # the colour bar
    drawn = np.sort(np.asarray(fig.axes[0].collections[0].get_array()))
    np.testing.assert_allclose(drawn, np.sort(score))


def test_latent_codes_attribute_and_unknown_name():
    x, y = two_clusters(n=20)
    codes = LatentCodes(z=x.astype(np.float32), attrs={"glasses": y}, scores={"glasses_logit": y * 2.0 - 1},
                        attr_levels={"glasses": ["no", "yes"]})
    fig = projection_figure(codes, method="pca", attribute="glasses")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["no (20)", "yes (20)"]
    with pytest.raises(ValueError, match="unknown attribute 'glases'.*glasses, glasses_logit"):
        projection_figure(codes, method="pca", attribute="glases")


def test_subsample_is_seeded_and_bad_input_is_refused():
    x, y = two_clusters(n=30)
    a = figure_data(projection_figure(x, y, method="pca", n_max=20, random_state=3))["index"]
    b = figure_data(projection_figure(x, y, method="pca", n_max=20, random_state=3))["index"]
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 20 and np.all(np.diff(a) > 0)
    with pytest.raises(ValueError, match="method='isomap' is not one of 'pca', 'tsne', 'umap'"):
        projection_figure(x, y, method="isomap")
    with pytest.raises(ValueError, match="got 3 labels for 60 codes"):
        projection_figure(x, y[:3], method="pca")
    with pytest.raises(ValueError, match="NaN"):
        embed(np.full((10, 3), np.nan))


def test_tsne_keeps_clusters_apart_and_is_seeded():
    from threadpoolctl import threadpool_limits

    x, y = two_clusters(n=50)
    with threadpool_limits(1):  # Barnes-Hut threads only contend on a small shared CPU
        a = embed(x, "tsne", random_state=0)
        b = embed(x, "tsne", random_state=0)
    np.testing.assert_array_equal(a, b)
    assert knn_purity(a, y) > 0.98


@pytest.mark.slow  # UMAP compiles its numba kernels on the first call (tens of seconds)
def test_umap_keeps_clusters_apart_and_is_seeded():
    x, y = two_clusters(n=50)
    fig = projection_figure(x, y, method="umap", random_state=0)
    a = np.stack([figure_data(fig)["x"], figure_data(fig)["y"]], axis=1)
    np.testing.assert_array_equal(a, embed(x, "umap", random_state=0))
    assert knn_purity(a, y) > 0.98
    assert fig.axes[0].get_xlabel() == "UMAP 1" and len(fig.axes[0].get_xticks()) == 0
