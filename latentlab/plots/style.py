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
import functools
import json
import os
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg", force=False)  # figures are files; never need a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from latentlab._io import FileArrays, atomic_path, check_can_write, figure_data_paths, note_input  # noqa: E402

__all__ = [
    "PALETTE",
    "CMAP",
    "DIVERGING_CMAP",
    "ONE_COLUMN",
    "TWO_COLUMN",
    "paper_style",
    "styled",
    "new_figure",
    "attach_data",
    "attach_recipe",
    "figure_data",
    "figure_recipe",
    "save_figure",
    "read_table",
    "RECIPE_KEY",
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


def styled(draw):
    """Decorator: run a figure function inside :func:`paper_style`, so that artists added
    after :func:`new_figure` (colour bars, legends, texts) get the latentlab style too."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with paper_style():
            return draw(*args, **kwargs)

    return wrapper


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


# Key of the recipe inside a figure's .npz data file (a CSV table gets a <stem>.data.json sidecar).
RECIPE_KEY = "__figure__"
_RECIPE_FORMAT = "latentlab-figure"
_RECIPE_VERSION = 1


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a figure option must be a plain value (str, number, bool, None, list, dict), not {type(value).__name__}")


def attach_recipe(fig, drawer: str, **options) -> None:
    """Record how to redraw ``fig`` from its attached data.

    ``drawer`` is a name registered with :func:`latentlab.plots.redraw.redrawable`;
    ``options`` are the plain keyword options (str, numbers, bools, None, lists) it was
    drawn with. :func:`save_figure` stores both with the data, and
    :func:`latentlab.plots.redraw` calls ``drawer(data, **options)`` to draw the figure again.
    """
    try:
        options = json.loads(json.dumps(options, default=_plain))  # tuples -> lists, numpy scalars -> Python
    except TypeError as exc:
        raise TypeError(f"cannot record the options of {drawer!r}: {exc}") from None
    fig._latentlab_recipe = {"drawer": str(drawer), "options": options}


def figure_recipe(fig) -> dict | None:
    """``{"drawer": name, "options": {...}}`` recorded by :func:`attach_recipe`, or ``None``."""
    recipe = getattr(fig, "_latentlab_recipe", None)
    return None if recipe is None else {"drawer": recipe["drawer"], "options": dict(recipe["options"])}


def _recipe_json(recipe: dict, **extra) -> str:
    from latentlab import __version__

    return json.dumps({"format": _RECIPE_FORMAT, "version": _RECIPE_VERSION, "latentlab_version": __version__,
                       **recipe, **extra}, sort_keys=True)


def _file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes (ties a ``.json`` recipe to the table it was written with)."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _is_table(arrays: dict) -> bool:
    lengths = {a.shape[0] if a.ndim == 1 else -1 for a in arrays.values()}
    return len(lengths) == 1 and -1 not in lengths


def _write_data(data: dict, figure: Path, recipe: dict | None = None, overwrite: bool = False) -> list[Path]:
    """Tables (equal-length 1-D columns) go to CSV; anything else to NPZ (see :func:`figure_data_paths`).

    The recipe goes inside the NPZ (key :data:`RECIPE_KEY`); a CSV stays a plain table and
    the recipe goes to a ``.json`` sidecar beside it.
    """
    csv_path, npz_path, sidecar = figure_data_paths(figure)
    arrays = {k: np.asarray(v) for k, v in data.items()}
    if _is_table(arrays):
        path = csv_path
        with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(arrays)
            writer.writerows(zip(*[a.tolist() for a in arrays.values()]))
        written = [path]
        if recipe is not None:
            # the hash lets redraw refuse a recipe left beside a table it was not written with
            text = _recipe_json(recipe, data=path.name, data_sha256=_file_sha256(path))
            with atomic_path(sidecar, overwrite=overwrite) as tmp:
                tmp.write_text(text + "\n")
            written.append(sidecar)
        return written
    path = npz_path
    if recipe is not None:
        arrays[RECIPE_KEY] = np.asarray(_recipe_json(recipe))
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return [path]


def _parse_column(values: list[str]) -> np.ndarray:
    """Strings of one CSV column -> int, float, bool or str array, the narrowest that reads them all."""
    if values and all(v in ("True", "False") for v in values):
        return np.asarray([v == "True" for v in values])
    for cast in (int, float):
        try:
            return np.asarray([cast(v) for v in values])
        except ValueError:
            pass
    return np.asarray(values, dtype=str)


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a CSV table with a header row into ``{column: 1-D array}`` (columns in file order).

    Each column becomes ints, floats, booleans (``True``/``False``) or strings, whichever
    reads all its cells; so a table written by :func:`save_figure` reads back as written.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no table at {path}")
    note_input(path)
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        raise ValueError(f"{path} is empty; expected a CSV table with a header row")
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header):
        raise ValueError(f"{path} names a column twice in its header: {', '.join(header)}")
    bad = [i + 2 for i, row in enumerate(body) if len(row) != len(header)]
    if bad:
        raise ValueError(f"{path}: line {bad[0]} has a different number of cells than the header ({len(header)})")
    columns = {name: _parse_column([row[j] for row in body]) for j, name in enumerate(header)}
    return FileArrays(columns, path, "CSV table with that column")


def save_figure(fig, path: str | os.PathLike, *, formats=None, overwrite: bool = False, close: bool = True) -> list[Path]:
    """Save a figure and the data behind it; return the paths written.

    ``path`` names the main file (``.png``, ``.pdf`` or ``.svg``); ``formats`` adds other
    formats with the same stem (e.g. ``("pdf", "png")``). PNGs are 300 dpi. The attached
    data is written as ``<stem>.data.csv`` (a table) or ``<stem>.data.npz``
    (:func:`figure_data_paths`). When the figure function recorded a recipe
    (:func:`attach_recipe`), it is stored with the data (inside the ``.npz``, or as
    ``<stem>.data.json`` beside a ``.csv``) and :func:`latentlab.plots.redraw`
    draws the figure again from the data file alone.
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
    if RECIPE_KEY in data:
        raise ValueError(f"{RECIPE_KEY!r} is reserved for the figure's recipe; rename that data array")
    recipe = figure_recipe(fig) if data else None
    data_files = figure_data_paths(path)[:2 + (recipe is not None)] if data else []
    for target in targets + [f for f in data_files if f.exists()]:
        check_can_write(target, overwrite)
    written = []
    with paper_style():
        for target in targets:
            with atomic_path(target, overwrite=overwrite) as tmp:
                fig.savefig(tmp, format=target.suffix.lstrip("."), dpi=300)
            written.append(target)
    if data:
        written += _write_data(data, path, recipe, overwrite)
    if close:
        plt.close(fig)
    return written
