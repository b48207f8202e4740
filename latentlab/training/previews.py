"""The sample previews a training run writes every ``sample_every`` steps (``OUT.samples/``).

A fixed seed draws them, so successive previews show the same codes as training goes on.
Plain matplotlib, not :mod:`latentlab.plots`: previews are for watching a run, not for
papers, and the loop stays below the figure package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from latentlab._images import tile_images
from latentlab._io import atomic_path
from latentlab.models.base import Generator, Translator

__all__ = ["save_sample_preview"]


def save_sample_preview(model, dataset, path: Path, groups=None) -> None:
    """Write a PNG of 64 samples of ``model`` (a grid for images; a scatter over the data for
    2-D points) to ``path``, atomically. A Translator shows 8 images of the first of
    ``groups`` (its domain A; the dataset's first images without groups) in a row, their
    translations below and the way back under those. Other models draw nothing."""
    if not isinstance(model, (Generator, Translator)):  # e.g. a classifier
        return
    g = torch.Generator().manual_seed(0)
    was_training = model.training
    model.eval()  # batch-norm statistics must not move while drawing samples
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(model, Translator):
            first = np.asarray(groups[0] if groups is not None else np.arange(len(dataset)))[:8]
            x = dataset.get(first).to(model.device)
            _save_grid(torch.cat([x, *model.round_trip(x, "a2b")]).float().cpu(), path, nrow=len(first))
            return
        with torch.no_grad():
            x = model.sample(64, generator=g).float().cpu()
        if x.ndim == 4:
            _save_grid(x, path)
        else:
            with torch.no_grad():
                many = model.sample(2000, generator=g).float().cpu().numpy()
            _save_scatter(many, dataset.get(np.arange(min(2000, len(dataset)))).numpy(), path)
    finally:
        model.train(was_training)


def _save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> None:
    from PIL import Image

    pix = tile_images(images, nrow=nrow)
    with atomic_path(path) as tmp:
        Image.fromarray(pix.squeeze(-1) if pix.shape[-1] == 1 else pix).save(tmp, format="PNG")


def _save_scatter(samples: np.ndarray, real: np.ndarray, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 4))
    ax = fig.add_subplot()
    ax.scatter(real[:, 0], real[:, 1], s=2, alpha=0.3, label="data")
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.3, label="samples")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(markerscale=4)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=150)
