"""Image grids: samples, previews and labelled panels."""

from __future__ import annotations

import math

import numpy as np
import torch

from latentlab._images import tile_images, to_uint8
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import TWO_COLUMN, attach_data, attach_recipe, new_figure

__all__ = ["to_uint8", "tile_images", "image_grid", "image_rows_figure", "attribute_labels", "growth_figure"]


def image_grid(images, nrow: int | None = None, labels=None, title: str | None = None, width: float = TWO_COLUMN):
    """A figure showing images in a grid, optionally with a caption under each.

    Parameters
    ----------
    images : tensor or array, shape (N, C, H, W), values in [-1, 1]
    nrow : images per row (default: near-square)
    labels : sequence of N strings, optional, drawn under the images
    title : figure title
    """
    images = torch.as_tensor(images)
    n, c, h, w = images.shape
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} images")
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    pad = max(1, h // 16) if labels is None else max(1, h // 3)
    tiled = tile_images(images, nrow=cols, pad=pad)
    aspect = tiled.shape[0] / tiled.shape[1]
    fig, ax = new_figure(width=width, aspect=aspect + (0.05 if title else 0))
    ax.imshow(tiled.squeeze(-1) if c == 1 else tiled, cmap="gray" if c == 1 else None, interpolation="nearest", vmin=0, vmax=255)
    ax.set_axis_off()
    if labels is not None:
        fontsize = max(4.0, min(8.0, 60.0 / cols))
        for i, text in enumerate(labels):
            r, col = divmod(i, cols)
            ax.text(
                pad + col * (w + pad) + w / 2, pad + r * (h + pad) + h + pad * 0.1, str(text),
                ha="center", va="top", fontsize=fontsize,
            )
    if title:
        ax.set_title(title)
    attach_data(fig, images=images.detach().cpu().numpy(), **({"labels": np.asarray(labels, dtype=str)} if labels is not None else {}))
    attach_recipe(fig, "image_grid", nrow=nrow, title=title, width=width)
    return fig


@redrawable("image_grid")
def _redraw_image_grid(data: dict, **options):
    labels = data.get("labels")
    return image_grid(data["images"], labels=None if labels is None else [str(x) for x in labels], **options)


def image_rows_figure(rows: dict, *, title: str | None = None, width: float = TWO_COLUMN):
    """Rows of images that correspond column by column, each row named on its left.

    For an image and what became of it: inputs, their translations and the translations
    translated back (``latentlab translate``); or inputs and several edits of them.

    Parameters
    ----------
    rows : dict of str -> tensor or array of shape (N, C, H, W), values in [-1, 1]
        Row name -> its images; every row has the same shape.
    title : str, optional
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``images`` (R, N, C, H, W) and ``rows`` (R,) the row names.
    """
    if not rows:
        raise ValueError("give at least one row of images")
    names = [str(k) for k in rows]
    stacked = [torch.as_tensor(v).detach().float().cpu() for v in rows.values()]
    shapes = {tuple(v.shape) for v in stacked}
    if len(shapes) != 1 or len(stacked[0].shape) != 4:
        raise ValueError(f"every row must hold images (N, C, H, W) of one shape; got {', '.join(map(str, sorted(shapes)))}")
    images = torch.stack(stacked)
    r, n, c, h, w = images.shape
    pad = max(1, h // 16)
    tiled = tile_images(images.reshape(r * n, c, h, w), nrow=n, pad=pad)
    fig, ax = new_figure(width=width, aspect=tiled.shape[0] / tiled.shape[1] + (0.05 if title else 0))
    ax.imshow(tiled.squeeze(-1) if c == 1 else tiled, cmap="gray" if c == 1 else None, interpolation="nearest",
              vmin=0, vmax=255)
    ax.set_yticks(pad + np.arange(r) * (h + pad) + h / 2, names)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    attach_data(fig, images=images.numpy(), rows=np.asarray(names, dtype=str))
    attach_recipe(fig, "image_rows_figure", title=title, width=width)
    return fig


@redrawable("image_rows_figure")
def _redraw_image_rows(data: dict, **options):
    return image_rows_figure({str(name): im for name, im in zip(data["rows"], data["images"])}, **options)


def attribute_labels(values, attribute: str, levels=None) -> list[str]:
    """Captions for images from their values of one attribute.

    A binary attribute reads ``"glasses"`` / ``"no glasses"``; one with more values
    ``"hair_color=blond"`` (``levels[value]`` names value ``value``); without ``levels``,
    ``"attribute=value"``.

    Parameters
    ----------
    values : array of shape (N,)
        Integer level of each image (or any values, without ``levels``).
    attribute : str
    levels : sequence of str, optional
        Names of the levels, indexed by value.
    """
    values = np.asarray(values).reshape(-1)
    if levels is None:
        return [f"{attribute}={v}" for v in values.tolist()]
    levels = [str(x) for x in levels]
    if values.dtype.kind not in "biu" or (values.size and not (0 <= values.min() and values.max() < len(levels))):
        raise ValueError(f"values of {attribute!r} must be integers in 0..{len(levels) - 1} to index its levels "
                         f"{', '.join(levels)}")
    if len(levels) == 2:
        return [attribute if v else f"no {attribute}" for v in values.tolist()]
    return [f"{attribute}={levels[v]}" for v in values.tolist()]


def growth_figure(stages, labels=None, title: str | None = None, width: float = TWO_COLUMN):
    """The same codes drawn at every resolution of a progressive GAN's growth: one row per stage.

    Each stage's images are enlarged (nearest neighbour, so every pixel stays a visible
    block) to the largest stage's size and drawn by :func:`image_rows_figure`.

    Parameters
    ----------
    stages : sequence of tensors or arrays, each of shape (N, C, r, r), values in [-1, 1]
        The images of each stage, in order; the same N and C in every stage, sizes
        ``r`` that divide the largest (4, 8, 16, 32 px for a 32 px ProGAN).
    labels : sequence of str, optional
        One name per stage, drawn left of its row (default: ``"<r> px"``).
    title : str, optional
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached as by :func:`image_rows_figure`: ``images`` (R, N, C, S, S), enlarged,
        and ``rows`` (R,) the stage names.
    """
    stages = [torch.as_tensor(s).detach().float().cpu() for s in stages]
    if not stages or any(s.ndim != 4 for s in stages):
        raise ValueError("stages must be a non-empty sequence of image batches of shape (N, C, r, r)")
    n, c = stages[0].shape[:2]
    size = max(s.shape[-1] for s in stages)
    for s in stages:
        if s.shape[:2] != (n, c) or s.shape[-1] != s.shape[-2] or size % s.shape[-1]:
            raise ValueError(f"every stage must hold {n} square images of {c} channels whose size divides {size} px; "
                             f"got shape {tuple(s.shape)}")
    if labels is not None and len(labels) != len(stages):
        raise ValueError(f"got {len(labels)} labels for {len(stages)} stages")
    labels = [f"{s.shape[-1]} px" for s in stages] if labels is None else [str(x) for x in labels]
    if len(set(labels)) != len(labels):
        raise ValueError(f"stage labels must differ; got {labels}")
    enlarged = [torch.nn.functional.interpolate(s, size=(size, size), mode="nearest") for s in stages]
    return image_rows_figure(dict(zip(labels, enlarged)), title=title, width=width)
