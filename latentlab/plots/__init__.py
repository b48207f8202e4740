"""Figures for papers: functions that take data and return a ``matplotlib.figure.Figure``.

Saving is separate (:func:`save_figure`) and always writes the data behind a figure.
"""

from latentlab.plots.images import image_grid, tile_images, to_uint8
from latentlab.plots.style import (
    ONE_COLUMN,
    PALETTE,
    TWO_COLUMN,
    attach_data,
    figure_data,
    new_figure,
    paper_style,
    save_figure,
)

__all__ = [
    "image_grid", "tile_images", "to_uint8", "ONE_COLUMN", "TWO_COLUMN", "PALETTE",
    "attach_data", "figure_data", "new_figure", "paper_style", "save_figure",
]
