"""Turning user input (arrays, torch tensors, nested lists) into NumPy arrays.

Shared by :mod:`latentlab.analysis` and :mod:`latentlab.metrics`; imports neither.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["to_numpy"]


def to_numpy(X: Any, name: str) -> np.ndarray:
    """Return ``X`` (array, torch tensor, nested list) as a NumPy array, without copying if possible."""
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # a torch tensor; avoid importing torch here
        X = X.detach().cpu().numpy()
    # a sparse matrix exists only once scipy.sparse is imported; the models and datasets,
    # which check their parameters through latentlab._validation, need not import it
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(X):
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
