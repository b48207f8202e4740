"""``estimate_id``: the one-call entry point to intrinsic-dimension estimation."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from latentlab._validation import check_choice, check_int
from latentlab.id.base import IntrinsicDimension
from latentlab.id.bootstrap import bootstrap_fitted
from latentlab.id.calibration import CalibratedID
from latentlab.id.correlation import CorrelationDimension
from latentlab.id.local_pca import LocalPCA
from latentlab.id.mle import MLE
from latentlab.id.multiscale import MultiscaleID
from latentlab.id.twonn import TwoNN

__all__ = ["estimate_id", "IDEstimate", "METHODS"]

#: Method names accepted by :func:`estimate_id` and the estimator class of each.
METHODS: dict[str, type[IntrinsicDimension]] = {
    "twonn": TwoNN,
    "mle": MLE,
    "local_pca": LocalPCA,
    "correlation": CorrelationDimension,
    "gride": MultiscaleID,
}


@dataclass(frozen=True)
class IDEstimate:
    """The result of :func:`estimate_id`.

    Attributes
    ----------
    dimension : float
        The estimated intrinsic dimension (bias-corrected if ``calibrated``).
    method : str
        The method name.
    calibrated : bool
        Whether the estimate was corrected by :class:`CalibratedID`.
    ci : (float, float) or None
        Bootstrap percentile interval, if ``n_boot > 0`` was asked for.
    estimator : IntrinsicDimension
        The fitted estimator (for its other attributes, e.g. ``dimension_pw_``).
    """

    dimension: float
    method: str
    calibrated: bool
    ci: tuple[float, float] | None
    estimator: IntrinsicDimension

    def __float__(self) -> float:
        return float(self.dimension)


def estimate_id(X, method: str = "twonn", *, calibrate: bool = False, n_boot: int = 0, alpha: float = 0.05, random_state=None, **params) -> IDEstimate:
    """Estimate the intrinsic dimension of the points ``X`` with one call.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (N, D)
        Points (e.g. latent codes), one per row.
    method : {"twonn", "mle", "local_pca", "correlation", "gride"}, default="twonn"
        Estimator: :class:`TwoNN`, :class:`MLE`, :class:`LocalPCA`,
        :class:`CorrelationDimension` or :class:`MultiscaleID`.
    calibrate : bool, default=False
        Correct the estimator's bias with :class:`CalibratedID` (recommended above about
        8 dimensions, where every neighbour-based estimator underestimates).
    n_boot : int, default=0
        If positive, also compute a bootstrap interval with this many resamples.
    alpha : float, default=0.05
        ``1 - alpha`` is the coverage of the interval.
    random_state : int or None
        Seed for the bootstrap, and for the estimator if it takes one.
    **params
        Parameters of the estimator class (e.g. ``k=(5, 15)`` for ``"mle"``).

    Returns
    -------
    IDEstimate
        ``float(result)`` is the dimension.
    """
    check_choice(method, "method", tuple(METHODS))
    cls = METHODS[method]
    accepted = [p for p in inspect.signature(cls).parameters]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(f"unknown parameter {unknown[0]!r} for method {method!r}; valid parameters: {', '.join(accepted)}")
    if "random_state" in accepted and random_state is not None:
        params["random_state"] = random_state
    estimator: IntrinsicDimension = cls(**params)
    if calibrate:
        estimator = CalibratedID(estimator)
    estimator.fit(X)
    ci = None
    if n_boot:
        ci = bootstrap_fitted(estimator, check_int(n_boot, "n_boot", min=2, type_error=TypeError), alpha, random_state)
    return IDEstimate(float(estimator.dimension_), method, bool(calibrate), ci, estimator)
