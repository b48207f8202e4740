"""The blockwise neighbour engine against brute force."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from latentlab.id.neighbors import kneighbors


def brute_force(X, k):
    D = cdist(np.asarray(X, dtype=np.float64), np.asarray(X, dtype=np.float64))
    np.fill_diagonal(D, np.inf)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, idx, axis=1), idx


@pytest.mark.parametrize("block_size", [(1, 64), (64, 1), 7, (100, 50), 1000])
def test_matches_brute_force_for_every_block_size(block_size):
    X = np.random.default_rng(0).normal(size=(300, 6))
    d_ref, i_ref = brute_force(X, 9)
    d, i = kneighbors(X, 9, block_size=block_size)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    assert d.dtype == np.float64 and i.dtype == np.int64 and d.shape == (300, 9)


def test_tiny_memory_budget_still_exact():
    X = np.random.default_rng(1).normal(size=(400, 5)).astype(np.float32)
    d_ref, i_ref = brute_force(X, 4)
    d, i = kneighbors(X, 4, memory_budget=150_000)  # forces many small tiles
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-6)


def test_near_points_far_from_origin_keep_their_precision():
    # float32 expansion |a|^2+|b|^2-2ab would lose everything here; the exact pass must not
    rng = np.random.default_rng(2)
    X = 1e4 + 1e-3 * rng.random((200, 3))
    d_ref, i_ref = brute_force(X, 5)
    d, i = kneighbors(X, 5)
    np.testing.assert_allclose(d, d_ref, rtol=1e-6)
    assert (i == i_ref).mean() > 0.99  # near-exact ties may swap


def test_self_is_excluded_by_index_and_duplicates_appear_at_distance_zero():
    X = np.random.default_rng(3).normal(size=(50, 3))
    X = np.vstack([X, X[:5]])  # rows 50..54 repeat rows 0..4
    d, i = kneighbors(X, 1, block_size=8)
    assert (i[:, 0] != np.arange(len(X))).all()
    assert (d[:5, 0] == 0).all() and set(i[:5, 0]) == set(range(50, 55))


def test_torch_input_and_all_other_points():
    X = torch.randn(20, 4, generator=torch.Generator().manual_seed(0))
    d, i = kneighbors(X, 19)
    assert (np.sort(i, axis=1) == np.array([[j for j in range(20) if j != r] for r in range(20)])).all()
    assert (np.diff(d, axis=1) >= 0).all()


@pytest.mark.parametrize("k", [0, 20, 2.5])
def test_bad_neighbour_counts(k):
    with pytest.raises((ValueError, TypeError), match="n_neighbors"):
        kneighbors(np.zeros((20, 2)) + np.arange(20)[:, None], k)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    X = np.random.default_rng(4).normal(size=(3000, 32)).astype(np.float32)
    d_cpu, i_cpu = kneighbors(X, 10)
    d_gpu, i_gpu = kneighbors(X, 10, device="cuda", block_size=(512, 1024))
    assert (i_cpu == i_gpu).mean() > 0.999
    np.testing.assert_allclose(d_gpu, d_cpu, rtol=1e-5)


def test_grouped_selection_on_long_rows_matches_brute_force():
    # rows of 3000 columns take the group-minimum path of the tile selection
    X = np.random.default_rng(5).normal(size=(3000, 4))
    d_ref, i_ref = brute_force(X, 3)
    d, i = kneighbors(X, 3, block_size=(256, 3000))
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)


def test_grouped_selection_finds_the_k_smallest_values_even_with_ties():
    from latentlab.id.neighbors import _smallest_k

    tile = torch.from_numpy(np.random.default_rng(6).integers(0, 50, size=(20, 5000)).astype(np.float32))
    for k in (1, 5, 30):
        val, col = _smallest_k(tile, k)
        np.testing.assert_array_equal(np.sort(val.numpy(), axis=1), np.sort(tile.numpy(), axis=1)[:, :k])
        np.testing.assert_array_equal(torch.gather(tile, 1, col).numpy(), val.numpy())
