"""Exact k-nearest neighbours in bounded memory, on CPU or CUDA.

The engine behind every neighbour-based intrinsic-dimension estimator. Squared distances
come from matrix products, ``||a||^2 + ||b||^2 - 2 a.b``, computed in float32 one
(query block x database block) tile at a time; ``torch.topk`` (a partial sort) keeps the
best candidates of each tile and the candidate lists of the database blocks are merged,
so no more than one tile per worker is ever held. Tile sizes follow from
``memory_budget``; the cost is ``O(N^2 D)`` arithmetic in ``O(budget + N (D + k))``
memory.

float32 and the expanded form lose precision for near points (cancellation), so

* the data are centred (in float64) before the float32 copy is taken, which keeps the
  norms small;
* a few spare candidates are kept per point, and the final distances are recomputed
  directly from the coordinates (differences, in float64) and re-sorted, so near ties
  are ordered by exact distances.

The point itself is excluded by index, not by dropping the first column, so duplicate
points show up as neighbours at distance 0 (the estimators deal with duplicates before
calling this).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from latentlab._threads import single_thread

__all__ = ["kneighbors", "DEFAULT_MEMORY_BUDGET"]

#: Default working-memory budget of :func:`kneighbors`, in bytes (512 MiB).
DEFAULT_MEMORY_BUDGET = 512 * 2**20

# float32 tile, the product's temporary, the mask/topk workspace: about three tiles alive.
_TILE_COPIES = 3
_FLOAT32 = 4
# CPU tiles of at most 128 x 16384 float32 (8 MiB) stay in the last-level cache between
# the product and the selection passes; the longer tiles a large budget allows (256 x 65536) made both the
# product and the selection about 1.5x (k = 20) to 2x (k = 2) slower in CPU time on
# N = 40,000, D = 64 (benchmarks/bench_intrinsic_dim.py).
_CPU_QUERY_ROWS = 128
_CPU_DATABASE_ROWS = 16384
_GROUP = 64  # columns per group in _smallest_k


def _block_sizes(
    n: int, d: int, k: int, budget: int, block_size, max_query_rows: int | None = None, max_database_rows: int = 65536
) -> tuple[int, int]:
    """Rows per query block and per database block for a memory budget in bytes."""
    if block_size is not None:
        if isinstance(block_size, (int, np.integer)):
            bq = bd = int(block_size)
        else:
            bq, bd = (int(b) for b in block_size)
        if bq < 1 or bd < 1:
            raise ValueError(f"block_size must be positive; got {block_size!r}")
        return min(bq, n), min(bd, n)
    # Long database blocks keep the products efficient and topk cheap per element; the
    # database block itself may take a quarter of the budget, the tiles the rest.
    bd = int(min(n, max_database_rows, max(256, budget // (4 * _FLOAT32 * max(d, 1)))))
    while True:
        # tiles, candidate lists, the query row, and its gathered candidates in float64
        per_row = _TILE_COPIES * _FLOAT32 * bd + 24 * k + _FLOAT32 * d + 2 * 8 * k * d
        bq = (budget - _FLOAT32 * d * bd) // per_row
        if bq >= 64 or bd <= 256:
            break
        bd = max(256, bd // 2)  # a small budget: shorter database blocks, taller query blocks
    if max_query_rows is not None:
        bq = min(bq, max_query_rows)
    return int(max(1, min(n, bq))), int(bd)


def _smallest_k(tile: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Values and column indices of the ``k`` smallest entries of each row (unordered).

    ``torch.topk`` over long rows is costly on CPU. Instead, split each row into groups
    of ``_GROUP`` columns and take each group's minimum (one cheap pass): every one of
    the ``k`` smallest entries lies in one of the ``k`` groups with the smallest minima
    (a group holding the j-th smallest entry has a minimum no larger than it, and at
    most ``j - 1`` other groups can have smaller minima). ``topk`` then only runs over
    ``k`` groups plus the leftover columns.
    """
    r, m = tile.shape
    g = m // _GROUP
    if g < 2 * k:  # short rows: grouping gains nothing
        return torch.topk(tile, k, dim=1, largest=False, sorted=False)
    groups = torch.as_strided(tile, (r, g, _GROUP), (tile.stride(0), _GROUP, 1))
    best_groups = torch.topk(groups.amin(dim=2), k, dim=1, largest=False, sorted=False).indices
    cols = (best_groups.unsqueeze(2) * _GROUP + torch.arange(_GROUP, device=tile.device)).reshape(r, k * _GROUP)
    if g * _GROUP < m:
        cols = torch.cat([cols, torch.arange(g * _GROUP, m, device=tile.device).expand(r, -1)], dim=1)
    val, pos = torch.topk(torch.gather(tile, 1, cols), k, dim=1, largest=False, sorted=False)
    return val, torch.gather(cols, 1, pos)




