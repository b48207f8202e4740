"""Input checks: latent codes and their shapes, and scalar parameters, for the whole package.

Every analysis estimator takes latent codes as NumPy arrays or torch tensors of shape
``(N, *latent_shape)``: a flat code space ``(N, d)`` or codes with extra structure such
as StyleGAN's ``(N, L, d)`` or a diffusion model's ``(N, C, H, W)``. The estimators work
on the flattened ``(N, D)`` view, ``D = prod(latent_shape)``, and give results back in
the latent shape. This module is the one home of that flatten/restore logic and of the
checks on user input (numeric, finite, not too large to compute with, enough rows, matching
shapes).

It is also the one home of the checks on scalar parameters (:func:`check_int`,
:func:`check_float`, :func:`check_choice`): counts, seeds, fractions and named options
everywhere in latentlab go through them, so a bad value gets the same kind of message
wherever it is passed: ``n must be a positive integer; got 0``.

Float32 input stays float32 (a million 512-d codes are 2 GB in float32 and 4 GB in
float64); everything else is converted to float64.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from latentlab._convert import to_numpy  # also imported from here by the analysis modules and metrics

# Rows per block when scanning big arrays, so that temporaries stay ~32 MB.
_BLOCK_ELEMENTS = 1 << 22


def as_float(X: np.ndarray) -> np.ndarray:
    """``X`` as float32 if it already is, float64 otherwise."""
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


def check_finite(X: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``X`` holds NaN or infinite values, naming the first bad row."""
    if X.size == 0 or not np.issubdtype(X.dtype, np.floating):
        return
    flat = X.reshape(X.shape[0], -1) if X.ndim > 1 else X.reshape(-1, 1)
    step = max(1, _BLOCK_ELEMENTS // max(1, flat.shape[1]))
    ones = np.ones(flat.shape[1], dtype=flat.dtype)
    for start in range(0, flat.shape[0], step):
        block = flat[start : start + step]
        # A NaN or inf makes its row sum non-finite; the BLAS row sum is a quick screen,
        # and the exact test runs only when it fires (a finite row sum can overflow).
        if np.isfinite(block @ ones).all():
            continue
        ok = np.isfinite(block).all(axis=1)
        if not ok.all():
            row = start + int(np.argmin(ok))
            raise ValueError(f"{name} contains NaN or infinite values (first at row {row}); remove or impute them")


def check_magnitude(X: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` when ``X``'s values are too large for arithmetic in its dtype.

    Estimators sum products of entries (variances, ``XᵀX``, ``X @ w``) over all rows and
    columns; with entries above ``sqrt(max / (N * D))`` those sums overflow to inf or NaN
    and a fit fails for a reason that has nothing to do with the data's content.
    """
    if X.size == 0 or not np.issubdtype(X.dtype, np.floating):
        return
    largest = max(abs(float(X.max())), abs(float(X.min())))
    limit = math.sqrt(float(np.finfo(X.dtype).max) / X.size)
    if largest > limit:
        hint = ", or pass them as float64" if X.dtype == np.float32 else ""
        raise ValueError(
            f"{name} holds values up to {largest:.3g}, too large for {X.dtype} arithmetic (sums of their products "
            f"overflow above about {limit:.3g}); rescale the codes, e.g. divide them by their standard deviation{hint}"
        )


def check_codes(Z: Any, name: str = "Z", *, min_samples: int = 1) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate latent codes and flatten them.

    Parameters
    ----------
    Z : array-like or torch.Tensor, shape (N, *latent_shape)
        Latent codes, one per row; at least 2-D.
    name : str
        Name used in error messages.
    min_samples : int
        Smallest accepted ``N``.

    Returns
    -------
    Z_flat : ndarray, shape (N, D), float32 or float64
        A view of ``Z`` where possible.
    latent_shape : tuple of int
        ``Z.shape[1:]``.
    """
    Z = as_float(to_numpy(Z, name))
    if Z.ndim < 2:
        raise ValueError(
            f"{name} must have shape (n_samples, *latent_shape), at least 2-D; got shape {Z.shape}. "
            "Reshape your data: a single code to (1, -1), a 1-D feature to (-1, 1)."
        )
    if Z.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples (rows); got {Z.shape[0]} sample(s)")
    if 0 in Z.shape[1:]:
        raise ValueError(f"{name} has 0 feature(s) (shape={Z.shape}) while a minimum of 1 is required.")
    check_finite(Z, name)
    check_magnitude(Z, name)
    latent_shape = tuple(int(s) for s in Z.shape[1:])
    return Z.reshape(Z.shape[0], -1), latent_shape


def flatten_like(Z: Any, latent_shape: tuple[int, ...], name: str = "Z", owner: str = "the estimator") -> np.ndarray:
    """Flatten codes that must match a fitted latent shape.

    Accepts ``(M, *latent_shape)`` or the flat ``(M, prod(latent_shape))``; anything else
    raises ``ValueError`` naming the expected and the received shapes (and, in
    scikit-learn's wording, the numbers of features; ``owner`` names the estimator).
    """
    Z = as_float(to_numpy(Z, name))
    size = math.prod(latent_shape)
    if Z.ndim >= 2 and (tuple(Z.shape[1:]) == tuple(latent_shape) or tuple(Z.shape[1:]) == (size,)):
        check_finite(Z, name)
        return Z.reshape(Z.shape[0], size)
    expected = f"(n, {', '.join(map(str, latent_shape))})"
    if len(latent_shape) > 1:
        expected += f" or (n, {size})"
    if Z.ndim < 2:
        hint = " Reshape your data: a single code needs a leading batch axis."
    else:
        got = math.prod(Z.shape[1:])
        hint = f" (X has {got} features, but {owner} is expecting {size} features as input.)"
    raise ValueError(f"{name} has shape {tuple(Z.shape)}; expected {expected} as seen in fit.{hint}")


def restore(v: np.ndarray, latent_shape: tuple[int, ...]) -> np.ndarray:
    """Reshape flat vectors ``(..., D)`` back to ``(..., *latent_shape)``."""
    return v.reshape(*v.shape[:-1], *latent_shape)


def require_target(y: Any, owner: str, what: str) -> None:
    """Raise ``ValueError`` when a supervised estimator is fitted without its target."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None; pass {what}")


def check_targets(y: Any, n_samples: int, name: str = "y") -> np.ndarray:
    """Validate a 1-D vector of labels or scores with one entry per sample."""
    y = to_numpy(y, name)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one value per sample, shape ({n_samples},); got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"{name} has {y.shape[0]} entries but the codes have {n_samples} rows; they must match")
    check_finite(y, name)
    return y


def check_paired(X: np.ndarray, Y: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ``ValueError`` unless two code arrays have the same number of rows."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must hold the same samples in the same order; "
            f"got {X.shape[0]} and {Y.shape[0]} rows"
        )


def as_direction(obj: Any, name: str = "direction") -> tuple[np.ndarray, tuple[int, ...]]:
    """A direction as a flat float64 vector plus its shape.

    ``obj`` is an array/tensor of any shape, or a fitted estimator with a ``direction_``
    attribute (such as :class:`~latentlab.analysis.directions.AttributeDirection`).
    """
    # imported here: the models and datasets use this module and do not need scikit-learn
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import check_is_fitted

    if isinstance(obj, BaseEstimator):
        check_is_fitted(obj, "direction_")
        obj = obj.direction_
    v = to_numpy(obj, name).astype(np.float64)
    if v.ndim == 0 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty vector (any shape); got shape {v.shape}")
    check_finite(v.reshape(1, -1), name)
    return v.reshape(-1), tuple(v.shape)


def unit(v: np.ndarray, name: str = "direction") -> np.ndarray:
    """``v / ||v||``; ``ValueError`` for a zero vector."""
    norm = float(np.linalg.norm(v))
    if not norm > 0:
        raise ValueError(f"{name} is the zero vector and has no direction")
    return v / norm


# -- scalar parameters -----------------------------------------------------------------


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _allowed(noun: str, low, high, low_open: bool, high_open: bool, integer: bool) -> str:
    """What a bounded scalar may be, in words: 'a positive integer', 'a number in (0, 1]'."""
    if high is None and low == (1 if integer else 0) and (integer or low_open):
        return f"a positive {noun}"
    if high is None and low == 0 and not low_open:
        return f"a non-negative {noun}"
    if low is not None and high is not None:
        if integer:
            return f"{_article(noun)} from {low} to {high}"
        return f"{_article(noun)} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{_article(noun)} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{_article(noun)} {'<' if high_open else '<='} {high:g}"
    return _article(noun)


def _check_scalar(value, name, kind, low, high, low_open, high_open, allow_none, noun, type_error):
    """The checks of sklearn's ``check_scalar``, with bool and NaN refused and one message for all.

    Written out rather than delegated: importing scikit-learn takes over a second, and
    the models, datasets and CLI that check their counts here do not otherwise need it.
    """
    if value is None and allow_none:
        return None
    wrong_type = isinstance(value, (bool, np.bool_)) or not isinstance(value, kind)
    if wrong_type or not (
        (kind is numbers.Integral or math.isfinite(value))  # isfinite overflows on huge ints
        and (low is None or (value > low if low_open else value >= low))
        and (high is None or (value < high if high_open else value <= high))
    ):
        allowed = _allowed(noun, low, high, low_open, high_open, kind is numbers.Integral)
        error = type_error if wrong_type else ValueError
        raise error(f"{name} must be {allowed}{' or None' if allow_none else ''}; got {value!r}")
    return value


def check_int(
    value: Any,
    name: str,
    *,
    min: int | None = None,
    max: int | None = None,
    allow_none: bool = False,
    noun: str = "integer",
    type_error: type[Exception] = ValueError,
) -> int | None:
    """Return ``value`` as a Python int in ``[min, max]``, or raise naming what is allowed.

    Parameters
    ----------
    value : object
        A Python or NumPy integer; ``bool`` is refused (``True`` is not a count).
    name : str
        The parameter's name, used in the message.
    min, max : int or None
        Inclusive bounds; None for none.
    allow_none : bool
        Whether None passes (and is returned).
    noun : str
        What the value counts, for the message: "n must be a positive number of samples".
    type_error : exception class
        Raised for a value that is not an integer (``ValueError`` unless the caller's
        contract says ``TypeError``); a value out of range raises ``ValueError``.
    """
    value = _check_scalar(value, name, numbers.Integral, min, max, False, False, allow_none, noun, type_error)
    return None if value is None else int(value)


def check_float(
    value: Any,
    name: str,
    *,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
    allow_none: bool = False,
    noun: str = "number",
    type_error: type[Exception] = ValueError,
) -> float | None:
    """Return ``value`` as a finite Python float within the bounds, or raise naming what is allowed.

    ``min_open``/``max_open`` exclude a bound (``min=0, min_open=True`` is "positive").
    Ints pass as numbers; ``bool``, NaN and infinities do not. The other parameters are
    those of :func:`check_int`.
    """
    value = _check_scalar(value, name, numbers.Real, min, max, min_open, max_open, allow_none, noun, type_error)
    return None if value is None else float(value)


def check_choice(value: Any, name: str, options) -> Any:
    """Return ``value`` if it is one of ``options``, else raise ``ValueError`` listing them."""
    if value not in options:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, options))}")
    return value
