"""Linear maps between two latent spaces, fitted on paired codes.

Given codes of the same items in a source and a destination latent space (a *support
set*: the same images encoded by two models, or one model before and after fine-tuning),
fit ``z_dst ≈ W z_src + b``. Four kinds:

* ``"linear"``: least squares, no bias (``b = 0``).
* ``"affine"``: least squares with a bias.
* ``"ridge"``: least squares with a bias and an L2 penalty ``alpha·|W|²`` on the weights
  only (the bias is not penalised); works with fewer support points than coordinates.
* ``"procrustes"``: ``W`` orthogonal (rotations and reflections), optionally times a
  scale, from the SVD of the centred cross-covariance (Schönemann 1966). It preserves
  distances and angles, so it is the safest map when the two spaces are believed to
  differ by a rigid change of basis.

Codes of any shape are flattened and results are restored to the destination shape.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from latentlab._io import load_npz, save_npz
from latentlab._validation import (
    as_direction,
    check_choice,
    check_codes,
    check_float,
    check_paired,
    flatten_like,
    require_target,
    restore,
)

__all__ = ["LatentMap", "transport_direction", "KINDS"]

Kind = Literal["linear", "affine", "ridge", "procrustes"]
KINDS = ("linear", "affine", "ridge", "procrustes")


class LatentMap(TransformerMixin, BaseEstimator):
    """A linear map ``z_dst ≈ W z_src + b`` between two latent spaces.

    Parameters
    ----------
    kind : {"linear", "affine", "ridge", "procrustes"}, default="affine"
        Family of maps (see the module docstring).
    alpha : float > 0, default=1.0
        Ridge penalty (``kind="ridge"`` only), in squared source units times samples:
        the objective is ``|Y - X Wᵀ - b|² + alpha |W|²`` summed over support points.
    scaling : bool, default=False
        ``kind="procrustes"`` only: allow ``W = s Q`` with ``Q`` orthogonal and a
        scalar ``s > 0`` (similarity transform).

    Attributes
    ----------
    coef_ : ndarray of shape (d_dst, d_src), float64
        The linear part ``W`` (including the scale for Procrustes), on flattened codes.
    intercept_ : ndarray of shape (d_dst,), float64
        The bias ``b`` (zeros for ``kind="linear"``).
    rotation_ : ndarray of shape (d_dst, d_src)
        Procrustes only: the orthogonal part ``Q``. If the two spaces differ in size,
        the smaller one is padded with zero coordinates to make ``Q`` square; the block
        kept here has orthonormal columns (``d_dst >= d_src``) or rows (``d_dst < d_src``).
    scale_ : float
        Procrustes only: ``s`` (1.0 when ``scaling=False``).
    src_shape_, dst_shape_ : tuple of int
        Shapes of one source and one destination code.
    n_features_in_ : int
        ``d_src = prod(src_shape_)``.

    Notes
    -----
    ``inverse_transform`` is exact for Procrustes when ``d_dst >= d_src``
    (``inverse_transform(transform(z)) == z``; with ``d_dst < d_src`` it is a right
    inverse). For the other kinds it applies the Moore–Penrose pseudo-inverse of ``W``:
    the least-squares, minimum-norm source code, exact only when ``W`` has full column rank.
    """

    def __init__(self, kind: Kind = "affine", *, alpha: float = 1.0, scaling: bool = False):
        self.kind = kind
        self.alpha = alpha
        self.scaling = scaling

    def __sklearn_tags__(self):
        # Read by scikit-learn >= 1.6 (model selection, estimator checks): fit needs the
        # destination codes, which have one or more columns.
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    # -- fitting ------------------------------------------------------------------------
    def fit(self, Z_src, Z_dst) -> "LatentMap":
        """Fit the map on paired codes.

        Parameters
        ----------
        Z_src : array-like or torch.Tensor, shape (N, *src_shape)
            Source codes (the support set in the source space), N >= 2.
        Z_dst : array-like or torch.Tensor, shape (N, *dst_shape)
            Destination codes of the same N items, in the same order.

        Returns
        -------
        self

        Warns
        -----
        UserWarning
            For ``"linear"``/``"affine"`` with fewer support points than unknowns per
            output (``d_src``, plus one for the bias): the minimum-norm solution is
            returned, but it is underdetermined; use ``kind="ridge"``.
        """
        check_choice(self.kind, "kind", KINDS)
        if self.kind == "ridge":
            check_float(self.alpha, "alpha", min=0, min_open=True)
        require_target(Z_dst, type(self).__name__, "Z_dst, the destination codes of shape (N, *dst_shape)")
        X, self.src_shape_ = check_codes(Z_src, "Z_src", min_samples=2)
        Y, self.dst_shape_ = check_codes(Z_dst, "Z_dst", min_samples=2)
        check_paired(X, Y, ("Z_src", "Z_dst"))
        X, Y = X.astype(np.float64), Y.astype(np.float64)
        n, d_src = X.shape
        self.n_features_in_ = d_src

        unknowns = d_src + (self.kind == "affine")
        if self.kind in ("linear", "affine") and n < unknowns:
            warnings.warn(
                f"{n} support points for a {self.kind} map from {d_src} source coordinates: the fit is "
                "underdetermined (minimum-norm solution returned); use kind='ridge'",
                UserWarning,
                stacklevel=2,
            )
        if self.kind == "linear":
            self.coef_, self.intercept_ = _least_squares(X, Y, 0.0), np.zeros(Y.shape[1])
            return self
        x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
        Xc, Yc = X - x_mean, Y - y_mean
        if self.kind == "procrustes":
            W = self._fit_procrustes(Xc, Yc)
        else:  # centring first leaves the bias out of the penalty
            W = _least_squares(Xc, Yc, float(self.alpha) if self.kind == "ridge" else 0.0)
        self.coef_ = W
        self.intercept_ = y_mean - W @ x_mean
        return self

    def _fit_procrustes(self, Xc: np.ndarray, Yc: np.ndarray) -> np.ndarray:
        # Padding the smaller space with zero coordinates leaves the cross-covariance
        # block-diagonal, so the kept block of the padded orthogonal solution is U Vᵀ
        # from the thin SVD of the unpadded cross-covariance.
        U, sigma, Vt = scipy.linalg.svd(Yc.T @ Xc, full_matrices=False)
        Q = U @ Vt
        scale = 1.0
        if self.scaling:
            mapped = float(np.linalg.norm(Xc @ Q.T) ** 2)
            scale = float(sigma.sum()) / mapped if mapped > 0 else 1.0
        self.rotation_, self.scale_ = Q, scale
        return scale * Q

    @classmethod
    def from_coefficients(cls, kind: Kind, coef, intercept=None, src_shape=None, dst_shape=None, *,
                          scale: float = 1.0) -> "LatentMap":
        """A fitted map ``z -> coef @ z + intercept`` built from known coefficients, without fitting.

        Parameters
        ----------
        kind : {"linear", "affine", "ridge", "procrustes"}
            Recorded as the map's ``kind``. ``"linear"`` maps have no bias; ``"procrustes"``
            maps need ``coef = scale * Q`` with ``Q`` having orthonormal columns (or rows,
            when the destination is smaller).
        coef : array-like of shape (d_dst, d_src)
            The linear part ``W``, on flattened codes.
        intercept : array-like of shape (d_dst,), optional
            The bias ``b``; zeros when not given.
        src_shape, dst_shape : tuple of int, optional
            Shapes of one source and one destination code, with ``d_src`` and ``d_dst``
            numbers; flat ``(d_src,)`` and ``(d_dst,)`` when not given.
        scale : float > 0, default=1.0
            ``kind="procrustes"`` only: the scale ``s`` folded into ``coef``.

        Returns
        -------
        LatentMap
            Fitted: ``transform``, ``inverse_transform``, ``save`` and
            :func:`transport_direction` work on it as on a map from :meth:`fit`.

        Raises
        ------
        ValueError
            For an unknown kind, coefficients that are not finite numbers of matching
            shapes, shapes whose sizes differ from ``coef``'s, a bias on a ``"linear"``
            map, or a ``"procrustes"`` ``coef`` that is not ``scale`` times an orthogonal block.
        """
        check_choice(kind, "kind", KINDS)
        W = np.array(coef, dtype=np.float64)
        if W.ndim != 2 or 0 in W.shape:
            raise ValueError(f"coef must be a non-empty matrix of shape (d_dst, d_src); got shape {W.shape}")
        d_dst, d_src = W.shape
        b = np.zeros(d_dst) if intercept is None else np.array(intercept, dtype=np.float64)
        if b.shape != (d_dst,):
            raise ValueError(f"intercept must have shape ({d_dst},), one number per row of coef; got shape {b.shape}")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError("coef and intercept must hold finite numbers (no NaN or infinity)")
        if kind == "linear" and b.any():
            raise ValueError("a 'linear' map has no bias; give intercept=None or use kind='affine'")
        m = cls(kind=kind)
        m.src_shape_ = _code_shape(src_shape, d_src, "src_shape", "columns")
        m.dst_shape_ = _code_shape(dst_shape, d_dst, "dst_shape", "rows")
        m.coef_, m.intercept_, m.n_features_in_ = W, b, d_src
        if kind == "procrustes":
            m.rotation_, m.scale_ = _orthogonal_part(W, scale), float(scale)
            m.scaling = m.scale_ != 1.0
        elif scale != 1.0:
            raise ValueError(f"scale is for kind='procrustes' only; got scale={scale!r} for kind={kind!r}")
        return m

    # -- using the map ----------------------------------------------------------------
    def transform(self, Z_src) -> np.ndarray:
        """Map source codes to the destination space.

        Parameters
        ----------
        Z_src : array-like, shape (M, *src_shape_) or (M, d_src)

        Returns
        -------
        ndarray of shape (M, *dst_shape_), float64
        """
        check_is_fitted(self, "coef_")
        X = flatten_like(Z_src, self.src_shape_, "Z_src", type(self).__name__).astype(np.float64)
        return restore(X @ self.coef_.T + self.intercept_, self.dst_shape_)

    def inverse_transform(self, Z_dst) -> np.ndarray:
        """Map destination codes back to the source space (see Notes of the class).

        Parameters
        ----------
        Z_dst : array-like, shape (M, *dst_shape_) or (M, d_dst)

        Returns
        -------
        ndarray of shape (M, *src_shape_), float64
        """
        check_is_fitted(self, "coef_")
        Y = flatten_like(Z_dst, self.dst_shape_, "Z_dst", type(self).__name__).astype(np.float64) - self.intercept_
        if self.kind == "procrustes":
            X = (Y @ self.rotation_) / self.scale_
        else:
            X = Y @ scipy.linalg.pinv(self.coef_).T
        return restore(X, self.src_shape_)

    def score(self, Z_src, Z_dst) -> float:
        """R² of the mapped codes against ``Z_dst``, over all coordinates, variance-weighted.

        1 is a perfect map; 0 is no better than predicting the mean destination code.
        """
        check_is_fitted(self, "coef_")
        pred = self.transform(Z_src).reshape(-1, math.prod(self.dst_shape_))
        Y = flatten_like(Z_dst, self.dst_shape_, "Z_dst", type(self).__name__)
        check_paired(pred, Y, ("Z_src", "Z_dst"))
        return float(r2_score(Y, pred, multioutput="variance_weighted"))

    # -- saving ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the fitted map to a ``.npz`` file of plain arrays (no pickles).

        Written atomically; an existing file is only replaced with ``overwrite=True``.
        """
        check_is_fitted(self, "coef_")
        arrays = {"coef": self.coef_, "intercept": self.intercept_,
                  "src_shape": np.array(self.src_shape_, dtype=np.int64),
                  "dst_shape": np.array(self.dst_shape_, dtype=np.int64)}
        meta = {"kind": self.kind, "alpha": float(self.alpha), "scaling": bool(self.scaling)}
        if self.kind == "procrustes":
            arrays["rotation"], meta["scale"] = self.rotation_, float(self.scale_)
        save_npz(path, "map", arrays, meta, overwrite=overwrite, compress=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LatentMap":
        """Read a map written by :meth:`save`; nothing in the file is executed.

        Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that
        is not a map written by :meth:`save` (or is damaged).
        """
        data = load_npz(path, "map")
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"{path} holds a map of unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
        m = cls(kind=kind, alpha=float(data["alpha"]), scaling=bool(data["scaling"]))
        m.coef_, m.intercept_ = data["coef"], data["intercept"]
        m.src_shape_ = tuple(int(s) for s in data["src_shape"])
        m.dst_shape_ = tuple(int(s) for s in data["dst_shape"])
        if m.coef_.ndim != 2 or m.intercept_.shape != m.coef_.shape[:1]:
            raise ValueError(f"{path} is a damaged LatentMap file: coef has shape {m.coef_.shape} and intercept "
                             f"{m.intercept_.shape}")
        m.n_features_in_ = m.coef_.shape[1]
        if m.kind == "procrustes":
            m.rotation_, m.scale_ = data["rotation"], float(data["scale"])
        return m


def _code_shape(shape, size: int, name: str, what: str) -> tuple[int, ...]:
    """``shape`` as a tuple of positive ints holding ``size`` numbers (``(size,)`` when None)."""
    if shape is None:
        return (size,)
    try:
        out = tuple(int(s) for s in np.atleast_1d(shape))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a tuple of positive integers; got {shape!r}") from err
    if not out or min(out) < 1 or math.prod(out) != size:
        raise ValueError(f"{name}={shape!r} does not fit coef: it must hold {size} numbers, one per {what[:-1]} "
                         f"of coef ({size} {what})")
    return out


def _orthogonal_part(W: np.ndarray, scale: float) -> np.ndarray:
    """``Q = W / scale``, checked to have orthonormal columns (or rows, for a wide ``W``)."""
    check_float(scale, "scale", min=0, min_open=True)
    Q = W / scale
    gram = Q.T @ Q if Q.shape[0] >= Q.shape[1] else Q @ Q.T
    if not np.allclose(gram, np.eye(len(gram)), atol=1e-8):
        raise ValueError("kind='procrustes' needs coef = scale * Q with Q orthogonal (orthonormal columns, or rows "
                         "when d_dst < d_src), and coef / scale is not: pass its scale or use kind='affine'")
    return Q


# Below this reciprocal condition number of XᵀX the normal equations lose more than
# ~6 digits and the solve falls back to an SVD-based least-squares solver.
_RCOND_NORMAL_EQUATIONS = 1e-10


def _least_squares(X: np.ndarray, Y: np.ndarray, alpha: float) -> np.ndarray:
    """``W`` of shape (d_dst, d_src) minimising ``|Y - X Wᵀ|² + alpha |W|²``.

    Uses the normal equations with a Cholesky factorisation (3-5x faster than an
    SVD/QR solver for N >> d) when they are well conditioned; otherwise, for
    ``alpha = 0``, the minimum-norm solution from LAPACK ``gelsd``. With
    ``alpha > 0`` and fewer rows than columns, the ``n x n`` dual system is solved.
    """
    n, d = X.shape
    if alpha > 0 and n < d:
        K = X @ X.T
        K[np.diag_indices(n)] += alpha
        return (X.T @ scipy.linalg.solve(K, Y, assume_a="pos", check_finite=False)).T
    G = X.T @ X
    G[np.diag_indices(d)] += alpha
    factor, info = scipy.linalg.lapack.dpotrf(G, lower=False)
    if info == 0:
        rcond, _ = scipy.linalg.lapack.dpocon(factor, np.abs(G).sum(axis=0).max())
        if rcond > _RCOND_NORMAL_EQUATIONS or alpha > 0:
            return scipy.linalg.cho_solve((factor, False), X.T @ Y, check_finite=False).T
    return scipy.linalg.lstsq(X, Y, lapack_driver="gelsd", check_finite=False)[0].T


def transport_direction(latent_map: LatentMap, direction) -> np.ndarray:
    """Carry an edit direction through the linear part of a fitted map.

    Moving a source code by ``v`` moves its image by ``W v``; this returns that vector,
    renormalised. (For the normal of a hyperplane the exact counterpart would be
    ``pinv(W)ᵀ n``; the two agree for Procrustes maps, where ``W`` is orthogonal.)

    Parameters
    ----------
    latent_map : fitted LatentMap
    direction : array-like of shape src_shape_ or (d_src,), or fitted AttributeDirection

    Returns
    -------
    ndarray of shape dst_shape_, float64
        Unit vector in the destination space.
    """
    check_is_fitted(latent_map, "coef_")
    v, shape = as_direction(direction)
    if shape not in (tuple(latent_map.src_shape_), (latent_map.n_features_in_,)):
        raise ValueError(f"direction has shape {shape}; expected the source code shape {latent_map.src_shape_}")
    out = latent_map.coef_ @ v
    norm = float(np.linalg.norm(out))
    if norm <= 1e-12 * float(np.linalg.norm(latent_map.coef_)) * float(np.linalg.norm(v)):
        raise ValueError("the map sends this direction to zero; it has no image in the destination space")
    return restore(out / norm, latent_map.dst_shape_)
