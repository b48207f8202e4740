"""Unsupervised directions: principal axes of sampled latent codes (GANSpace-style).

The principal axes of many sampled codes are candidate edit directions that need no
labels (Härkönen et al., NeurIPS 2020). Computed from the eigendecomposition of the
covariance (or, when there are fewer codes than latent coordinates, of the Gram matrix
of the codes, which has the same non-zero spectrum), sorted by variance.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from latentlab._validation import check_codes, check_finite, flatten_like, restore, to_numpy

__all__ = ["PCADirections"]


class PCADirections(TransformerMixin, BaseEstimator):
    """Principal directions of latent codes.

    Parameters
    ----------
    n_components : int or None, default=10
        Number of directions to keep; ``None`` keeps ``min(N, D)``.
    center : bool, default=True
        Subtract the mean code first (covariance). With ``False`` the directions are
        those of the uncentred second moment ``ZᵀZ / N``, useful when the origin of the
        latent space is meaningful; ``mean_`` is then zero.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features_in_), float64
        Unit principal directions, flattened, by decreasing variance. Sign convention:
        the entry of largest magnitude of each direction is positive, so results do
        not depend on the eigensolver. :meth:`directions` gives them in latent shape.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance of the codes along each direction (squared latent units; covariance
        normalised by ``N - 1`` when centred, ``N`` otherwise).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Share of the total variance (trace of the covariance) along each direction.
    mean_ : ndarray of shape (n_features_in_,)
        Mean code (zeros when ``center=False``).
    n_components_ : int
        Number of directions kept.
    latent_shape_ : tuple of int
        Shape of one code.
    n_features_in_ : int
        ``prod(latent_shape_)``.
    """

    def __init__(self, n_components: int | None = 10, *, center: bool = True):
        self.n_components = n_components
        self.center = center

    def fit(self, Z, y=None) -> "PCADirections":
        """Compute the principal directions.

        Parameters
        ----------
        Z : array-like or torch.Tensor, shape (N, *latent_shape)
            Sampled latent codes, N >= 2.
        y : ignored

        Returns
        -------
        self
        """
        X, self.latent_shape_ = check_codes(Z, "Z", min_samples=2)
        n, d = X.shape
        k_max = min(n, d)
        if self.n_components is None:
            k = k_max
        elif (
            isinstance(self.n_components, (int, np.integer))
            and not isinstance(self.n_components, bool)
            and 1 <= self.n_components <= k_max
        ):
            k = int(self.n_components)
        else:
            raise ValueError(
                f"n_components must be None or an int in [1, min(N, D)] = [1, {k_max}] "
                f"for {n} codes of size {d}; got {self.n_components!r}"
            )
        X = X.astype(np.float64)
        self.mean_ = X.mean(axis=0) if self.center else np.zeros(d)
        Xc = X - self.mean_
        denom = (n - 1) if self.center else n
        total = float(np.einsum("ij,ij->", Xc, Xc)) / denom
        if n < d:
            # Same non-zero eigenvalues as the covariance; eigenvectors map back by Xcᵀ.
            values, vecs = scipy.linalg.eigh(Xc @ Xc.T / denom, subset_by_index=[n - k, n - 1])
            values, vecs = values[::-1], vecs[:, ::-1]
            comps = (Xc.T @ vecs).T
            norms = np.linalg.norm(comps, axis=1, keepdims=True)
            comps = comps / np.where(norms > 0, norms, 1.0)
        else:
            values, vecs = scipy.linalg.eigh(Xc.T @ Xc / denom, subset_by_index=[d - k, d - 1])
            values, comps = values[::-1], vecs[:, ::-1].T
        values = np.clip(values, 0.0, None)  # eigh may return tiny negatives for a singular covariance
        sign = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
        self.components_ = comps * np.where(sign == 0, 1.0, sign)[:, None]
        self.explained_variance_ = values
        self.explained_variance_ratio_ = values / total if total > 0 else np.zeros_like(values)
        self.n_components_ = k
        self.n_features_in_ = d
        return self

    def directions(self) -> np.ndarray:
        """The principal directions in latent shape, ``(n_components_, *latent_shape_)``."""
        check_is_fitted(self, "components_")
        return restore(self.components_, self.latent_shape_)

    def transform(self, Z) -> np.ndarray:
        """Coordinates of codes along the directions (latent units).

        Parameters
        ----------
        Z : array-like, shape (M, *latent_shape_) or (M, n_features_in_)

        Returns
        -------
        ndarray of shape (M, n_components_), float64
        """
        check_is_fitted(self, "components_")
        X = flatten_like(Z, self.latent_shape_, "Z", type(self).__name__)
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, coords) -> np.ndarray:
        """Codes from coordinates: ``mean_ + coords @ components_``, shape ``(M, *latent_shape_)``."""
        check_is_fitted(self, "components_")
        coords = to_numpy(coords, "coords").astype(np.float64)
        if coords.ndim != 2 or coords.shape[1] != self.n_components_:
            raise ValueError(f"coords has shape {coords.shape}; expected (n, {self.n_components_})")
        check_finite(coords, "coords")
        return restore(self.mean_ + coords @ self.components_, self.latent_shape_)
