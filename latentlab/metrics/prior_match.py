"""How closely a set of codes matches a prior: two-sample distances between codes and prior draws.

Used to measure an autoencoder's *aggregated posterior* (the codes of real data) against
the prior it is meant to follow (Makhzani et al. 2016): an AAE shapes its codes into its
prior adversarially, a VAE only through the per-sample KL term.

* :func:`mmd_rbf` — the unbiased squared maximum mean discrepancy (Gretton et al. 2012)
  with a Gaussian (RBF) kernel whose bandwidth is the median pairwise distance of the
  pooled samples, so that it does not change when both samples are scaled alike;
* :func:`sliced_wasserstein` — the mean over random unit directions of the 1-D
  2-Wasserstein distance between the projections, divided by the prior sample's
  root-mean-square spread, so codes and priors of different scales compare.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["mmd_rbf", "sliced_wasserstein"]


def _pair(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = (torch.as_tensor(np.asarray(v.detach().cpu() if hasattr(v, "detach") else v), dtype=torch.float64)
            for v in (x, y))
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"codes and prior samples must be (N, D) and (M, D) with the same D; got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("each sample needs at least 2 points")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("codes or prior samples contain NaN or infinite values")
    return x, y


def mmd_rbf(codes, prior_samples, *, bandwidth: float | None = None) -> float:
    """Unbiased MMD² between ``codes`` (N, D) and ``prior_samples`` (M, D), RBF kernel.

    ``k(a, b) = exp(-|a - b|² / (2 h²))`` with ``h = bandwidth``, by default the median
    distance between all pairs of the pooled points. 0 in expectation when both come
    from one distribution; it can be slightly negative then.
    """
    x, y = _pair(codes, prior_samples)
    pooled = torch.cat([x, y])
    d2 = torch.cdist(pooled, pooled).pow(2)
    if bandwidth is None:
        upper = d2[torch.triu_indices(len(pooled), len(pooled), 1).unbind()]
        h2 = float(upper.median()) or 1.0  # all points equal: any bandwidth gives 0
    else:
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0, not {bandwidth!r}")
        h2 = float(bandwidth) ** 2
    k = torch.exp(-d2 / (2 * h2))
    m, n = len(x), len(y)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    return float((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
                 - 2 * kxy.mean())


def sliced_wasserstein(codes, prior_samples, *, n_projections: int = 256, random_state: int = 0) -> float:
    """Sliced 2-Wasserstein distance between ``codes`` and ``prior_samples`` (both (N, D), the same N),
    relative to the prior sample's spread ``sqrt(mean |y - mean(y)|²)``.

    Directions are drawn uniformly on the unit sphere with ``random_state``.
    """
    x, y = _pair(codes, prior_samples)
    if len(x) != len(y):
        raise ValueError(f"sliced_wasserstein compares samples of the same size; got {len(x)} codes and "
                         f"{len(y)} prior samples")
    g = torch.Generator().manual_seed(int(random_state))
    dirs = torch.randn(x.shape[1], int(n_projections), generator=g, dtype=torch.float64)
    dirs /= dirs.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ dirs, dim=0)
    py, _ = torch.sort(y @ dirs, dim=0)
    sw = float((px - py).pow(2).mean(dim=0).mean().sqrt())
    spread = float((y - y.mean(0)).pow(2).sum(1).mean().sqrt())
    return sw / spread
