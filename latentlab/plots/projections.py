"""2-D maps of latent codes: PCA, t-SNE or UMAP, coloured by an attribute.

:func:`embed` is the one home of the three embeddings; :func:`projection_figure` embeds
codes of any latent shape (flattened) and draws them with :func:`embedding_figure`, which
also draws coordinates computed elsewhere. A categorical attribute (0/1 labels, level
indices, strings) gets the colour-blind-safe palette and a legend, a continuous one
(scores, factors) the perceptually uniform colormap and a colour bar.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from latentlab._validation import check_choice, check_int
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import CMAP, PALETTE, attach_data, attach_recipe, new_figure, styled

__all__ = ["METHODS", "embed", "projection_figure", "embedding_figure", "codes_labels"]

Method = Literal["pca", "tsne", "umap"]
METHODS = ("pca", "tsne", "umap")
_METHOD_NAMES = {"pca": "PC", "tsne": "t-SNE", "umap": "UMAP"}
# Beyond the palette's 8 colours, levels also differ by marker so they stay distinguishable.
_MARKERS = ("o", "s", "^")
_MAX_LEVELS = len(PALETTE) * len(_MARKERS)


def _flat(codes) -> np.ndarray:
    if hasattr(codes, "detach"):
        codes = codes.detach().cpu().numpy()
    x = np.asarray(codes, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"codes must have shape (N, *latent_shape); got {x.shape}")
    x = x.reshape(len(x), -1)
    if not np.isfinite(x).all():
        raise ValueError("codes contain NaN or infinite values")
    return x


def _embed(x: np.ndarray, method: str, random_state: int) -> tuple[np.ndarray, list[str]]:
    """``(coordinates (N, 2), axis labels)``; ``x`` is (N, D) float64."""
    n = len(x)
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=random_state).fit(x)
        share = pca.explained_variance_ratio_
        return pca.transform(x), [f"PC {i + 1} ({share[i]:.0%} of variance)" for i in range(2)]
    if method == "tsne":
        from sklearn.manifold import TSNE

        # perplexity must stay below N; 30 is the usual value for larger sets
        tsne = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", learning_rate="auto",
                    random_state=random_state)
        return tsne.fit_transform(x), ["t-SNE 1", "t-SNE 2"]
    import warnings

    import umap  # slow to import (numba): only when asked for

    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=random_state, n_jobs=1)
    with warnings.catch_warnings():
        # a seed makes UMAP run on one thread, which it reports on every call
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        xy = reducer.fit_transform(x)
    return np.asarray(xy, dtype=np.float64), ["UMAP 1", "UMAP 2"]


def embed(codes, method: Method = "pca", *, random_state: int = 0) -> np.ndarray:
    """2-D coordinates of codes, shape (N, 2).

    Parameters
    ----------
    codes : array or tensor of shape (N, *latent_shape)
        Flattened to (N, D); N >= 4.
    method : {"pca", "tsne", "umap"}
        PCA (linear; the axes are the two directions of largest variance), t-SNE
        (perplexity min(30, (N-1)/3), PCA initialisation) or UMAP (min(15, N-1) neighbours).
    random_state : int
        Seed; the same seed gives the same coordinates on the same machine.
    """
    check_choice(method, "method", METHODS)
    x = _flat(codes)
    if len(x) < 4:
        raise ValueError(f"a projection needs at least 4 codes; got {len(x)}")
    return _embed(x, method, int(random_state))[0]


def codes_labels(codes, attribute: str) -> tuple[np.ndarray, list[str] | None]:
    """``(values (N,), level names or None)`` of ``attribute`` in a :class:`~latentlab.codes.LatentCodes`.

    Looks in the labels (``attrs``, with their level names), then the classifier
    ``scores``, then the known ``factors``; an unknown name raises ``ValueError`` listing
    the names the codes carry.
    """
    for group in (codes.attrs, codes.scores, codes.factors):
        if attribute in group:
            levels = codes.attr_levels.get(attribute) if group is codes.attrs else None
            return np.asarray(group[attribute]), None if levels is None else [str(v) for v in levels]
    names = list(dict.fromkeys([*codes.attrs, *codes.scores, *codes.factors]))
    raise ValueError(f"unknown attribute {attribute!r}; the codes carry: {', '.join(names) or 'no attributes'}")


def _is_categorical(labels: np.ndarray) -> bool:
    if labels.dtype.kind in "bUSO":
        return True
    return labels.dtype.kind in "iu" and len(np.unique(labels)) <= _MAX_LEVELS


def projection_figure(codes, labels=None, *, method: Method = "umap", attribute: str | None = None,
                      level_names: Sequence[str] | None = None, categorical: bool | None = None,
                      random_state: int = 0, n_max: int = 5000, title: str | None = None,
                      width: str | float = "one"):
    """Latent codes embedded in 2-D, coloured by an attribute.

    Parameters
    ----------
    codes : array or tensor (N, *latent_shape), or LatentCodes
        Codes of any latent shape (flattened). With a :class:`~latentlab.codes.LatentCodes`
        (e.g. from ``latentlab encode``) and no ``labels``, ``attribute`` names the labels
        to colour by (see :func:`codes_labels`).
    labels : array of shape (N,), optional
        Value of each code: categorical (bool, str, or integers with at most 24 levels)
        or continuous (floats).
    method : {"pca", "tsne", "umap"}
        See :func:`embed`.
    attribute : str, optional
        Name of the attribute (legend title or colour-bar label).
    level_names : sequence of str, optional
        Names of integer levels 0, 1, ... (default: from the LatentCodes, else the values).
    categorical : bool, optional
        Force the colouring (default: decided from the labels' type, see above).
    random_state : int
        Seed of the embedding and of the subsample.
    n_max : int
        At most this many codes are embedded (a random subset; t-SNE and UMAP are slow).
    title : str, optional
    width : "one", "two" or inches

    Returns
    -------
    matplotlib.figure.Figure
        Data attached (a table): ``index`` (which codes), ``x``, ``y`` and ``label``.
    """
    check_choice(method, "method", METHODS)
    if hasattr(codes, "attrs") and hasattr(codes, "z"):
        if labels is None and attribute is not None:
            labels, levels = codes_labels(codes, attribute)
            level_names = level_names if level_names is not None else levels
        codes = codes.z
    x = _flat(codes)
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(x):
            raise ValueError(f"got {len(labels)} labels for {len(x)} codes; give one label per code")
    check_int(n_max, "n_max", min=4)
    index = np.arange(len(x))
    if len(x) > n_max:
        index = np.sort(np.random.default_rng(random_state).choice(len(x), n_max, replace=False))
    if len(index) < 4:
        raise ValueError(f"a projection needs at least 4 codes; got {len(index)}")
    xy, axis_labels = _embed(x[index], method, int(random_state))
    return embedding_figure(
        xy, None if labels is None else labels[index], attribute=attribute, level_names=level_names,
        categorical=categorical, xlabel=axis_labels[0], ylabel=axis_labels[1], ticks=method == "pca",
        title=title, width=width, index=index,
    )


def _level_text(value, level_names) -> str:
    if level_names is not None and isinstance(value, (int, np.integer)) and 0 <= value < len(level_names):
        return str(level_names[value])
    return str(value)


@styled
def embedding_figure(xy, labels=None, *, attribute: str | None = None, level_names: Sequence[str] | None = None,
                     categorical: bool | None = None, xlabel: str | None = None, ylabel: str | None = None,
                     ticks: bool = True, title: str | None = None, width: str | float = "one",
                     point_size: float | None = None, index=None):
    """A scatter plot of 2-D points coloured by a label.

    Parameters
    ----------
    xy : array of shape (N, 2)
    labels : array of shape (N,), optional
        Categorical values get one palette colour each (and a marker shape beyond 8
        levels) and a legend with counts; continuous values the colormap and a colour bar.
    attribute : str, optional
        Legend title or colour-bar label.
    level_names : sequence of str, optional
        Names of integer levels 0, 1, ...
    categorical : bool, optional
        Force the colouring (default: from the labels' type).
    xlabel, ylabel, title : str, optional
    ticks : bool
        Show tick labels (off for t-SNE/UMAP, whose axes have no units).
    width : "one", "two" or inches
    point_size : float, optional
        Marker area in pt² (default: smaller for more points).
    index : array of shape (N,), optional
        Which codes the points are (attached with the data; default 0 .. N-1).

    Returns
    -------
    matplotlib.figure.Figure
        Data attached (a table): ``index``, ``x``, ``y`` and, with labels, ``label``.
    """
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must have shape (N, 2); got {xy.shape}")
    n = len(xy)
    index = np.arange(n) if index is None else np.asarray(index).reshape(-1)
    if len(index) != n:
        raise ValueError(f"got {len(index)} indices for {n} points")
    size = point_size if point_size is not None else float(np.clip(300.0 / np.sqrt(max(n, 1)), 1.0, 12.0))
    fig, ax = new_figure(width=width, aspect=0.85)
    # points drawn in a fixed shuffled order, so that no class is hidden under another
    order = np.random.default_rng(0).permutation(n)
    data = {"index": index, "x": xy[:, 0], "y": xy[:, 1]}
    if labels is None:
        ax.scatter(xy[order, 0], xy[order, 1], s=size, color=PALETTE[0], lw=0)
    else:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"got {len(labels)} labels for {n} points")
        data["label"] = labels
        if categorical is None:
            categorical = _is_categorical(labels)
        if categorical:
            _categorical_scatter(ax, xy, labels, order, size, attribute, level_names)
        else:
            values = labels.astype(np.float64)
            points = ax.scatter(xy[order, 0], xy[order, 1], c=values[order], cmap=CMAP, s=size, lw=0)
            fig.colorbar(points, ax=ax, shrink=0.9, label=attribute)
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    if not ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    attach_data(fig, **data)
    attach_recipe(fig, "embedding_figure", attribute=attribute,
                  level_names=None if level_names is None else [str(v) for v in level_names],
                  categorical=categorical, xlabel=xlabel, ylabel=ylabel, ticks=ticks, title=title, width=width,
                  point_size=point_size)
    return fig


def _categorical_scatter(ax, xy, labels, order, size, attribute, level_names):
    levels = np.unique(labels)
    if len(levels) > _MAX_LEVELS:
        raise ValueError(f"{len(levels)} levels are too many to tell apart by colour (at most {_MAX_LEVELS}); "
                         "pass categorical=False to colour by value")
    code = np.searchsorted(levels, labels)
    colours = np.asarray(PALETTE, dtype=object)[code % len(PALETTE)]
    for m, marker in enumerate(_MARKERS):
        keep = order[(code[order] // len(PALETTE)) == m]
        if keep.size:
            ax.scatter(xy[keep, 0], xy[keep, 1], c=list(colours[keep]), s=size, marker=marker, lw=0)
    for k, value in enumerate(levels):
        count = int(np.sum(code == k))
        ax.scatter([], [], color=PALETTE[k % len(PALETTE)], marker=_MARKERS[k // len(PALETTE)], s=12,
                   label=f"{_level_text(value.item() if hasattr(value, 'item') else value, level_names)} ({count})")
    ax.legend(title=attribute, frameon=False, markerscale=1.0, loc="best")


@redrawable("embedding_figure")
def _redraw_embedding(data: dict, **options):
    xy = np.stack([np.asarray(data["x"], dtype=np.float64), np.asarray(data["y"], dtype=np.float64)], axis=1)
    return embedding_figure(xy, data.get("label"), index=data.get("index"), **options)
