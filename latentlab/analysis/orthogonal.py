"""Conditional directions: remove the part of a direction explained by other directions.

Editing along an attribute direction often changes correlated attributes too (making a
face older also adds glasses). InterFaceGAN's remedy is to project the primal direction
``n`` onto the orthogonal complement of the condition directions ``C`` (rows): solve
``(C Cᵀ) x = C n`` and take ``n - Cᵀ x``. Here the solve is a least-squares one, so
nearly dependent conditions are handled safely, and the projection is applied twice
("twice is enough", Kahan/Parlett) so that the result is orthogonal to every condition
to machine precision.

Directions may have any shape (``(d,)``, ``(L, d)``, ``(C, H, W)``); they are flattened
for the algebra and the result has the primal's shape. Fitted
:class:`~latentlab.analysis.directions.AttributeDirection` objects are accepted
wherever a direction is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from latentlab._validation import as_direction, check_finite, restore, to_numpy, unit

__all__ = ["orthogonalize", "orthogonalization_report", "OrthogonalizationReport", "gram_schmidt", "cosine_matrix"]

# The primal counts as lying in the span of the conditions below this relative residual.
SPAN_TOLERANCE = 1e-6


def _stack(directions: Any, name: str, shape: tuple[int, ...] | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """Directions as rows of a float64 ``(k, D)`` matrix plus the shape of one direction.

    ``directions`` is a sequence of directions (arrays, tensors, fitted estimators) or
    one array whose rows are directions, ``(k, *shape)``. With ``shape`` given, a single
    direction of exactly that shape is accepted too.
    """
    if isinstance(directions, (list, tuple)):
        if len(directions) == 0:
            return np.zeros((0, int(np.prod(shape)) if shape else 0)), shape or ()
        flat = [as_direction(v, f"{name}[{i}]") for i, v in enumerate(directions)]
        shapes = {s for _, s in flat}
        if len(shapes) > 1:
            raise ValueError(f"{name} have different shapes {sorted(shapes)}; all directions must share one shape")
        return np.stack([v for v, _ in flat]), flat[0][1]
    if isinstance(directions, BaseEstimator) or hasattr(directions, "direction_"):
        v, s = as_direction(directions, name)
        return v[None], s
    M = to_numpy(directions, name).astype(np.float64)
    if shape is not None and M.shape == tuple(shape):
        M = M[None]
    if M.ndim < 2 or M.shape[0] == 0:
        raise ValueError(
            f"{name} must be a sequence of directions or an array of shape (k, *shape); got shape {M.shape}"
        )
    check_finite(M, name)
    return M.reshape(M.shape[0], -1), tuple(M.shape[1:])


def _project_out(n: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``n - Cᵀ x`` with ``x`` the least-squares solution of ``Cᵀ x = n`` (i.e. of ``C Cᵀ x = C n``)."""
    if C.shape[0] == 0:
        return n
    x = np.linalg.lstsq(C.T, n, rcond=None)[0]
    return n - C.T @ x


def _primal_and_conditions(primal, conditions) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    n, shape = as_direction(primal, "primal")
    C, cshape = _stack(conditions, "conditions", shape)
    # Same shape, or the same size with one side flat (a flattened direction is fine).
    if C.shape[0] and not (cshape == shape or (C.shape[1] == n.size and (len(cshape) == 1 or len(shape) == 1))):
        raise ValueError(
            f"conditions have shape {cshape} per direction but the primal has shape {shape}; they must match"
        )
    n = unit(n, "primal")
    # Unit rows make the least-squares rank decision independent of how long each condition is.
    C = np.stack([unit(c, f"conditions[{i}]") for i, c in enumerate(C)]) if C.shape[0] else C.reshape(0, n.size)
    return n, C, shape


