"""Local PCA: the number of significant principal components of each neighbourhood.

Fukunaga & Olsen (1971), "An algorithm for finding intrinsic dimensionality of data",
IEEE Trans. Computers C-20(2). Each point and its ``n_neighbors`` nearest neighbours are
centred; the eigenvalues of their covariance give a local dimension by one of two
criteria, and the global estimate is their mean.

Local PCA needs many more neighbours than the dimension it is to find
(``n_neighbors + 1 > d``) and is biased by curvature at the scale of the neighbourhood;
it is simple, fast and robust to small noise.
"""

from __future__ import annotations

import numpy as np

from latentlab._validation import check_choice, check_float, check_int
from latentlab.id.base import IntrinsicDimension

__all__ = ["LocalPCA"]

_DEFAULT_THRESHOLD = {"variance": 0.95, "ratio": 0.05}


class LocalPCA(IntrinsicDimension):
    """Local principal-component intrinsic-dimension estimator.

    Parameters
    ----------
    n_neighbors : int, default=30
        Neighbours of each point in its local PCA (the point itself is added).
    criterion : {"variance", "ratio"}, default="variance"
        ``"variance"``: the fewest components whose eigenvalues explain at least a
        fraction ``threshold`` of the local variance. ``"ratio"``: the number of
        eigenvalues larger than ``threshold`` times the largest (Fukunaga & Olsen).
    threshold : float, optional
        Fraction of variance in (0, 1] (default 0.95) or eigenvalue ratio in (0, 1)
        (default 0.05), depending on ``criterion``.
    device : str, default="cpu"
        Where the neighbour search runs (``"cuda"`` for a GPU).
    memory_budget : int, optional
        Working memory of the neighbour search, in bytes (default 512 MiB).

    Attributes
    ----------
    dimension_ : float
        Mean of the local dimensions.
    dimension_pw_ : ndarray of shape (N,), float64
        The local dimension (an integer value) at each row of ``X``.
    n_features_in_ : int
        Ambient dimension of the data seen by ``fit``.
    n_duplicates_ : int
        Duplicate rows left out of the estimate (see the base class).
    """

    def __init__(
        self,
        n_neighbors: int = 30,
        criterion: str = "variance",
        threshold: float | None = None,
        device: str = "cpu",
        memory_budget: int | None = None,
    ):
        self.n_neighbors = n_neighbors
        self.criterion = criterion
        self.threshold = threshold
        self.device = device
        self.memory_budget = memory_budget

    def _min_samples(self) -> tuple[int, str]:
        k = check_int(self.n_neighbors, "n_neighbors", min=1, type_error=TypeError)
        return k + 1, f"{k} neighbours per point"

    def _fit(self, X: np.ndarray) -> None:
        check_choice(self.criterion, "criterion", tuple(_DEFAULT_THRESHOLD))
        thr = _DEFAULT_THRESHOLD[self.criterion] if self.threshold is None else self.threshold
        if self.criterion == "variance":
            thr = check_float(thr, "threshold", min=0.0, max=1.0, min_open=True, type_error=TypeError)
        else:
            thr = check_float(thr, "threshold", min=0.0, max=1.0, min_open=True, max_open=True, type_error=TypeError)
        k = self.n_neighbors
        _, idx = self._kneighbors(X, k)
        n, d = X.shape
        local = np.empty(n, dtype=np.float64)
        # bounded memory: about 64 MiB of gathered neighbourhoods at a time
        rows = max(1, (64 * 2**20) // (8 * (k + 1) * d))
        for s in range(0, n, rows):
            nb = np.concatenate([np.arange(s, min(n, s + rows))[:, None], idx[s : s + rows]], axis=1)
            P = np.asarray(X[nb], dtype=np.float64)
            P -= P.mean(axis=1, keepdims=True)
            # eigenvalues of the smaller of the (k+1)x(k+1) Gram and the DxD scatter matrix
            M = P @ P.transpose(0, 2, 1) if k + 1 <= d else P.transpose(0, 2, 1) @ P
            ev = np.clip(np.linalg.eigvalsh(M)[:, ::-1], 0.0, None)
            local[s : s + rows] = self._count(ev, thr)
        self._terms = local
        self.dimension_pw_ = local
        self.dimension_ = float(local.mean())

    def _count(self, ev: np.ndarray, thr: float) -> np.ndarray:
        """Local dimension from eigenvalues sorted in decreasing order, shape (B, m)."""
        total = ev.sum(axis=1, keepdims=True)
        if self.criterion == "variance":
            frac = np.cumsum(ev, axis=1) / np.where(total > 0, total, 1.0)
            # fewest components reaching the fraction (tolerance for rounding at 1.0)
            return 1 + np.argmax(frac >= thr - 1e-12, axis=1)
        return np.maximum(1, (ev > thr * ev[:, :1]).sum(axis=1))

    def _dimension_from_terms(self, local: np.ndarray) -> float:
        return float(local.mean())