def _augmented_float32(X: np.ndarray, rows: int) -> torch.Tensor:
    """``[X - mean(X), |X - mean(X)|^2]`` in float32, shape (N, D + 1), built chunk by
    chunk (never a full float64 copy of ``X``).

    With query rows ``[-2 q, 1]`` one matrix product gives ``|b|^2 - 2 q.b`` directly.
    """
    n, d = X.shape
    mean = np.zeros(d, dtype=np.float64)
    for s in range(0, n, rows):
        mean += X[s : s + rows].sum(axis=0, dtype=np.float64)
    mean /= n
    out = np.empty((n, d + 1), dtype=np.float32)
    for s in range(0, n, rows):
        chunk = X[s : s + rows] - mean
        out[s : s + rows, :d] = chunk
        out[s : s + rows, d] = np.einsum("ij,ij->i", chunk, chunk)
    return torch.from_numpy(out)


def kneighbors(
    X,
    n_neighbors: int,
    *,
    device: str | torch.device = "cpu",
    memory_budget: int | None = None,
    block_size: int | tuple[int, int] | None = None,
    extra_candidates: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_neighbors`` nearest neighbours of every point of ``X`` among the others.

    Exact (brute force) search, blockwise: memory stays bounded by ``memory_budget`` plus
    the input, a float32 copy of it and the outputs, whatever ``N``.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (N, D)
        Points, any real dtype. Must be finite.
    n_neighbors : int
        Neighbours per point, ``1 <= n_neighbors <= N - 1``. The point itself is never
        among them (it is excluded by index).
    device : str or torch.device, default="cpu"
        Where the distance tiles are computed, e.g. ``"cuda"``. The float32 copy of the
        data is moved there once if it fits in half the budget, else streamed block by
        block. On CPU, query blocks are spread over ``torch.get_num_threads()`` threads
        (torch ops inside them single-threaded for the duration of the call).
    memory_budget : int, optional
        Working memory for the distance tiles, in bytes; default
        :data:`DEFAULT_MEMORY_BUDGET` (512 MiB) on CPU (shared by the worker threads),
        half the free memory of a CUDA device. On a GPU the budget should hold twice the
        float32 data (``8 N D`` bytes), else the data are streamed from host memory for
        every query block, which is slow.
    block_size : int or (int, int), optional
        Rows per (query, database) block, overriding the sizes derived from the budget.
    extra_candidates : int, optional
        Spare candidates kept per point beyond ``n_neighbors`` before the exact float64
        re-ranking; default ``max(4, n_neighbors // 4)``.

    Returns
    -------
    distances : ndarray of shape (N, n_neighbors), float64
        Euclidean distances (units of ``X``), ascending along each row.
    indices : ndarray of shape (N, n_neighbors), int64
        Row indices into ``X`` of the neighbours, in the order of ``distances``.
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (N, D); got shape {X.shape}")
    n, d = X.shape
    if not isinstance(n_neighbors, (int, np.integer)) or isinstance(n_neighbors, bool):
        raise TypeError(f"n_neighbors must be an int; got {type(n_neighbors).__name__}")
    if not 1 <= n_neighbors <= n - 1:
        raise ValueError(f"n_neighbors must be between 1 and N - 1 = {n - 1}; got {n_neighbors} (need at least {n_neighbors + 1} points)")
    device = torch.device(device)
    if memory_budget is None:
        budget = DEFAULT_MEMORY_BUDGET
        if device.type == "cuda":  # half of what is free: the data can stay on the GPU
            budget = max(budget, torch.cuda.mem_get_info(device)[0] // 2)
    else:
        budget = int(memory_budget)
    if budget <= 0:
        raise ValueError(f"memory_budget must be a positive number of bytes; got {memory_budget!r}")
    extra = max(4, n_neighbors // 4) if extra_candidates is None else int(extra_candidates)
    kc = min(n - 1, n_neighbors + max(0, extra))

    # On CPU, query blocks run in parallel threads, each with its share of the budget, and
    # tiles of a few hundred rows stay closer to the caches; a GPU wants big tiles.
    workers = max(1, torch.get_num_threads()) if device.type == "cpu" else 1
    if device.type == "cpu":
        bq, bd = _block_sizes(n, d, kc, budget // workers, block_size, _CPU_QUERY_ROWS, _CPU_DATABASE_ROWS)
    else:
        bq, bd = _block_sizes(n, d, kc, budget // workers, block_size)
    Xa = _augmented_float32(X, max(1024, budget // (16 * max(1, d))))
    if device.type == "cpu":
        X_dev = Xa
        # the exact pass reads the caller's coordinates at their own precision
        X_exact = torch.from_numpy(np.ascontiguousarray(X)) if X.dtype in (np.float32, np.float64) else torch.from_numpy(X.astype(np.float64))
    else:
        resident = Xa.numel() * _FLOAT32 * 2 <= budget
        X_dev = Xa.to(device) if resident else None
        X_exact = X_dev[:, :d] if resident else Xa[:, :d]

    def rows_of(src: torch.Tensor, index) -> torch.Tensor:
        return src[index].to(device, non_blocking=True)

    out_dist = np.empty((n, n_neighbors), dtype=np.float64)
    out_idx = np.empty((n, n_neighbors), dtype=np.int64)

    @torch.inference_mode()  # thread-local: each worker needs its own
    def query_block(q0: int) -> None:
        q1 = min(n, q0 + bq)
        Q = X_dev[q0:q1] if X_dev is not None else rows_of(Xa, slice(q0, q1))
        Q = torch.cat([-2.0 * Q[:, :d], Q.new_ones((q1 - q0, 1))], dim=1)
        rows = torch.arange(q1 - q0, device=device)
        cand_val, cand_idx = [], []
        for b0 in range(0, n, bd):
            b1 = min(n, b0 + bd)
            B = X_dev[b0:b1] if X_dev is not None else rows_of(Xa, slice(b0, b1))
            # one product gives |b|^2 - 2 q.b, which ranks a row like |q - b|^2 (|q|^2 is
            # constant along a row): no extra passes over the tile; exact distances later
            tile = Q @ B.T
            lo, hi = max(q0, b0), min(q1, b1)
            if lo < hi:  # this tile holds some of the query points themselves
                r = rows[lo - q0 : hi - q0]
                tile[r, r + (q0 - b0)] = math.inf
            val, arg = _smallest_k(tile, min(kc, b1 - b0))
            del tile
            cand_val.append(val)
            cand_idx.append(arg + b0)
        best_idx = torch.cat(cand_idx, dim=1)
        if best_idx.shape[1] > kc:  # merge the candidate lists of the database blocks
            _, pos = torch.topk(torch.cat(cand_val, dim=1), kc, dim=1, largest=False, sorted=False)
            best_idx = torch.gather(best_idx, 1, pos)
        # Exact distances of the candidates from coordinate differences in float64 (no
        # cancellation), and the final ranking by them.
        where = best_idx.cpu() if X_exact.device.type == "cpu" else best_idx
        q = rows_of(X_exact, slice(q0, q1)).double()
        exact = torch.linalg.vector_norm(rows_of(X_exact, where).double() - q.unsqueeze(1), dim=2)
        exact, order = torch.sort(exact, dim=1, stable=True)
        out_dist[q0:q1] = exact[:, :n_neighbors].cpu().numpy()
        out_idx[q0:q1] = torch.gather(best_idx, 1, order[:, :n_neighbors]).cpu().numpy()

    starts = range(0, n, bq)
    if workers <= 1 or len(starts) == 1:
        for q0 in starts:
            query_block(q0)
    else:
        # Coarse-grained CPU parallelism: one query block per thread, each op
        # single-threaded. Fine-grained intra-op threading of many mid-sized ops stalls
        # badly when the cores are shared.
        with single_thread(), ThreadPoolExecutor(workers) as pool:
            list(pool.map(query_block, starts))
    return out_dist, out_idx
