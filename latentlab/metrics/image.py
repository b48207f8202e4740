"""Image similarity: structural similarity (SSIM, Wang et al. 2004) of paired images.

Works on plain image batches; imports nothing from :mod:`latentlab.analysis`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from latentlab._validation import check_float, check_int
from latentlab._convert import to_numpy

__all__ = ["ssim"]


def ssim(x, y, *, data_range: float = 2.0, window_size: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> np.ndarray:
    """Mean structural similarity of each pair of images (Wang et al. 2004).

    Local means, variances and covariance are taken under a Gaussian window (11 x 11,
    σ = 1.5 pixels by default), over the positions where the window fits inside the
    image; the SSIM map is averaged over those positions and over the channels.

    Parameters
    ----------
    x, y : array-like or torch.Tensor, shape (N, C, H, W)
        Two batches of images, paired by index. ``H, W >= window_size``.
    data_range : float, default=2.0
        The dynamic range ``L`` of the pixel values (2 for images in ``[-1, 1]``).
    window_size : odd int, default=11
    sigma : float, default=1.5
        Standard deviation of the Gaussian window, in pixels.
    k1, k2 : float, default=0.01, 0.03
        Stabilising constants: ``C1 = (k1 L)²``, ``C2 = (k2 L)²``.

    Returns
    -------
    ndarray of shape (N,), float64
        SSIM per image pair; 1 for identical images, lower for less similar ones
        (it can be negative for anti-correlated images).
    """
    a = torch.as_tensor(to_numpy(x, "x"), dtype=torch.float64)
    b = torch.as_tensor(to_numpy(y, "y"), dtype=torch.float64)
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"x and y must be image batches of the same shape (N, C, H, W); "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    if check_int(window_size, "window_size", min=1, noun="odd integer") % 2 == 0:
        raise ValueError(f"window_size must be a positive odd integer; got {window_size!r}")
    if min(a.shape[-2:]) < window_size:
        raise ValueError(f"images of {a.shape[-2]}x{a.shape[-1]} pixels are smaller than the "
                         f"{window_size}-pixel SSIM window")
    check_float(data_range, "data_range", min=0, min_open=True)
    check_float(sigma, "sigma", min=0, min_open=True)
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("images contain NaN or infinite values")
    c = a.shape[1]
    offsets = torch.arange(window_size, dtype=torch.float64) - (window_size - 1) / 2
    g = torch.exp(-(offsets**2) / (2 * sigma**2))
    g = g / g.sum()
    rows, cols = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)

    def blur(t):  # the 2-D Gaussian window is separable: filter rows, then columns
        return F.conv2d(F.conv2d(t, rows, groups=c), cols, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.mean(dim=(1, 2, 3)).numpy()
