"""Exact k-nearest neighbours in bounded memory, on CPU or CUDA.

The engine behind every neighbour-based intrinsic-dimension estimator. The full N x N
distance matrix is never formed; it is walked in tiles. The points are cut into query
blocks (rows of the matrix) and database blocks (columns); a tile is one (query block x
database block) piece, and one float32 matrix product fills it with squared distances
``||b||^2 - 2 a.b`` (each point carries its squared norm as an extra coordinate; the
query's own ``||a||^2`` does not change its ranking). From a tile only the ``k`` smallest
entries of each row survive, found by group minima and ``torch.topk`` (a partial sort,
see :func:`_smallest_k`), and the survivors of a query block's tiles are merged into its
candidate list: on a GPU one list per tile; on CPU one list per run of tiles held side
by side in a per-worker buffer (usually all of a query block's tiles), so the costly
selection runs once per query block rather than once per tile. CPU tiles are small
enough to stay in the last-level cache between the product and the selection, and query
blocks are spread over worker threads. Tile and buffer sizes follow from
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
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from latentlab._validation import check_int
from latentlab._threads import single_thread

__all__ = ["kneighbors", "DEFAULT_MEMORY_BUDGET"]

#: Default working-memory budget of :func:`kneighbors`, in bytes (512 MiB).
DEFAULT_MEMORY_BUDGET = 512 * 2**20

# float32 tile, the product's temporary, the mask/topk workspace: about three tiles alive.
_TILE_COPIES = 3
_FLOAT32 = 4
# CPU tiles of at most 128 x 16384 float32 (8 MiB) stay in the last-level cache between
# the product and the group-minimum pass; the longer tiles a large budget allows (256 x 65536) made both the
# product and the selection about 1.5x (k = 20) to 2x (k = 2) slower in CPU time on
# N = 40,000, D = 64 (benchmarks/bench_intrinsic_dim.py); 128 x 2048 to 8192 and
# 256-row tiles were 5-25% slower for the product plus group minima.
_CPU_QUERY_ROWS = 128
_CPU_DATABASE_ROWS = 16384
_GROUP = 16  # columns per group in _smallest_k and in the CPU tiles


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

    ``tile`` has shape (R, M) with unit column stride. ``torch.topk`` over long rows is
    costly on CPU. Instead, split each row into groups of ``_GROUP`` columns and take each
    group's minimum (one cheap pass): every one of the ``k`` smallest entries lies in one
    of the ``k`` groups with the smallest minima (a group holding the j-th smallest entry
    has a minimum no larger than it, and at most ``j - 1`` other groups can have smaller
    minima). The same selection, applied recursively to the group minima, finds those
    groups; ``topk`` then only runs over ``k`` groups plus the leftover columns. Group
    ``c`` of ``w`` groups holds the columns ``c, c + w, c + 2w, ...``, so the minima come
    from a reduction across contiguous rows of ``w`` columns, which vectorises.
    """
    r, m = tile.shape
    w = m // _GROUP
    if w < 2 * k:  # short rows: grouping gains nothing
        return torch.topk(tile, k, dim=1, largest=False, sorted=False)
    minima = torch.as_strided(tile, (r, _GROUP, w), (tile.stride(0), w, 1)).amin(dim=1)
    _, best_groups = _smallest_k(minima, k)
    cols = (best_groups.unsqueeze(2) + w * torch.arange(_GROUP, device=tile.device)).reshape(r, k * _GROUP)
    if w * _GROUP < m:
        cols = torch.cat([cols, torch.arange(w * _GROUP, m, device=tile.device).expand(r, -1)], dim=1)
    val, pos = torch.topk(torch.gather(tile, 1, cols), k, dim=1, largest=False, sorted=False)
    return val, torch.gather(cols, 1, pos)


