"""One publication style for every latentlab figure.

* colour-blind-safe palette (Okabe & Ito 2008) and a perceptually uniform colormap;
* sizes for one- and two-column papers (inches);
* fonts embedded in vector output (TrueType in PDF, paths in SVG);
* :func:`save_figure` writes vector and 300-dpi raster files, and always the data behind
  the figure (attached by the figure function with :func:`attach_data`) next to it, so
  every figure can be re-plotted from a saved file.
"""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg", force=False)  # figures are files; never need a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from latentlab._io import atomic_path, check_can_write  # noqa: E402

__all__ = [
    "PALETTE",
    "CMAP",
    "DIVERGING_CMAP",
    "ONE_COLUMN",
    "TWO_COLUMN",
    "paper_style",
    "new_figure",
    "attach_data",
    "figure_data",
    "save_figure",
]

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
ONE_COLUMN = 3.35  # inches: a column of a two-column paper (NeurIPS/ICML/IEEE)
TWO_COLUMN = 6.9  # inches: the full text width

RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "image.cmap": CMAP,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "path",
    "figure.dpi": 100,
}


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Context in which figures are drawn with the latentlab style."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width: str | float = "one", aspect: float = 0.75, nrows: int = 1, ncols: int = 1, **kwargs):
    """A styled ``(Figure, axes)`` pair sized for a paper.

    ``width`` is ``"one"`` (one column), ``"two"`` (full width) or a width in inches;
    the height is ``width * aspect``.
    """
    if isinstance(width, str):
        if width not in ("one", "two"):
            raise ValueError(f"width must be 'one', 'two' or a number of inches, not {width!r}")
        width = ONE_COLUMN if width == "one" else TWO_COLUMN
    with paper_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, width * aspect), **kwargs)
    fig.set_layout_engine("constrained")
    return fig, axes


def attach_data(fig, **data) -> None:
    """Record the arrays a figure was drawn from; :func:`save_figure` writes them."""
    store = getattr(fig, "_latentlab_data", {})
    for key, value in data.items():
        store[key] = value
    fig._latentlab_data = store


def figure_data(fig) -> dict:
    """The data attached to a figure with :func:`attach_data`."""
    return dict(getattr(fig, "_latentlab_data", {}))


def _write_data(data: dict, stem: Path) -> list[Path]:
    """Tables (equal-length 1-D columns) go to CSV; anything else to NPZ."""
    arrays = {k: np.asarray(v) for k, v in data.items()}
    lengths = {a.shape[0] if a.ndim == 1 else -1 for a in arrays.values()}
    if len(lengths) == 1 and -1 not in lengths:
        path = stem.with_suffix(".csv")
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(arrays)
            writer.writerows(zip(*[a.tolist() for a in arrays.values()]))
        return [path]
    path = stem.with_suffix(".npz")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return [path]


def save_figure(fig, path: str | os.PathLike, *, formats=None, overwrite: bool = False, close: bool = True) -> list[Path]:
    """Save a figure and the data behind it; return the paths written.

    ``path`` names the main file (``.png``, ``.pdf`` or ``.svg``); ``formats`` adds other
    formats with the same stem (e.g. ``("pdf", "png")``). PNGs are 300 dpi. The attached
    data is written as ``<stem>.csv`` (a table) or ``<stem>.npz``.
    """
    path = Path(path)
    suffixes = [path.suffix.lstrip(".").lower() or "png"]
    for fmt in formats or ():
        if fmt.lower() not in suffixes:
            suffixes.append(fmt.lower())
    allowed = {"png", "pdf", "svg"}
    bad = [s for s in suffixes if s not in allowed]
    if bad:
        raise ValueError(f"cannot save a figure as .{bad[0]}; allowed: {', '.join(sorted(allowed))}")
    targets = [path.with_suffix("." + s) for s in suffixes]
    data = figure_data(fig)
    stem = path.with_suffix("")
    data_files = [stem.with_suffix(".csv"), stem.with_suffix(".npz")] if data else []
    for target in targets + [f for f in data_files if f.exists()]:
        check_can_write(target, overwrite)
    written = []
    with paper_style():
        for target in targets:
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=target.suffix.lstrip("."), dpi=300)
            written.append(target)
    if data:
        written += _write_data(data, stem)
    if close:
        plt.close(fig)
    return written
