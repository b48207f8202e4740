"""Intrinsic dimension as a function of scale: GRIDE.

Denti, Doimo, Laio & Mira (2022), "The generalized ratios intrinsic dimension estimator",
Scientific Reports 12:20005.

For neighbour ranks ``n1 < n2``, the ratio ``mu = r_{n2} / r_{n1}`` of a point's
``n2``-th to ``n1``-th neighbour distance has, in a locally uniform d-dimensional
neighbourhood, the density

    f(mu) = d (mu^d - 1)^(n2 - n1 - 1) / (B(n2 - n1, n1) mu^((n2 - 1) d + 1)),  mu > 1

(``mu^d - 1`` is a beta-prime variable). The maximum-likelihood ``d`` over all points is
computed for ``n1 = 1, 2, 4, ...`` with ``n2 = 2 n1``: small ``n1`` probe small scales
(where noise inflates the dimension), large ones coarse scales (where curvature and
boundaries deflate it); a plateau in between is the dimension at the scale of interest.
``n1 = 1`` is the maximum-likelihood TwoNN.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from latentlab._validation import check_int
from latentlab.id.base import IntrinsicDimension

__all__ = ["MultiscaleID", "gride_mle"]


def gride_mle(log_mu: np.ndarray, n1: int, n2: int) -> float:
    """Maximum-likelihood dimension from log neighbour-distance ratios.

    Parameters
    ----------
    log_mu : ndarray of shape (M,)
        ``log(r_{n2} / r_{n1})`` for each point, all ``>= 0``.
    n1, n2 : int
        Neighbour ranks, ``1 <= n1 < n2``.

    Returns
    -------
    float
        The dimension maximising the likelihood (``inf`` if every ratio is 1).
    """
    log_mu = np.asarray(log_mu, dtype=np.float64)
    m, total = len(log_mu), float(log_mu.sum())
    if total <= 0:
        return float("inf")
    a = n2 - n1
    if a == 1:  # the score equation is linear in 1/d
        return m / ((n2 - 1) * total)
    pos = log_mu > 0

    def score(d: float) -> float:
        # d/dd of the log-likelihood; log_mu / (1 - mu^-d) tends to 1/d as mu -> 1
        ratio = np.full(m, 1.0 / d)
        ratio[pos] = log_mu[pos] / -np.expm1(-d * log_mu[pos])
        return m / d + (a - 1) * ratio.sum() - (n2 - 1) * total

    # the score decreases from +inf (d -> 0) to -n1 * total < 0 (d -> inf)
    hi = max(1.0, m / ((n2 - 1) * total))
    while score(hi) > 0:
        hi *= 2.0
    lo = hi / 2.0
    while score(lo) < 0:
        lo /= 2.0
    return float(brentq(score, lo, hi, xtol=1e-10, rtol=1e-12))


class MultiscaleID(IntrinsicDimension):
    """GRIDE: the intrinsic dimension at a range of neighbourhood scales.

    Parameters
    ----------
    max_n1 : int, default=32
        Largest first rank; scales use ``n1 = 1, 2, 4, ...`` up to ``max_n1`` (and
        ``n2 = 2 n1``), so ``2 * max_n1`` neighbours are searched. Ranks beyond the
        number of points are skipped.
    device : str, default="cpu"
        Where the neighbour search runs (``"cuda"`` for a GPU).
    memory_budget : int, optional
        Working memory of the neighbour search, in bytes (default 512 MiB).

    Attributes
    ----------
    dimension_ : float
        The estimate at the smallest scale (``n1 = 1``; the maximum-likelihood TwoNN).
        Look at ``dimensions_`` against ``scales_`` for the scale dependence.
    dimensions_ : ndarray of shape (n_scales,), float64
        Maximum-likelihood dimension at each scale.
    scales_ : ndarray of shape (n_scales,), float64
        Median distance to the ``n2``-th neighbour at each scale (units of ``X``).
    n1_ : ndarray of shape (n_scales,), int64
        First neighbour rank of each scale (``n2 = 2 * n1``).
    n_features_in_ : int
        Ambient dimension of the data seen by ``fit``.
    n_duplicates_ : int
        Duplicate rows left out of the estimate (see the base class).
    """

    def __init__(self, max_n1: int = 32, device: str = "cpu", memory_budget: int | None = None):
        self.max_n1 = max_n1
        self.device = device
        self.memory_budget = memory_budget

    def _min_samples(self) -> tuple[int, str]:
        check_int(self.max_n1, "max_n1", min=1, type_error=TypeError)
        return 3, "2 neighbours per point at the smallest scale"

    def _fit(self, X: np.ndarray) -> None:
        n = X.shape[0]
        n1 = 2 ** np.arange(int(np.log2(self.max_n1)) + 1)
        n1 = n1[2 * n1 <= n - 1]
        dist, _ = self._kneighbors(X, int(2 * n1[-1]))
        log_mu = np.log(dist[:, 2 * n1 - 1] / dist[:, n1 - 1])
        self._terms = log_mu
        self.n1_ = n1.astype(np.int64)
        self.scales_ = np.median(dist[:, 2 * n1 - 1], axis=0)
        self.dimensions_ = np.array([gride_mle(log_mu[:, s], int(a), int(2 * a)) for s, a in enumerate(n1)])
        if not np.isfinite(self.dimensions_[0]):
            raise ValueError("every point's first and second neighbours are equally far (a regular grid?); the ratios carry no information")
        self.dimension_ = float(self.dimensions_[0])

    def _dimension_from_terms(self, log_mu: np.ndarray) -> float:
        return gride_mle(log_mu[:, 0], 1, 2)
