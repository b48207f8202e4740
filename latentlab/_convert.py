"""Turning user input (arrays, torch tensors, nested lists) into NumPy arrays.

Shared by :mod:`latentlab.analysis` and :mod:`latentlab.metrics`; imports neither.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

__all__ = ["to_numpy"]


def to_numpy(X: Any, name: str) -> np.ndarray:
    """Return ``X`` (array, torch tensor, nested list) as a NumPy array, without copying if possible."""
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # a torch tensor; avoid importing torch here
        X = X.detach().cpu().numpy()
    if scipy.sparse.issparse(X):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array (X.toarray())")
    try:
        X = np.asarray(X)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a NumPy array or torch tensor of numbers; got {type(X).__name__}") from err
    if np.iscomplexobj(X):
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}; pass real numbers")
    if X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must hold real numbers; an entry failed to convert: {err}") from err
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    return X
