"""A Translator's inputs, translations and round trips, for figures and checks.

:func:`domain_images` picks the images of one domain from a labelled dataset;
:func:`translation_rows` translates them and back (``latentlab translate`` draws the rows).
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab._validation import check_int
from latentlab.models.base import Translator

__all__ = ["domain_images", "translation_rows"]


def domain_images(dataset, attr: str | None, direction: str, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images ``(n, C, H, W)`` of the domain that ``direction`` translates from.

    Parameters
    ----------
    dataset : Dataset
    attr : str or None
        The binary attribute that splits the domains (A: 0, B: 1). When it is None or not
        an attribute of ``dataset`` (a user's folder of one domain), any image is taken.
    direction : {"a2b", "b2a"}
    n : int
        Images wanted; fewer when the domain has fewer.
    seed : int
        Seed of the random choice.

    Raises
    ------
    ValueError
        For an unknown direction, ``n < 1``, or a dataset with no image of the domain.
    """
    Translator.check_direction(direction)
    n = check_int(n, "n", min=1)
    if not dataset.is_image:
        raise ValueError(f"dataset {dataset.name!r} holds samples of shape {dataset.sample_shape}, not images")
    pool = np.arange(len(dataset))
    if attr is not None and attr in dataset.attrs:
        wanted = 0 if direction == "a2b" else 1
        pool = np.flatnonzero(np.asarray(dataset.attrs[attr]) == wanted)
        if len(pool) == 0:
            raise ValueError(f"{dataset.name} has no image with {attr} = {wanted} to translate {direction}")
    chosen = np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False))
    return dataset.get(chosen)


def translation_rows(translator, images, direction: str = "a2b") -> dict[str, torch.Tensor]:
    """``{"input": x, "translated": ..., "back": ...}`` named by the domains, for a figure.

    The keys read e.g. ``"no glasses (input)"``, ``"glasses (translated)"``, ``"no glasses
    (back)"``; the values are image batches ``(N, C, H, W)`` on the CPU.
    """
    there, back = translator.round_trip(torch.as_tensor(images), direction)
    src, dst = translator.domains if direction == "a2b" else translator.domains[::-1]
    return {f"{src} (input)": torch.as_tensor(images).cpu(), f"{dst} (translated)": there.cpu(),
            f"{src} (back)": back.cpu()}