def orthogonalize(primal, conditions) -> np.ndarray:
    """Project ``primal`` onto the orthogonal complement of the ``conditions``.

    Parameters
    ----------
    primal : array-like of any shape, or fitted AttributeDirection
        The direction to edit along.
    conditions : direction, sequence of directions, or array of shape (k, *primal.shape)
        Directions the edit must not move along. Need not be unit length, orthogonal or
        independent. An empty sequence leaves the primal unchanged (normalised).

    Returns
    -------
    ndarray of the primal's shape, float64
        Unit vector orthogonal to every condition (``|cos| < 1e-12`` in practice).

    Raises
    ------
    ValueError
        If the shapes differ, or the primal lies in the span of the conditions
        (relative residual below ``SPAN_TOLERANCE = 1e-6``): nothing is left to edit.
    """
    n, C, shape = _primal_and_conditions(primal, conditions)
    r = _project_out(n, C)
    residual = float(np.linalg.norm(r))
    if residual < SPAN_TOLERANCE:
        raise ValueError(
            f"the primal direction lies in the span of the {C.shape[0]} condition direction(s) "
            f"(relative residual {residual:.1e} < {SPAN_TOLERANCE:g}); no direction is left after removing them"
        )
    r = _project_out(r, C)  # second pass removes the rounding left by the first
    return restore(unit(r), shape)


@dataclass(frozen=True)
class OrthogonalizationReport:
    """Result of :func:`orthogonalization_report`.

    Attributes
    ----------
    direction : ndarray of the primal's shape
        The orthogonalised unit direction (same as :func:`orthogonalize`).
    cosines_before : ndarray of shape (k,)
        Cosine between the primal and each condition.
    cosines_after : ndarray of shape (k,)
        Cosine between the result and each condition (about 0).
    residual : float
        Norm of the part of the unit primal left after removing the conditions, in
        ``(0, 1]``: 1 when the primal was already orthogonal, small when it was nearly
        in their span.
    """

    direction: np.ndarray
    cosines_before: np.ndarray
    cosines_after: np.ndarray
    residual: float


def orthogonalization_report(primal, conditions) -> OrthogonalizationReport:
    """:func:`orthogonalize` plus the cosines with each condition before and after.

    Same parameters and errors as :func:`orthogonalize`.
    """
    n, C, _ = _primal_and_conditions(primal, conditions)
    direction = orthogonalize(primal, conditions)
    return OrthogonalizationReport(
        direction=direction,
        cosines_before=C @ n,
        cosines_after=C @ direction.reshape(-1),
        residual=float(np.linalg.norm(_project_out(n, C))),
    )


def gram_schmidt(directions: Sequence | np.ndarray) -> np.ndarray:
    """Orthonormalise directions in the given order.

    Row ``i`` of the result is the unit part of ``directions[i]`` orthogonal to all the
    earlier ones, with the same orientation (positive dot product with the input).
    Computed with a Householder QR factorisation, which stays orthonormal to machine
    precision where classical Gram–Schmidt would not.

    Parameters
    ----------
    directions : sequence of k directions, or array of shape (k, *shape)

    Returns
    -------
    ndarray of shape (k, *shape), float64
        Orthonormal rows (``(k, d)`` for flat directions).

    Raises
    ------
    ValueError
        If a direction lies in the span of the earlier ones (relative residual below
        ``SPAN_TOLERANCE``); the message names which.
    """
    D, shape = _stack(directions, "directions")
    norms = np.linalg.norm(D, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"directions[{int(np.argmin(norms))}] is the zero vector")
    if D.shape[0] > D.shape[1]:
        raise ValueError(f"{D.shape[0]} directions in {D.shape[1]} dimensions cannot be orthonormal")
    Q, R = np.linalg.qr((D / norms[:, None]).T)
    diag = np.diag(R)
    bad = np.flatnonzero(np.abs(diag) < SPAN_TOLERANCE)
    if bad.size:
        raise ValueError(
            f"directions[{bad[0]}] lies in the span of the directions before it "
            f"(relative residual {abs(diag[bad[0]]):.1e} < {SPAN_TOLERANCE:g})"
        )
    return restore((Q * np.sign(diag)).T, shape)


def cosine_matrix(directions: Sequence | np.ndarray) -> np.ndarray:
    """Pairwise cosines between directions.

    Parameters
    ----------
    directions : sequence of k directions, or array of shape (k, *shape)

    Returns
    -------
    ndarray of shape (k, k), float64
        ``cos[i, j]`` between directions ``i`` and ``j``; ones on the diagonal.
    """
    D, _ = _stack(directions, "directions")
    U = np.stack([unit(d, f"directions[{i}]") for i, d in enumerate(D)])
    return np.clip(U @ U.T, -1.0, 1.0)
