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

    rng = np.random.default_rng(6)
    # 5000 columns: one level of group minima; 20000 and k = 5: two levels, then topk
    for m, k in [(5000, 1), (5000, 5), (5000, 30), (20011, 5)]:
        tile = torch.from_numpy(rng.integers(0, 50, size=(20, m)).astype(np.float32))
        val, col = _smallest_k(tile, k)
        np.testing.assert_array_equal(np.sort(val.numpy(), axis=1), np.sort(tile.numpy(), axis=1)[:, :k])
        np.testing.assert_array_equal(torch.gather(tile, 1, col).numpy(), val.numpy())
        assert all(len(set(row)) == k for row in col.tolist())


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


# CPU buffer of (32 x 48)-tiles: bytes for 1, 3 and all 11 tiles of 500 points per worker
@pytest.mark.parametrize("tiles_per_buffer", [1, 3, 11])
def test_tiles_held_side_by_side_match_brute_force_for_any_buffer_size(threads, tiles_per_buffer):
    X = np.random.default_rng(7).normal(size=(500, 5))
    d_ref, i_ref = brute_force(X, 7)
    per_tile = 32 * 48 * 4 * 17 // 16
    d, i = kneighbors(X, 7, block_size=(32, 48), memory_budget=threads * per_tile * (tiles_per_buffer + 1))
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)


@pytest.mark.parametrize("block_size", [(13, 7), (50, 50), (64, 17), (1, 16)])
def test_padded_tiles_and_a_partial_last_query_block(threads, block_size):
    # 301 points: the last query block and the last (padded) tile are partial
    X = np.random.default_rng(8).normal(size=(301, 4))
    d_ref, i_ref = brute_force(X, 5)
    d, i = kneighbors(X, 5, block_size=block_size)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    assert (i < len(X)).all()  # the padding points are never returned


def test_more_neighbours_than_a_tile_holds_and_all_but_one(threads):
    X = np.random.default_rng(9).normal(size=(60, 3))
    d_ref, i_ref = brute_force(X, 40)
    d, i = kneighbors(X, 40, block_size=(8, 16), memory_budget=threads * 8 * 16 * 5)  # one tile at a time
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12)
    d, i = kneighbors(X, 59, block_size=(8, 16))
    assert (np.sort(i, axis=1) == np.array([[j for j in range(60) if j != r] for r in range(60)])).all()


def test_duplicates_in_other_tiles_are_found_at_distance_zero(threads):
    X = np.random.default_rng(10).normal(size=(200, 3))
    X = np.vstack([X, X[:40]])  # rows 200..239 repeat rows 0..39, in another tile
    d, i = kneighbors(X, 1, block_size=(16, 32))
    assert (d[:40, 0] == 0).all() and (i[:40, 0] == np.arange(200, 240)).all()
    assert (d[200:, 0] == 0).all() and (i[200:, 0] == np.arange(40)).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e30])
def test_non_finite_or_overflowing_points_are_rejected(bad):
    X = np.random.default_rng(11).normal(size=(30, 3))
    X[4, 1] = bad
    with pytest.raises(ValueError, match="finite"):
        kneighbors(X, 3)
