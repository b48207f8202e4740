"""Intrinsic dimension applied to generative models and their data.

* :func:`id_table` — several estimators (with bootstrap intervals) on one point cloud:
  flattened images, latent codes or generated samples;
* :func:`decoder_local_dimension` — the local dimension of a decoder's output manifold:
  the numerical rank of the Jacobian ``d decode(z) / d z`` at sampled codes;
* :func:`suggest_latent_size` — latent-size advice from an ID interval.

The estimators themselves live in :mod:`latentlab.id`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["IDRow", "id_table", "format_id_table", "decoder_local_dimension", "suggest_latent_size", "flatten_points"]


def flatten_points(x) -> np.ndarray:
    """Samples ``(N, ...)`` (images, codes) -> float32 points ``(N, D)``."""
    arr = torch.as_tensor(x).detach().float().cpu().numpy() if not isinstance(x, np.ndarray) else x
    if arr.ndim < 2:
        raise ValueError(f"need at least 2-D input (N points x features); got shape {arr.shape}")
    return np.ascontiguousarray(arr.reshape(len(arr), -1), dtype=np.float32)


@dataclass
class IDRow:
    """One line of an ID table."""

    what: str
    method: str
    dimension: float
    ci: tuple[float, float] | None
    n: int
    ambient: int


def id_table(points: dict, methods=("twonn", "mle"), *, calibrate: bool = False, n_boot: int = 0, seed: int = 0) -> list[IDRow]:
    """Estimate the ID of each named point cloud with each method.

    Parameters
    ----------
    points : ``{name: array (N, ...)}`` — samples are flattened to ``(N, D)``
    methods : names accepted by :func:`latentlab.id.estimate_id`
    calibrate : correct each estimate for the underestimate at high dimension
    n_boot : bootstrap resamples for a 95% interval (0 = none)
    """
    from latentlab.id import estimate_id

    rows = []
    for name, x in points.items():
        flat = flatten_points(x)
        for method in methods:
            est = estimate_id(flat, method=method, calibrate=calibrate, n_boot=n_boot, random_state=seed)
            rows.append(IDRow(name, method + (" (calibrated)" if calibrate else ""), float(est.dimension),
                              tuple(map(float, est.ci)) if est.ci is not None else None, flat.shape[0], flat.shape[1]))
    return rows


def format_id_table(rows: list[IDRow]) -> str:
    """Rows as aligned text."""
    lines = [f"{'what':<22}{'method':<20}{'ID':>8}{'95% interval':>18}{'N':>8}{'ambient':>9}"]
    for r in rows:
        ci = f"[{r.ci[0]:.1f}, {r.ci[1]:.1f}]" if r.ci else "-"
        lines.append(f"{r.what[:21]:<22}{r.method[:19]:<20}{r.dimension:8.2f}{ci:>18}{r.n:8d}{r.ambient:9d}")
    return "\n".join(lines)


def decoder_local_dimension(generator, n: int = 32, seed: int = 0, rtol: float = 1e-3) -> np.ndarray:
    """Numerical rank of the decoder's Jacobian at ``n`` codes drawn from the prior.

    The rank counts singular values above ``rtol`` times the largest; it is the dimension
    of the output manifold near each code (at most the latent size). Returns ``(n,)`` ints.
    """
    if rtol <= 0 or rtol >= 1:
        raise ValueError(f"rtol must be in (0, 1), not {rtol}")
    z = generator.sample_latents(n, generator=torch.Generator().manual_seed(seed)).float()
    ranks = []
    for i in range(n):
        zi = z[i : i + 1].clone()
        jac = torch.autograd.functional.jacobian(lambda v: generator.decode(v).reshape(-1), zi)
        s = torch.linalg.svdvals(jac.reshape(jac.shape[0], -1).double())
        ranks.append(int((s > rtol * s.max()).sum()) if s.max() > 0 else 0)
    return np.asarray(ranks)


def suggest_latent_size(dimension: float, ci: tuple[float, float] | None = None, factor: float = 1.5) -> int:
    """A latent size for a model of data with this intrinsic dimension.

    Heuristic: ``factor`` times the upper end of the interval (or the estimate), rounded
    up to a multiple of 4 — comfortably above the ID, so the model can capture the
    variation, without being so large that most latent directions are unused.
    """
    top = ci[1] if ci else dimension
    if not math.isfinite(top) or top <= 0:
        raise ValueError(f"cannot suggest a latent size from an intrinsic dimension of {top}")
    return int(4 * math.ceil(factor * top / 4))
