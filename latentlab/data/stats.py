"""Summaries of a dataset: sizes, attribute frequencies and correlations, previews."""

from __future__ import annotations

import numpy as np

from latentlab._validation import check_int
from latentlab.data.dataset import Dataset

__all__ = ["attribute_stats", "attribute_correlations", "random_subset"]


def attribute_correlations(dataset: Dataset) -> tuple[list[str], np.ndarray]:
    """Pearson correlation matrix of the binary attributes (the phi coefficient).

    Returns the attribute names and an ``(k, k)`` matrix; constant attributes get NaN
    off the diagonal (their correlation is undefined).
    """
    names = [k for k, levels in dataset.attr_levels.items() if k in dataset.attrs and len(levels) == 2]
    if not names:
        return [], np.zeros((0, 0))
    y = np.stack([dataset.attrs[k] for k in names], axis=1).astype(np.float64)
    y = y - y.mean(axis=0)
    sd = np.sqrt((y**2).mean(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (y.T @ y) / len(y) / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return names, corr


def attribute_stats(dataset: Dataset) -> dict:
    """Counts and frequencies of every attribute value, and the binary attributes' correlations.

    Returns ``{"n": N, "sample_shape": ..., "attributes": {name: {level: (count, fraction)}},
    "correlation": (names, matrix)}``.
    """
    n = len(dataset)
    attrs = {}
    for name, values in dataset.attrs.items():
        levels = dataset.attr_levels[name]
        counts = np.bincount(values, minlength=len(levels)) if n else np.zeros(len(levels), int)
        attrs[name] = {lvl: (int(c), float(c) / max(n, 1)) for lvl, c in zip(levels, counts)}
    return {
        "name": dataset.name,
        "n": n,
        "sample_shape": dataset.sample_shape,
        "attributes": attrs,
        "factors": list(dataset.factors),
        "correlation": attribute_correlations(dataset),
    }


def random_subset(dataset: Dataset, n: int, seed: int = 0) -> Dataset:
    """``n`` samples drawn without replacement (all of them if the dataset is smaller)."""
    check_int(n, "n", min=1, noun="number of samples")
    if n >= len(dataset):
        return dataset
    idx = np.sort(np.random.default_rng(seed).choice(len(dataset), size=n, replace=False))
    return dataset.subset(idx)
