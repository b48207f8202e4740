"""Figures for papers: functions that take data and return a ``matplotlib.figure.Figure``.

Saving is separate (:func:`save_figure`) and always writes the data behind a figure;
:func:`redraw` draws a saved figure again from that data file alone.
"""

from latentlab.plots.curves import curve_figure, curves_from_table, mean_band
from latentlab.plots.directions import (
    cosine_heatmap,
    distance_histogram,
    entanglement_figure,
    model_traversal_figure,
    traversal_figure,
)
from latentlab.plots.heatmaps import draw_heatmap, heatmap_figure, read_matrix
from latentlab.plots.images import attribute_labels, growth_figure, image_grid, image_rows_figure, tile_images, to_uint8
from latentlab.plots.projections import codes_labels, embed, embedding_figure, projection_figure
from latentlab.plots.redraw import drawers, load_figure_data, redraw, redrawable
from latentlab.plots.style import (
    ONE_COLUMN,
    PALETTE,
    TWO_COLUMN,
    attach_data,
    attach_recipe,
    figure_data,
    figure_recipe,
    new_figure,
    paper_style,
    read_table,
    save_figure,
)

__all__ = [
    "image_grid", "image_rows_figure", "growth_figure", "tile_images", "to_uint8", "attribute_labels", "ONE_COLUMN", "TWO_COLUMN", "PALETTE",
    "attach_data", "attach_recipe", "figure_data", "figure_recipe", "new_figure", "paper_style", "save_figure",
    "read_table", "redraw", "redrawable", "drawers", "load_figure_data",
    "embed", "projection_figure", "embedding_figure", "codes_labels",
    "curve_figure", "mean_band", "curves_from_table",
    "heatmap_figure", "draw_heatmap", "read_matrix",
    "traversal_figure", "model_traversal_figure", "cosine_heatmap", "entanglement_figure", "distance_histogram",
]
