"""Figures about latent directions: traversals, cosines, entanglement, separation.

Every function takes data and returns a ``matplotlib.figure.Figure`` with the data it
was drawn from attached (:func:`~latentlab.plots.style.attach_data`), so
:func:`~latentlab.plots.style.save_figure` writes it beside the picture.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch

from latentlab.plots.images import tile_images
from latentlab.plots.style import DIVERGING_CMAP, ONE_COLUMN, PALETTE, TWO_COLUMN, attach_data, new_figure, paper_style

__all__ = ["traversal_figure", "cosine_heatmap", "entanglement_figure", "distance_histogram"]


def _styled(draw):
    """Run a figure function inside :func:`paper_style`, so that artists added after
    :func:`new_figure` (colour bars, legends, texts) get the latentlab style too."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with paper_style():
            return draw(*args, **kwargs)

    return wrapper


def _step_label(s: float) -> str:
    return f"{s:+g}" if s != 0 else "0"


@_styled
def traversal_figure(images, steps: Sequence[float], *, title: str | None = None, width: float = TWO_COLUMN):
    """A grid of edits: one row per code, one column per step along the direction.

    Parameters
    ----------
    images : tensor or array, shape (N, S, C, H, W), values in [-1, 1]
        As returned by :func:`~latentlab.analysis.editing.traversal_images`.
    steps : sequence of S floats
        The signed step of each column, in latent units (written under the columns).
    title : str, optional
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``images`` (N, S, C, H, W) and ``steps`` (S,).
    """
    images = torch.as_tensor(images).detach().float().cpu()
    steps = np.asarray(steps, dtype=np.float64).reshape(-1)
    if images.ndim != 5:
        raise ValueError(f"images must have shape (N, S, C, H, W); got {tuple(images.shape)}")
    n, s, c, h, w = images.shape
    if steps.size != s:
        raise ValueError(f"got {steps.size} steps for {s} columns of images; give one step per column")
    pad = max(1, h // 16)
    tiled = tile_images(images.reshape(n * s, c, h, w), nrow=s, pad=pad)
    aspect = tiled.shape[0] / tiled.shape[1]
    fig, ax = new_figure(width=width, aspect=aspect * 1.08 + (0.04 if title else 0))
    ax.imshow(tiled.squeeze(-1) if c == 1 else tiled, cmap="gray" if c == 1 else None, interpolation="nearest",
              vmin=0, vmax=255)
    centres = pad + np.arange(s) * (w + pad) + w / 2
    ax.set_xticks(centres, [_step_label(v) for v in steps])
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("step along the direction (latent units)")
    if title:
        ax.set_title(title)
    attach_data(fig, images=images.numpy(), steps=steps)
    return fig


def _annotated_matrix(ax, M: np.ndarray, vmax: float, fmt: str):
    """Draw ``M`` with the diverging colormap centred on 0 and write each value in its cell."""
    im = ax.imshow(M, cmap=DIVERGING_CMAP, vmin=-vmax, vmax=vmax, aspect="auto")
    cmap = im.get_cmap()
    for (i, j), v in np.ndenumerate(M):
        # dark text on light cells, light on dark ones
        r, g, b, _ = cmap((v + vmax) / (2 * vmax))
        colour = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
        ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=6, color=colour)
    return im


@_styled
def cosine_heatmap(directions, names: Sequence[str], *, title: str | None = None):
    """Cosine similarity of every pair of directions, annotated.

    Parameters
    ----------
    directions : sequence of k directions, or array of shape (k, *latent_shape)
        Arrays or fitted AttributeDirection objects.
    names : sequence of k str
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``cosine`` (k, k) and ``names`` (k,).
    """
    from latentlab.analysis.orthogonal import cosine_matrix

    cos = cosine_matrix(directions)
    names = [str(x) for x in names]
    if len(names) != len(cos):
        raise ValueError(f"got {len(names)} names for {len(cos)} directions")
    side = min(TWO_COLUMN, max(ONE_COLUMN * 0.8, 0.45 * len(names) + 1.2))
    fig, ax = new_figure(width=side, aspect=0.85)
    im = _annotated_matrix(ax, cos, 1.0, ".2f")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.spines[:].set_visible(False)
    fig.colorbar(im, ax=ax, shrink=0.8, label="cosine")
    if title:
        ax.set_title(title)
    attach_data(fig, cosine=cos, names=np.asarray(names, dtype=str))
    return fig


