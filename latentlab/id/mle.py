"""Maximum-likelihood intrinsic dimension from k-nearest-neighbour distances.

Levina & Bickel (2004), "Maximum likelihood estimation of intrinsic dimension", NIPS 17,
with the averaging proposed by MacKay & Ghahramani (2005), "Comments on 'Maximum
likelihood estimation of intrinsic dimension' by E. Levina and P. Bickel".

For a point with neighbour distances ``T_1 <= ... <= T_k`` in a locally uniform
d-dimensional neighbourhood, ``S_k = sum_{j<k} log(T_k / T_j)`` is a sum of ``k - 1``
independent exponential variables of rate ``d``. Hence ``(k - 2) / S_k`` is an unbiased
pointwise estimate of ``d`` and ``S_k / (k - 1)`` an unbiased one of ``1 / d``. MacKay and
Ghahramani average the latter over points and invert once, which is far less biased
than averaging the (heavy-tailed) pointwise estimates.
"""

from __future__ import annotations

import numpy as np

from latentlab._validation import check_choice, check_int
from latentlab.id.base import IntrinsicDimension

__all__ = ["MLE", "log_distance_sums"]

_AVERAGING = ("mackay", "mean", "median")


def log_distance_sums(dist: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """``S_k = sum_{j<k} log(T_k / T_j)`` for every point and every ``k`` in ``ks``.

    Parameters
    ----------
    dist : ndarray of shape (N, k_max)
        Ascending neighbour distances ``T_1..T_kmax`` of each point (all > 0).
    ks : ndarray of shape (n_k,), int
        Neighbourhood sizes, ``2 <= k <= k_max``.

    Returns
    -------
    ndarray of shape (N, n_k), float64
    """
    log_t = np.log(dist)
    cum = np.cumsum(log_t, axis=1)
    return (ks - 1) * log_t[:, ks - 1] - cum[:, ks - 2]


class MLE(IntrinsicDimension):
    """Levina–Bickel maximum-likelihood estimator over a range of neighbourhood sizes.

    Parameters
    ----------
    k : int or (int, int), default=(10, 20)
        Number of neighbours, or an inclusive range ``(k_min, k_max)``; the global
        estimate is the mean of the estimates for each ``k`` in the range. ``k >= 3``.
    averaging : {"mackay", "mean", "median"}, default="mackay"
        How pointwise information is pooled for each ``k``: ``"mackay"`` averages the
        inverse estimates ``S_k / (k - 1)`` over points and inverts the mean (MacKay &
        Ghahramani); ``"mean"`` and ``"median"`` pool the pointwise estimates
        ``(k - 2) / S_k`` (Levina & Bickel's original averaging, and a robust variant).
    device : str, default="cpu"
        Where the neighbour search runs (``"cuda"`` for a GPU).
    memory_budget : int, optional
        Working memory of the neighbour search, in bytes (default 512 MiB).

    Attributes
    ----------
    dimension_ : float
        Estimated intrinsic dimension (mean of ``dimension_k_``).
    dimension_k_ : ndarray of shape (n_k,), float64
        The estimate for each ``k`` in ``k_values_``.
    k_values_ : ndarray of shape (n_k,), int64
        The neighbourhood sizes used.
    dimension_pw_ : ndarray of shape (N,), float64
        Pointwise estimates ``(k - 2) / S_k`` averaged over ``k_values_``, one per row of
        ``X`` (noisy: each rests on ``k`` distances).
    n_features_in_ : int
        Ambient dimension of the data seen by ``fit``.
    n_duplicates_ : int
        Duplicate rows left out of the estimate (see the base class).
    """

    def __init__(self, k: int | tuple[int, int] = (10, 20), averaging: str = "mackay", device: str = "cpu", memory_budget: int | None = None):
        self.k = k
        self.averaging = averaging
        self.device = device
        self.memory_budget = memory_budget

    def _k_range(self) -> tuple[int, int]:
        if isinstance(self.k, (tuple, list)):
            if len(self.k) != 2:
                raise ValueError(f"k must be an int or a pair (k_min, k_max); got {self.k!r}")
            lo = check_int(self.k[0], "k_min", min=3, type_error=TypeError)
            hi = check_int(self.k[1], "k_max", min=lo, type_error=TypeError)
            return lo, hi
        k = check_int(self.k, "k", min=3, type_error=TypeError)
        return k, k

    def _min_samples(self) -> tuple[int, str]:
        k = self._k_range()[1]
        return k + 1, f"{k} neighbours per point"

    def _fit(self, X: np.ndarray) -> None:
        check_choice(self.averaging, "averaging", _AVERAGING)
        k_lo, k_hi = self._k_range()
        dist, _ = self._kneighbors(X, k_hi)
        ks = np.arange(k_lo, k_hi + 1)
        S = log_distance_sums(dist, ks)
        self._terms = S
        self.k_values_ = ks
        self.dimension_k_ = self._per_k(S)
        self.dimension_ = float(self.dimension_k_.mean())
        with np.errstate(divide="ignore"):
            self.dimension_pw_ = ((ks - 2) / S).mean(axis=1)

    def _per_k(self, S: np.ndarray) -> np.ndarray:
        ks = np.arange(S.shape[1]) + self._k_range()[0]
        if self.averaging == "mackay":
            return (ks - 1) / S.mean(axis=0)
        with np.errstate(divide="ignore"):
            pw = (ks - 2) / S
        return pw.mean(axis=0) if self.averaging == "mean" else np.median(pw, axis=0)

    def _dimension_from_terms(self, S: np.ndarray) -> float:
        return float(self._per_k(S).mean())
