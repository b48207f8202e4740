"""Draw a saved figure again from its data file alone.

:func:`~latentlab.plots.style.save_figure` writes the data behind a figure (``.npz`` or
``.csv``) and, for every figure function of this package, a recipe: the name of the
function that draws the figure from that data and the plain keyword options it was
called with. :func:`redraw` reads both and returns the same figure; options can be
changed on the way (``redraw(path, width="two")``).

Only drawers registered here are called: a data file names one, it never supplies code.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Callable

from latentlab._io import read_npz
from latentlab.errors import OptionError
from latentlab.plots.style import _RECIPE_FORMAT, _RECIPE_VERSION, RECIPE_KEY, _file_sha256, read_table

__all__ = ["redrawable", "drawers", "load_figure_data", "redraw"]

_DRAWERS: dict[str, Callable] = {}
# every module of figure functions; the lightweight ones are imported by latentlab.plots itself
_FIGURE_MODULES = ("latentlab.plots", "latentlab.plots.aae", "latentlab.plots.intrinsic_dim", "latentlab.plots.maps",
                   "latentlab.plots.metrics", "latentlab.plots.text_to_image", "latentlab.plots.training")


def redrawable(name: str):
    """Decorator registering ``draw(data: dict, **options) -> Figure`` under ``name``.

    A figure function records ``attach_recipe(fig, name, **options)``; :func:`redraw`
    then calls the registered ``draw`` with the saved data and those options.
    """

    def register(draw):
        if name in _DRAWERS and _DRAWERS[name] is not draw:
            raise ValueError(f"a drawer named {name!r} is already registered")
        _DRAWERS[name] = draw
        return draw

    return register


def drawers() -> list[str]:
    """Names of the figures :func:`redraw` can draw."""
    import importlib

    for module in _FIGURE_MODULES:  # importing a figure module registers its drawers
        importlib.import_module(module)
    return sorted(_DRAWERS)


def _parse_recipe(text: str, where) -> dict:
    try:
        recipe = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} holds a damaged figure recipe ({exc})") from None
    if not isinstance(recipe, dict) or recipe.get("format") != _RECIPE_FORMAT or "drawer" not in recipe:
        raise ValueError(f"{where} is not a latentlab figure recipe")
    if int(recipe.get("version", 0)) > _RECIPE_VERSION:
        raise ValueError(f"{where} was written by a newer latentlab (recipe version {recipe['version']}); "
                         "upgrade latentlab to redraw it")
    return recipe


def load_figure_data(path: str | os.PathLike) -> tuple[dict, dict | None]:
    """``(data, recipe)`` of a data file written by :func:`~latentlab.plots.style.save_figure`.

    ``data`` maps names to arrays, as attached to the figure; ``recipe`` is
    ``{"drawer": name, "options": {...}, ...}`` or ``None`` when the figure recorded none.
    A ``.csv`` table's recipe is read from the ``.json`` beside it (``fig.data.csv`` → ``fig.data.json``).
    """
    path = Path(path)
    if not path.is_file():
        guess = path.with_name(f"{path.stem}.data{path.suffix}")
        hint = f" (the data of {path.stem}.png is {guess.name})" if guess.is_file() else ""
        raise FileNotFoundError(f"no figure data at {path}{hint}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        data = read_npz(path, what="figure data file (saved beside a figure)")
        text = data.pop(RECIPE_KEY, None)
        return data, None if text is None else _parse_recipe(str(text), path)
    if suffix == ".csv":
        data = read_table(path)
        sidecar = path.with_suffix(".json")
        if not sidecar.is_file():
            return data, None
        recipe = _parse_recipe(sidecar.read_text(), sidecar)
        if recipe.get("data_sha256") != _file_sha256(path):
            raise ValueError(f"{sidecar} was written with another version of {path.name}; "
                             "the table was changed or replaced after the figure was saved")
        return data, recipe
    raise ValueError(f"{path} is not a figure's data file; give the .data.npz or .data.csv saved beside the figure")


def redraw(path: str | os.PathLike, **options):
    """The figure saved with the data file ``path`` (``.npz`` or ``.csv``), drawn again.

    Parameters
    ----------
    path : str or Path
        Data file written by :func:`~latentlab.plots.style.save_figure`.
    **options
        Replace options the figure was drawn with (e.g. ``width="two"``, ``title=...``).

    Returns
    -------
    matplotlib.figure.Figure
        With the same data attached, so it can be saved again.
    """
    data, recipe = load_figure_data(path)
    known = drawers()
    if recipe is None:
        raise ValueError(f"{path} holds data but no recipe: it was saved by a figure function that records none, "
                         f"or by an older latentlab; redraw can draw: {', '.join(known)}")
    name = recipe["drawer"]
    if name not in _DRAWERS:
        raise ValueError(f"{path} was drawn by {name!r}, which this latentlab cannot draw; it can draw: {', '.join(known)}")
    merged = {**recipe.get("options", {}), **options}
    params = inspect.signature(_DRAWERS[name]).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        taken = list(params)[1:]
        unknown = [k for k in options if k not in taken]
        if unknown:
            raise OptionError(f"{name} does not take the option {unknown[0]!r}; it takes: {', '.join(taken) or 'none'}")
    try:
        return _DRAWERS[name](data, **merged)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise OptionError(f"{name} does not take that option ({exc})") from None
        raise