@_styled
def entanglement_figure(before, after=None, *, titles: tuple[str, str] = ("as fitted", "conditioned")):
    """Entanglement matrices (attributes × directions), optionally before/after side by side.

    Each cell is the mean change of P(attribute) per unit step along the direction, as
    measured by :func:`~latentlab.analysis.edit_evaluation.edit_effects`; a clean edit
    has one large entry per column. Both panels share one colour scale centred on 0.

    Parameters
    ----------
    before : EditEffects
        E.g. the primal directions.
    after : EditEffects, optional
        E.g. the same directions made orthogonal to their conditions; must score the same attributes.
    titles : (str, str)
        Panel titles.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``before`` (A, D1), ``attributes``, ``before_directions`` and, with
        ``after``, ``after`` (A, D2) and ``after_directions``.
    """
    panels = [before] if after is None else [before, after]
    if after is not None and list(after.attributes) != list(before.attributes):
        raise ValueError("before and after must score the same attributes in the same order")
    vmax = max(float(np.max(np.abs(p.matrix))) for p in panels) or 1.0
    n_cols = sum(len(p.directions) for p in panels)
    width = min(TWO_COLUMN, 1.4 + 0.55 * n_cols + 0.9 * len(panels))
    rows = len(before.attributes)
    fig, axes = new_figure(width=width, aspect=(0.28 * rows + 0.9) / width, ncols=len(panels),
                           gridspec_kw={"width_ratios": [max(1, len(p.directions)) for p in panels]})
    axes = np.atleast_1d(axes)
    for k, (ax, p) in enumerate(zip(axes, panels)):
        im = _annotated_matrix(ax, np.asarray(p.matrix), vmax, "+.2f")
        ax.set_xticks(range(len(p.directions)), list(p.directions), rotation=30, ha="right")
        ax.set_yticks(range(rows), list(p.attributes) if k == 0 else [""] * rows)
        ax.spines[:].set_visible(False)
        if after is not None:
            ax.set_title(titles[k])
    fig.colorbar(im, ax=list(axes), shrink=0.9, label=f"ΔP(attribute) per unit step (step {before.step:g})")
    data = {"before": np.asarray(before.matrix), "attributes": np.asarray(before.attributes, dtype=str),
            "before_directions": np.asarray(before.directions, dtype=str)}
    if after is not None:
        data.update(after=np.asarray(after.matrix), after_directions=np.asarray(after.directions, dtype=str))
    attach_data(fig, **data)
    return fig


@_styled
def distance_histogram(distances, labels, *, attribute: str = "attribute", level_names: Sequence[str] = ("no", "yes"),
                       bins: int = 40):
    """Histograms of signed distances from an attribute's hyperplane, one per class.

    Parameters
    ----------
    distances : array of shape (N,)
        Signed distances in latent units (``DirectionResult.distances``).
    labels : array of shape (N,)
        0/1 label of each code (``DirectionResult.labels``).
    attribute : str
        Used in the labels of the figure.
    level_names : (str, str)
        Names of label 0 and label 1.
    bins : int
        Number of bins, shared by both classes.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached (a table): ``distance`` and ``label``.
    """
    d = np.asarray(distances, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if d.shape != y.shape:
        raise ValueError(f"distances has {d.size} entries but labels has {y.size}; give one label per distance")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0 or 1; got values {np.unique(y)[:5].tolist()}")
    fig, ax = new_figure("one", aspect=0.65)
    edges = np.histogram_bin_edges(d, bins=bins)
    for value, colour in ((0, PALETTE[0]), (1, PALETTE[1])):
        part = d[y == value]
        ax.hist(part, bins=edges, color=colour, alpha=0.6, label=f"{attribute}: {level_names[value]} ({part.size})")
    ax.axvline(0.0, color="black", lw=0.8, ls="--")
    ax.set_xlabel(f"signed distance from the {attribute} hyperplane (latent units)")
    ax.set_ylabel("codes")
    ax.legend(frameon=False)
    attach_data(fig, distance=d, label=y.astype(np.int64))
    return fig
