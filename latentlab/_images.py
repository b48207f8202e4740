"""Images as pixels: ``(N, C, H, W)`` tensors in ``[-1, 1]`` to uint8 arrays and tiled grids.

Below the figures (``latentlab.plots`` re-exports both) so that the training loop can write
its sample previews without importing the plotting package.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["to_uint8", "tile_images"]


def to_uint8(images) -> np.ndarray:
    """Images ``(N, C, H, W)`` in ``[-1, 1]`` -> uint8 array ``(N, H, W, C)`` in ``[0, 255]``."""
    x = torch.as_tensor(images).detach().float().cpu()
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W); got {tuple(x.shape)}")
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def tile_images(images, nrow: int | None = None, pad: int = 1, pad_value: int = 255) -> np.ndarray:
    """Tile images ``(N, C, H, W)`` in ``[-1, 1]`` into one uint8 picture ``(rows*H, cols*W, C)``.

    ``nrow`` is the number of images per row (default: a near-square grid).
    """
    pix = to_uint8(images)
    n, h, w, c = pix.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        out[y : y + h, x : x + w] = pix[i]
    return out
