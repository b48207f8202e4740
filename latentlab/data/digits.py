"""scikit-learn's handwritten digits, resized for image models.

The data are the 1,797 8x8 grayscale digits bundled with scikit-learn
(:func:`sklearn.datasets.load_digits`, the test part of the UCI "Optical Recognition of
Handwritten Digits" set; values 0..16, ink bright). Nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab._validation import check_int
from latentlab.data.dataset import Dataset
from latentlab.data.files import center_crop_resize

__all__ = ["make_digits"]

_SIZES = (28, 32)
_N_DIGITS = 1797


def make_digits(*, size: int = 28, seed: int = 0, n: int | None = None) -> Dataset:
    """The scikit-learn digits, upsampled to ``size x size``, with their labels.

    Parameters
    ----------
    size : int
        Output side in pixels: 28 or 32. The 8x8 images are upsampled with bicubic
        interpolation (``torch.nn.functional.interpolate``), clamped to the value range.
    seed : int
        Only used with ``n``, to choose which images are kept.
    n : int, optional
        Keep a random subset of ``n`` images (at most 1,797), chosen with ``seed`` and
        kept in the original order. By default all 1,797 images in scikit-learn's order,
        so the dataset is the same whatever the seed.

    Returns
    -------
    Dataset
        Images ``(1, size, size)`` float32 in ``[-1, 1]`` (background -1, ink up to
        +1; the source value ``v`` in 0..16 maps to ``v / 8 - 1`` before resizing);
        ``attrs["digit"]`` with levels ``"0"`` .. ``"9"``.
    """
    from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

    if size not in _SIZES:
        raise ValueError(f"size must be one of {_SIZES}, not {size!r}")
    check_int(n, "n", min=1, max=_N_DIGITS, allow_none=True)
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    if n is not None:
        keep = np.sort(np.random.default_rng(seed).choice(len(labels), size=n, replace=False))
        images, labels = images[torch.as_tensor(keep)], labels[keep]
    images = center_crop_resize(images, size)
    info = {
        "builtin": "digits",
        "n": len(labels),
        "size": size,
        "seed": seed if n is not None else None,
        "source": "sklearn.datasets.load_digits",
    }
    return Dataset(images, attrs={"digit": labels}, attr_levels={"digit": [str(d) for d in range(10)]}, name="digits", info=info)
