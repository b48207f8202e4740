"""Figures about latent directions: traversals, cosines, entanglement, separation.

Every function takes data and returns a ``matplotlib.figure.Figure`` with the data it
was drawn from attached (:func:`~latentlab.plots.style.attach_data`), so
:func:`~latentlab.plots.style.save_figure` writes it beside the picture.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

import latentlab
from latentlab._validation import check_int
from latentlab.analysis.editing import traversal_images
from latentlab.analysis.orthogonal import cosine_matrix
from latentlab.analysis.results import DirectionResult, PCAResult, check_latent_shape, load_direction_file
from latentlab.plots.heatmaps import draw_heatmap
from latentlab.plots.images import tile_images
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import ONE_COLUMN, PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure, styled

__all__ = ["traversal_figure", "model_traversal_figure", "cosine_heatmap", "entanglement_figure", "distance_histogram"]


def _step_label(s: float) -> str:
    return f"{s:+g}" if s != 0 else "0"


@styled
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
    attach_recipe(fig, "traversal_figure", title=title, width=width)
    return fig


@redrawable("traversal_figure")
def _redraw_traversal(data: dict, **options):
    return traversal_figure(data["images"], data["steps"], **options)


def model_traversal_figure(model, direction, *, component: int = 0, n: int = 8, steps=(-3, -2, -1, 0, 1, 2, 3),
                           seed: int = 0, device=None, title: str | None = None, width: float = TWO_COLUMN):
    """Draw ``n`` codes from ``model``'s prior, move each along ``direction`` and show the grid.

    Parameters
    ----------
    model : Generator or path of a checkpoint
    direction : path of a direction file, DirectionResult, PCAResult or array of the latent shape
        A file from ``latentlab direction`` or ``latentlab directions pca``; a PCA file
        holds several directions, of which ``component`` is used.
    component : int
        Which principal direction of a PCA result.
    n : int
        Codes (rows), drawn with ``seed``.
    steps : sequence of float
        Signed steps (columns), in latent units.
    title : str, optional
        Default: the model and the direction's name.

    Returns
    -------
    matplotlib.figure.Figure
        As :func:`traversal_figure`.
    """

    model_name = os.path.basename(str(model)) if isinstance(model, (str, os.PathLike)) else type(model).__name__
    gen = latentlab.load(model, device=device, expect="generator") if isinstance(model, (str, os.PathLike)) else model
    what = str(direction) if isinstance(direction, (str, os.PathLike)) else "the direction"
    found = load_direction_file(direction) if isinstance(direction, (str, os.PathLike)) else direction
    if isinstance(found, PCAResult):
        if not 0 <= component < len(found.components):
            raise ValueError(f"component {component} is out of range: {what} holds {len(found.components)} directions")
        found.check_model(gen, what=what)
        vector, name = found.components[component], found.names[component]
    elif isinstance(found, DirectionResult):
        found.check_model(gen, what=what)
        vector, name = found.direction, found.name
    else:
        vector, name = np.asarray(found, dtype=np.float64), "direction"
        check_latent_shape(vector.shape, gen, what=what)
    check_int(n, "n", min=1, noun="number of codes")
    steps = np.asarray(steps, dtype=np.float64).reshape(-1)
    z = gen.sample_latents(n, generator=torch.Generator().manual_seed(seed))
    images = traversal_images(gen, z, vector, steps=steps)
    return traversal_figure(images, steps, title=title or f"{model_name}: {name}", width=width)


@styled
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

    cos = cosine_matrix(directions)
    names = [str(x) for x in names]
    if len(names) != len(cos):
        raise ValueError(f"got {len(names)} names for {len(cos)} directions")
    return _cosine_figure(cos, names, title=title)


@styled
def _cosine_figure(cos: np.ndarray, names: list[str], *, title: str | None = None):
    side = min(TWO_COLUMN, max(ONE_COLUMN * 0.8, 0.45 * len(names) + 1.2))
    fig, ax = new_figure(width=side, aspect=0.85)
    im = draw_heatmap(ax, cos, names, names, center=0.0, vmin=-1.0, vmax=1.0, fmt=".2f")
    fig.colorbar(im, ax=ax, shrink=0.8, label="cosine")
    if title:
        ax.set_title(title)
    attach_data(fig, cosine=cos, names=np.asarray(names, dtype=str))
    attach_recipe(fig, "cosine_heatmap", title=title)
    return fig


@redrawable("cosine_heatmap")
def _redraw_cosine(data: dict, **options):
    return _cosine_figure(np.asarray(data["cosine"], dtype=np.float64), [str(x) for x in data["names"]], **options)


@styled
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
    if after is not None and list(after.attributes) != list(before.attributes):
        raise ValueError("before and after must score the same attributes in the same order")
    data = {"before": np.asarray(before.matrix), "attributes": np.asarray(before.attributes, dtype=str),
            "before_directions": np.asarray(before.directions, dtype=str)}
    if after is not None:
        data.update(after=np.asarray(after.matrix), after_directions=np.asarray(after.directions, dtype=str))
    return _entanglement_from_data(data, step=float(before.step), titles=titles)


@redrawable("entanglement_figure")
@styled
def _entanglement_from_data(data: dict, *, step: float, titles=("as fitted", "conditioned")):
    """The entanglement figure from its saved arrays (see :func:`entanglement_figure`)."""
    attributes = [str(a) for a in data["attributes"]]
    panels = [(np.asarray(data["before"], dtype=np.float64), [str(d) for d in data["before_directions"]])]
    if "after" in data:
        panels.append((np.asarray(data["after"], dtype=np.float64), [str(d) for d in data["after_directions"]]))
    vmax = max(float(np.max(np.abs(m))) for m, _ in panels) or 1.0
    n_cols = sum(len(d) for _, d in panels)
    width = min(TWO_COLUMN, 1.4 + 0.55 * n_cols + 0.9 * len(panels))
    rows = len(attributes)
    fig, axes = new_figure(width=width, aspect=(0.28 * rows + 0.9) / width, ncols=len(panels),
                           gridspec_kw={"width_ratios": [max(1, len(d)) for _, d in panels]})
    axes = np.atleast_1d(axes)
    for k, (ax, (matrix, directions)) in enumerate(zip(axes, panels)):
        im = draw_heatmap(ax, matrix, attributes if k == 0 else [""] * rows, directions, center=0.0, vmin=-vmax,
                          vmax=vmax, fmt="+.2f", col_rotation=30)
        if len(panels) > 1:
            ax.set_title(titles[k])
    fig.colorbar(im, ax=list(axes), shrink=0.9, label=f"ΔP(attribute) per unit step (step {step:g})")
    attach_data(fig, **data)
    attach_recipe(fig, "entanglement_figure", step=step, titles=list(titles))
    return fig


@styled
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
    attach_recipe(fig, "distance_histogram", attribute=attribute, level_names=list(level_names), bins=bins)
    return fig


@redrawable("distance_histogram")
def _redraw_distance_histogram(data: dict, **options):
    return distance_histogram(data["distance"], data["label"], **options)
