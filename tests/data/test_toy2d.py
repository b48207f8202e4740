import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.toy2d import assign_modes, grid_centres, make_grid, make_rings, ring_centres


def test_centres_follow_the_literature_layout():
    ring = ring_centres(8, 2.0)
    assert ring.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    np.testing.assert_allclose(ring[2], [0.0, 2.0], atol=1e-12)  # a quarter turn from (2, 0)
    grid = grid_centres(5, 2.0)
    assert grid.shape == (25, 2)
    assert sorted(set(grid[:, 0].round(9))) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in grid.round(9)}) == 25
    np.testing.assert_allclose(grid.mean(axis=0), [0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("name, k, sigma", [("rings", 8, 0.02), ("grid", 25, 0.05)])
def test_samples_are_the_stated_mixture(name, k, sigma):
    d = load(name, n=25000, seed=0)
    x = d.data.numpy()
    assert x.shape == (25000, 2) and x.dtype == np.float32
    centres = np.asarray(d.info["centres"])
    assert centres.shape == (k, 2) and d.info["sigma"] == sigma
    mode = d.attrs["mode"]
    counts = np.bincount(mode, minlength=k)
    # multinomial counts: each within 5 standard deviations of n/k
    expected = 25000 / k
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    for j in range(k):
        resid = x[mode == j] - centres[j]
        np.testing.assert_allclose(resid.mean(axis=0), 0.0, atol=5 * sigma / np.sqrt(len(resid)))
        np.testing.assert_allclose(resid.std(axis=0), sigma, rtol=0.12)


def test_seed_controls_the_draw():
    assert torch.equal(make_rings(n=100, seed=4).data, make_rings(n=100, seed=4).data)
    assert not torch.equal(make_rings(n=100, seed=4).data, make_rings(n=100, seed=5).data)


def test_options_change_the_layout():
    d = make_grid(n=2000, n_per_side=3, spacing=1.0, sigma=0.01)
    assert d.attr_levels["mode"] == [str(i) for i in range(9)]
    assert np.abs(d.data.numpy()).max() < 1.0 + 6 * 0.01
    r = make_rings(n=500, n_modes=4, radius=5.0)
    np.testing.assert_allclose(np.linalg.norm(r.data.numpy(), axis=1), 5.0, atol=0.2)


def test_assign_modes_recovers_modes_and_the_three_sigma_rate():
    d = make_grid(n=20000, seed=1)
    nearest, good = assign_modes(d.data, d.info["centres"], d.info["sigma"])
    np.testing.assert_array_equal(nearest, d.attrs["mode"])
    # a 2-D Gaussian lies within 3 sigma with probability 1 - exp(-9/2)
    assert abs(good.mean() - (1 - np.exp(-4.5))) < 0.004
    far = np.array([[1.0, 1.0], [0.0, 0.3]])  # between modes / 6 sigma from (0, 0)
    nearest, good = assign_modes(far, d.info["centres"], d.info["sigma"])
    assert not good.any()
    assert nearest[1] == 12  # the centre of the grid, (0, 0)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="sigma"):
        make_rings(sigma=0)
    with pytest.raises(ValueError, match="n_modes"):
        make_rings(n_modes=0)
    with pytest.raises(ValueError, match="n must be"):
        make_grid(n=-3)
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        assign_modes(np.zeros((4, 3)), ring_centres(), 0.02)
    with pytest.raises(TypeError, match="valid options"):
        load("rings", radious=3)
