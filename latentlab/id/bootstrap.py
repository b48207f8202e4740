"""Bootstrap confidence intervals for intrinsic-dimension estimates.

Each estimator reduces the data to per-point statistics (TwoNN: the log ratio of the
two neighbour distances; MLE: the log-distance sums ``S_k``; local PCA: the local
dimensions; GRIDE: the log ratios at each scale; correlation dimension: the pair
distances) and computes its estimate from them. The bootstrap fits the estimator once,
resamples those statistics with replacement and recomputes the estimate from each
resample: a percentile interval at the cost of a few array reductions, and without
resampling the points themselves, which would create duplicate points (zero distances)
and change the number of distinct points, hence the bias.

The statistics of neighbouring points are not independent (they share neighbours), so
the interval describes sampling noise given the neighbour graph and can be somewhat
optimistic; it does not include the estimator's bias.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from latentlab._validation import check_float, check_int
from latentlab.id.base import IntrinsicDimension

__all__ = ["bootstrap_ci"]


def bootstrap_ci(estimator: IntrinsicDimension, X, n_boot: int = 500, alpha: float = 0.05, random_state=None) -> tuple[float, float]:
    """Percentile bootstrap interval for ``estimator``'s ``dimension_`` on ``X``.

    Parameters
    ----------
    estimator : IntrinsicDimension
        An unfitted latentlab.id estimator (it is cloned; the argument is left unfitted).
    X : array-like or torch.Tensor of shape (N, D)
        The points.
    n_boot : int, default=500
        Number of bootstrap resamples.
    alpha : float in (0, 1), default=0.05
        ``1 - alpha`` is the coverage of the interval.
    random_state : int, numpy.random.Generator or None
        Seed of the resampling (``None``: fresh entropy, not the global RNG).

    Returns
    -------
    (low, high) : tuple of float
        The ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the bootstrap estimates.
    """
    if not isinstance(estimator, IntrinsicDimension):
        raise TypeError(f"estimator must be a latentlab.id estimator (TwoNN(), MLE(), ...); got {estimator!r}")
    n_boot = check_int(n_boot, "n_boot", min=2, type_error=TypeError)
    alpha = check_float(alpha, "alpha", min=0.0, max=1.0, min_open=True, max_open=True, type_error=TypeError)
    return bootstrap_fitted(clone(estimator).fit(X), n_boot, alpha, random_state)


def bootstrap_fitted(fitted: IntrinsicDimension, n_boot: int, alpha: float, random_state=None) -> tuple[float, float]:
    """:func:`bootstrap_ci` for an estimator already fitted to the data."""
    terms = fitted._bootstrap_terms()
    rng = np.random.default_rng(random_state)
    m = terms.shape[0]
    estimates = np.array([fitted._dimension_from_terms(terms[rng.integers(0, m, size=m)]) for _ in range(n_boot)])
    low, high = np.quantile(estimates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
