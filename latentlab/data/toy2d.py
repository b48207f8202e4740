"""2-D Gaussian mixtures for measuring mode collapse: ``rings`` and ``grid``.

The defaults follow the mode-collapse literature:

* **rings** — 8 Gaussians with means evenly spaced on a circle of radius 2 and standard
  deviation 0.02 (Metz et al. 2017, *Unrolled GANs*; Srivastava et al. 2017, *VEEGAN*);
* **grid** — 25 Gaussians with means ``(-4 + 2i, -4 + 2j)``, ``i, j = 0..4`` (a 5x5
  grid of spacing 2 centred at the origin) and standard deviation 0.05, i.e. variance
  0.0025 (Lin et al. 2018, *PacGAN*).

Every component has equal weight and an isotropic covariance ``sigma**2 * I``. A
generated sample counts as *high quality* when it lies within ``3 * sigma`` of its
nearest mode (VEEGAN's criterion), see :func:`assign_modes`; for true samples that
happens with probability ``1 - exp(-4.5) ~= 0.989`` (a 2-D Gaussian's radius is
Rayleigh distributed).
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab._validation import check_float, check_int
from latentlab.data.dataset import Dataset, check_memory

__all__ = ["ring_centres", "grid_centres", "assign_modes", "make_rings", "make_grid"]


# Memory taken by one point while a mixture is drawn (points, mode labels, temporaries):
# measured with tracemalloc, 40 bytes.
_PEAK_BYTES_PER_POINT = 48


def ring_centres(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Means of ``n_modes`` Gaussians evenly spaced on a circle.

    Returns
    -------
    ndarray, float64, shape (n_modes, 2)
        Mode ``k`` sits at angle ``2*pi*k / n_modes`` (radians, from the +x axis).
    """
    check_int(n_modes, "n_modes", min=1)
    check_float(radius, "radius", min=0, min_open=True)
    angle = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def grid_centres(n_per_side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """Means of ``n_per_side**2`` Gaussians on a square grid centred at the origin.

    Returns
    -------
    ndarray, float64, shape (n_per_side**2, 2)
        Mode ``i * n_per_side + j`` sits at ``(x_i, y_j)`` with
        ``x_i = (i - (n_per_side - 1) / 2) * spacing``.
    """
    check_int(n_per_side, "n_per_side", min=1)
    check_float(spacing, "spacing", min=0, min_open=True)
    ticks = (np.arange(n_per_side) - (n_per_side - 1) / 2) * spacing
    x, y = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1)


def assign_modes(points, centres, sigma: float, n_sigma: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode of each point, and whether the point is close enough to count.

    Parameters
    ----------
    points : array or tensor, shape (N, 2)
        Samples (e.g. from a generator).
    centres : array, shape (K, 2)
        Mode means, e.g. ``dataset.info["centres"]``.
    sigma : float
        Standard deviation of each mode.
    n_sigma : float
        A point is high quality when its distance to the nearest mode is at most
        ``n_sigma * sigma``.

    Returns
    -------
    nearest : ndarray, int64, shape (N,)
        Index of the nearest mode.
    is_high_quality : ndarray, bool, shape (N,)
    """
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2); got {points.shape}")
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
        raise ValueError(f"centres must have shape (K, 2) with K >= 1; got {centres.shape}")
    check_float(sigma, "sigma", min=0, min_open=True)
    check_float(n_sigma, "n_sigma", min=0, min_open=True)
    nearest = np.empty(len(points), dtype=np.int64)
    dist2 = np.empty(len(points))
    # Chunks keep the (chunk, K) distance matrix small for millions of samples.
    for start in range(0, len(points), 65536):
        chunk = points[start : start + 65536]
        d2 = ((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
        nearest[start : start + len(chunk)] = d2.argmin(axis=1)
        dist2[start : start + len(chunk)] = d2.min(axis=1)
    return nearest, dist2 <= (n_sigma * sigma) ** 2


def _mixture(name: str, centres: np.ndarray, n: int, seed: int, sigma: float, options: dict) -> Dataset:
    check_int(n, "n", min=1)
    check_float(sigma, "sigma", min=0, min_open=True)
    check_int(seed, "seed", min=0)
    check_memory(n, _PEAK_BYTES_PER_POINT, f"{name} points")
    rng = np.random.default_rng(seed)
    mode = rng.integers(0, len(centres), size=n)
    points = centres[mode] + sigma * rng.standard_normal((n, 2))
    info = {
        "builtin": name,
        "n": n,
        "seed": seed,
        **options,
        "sigma": float(sigma),
        "centres": centres.tolist(),
    }
    return Dataset(
        torch.as_tensor(points, dtype=torch.float32),
        attrs={"mode": mode},
        attr_levels={"mode": [str(k) for k in range(len(centres))]},
        name=name,
        info=info,
    )


def make_rings(*, n: int = 10000, seed: int = 0, n_modes: int = 8, radius: float = 2.0, sigma: float = 0.02) -> Dataset:
    """Equal mixture of ``n_modes`` isotropic Gaussians on a circle.

    Parameters
    ----------
    n : int
        Number of points.
    seed : int
        Seed of the mode choices and the Gaussian noise.
    n_modes : int
        Number of Gaussians (8 in the literature).
    radius : float
        Radius of the circle of means.
    sigma : float
        Standard deviation of each Gaussian, per coordinate.

    Returns
    -------
    Dataset
        Samples ``(2,)`` float32; ``attrs["mode"]`` the Gaussian each point came from
        (indexing :func:`ring_centres`); ``info`` holds ``centres`` (nested lists,
        ``(n_modes, 2)``) and ``sigma``.
    """
    centres = ring_centres(n_modes, radius)
    return _mixture("rings", centres, n, seed, sigma, {"n_modes": n_modes, "radius": float(radius)})


def make_grid(*, n: int = 10000, seed: int = 0, n_per_side: int = 5, spacing: float = 2.0, sigma: float = 0.05) -> Dataset:
    """Equal mixture of ``n_per_side**2`` isotropic Gaussians on a square grid.

    Parameters
    ----------
    n : int
        Number of points.
    seed : int
        Seed of the mode choices and the Gaussian noise.
    n_per_side : int
        Gaussians per side of the grid (5 in the literature: 25 modes).
    spacing : float
        Distance between neighbouring means.
    sigma : float
        Standard deviation of each Gaussian, per coordinate.

    Returns
    -------
    Dataset
        Samples ``(2,)`` float32; ``attrs["mode"]`` the Gaussian each point came from
        (indexing :func:`grid_centres`); ``info`` holds ``centres`` (nested lists,
        ``(n_per_side**2, 2)``) and ``sigma``.
    """
    centres = grid_centres(n_per_side, spacing)
    return _mixture("grid", centres, n, seed, sigma, {"n_per_side": n_per_side, "spacing": float(spacing)})
