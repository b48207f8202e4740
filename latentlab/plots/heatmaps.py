"""Heatmaps: a matrix drawn as coloured cells, optionally with each value written in its cell.

:func:`draw_heatmap` draws on an existing axes and is the one home of the drawing (the
cosine and entanglement figures of :mod:`latentlab.plots.directions` use it too);
:func:`heatmap_figure` makes a whole figure of one matrix.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from latentlab.plots.redraw import redrawable
from latentlab.plots.style import (
    CMAP,
    DIVERGING_CMAP,
    ONE_COLUMN,
    TWO_COLUMN,
    attach_data,
    attach_recipe,
    new_figure,
    read_table,
    styled,
)

__all__ = ["draw_heatmap", "heatmap_figure", "read_matrix"]


def _names(names, n: int, what: str) -> list[str] | None:
    if names is None:
        return None
    names = [str(x) for x in names]
    if len(names) != n:
        raise ValueError(f"got {len(names)} {what} names for a matrix with {n} {what}s")
    return names


def _limits(M: np.ndarray, center, vmin, vmax) -> tuple[float, float]:
    finite = M[np.isfinite(M)]
    if center is not None:
        # symmetric about the centre, so that equal colours mean equal distances from it
        span = float(np.max(np.abs(finite - center))) if finite.size else 1.0
        span = span or 1.0
        return (center - span if vmin is None else vmin), (center + span if vmax is None else vmax)
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    return (lo if vmin is None else vmin), (hi if vmax is None else vmax)


def draw_heatmap(ax, matrix, row_names=None, col_names=None, *, cmap: str | None = None, center: float | None = None,
                 vmin: float | None = None, vmax: float | None = None, annotate: bool = True, fmt: str = ".2f",
                 fontsize: float = 6, col_rotation: float = 45):
    """Draw ``matrix`` on ``ax`` as cells; return the ``AxesImage`` (for a colour bar).

    Parameters
    ----------
    ax : matplotlib Axes
    matrix : array of shape (R, C)
        NaN cells are left blank and unannotated.
    row_names, col_names : sequences of R and C str, optional
        Tick labels of the rows (left) and columns (bottom, rotated by ``col_rotation`` degrees).
    cmap : str, optional
        Colormap; default the diverging one when ``center`` is given, else the sequential one.
    center : float, optional
        Value at the middle of a diverging colormap; the limits are then symmetric about it.
    vmin, vmax : float, optional
        Colour limits (default: from the data).
    annotate : bool
        Write each value in its cell (``format(value, fmt)``), dark on light cells and light on dark.
    """
    M = np.asarray(matrix, dtype=np.float64)
    if M.ndim != 2:
        raise ValueError(f"a heatmap needs a 2-D matrix; got shape {M.shape}")
    rows, cols = M.shape
    row_names, col_names = _names(row_names, rows, "row"), _names(col_names, cols, "column")
    lo, hi = _limits(M, center, vmin, vmax)
    if not lo < hi:
        lo, hi = lo - 0.5, hi + 0.5  # a constant matrix: any colour will do, but the norm needs a range
    im = ax.imshow(M, cmap=cmap or (DIVERGING_CMAP if center is not None else CMAP), vmin=lo, vmax=hi, aspect="auto")
    if annotate:
        colours = im.get_cmap()
        for (i, j), v in np.ndenumerate(M):
            if not np.isfinite(v):
                continue
            r, g, b, _ = colours(im.norm(v))
            # perceived luminance (ITU-R BT.601): dark text on light cells, light on dark ones
            colour = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
            ax.text(j, i, _cell_text(v, fmt), ha="center", va="center", fontsize=fontsize, color=colour)
    if col_names is None:
        ax.set_xticks([])
    else:
        ax.set_xticks(range(cols), col_names, rotation=col_rotation, ha="right" if col_rotation else "center")
    if row_names is None:
        ax.set_yticks([])
    else:
        ax.set_yticks(range(rows), row_names)
    ax.spines[:].set_visible(False)
    return im


@styled
def heatmap_figure(matrix, row_names: Sequence[str] | None = None, col_names: Sequence[str] | None = None, *,
                   cmap: str | None = None, center: float | None = None, vmin: float | None = None,
                   vmax: float | None = None, annotate: bool = True, fmt: str = ".2f", colorbar_label: str | None = None,
                   title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
                   width: str | float | None = None):
    """A matrix as a heatmap with a colour bar.

    Parameters
    ----------
    matrix : array of shape (R, C)
    row_names, col_names : sequences of R and C str, optional
    cmap, center, vmin, vmax, annotate, fmt
        As for :func:`draw_heatmap`.
    colorbar_label, title, xlabel, ylabel : str, optional
    width : "one", "two", inches or None
        Default: grows with the number of columns, from 0.8 to 2 paper columns.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached: ``matrix`` (R, C), ``row_names`` (R,) and ``col_names`` (C,).
    """
    M = np.asarray(matrix, dtype=np.float64)
    if M.ndim != 2 or 0 in M.shape:
        raise ValueError(f"a heatmap needs a non-empty 2-D matrix; got shape {M.shape}")
    rows, cols = M.shape
    rows_ = _names(row_names, rows, "row") or [str(i) for i in range(rows)]
    cols_ = _names(col_names, cols, "column") or [str(j) for j in range(cols)]
    if width is None:
        width = min(TWO_COLUMN, max(ONE_COLUMN * 0.8, 0.45 * cols + 1.2))
    inches = {"one": ONE_COLUMN, "two": TWO_COLUMN}.get(width, width) if isinstance(width, str) else float(width)
    fig, ax = new_figure(width=width, aspect=min(3.0, (0.3 * rows + 0.9) / inches))
    im = draw_heatmap(ax, M, rows_, cols_, cmap=cmap, center=center, vmin=vmin, vmax=vmax, annotate=annotate, fmt=fmt)
    fig.colorbar(im, ax=ax, shrink=0.8, label=colorbar_label)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    attach_data(fig, matrix=M, row_names=np.asarray(rows_, dtype=str), col_names=np.asarray(cols_, dtype=str))
    attach_recipe(fig, "heatmap_figure", cmap=cmap, center=center, vmin=vmin, vmax=vmax, annotate=annotate, fmt=fmt,
                  colorbar_label=colorbar_label, title=title, xlabel=xlabel, ylabel=ylabel, width=width)
    return fig


@redrawable("heatmap_figure")
def _redraw_heatmap(data: dict, **options):
    return heatmap_figure(data["matrix"], data["row_names"], data["col_names"], **options)


def read_matrix(path: str | os.PathLike) -> tuple[np.ndarray, list[str], list[str]]:
    """``(matrix (R, C), row_names, col_names)`` from a CSV table.

    The header row names the columns. A first column of text holds the row names (its
    header cell is ignored); otherwise the rows are numbered from 0. Every other cell
    must be a number (``nan`` for a missing one).
    """
    table = read_table(path)
    names = list(table)
    rows = None
    if names and table[names[0]].dtype.kind in "USb":
        rows = [str(x) for x in table[names[0]]]
        names = names[1:]
    text = [n for n in names if table[n].dtype.kind not in "iuf"]
    if text:
        raise ValueError(f"{path}: column {text[0]!r} is not numeric; a matrix table has one optional first column "
                         "of row names and numbers elsewhere")
    if not names or len(table[names[0]]) == 0:
        raise ValueError(f"{path} holds no numbers; expected a header row and one row per matrix row")
    matrix = np.stack([table[n].astype(np.float64) for n in names], axis=1)
    return matrix, rows or [str(i) for i in range(len(matrix))], names


def _cell_text(value: float, fmt: str) -> str:
    """``format(value, fmt)``, without the minus sign of a value that rounds to zero ("-0.00" -> "0.00")."""
    text = format(value, fmt)
    return format(0.0, fmt) if text == format(-0.0, fmt) else text
