"""Correlation dimension (Grassberger & Procaccia 1983).

Grassberger & Procaccia (1983), "Measuring the strangeness of strange attractors",
Physica D 9:189-208. The correlation integral ``C(r)``, the fraction of pairs of points
closer than ``r``, scales as ``r**d`` at small ``r`` on a d-dimensional set; ``d`` is the
slope of ``log C(r)`` against ``log r``.

The scale range is chosen from the distribution of pair distances itself: at the
``q``-quantile ``r_q`` of the pair distances, ``C(r_q) = q`` by definition, so the slope
is fitted to the points ``(log r_q, log q)`` for quantiles ``q`` log-spaced over
``quantile_range``. For large ``N`` a random subset of pairs (seeded) stands in for all
``N (N - 1) / 2`` of them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import pdist

from latentlab._validation import check_float, check_int
from latentlab.id.base import IntrinsicDimension

__all__ = ["CorrelationDimension"]

# fewest pairs expected below the smallest quantile for its radius to mean anything
_MIN_PAIRS_BELOW = 10


class CorrelationDimension(IntrinsicDimension):
    """Grassberger–Procaccia correlation-dimension estimator.

    Parameters
    ----------
    quantile_range : (float, float), default=(0.001, 0.05)
        Smallest and largest fraction of pairs (values of ``C(r)``) of the scale range.
        Small values probe small scales, where the manifold looks flat; too small ones
        rest on few pairs.
    n_scales : int, default=12
        Number of quantiles (log-spaced over ``quantile_range``) in the fit.
    max_pairs : int, default=2_000_000
        If ``N (N - 1) / 2`` exceeds this, this many random pairs of distinct points are
        used instead of all pairs.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the pair subsampling (``None``: fresh entropy, not the global RNG).

    Attributes
    ----------
    dimension_ : float
        Least-squares slope of ``log C(r)`` against ``log r``.
    radii_ : ndarray of shape (n_scales,), float64
        The radii ``r_q`` of the fit (units of ``X``).
    correlation_integral_ : ndarray of shape (n_scales,), float64
        ``C(r)`` at ``radii_`` (the quantiles ``q``).
    n_pairs_ : int
        Number of pair distances used.
    n_features_in_ : int
        Ambient dimension of the data seen by ``fit``.
    n_duplicates_ : int
        Duplicate rows left out of the estimate (see the base class).
    """

    def __init__(self, quantile_range: tuple[float, float] = (0.001, 0.05), n_scales: int = 12, max_pairs: int = 2_000_000, random_state=None):
        self.quantile_range = quantile_range
        self.n_scales = n_scales
        self.max_pairs = max_pairs
        self.random_state = random_state

    def _quantiles(self) -> np.ndarray:
        if not isinstance(self.quantile_range, (tuple, list)) or len(self.quantile_range) != 2:
            raise ValueError(f"quantile_range must be a pair (low, high) with 0 < low < high < 1; got {self.quantile_range!r}")
        bounds = dict(max=1.0, min_open=True, max_open=True, type_error=TypeError)
        lo = check_float(self.quantile_range[0], "quantile_range[0]", min=0.0, **bounds)
        hi = check_float(self.quantile_range[1], "quantile_range[1]", min=lo, **bounds)
        return np.geomspace(lo, hi, check_int(self.n_scales, "n_scales", min=2, type_error=TypeError))

    def _min_samples(self) -> tuple[int, str]:
        q_lo = self._quantiles()[0]
        pairs = math.ceil(_MIN_PAIRS_BELOW / q_lo)
        if check_int(self.max_pairs, "max_pairs", min=1, type_error=TypeError) < pairs:
            raise ValueError(f"max_pairs={self.max_pairs} leaves fewer than {_MIN_PAIRS_BELOW} pairs below the smallest quantile {q_lo}; use max_pairs >= {pairs}")
        # smallest N with N (N - 1) / 2 >= pairs
        return math.ceil((1 + math.sqrt(1 + 8 * pairs)) / 2), f"{pairs} pairs, so that {_MIN_PAIRS_BELOW} fall below the smallest quantile {q_lo}"

    def _fit(self, X: np.ndarray) -> None:
        q = self._quantiles()
        n = X.shape[0]
        if n * (n - 1) // 2 <= self.max_pairs:
            dist = pdist(np.asarray(X, dtype=np.float64))
        else:
            rng = np.random.default_rng(self.random_state)
            i = rng.integers(0, n, size=self.max_pairs)
            j = (i + rng.integers(1, n, size=self.max_pairs)) % n  # never i itself
            dist = np.empty(self.max_pairs)
            rows = max(1, (32 * 2**20) // (8 * X.shape[1]))
            for s in range(0, self.max_pairs, rows):
                diff = np.asarray(X[i[s : s + rows]], dtype=np.float64) - X[j[s : s + rows]]
                dist[s : s + rows] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        self._terms = dist
        self.n_pairs_ = len(dist)
        self.correlation_integral_ = q
        self.radii_ = np.quantile(dist, q)
        self.dimension_ = self._slope(self.radii_, q)

    @staticmethod
    def _slope(radii: np.ndarray, q: np.ndarray) -> float:
        x, y = np.log(radii), np.log(q)
        x = x - x.mean()
        sxx = float(x @ x)
        return float((x @ (y - y.mean())) / sxx) if sxx > 0 else float("inf")

    def _dimension_from_terms(self, dist: np.ndarray) -> float:
        q = self.correlation_integral_
        return self._slope(np.quantile(dist, q), q)
