"""Figures of an adversarial autoencoder: codes over its prior, and style transfer.

:func:`petal_figure` draws 2-D codes coloured by class over the density of prior samples
(the "flower" of Makhzani et al. 2016, fig. 4); :func:`style_transfer_figure` the grid of
a supervised AAE's style transfer (their fig. 7): one row per input image, the input first,
then its style drawn as every class. Both take arrays and return a Figure.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from latentlab.plots.images import tile_images
from latentlab.plots.projections import _categorical_scatter
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import attach_data, attach_recipe, new_figure, styled

__all__ = ["petal_figure", "style_transfer_figure"]


def _points(values, name: str) -> np.ndarray:
    x = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2): a petal figure shows 2-D codes; got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return x


@styled
def petal_figure(codes, labels, prior_samples, *, means=None, level_names: Sequence[str] | None = None,
                 attribute: str | None = None, bins: int = 80, title: str | None = None, width: str | float = "one"):
    """2-D codes coloured by class over contours of the prior's density.

    Parameters
    ----------
    codes : array (N, 2)
        Encoded codes (e.g. of held-out images).
    labels : array (N,)
        Class of each code (integers, indexing ``level_names``).
    prior_samples : array (M, 2)
        Draws from the prior (``model.sample_latents(M)``); their 2-D histogram, smoothed
        over ``bins`` bins per axis, gives the grey density contours.
    means : array (K, 2), optional
        Component means, marked with their index (the petal of class k is component k).
    level_names : sequence of str, optional
        Names of the classes 0, 1, ... for the legend.
    attribute : str, optional
        Legend title.
    bins : int
        Histogram bins per axis for the contours.
    title : str, optional
    width : "one", "two" or inches

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``codes``, ``labels``, ``prior_samples`` (and ``means``).
    """
    codes, prior = _points(codes, "codes"), _points(prior_samples, "prior_samples")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(codes):
        raise ValueError(f"got {len(labels)} labels for {len(codes)} codes; give one label per code")
    if bins < 4:
        raise ValueError(f"bins must be at least 4, not {bins}")
    fig, ax = new_figure(width=width, aspect=0.85)
    both = np.concatenate([codes, prior])
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = 0.1 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    hist, xe, ye = np.histogram2d(prior[:, 0], prior[:, 1], bins=bins, range=[[lo[0], hi[0]], [lo[1], hi[1]]])
    density = gaussian_filter(hist.T, 1.0)
    if density.max() > 0:
        ax.contourf(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), density / density.max(),
                    levels=[0.05, 0.25, 0.5, 0.75, 1.01], cmap="Greys", alpha=0.45)
    size = float(np.clip(300.0 / np.sqrt(max(len(codes), 1)), 1.0, 12.0))
    order = np.random.default_rng(0).permutation(len(codes))
    _categorical_scatter(ax, codes, labels, order, size, attribute, level_names)
    ax.legend(title=attribute, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))  # petals stay visible
    data = {"codes": codes, "labels": labels, "prior_samples": prior}
    if means is not None:
        means = _points(means, "means")
        for k, (x, y) in enumerate(means):
            ax.text(x, y, str(k), ha="center", va="center", fontsize=6, fontweight="bold")
        data["means"] = means
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", xlabel="z1", ylabel="z2")
    if title:
        ax.set_title(title)
    attach_data(fig, **data)
    attach_recipe(fig, "petal_figure", level_names=None if level_names is None else [str(v) for v in level_names],
                  attribute=attribute, bins=bins, title=title, width=width)
    return fig


@redrawable("petal_figure")
def _redraw_petals(data: dict, **options):
    return petal_figure(data["codes"], data["labels"], data["prior_samples"], means=data.get("means"), **options)


@styled
def style_transfer_figure(inputs, outputs, *, class_names: Sequence[str] | None = None, title: str | None = None,
                          width: str | float = "one"):
    """The style-transfer grid: rows are inputs, columns the input then every class.

    Parameters
    ----------
    inputs : tensor or array (N, C, H, W) in [-1, 1]
        The images whose style is kept.
    outputs : tensor or array (N, K, C, H, W) in [-1, 1]
        ``outputs[i, k]``: input ``i``'s style drawn as class ``k``
        (``model.style_transfer(inputs, k)`` for each k).
    class_names : sequence of K str, optional
        Column titles (default: 0 .. K-1).
    title : str, optional
    width : "one", "two" or inches

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``inputs`` and ``outputs``.
    """
    inputs, outputs = torch.as_tensor(np.asarray(inputs)), torch.as_tensor(np.asarray(outputs))
    if inputs.ndim != 4:
        raise ValueError(f"inputs must have shape (N, C, H, W); got {tuple(inputs.shape)}")
    n, c, h, w = inputs.shape
    if outputs.ndim != 5 or outputs.shape[0] != n or tuple(outputs.shape[2:]) != (c, h, w):
        raise ValueError(f"outputs must have shape (N, K, C, H, W) = ({n}, K, {c}, {h}, {w}); got {tuple(outputs.shape)}")
    k = outputs.shape[1]
    names = [str(i) for i in range(k)] if class_names is None else [str(v) for v in class_names]
    if len(names) != k:
        raise ValueError(f"got {len(names)} class names for {k} classes")
    pad = max(1, h // 8)
    grid = torch.cat([inputs[:, None], outputs], dim=1).reshape(n * (k + 1), c, h, w)
    tiled = tile_images(grid, nrow=k + 1, pad=pad)
    fig, ax = new_figure(width=width, aspect=tiled.shape[0] / tiled.shape[1] + 0.08)
    ax.imshow(tiled.squeeze(-1) if c == 1 else tiled, cmap="gray" if c == 1 else None, interpolation="nearest",
              vmin=0, vmax=255)
    ax.set_xticks([pad + j * (w + pad) + w / 2 for j in range(k + 1)], ["input", *names])
    ax.tick_params(length=0, labelsize=6)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.axvline(pad + w + pad / 2, color="black", lw=0.6)  # inputs apart from the redrawn columns
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    attach_data(fig, inputs=inputs.detach().cpu().numpy(), outputs=outputs.detach().cpu().numpy())
    attach_recipe(fig, "style_transfer_figure", class_names=names, title=title, width=width)
    return fig


@redrawable("style_transfer_figure")
def _redraw_style_transfer(data: dict, **options):
    return style_transfer_figure(data["inputs"], data["outputs"], **options)
