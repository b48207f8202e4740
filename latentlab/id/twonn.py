"""TwoNN: intrinsic dimension from the ratio of the two nearest-neighbour distances.

Facco, d'Errico, Rodriguez & Laio (2017), "Estimating the intrinsic dimension of datasets
by a minimal neighborhood information", Scientific Reports 7:12140.

If the density is locally constant on a d-dimensional manifold, the ratio
``mu = r2 / r1`` of each point's second to first neighbour distance follows a Pareto law,
``F(mu) = 1 - mu**(-d)`` for ``mu >= 1``, whatever the density. Hence
``-log(1 - F(mu)) = d log(mu)``: a line through the origin whose slope is the dimension.
"""

from __future__ import annotations

import numpy as np

from latentlab._validation import check_choice, check_float
from latentlab.id.base import IntrinsicDimension

__all__ = ["TwoNN"]


class TwoNN(IntrinsicDimension):
    """Two-nearest-neighbour intrinsic-dimension estimator (Facco et al. 2017).

    Parameters
    ----------
    discard_fraction : float in [0, 1), default=0.1
        For ``method="fit"``: fraction of the largest ratios left out of the linear fit
        (the tail of the empirical distribution is noisy and most affected by
        inhomogeneous density). Not used by ``method="mle"``.
    method : {"fit", "mle"}, default="fit"
        ``"fit"``: least-squares slope, through the origin, of ``-log(1 - F_emp(mu))``
        against ``log(mu)``, where ``F_emp(mu_(i)) = i / N`` for the sorted ratios.
        ``"mle"``: maximum-likelihood form ``d = (N - 1) / sum(log(mu))`` (the ``N - 1``
        makes ``1/d`` unbiased), using every point.
    device : str, default="cpu"
        Where the neighbour search runs (``"cuda"`` for a GPU).
    memory_budget : int, optional
        Working memory of the neighbour search, in bytes (default 512 MiB).

    Attributes
    ----------
    dimension_ : float
        Estimated intrinsic dimension.
    n_features_in_ : int
        Ambient dimension of the data seen by ``fit``.
    n_duplicates_ : int
        Duplicate rows left out of the estimate (see the base class).

    Examples
    --------
    >>> from latentlab.id import TwoNN, datasets
    >>> X = datasets.sphere(2000, d=3, random_state=0)
    >>> round(TwoNN().fit(X).dimension_)
    3
    """

    def __init__(self, discard_fraction: float = 0.1, method: str = "fit", device: str = "cpu", memory_budget: int | None = None):
        self.discard_fraction = discard_fraction
        self.method = method
        self.device = device
        self.memory_budget = memory_budget

    def _min_samples(self) -> tuple[int, str]:
        return 3, "2 neighbours per point"

    def _fit(self, X: np.ndarray) -> None:
        check_choice(self.method, "method", ("fit", "mle"))
        check_float(self.discard_fraction, "discard_fraction", min=0.0, max=1.0, max_open=True, type_error=TypeError)
        dist, _ = self._kneighbors(X, 2)
        # distinct points have r1 > 0; equal first and second distances give log(mu) = 0
        self._terms = np.log(dist[:, 1] / dist[:, 0])
        if not self._terms.any():
            raise ValueError("every point's two nearest neighbours are equally far (a regular grid?); the TwoNN ratio carries no information")
        self.log_mu_ = self._terms  # log(r2 / r1) per point, shape (N,): the data of the TwoNN plot
        self.dimension_ = self._dimension_from_terms(self._terms)

    def _dimension_from_terms(self, log_mu: np.ndarray) -> float:
        n = len(log_mu)
        if self.method == "mle":
            total = log_mu.sum()
            return float((n - 1) / total) if total > 0 else float("inf")
        x = np.sort(log_mu)
        # the largest ratio has F_emp = 1 (infinite y): always drop at least that one
        keep = max(1, min(n - 1, int(np.floor(n * (1.0 - self.discard_fraction)))))
        x = x[:keep]
        y = -np.log1p(-np.arange(1, keep + 1) / n)
        sxx = float(x @ x)
        return float((x @ y) / sxx) if sxx > 0 else float("inf")