def _augmented_float32(X: np.ndarray, rows: int, block: int | None = None) -> torch.Tensor:
    """``[X - mean(X), |X - mean(X)|^2]`` in float32, shape (N, D + 1), built chunk by
    chunk (never a full float64 copy of ``X``).

    With query rows ``[-2 q, 1]`` one matrix product gives ``|b|^2 - 2 q.b`` directly.
    With ``block``, the same numbers transposed in contiguous blocks, shape
    (ceil(N / block), D + 1, block), the last block padded with points at infinity
    (coordinates 0, squared norm +inf), which no finite candidate loses to.
    """
    n, d = X.shape
    mean = np.zeros(d, dtype=np.float64)
    for s in range(0, n, rows):
        mean += X[s : s + rows].sum(axis=0, dtype=np.float64)
    mean /= n
    if block is None:
        out = np.empty((n, d + 1), dtype=np.float32)
    else:
        out = np.zeros((-(-n // block), d + 1, block), dtype=np.float32)
        out[-1, d, n - (len(out) - 1) * block :] = np.inf
    for s in range(0, n, rows):
        e = min(n, s + rows)
        with np.errstate(invalid="ignore", over="ignore"):  # bad input is reported below
            chunk = X[s:e] - mean
            norms = np.einsum("ij,ij->i", chunk, chunk)
        # |b|^2 - 2 q.b must not overflow float32 either
        if not (np.isfinite(norms).all() and (norms < np.finfo(np.float32).max / 4).all()):
            raise ValueError("X must be finite, with squared distances from its mean below 8e37 (float32 range); rescale it")
        if block is None:
            out[s:e, :d] = chunk
            out[s:e, d] = norms
            continue
        for j in range(s // block, (e - 1) // block + 1):
            a, b = max(s, j * block), min(e, (j + 1) * block)
            out[j, :d, a - j * block : b - j * block] = chunk[a - s : b - s].T
            out[j, d, a - j * block : b - j * block] = norms[a - s : b - s]
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
    check_int(n_neighbors, "n_neighbors", type_error=TypeError)
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
        return _kneighbors_cpu(X, n_neighbors, kc, bq, bd, block_size is None, budget // workers, workers)
    bq, bd = _block_sizes(n, d, kc, budget, block_size)
    Xa = _augmented_float32(X, max(1024, budget // (16 * max(1, d))))
    resident = Xa.numel() * _FLOAT32 * 2 <= budget
    X_dev = Xa.to(device) if resident else None
    X_exact = X_dev[:, :d] if resident else Xa[:, :d]

    def rows_of(src: torch.Tensor, index) -> torch.Tensor:
        return src[index].to(device, non_blocking=True)

    out_dist = np.empty((n, n_neighbors), dtype=np.float64)
    out_idx = np.empty((n, n_neighbors), dtype=np.int64)
    with torch.inference_mode():
        for q0 in range(0, n, bq):
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
            best_idx = _merge(cand_val, cand_idx, kc)
            q = rows_of(X_exact, slice(q0, q1))
            _exact_rerank(X_exact, q, best_idx, out_dist[q0:q1], out_idx[q0:q1])
    return out_dist, out_idx


def _merge(cand_val: list[torch.Tensor], cand_idx: list[torch.Tensor], kc: int) -> torch.Tensor:
    """Indices of the ``kc`` best of several candidate lists of the same rows, shape (R, kc)."""
    best_idx = torch.cat(cand_idx, dim=1)
    if best_idx.shape[1] > kc:
        _, pos = torch.topk(torch.cat(cand_val, dim=1), kc, dim=1, largest=False, sorted=False)
        best_idx = torch.gather(best_idx, 1, pos)
    return best_idx


def _exact_rerank(X_exact: torch.Tensor, q: torch.Tensor, best_idx: torch.Tensor, out_dist: np.ndarray, out_idx: np.ndarray) -> None:
    """Rank the candidates ``best_idx`` (R, kc) of the query points ``q`` (R, D) by their
    exact distances, from coordinate differences in float64 (no cancellation), and write
    the first ``out_dist.shape[1]`` into ``out_dist`` / ``out_idx`` (R, k)."""
    k = out_dist.shape[1]
    where = best_idx.cpu() if X_exact.device.type == "cpu" else best_idx
    cand = X_exact.index_select(0, where.reshape(-1)).view(*where.shape, -1).to(q.device, non_blocking=True)
    exact = torch.linalg.vector_norm(cand.double() - q.double().unsqueeze(1), dim=2)
    exact, order = torch.sort(exact, dim=1, stable=True)
    out_dist[:] = exact[:, :k].cpu().numpy()
    out_idx[:] = torch.gather(best_idx, 1, order[:, :k]).cpu().numpy()


def _kneighbors_cpu(X: np.ndarray, k: int, kc: int, bq: int, bd: int, balance: bool, budget: int, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """The CPU engine of :func:`kneighbors`: ``bq`` query rows against database blocks of
    about ``bd`` rows, ``budget`` bytes per worker thread.

    A query block's tiles are kept side by side in one buffer holding as many database
    blocks as the budget allows (all of them, unless N is very large): each tile's group
    minima (see :func:`_smallest_k`) are taken while it is still in the cache, and the
    costly selection over the group minima runs once per query block and buffer instead
    of once per tile. The database is stored transposed, one contiguous (D + 1, bd) block
    per tile, which the product reads about 1.25x faster than a transposed view.
    """
    n, d = X.shape
    bd = -(-bd // _GROUP) * _GROUP  # whole groups in every tile
    nb = -(-n // bd)
    if balance:  # equal tiles: the last one is not a short, slow one
        bd = -(-n // (nb * _GROUP)) * _GROUP
    w = bd // _GROUP
    per_tile = bq * bd * _FLOAT32 * (_GROUP + 1) // _GROUP
    nbuf = int(max(1, min(nb, budget // per_tile - 1)))  # tiles per buffer; one tile spare for the selection
    XT = _augmented_float32(X, max(1024, budget // (16 * max(1, d))), bd)
    # the exact pass reads the caller's coordinates at their own precision
    X_exact = torch.from_numpy(np.ascontiguousarray(X)) if X.dtype in (np.float32, np.float64) else torch.from_numpy(X.astype(np.float64))

    out_dist = np.empty((n, k), dtype=np.float64)
    out_idx = np.empty((n, k), dtype=np.int64)
    local = threading.local()
    spread = w * torch.arange(_GROUP)

    @torch.inference_mode()  # thread-local: each worker needs its own
    def query_block(q0: int) -> None:
        q1 = min(n, q0 + bq)
        r = q1 - q0
        if getattr(local, "buf", None) is None:  # one buffer per worker, reused
            local.buf = torch.empty(nbuf, bq, bd)
            local.minima = torch.empty(bq, nbuf * w)
        buf, minima = local.buf, local.minima[:r]
        rows = torch.arange(r)
        aug = torch.cat([XT[j, :, max(q0 - j * bd, 0) : q1 - j * bd] for j in range(q0 // bd, (q1 - 1) // bd + 1)], dim=1).T
        Q = torch.cat([-2.0 * aug[:, :d], aug.new_ones((r, 1))], dim=1)
        cand_val, cand_idx = [], []
        for j0 in range(0, nb, nbuf):
            j1 = min(nb, j0 + nbuf)
            for j in range(j0, j1):
                tile = buf[j - j0, :r]
                # one product gives |b|^2 - 2 q.b, which ranks a row like |q - b|^2 (|q|^2
                # is constant along a row): no extra passes over the tile; exact distances later
                torch.mm(Q, XT[j], out=tile)
                b0 = j * bd
                lo, hi = max(q0, b0), min(q1, b0 + bd)
                if lo < hi:  # this tile holds some of the query points themselves
                    s = rows[lo - q0 : hi - q0]
                    tile[s, s + (q0 - b0)] = math.inf
                torch.amin(tile.view(r, _GROUP, w), dim=1, out=minima[:, (j - j0) * w : (j - j0 + 1) * w])
            kk = min(kc, (j1 - j0) * bd)
            _, groups = _smallest_k(minima[:, : (j1 - j0) * w], min(kk, (j1 - j0) * w))
            # group g of the buffer: tile g // w, columns g % w + w * t of that tile
            tile_of, first = groups // w, groups % w
            flat = ((tile_of * bq + rows.unsqueeze(1)) * bd + first).unsqueeze(2) + spread
            val, pos = torch.topk(buf.view(-1).index_select(0, flat.view(-1)).view(r, -1), kk, dim=1, largest=False, sorted=False)
            cols = ((tile_of + j0) * bd + first).unsqueeze(2) + spread
            cand_val.append(val)
            cand_idx.append(torch.gather(cols.view(r, -1), 1, pos))
        best_idx = _merge(cand_val, cand_idx, kc)
        _exact_rerank(X_exact, X_exact[q0:q1], best_idx, out_dist[q0:q1], out_idx[q0:q1])

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
