"""The trade-off of classifier-free guidance: prompt accuracy against FID-domain, one point per weight."""

from __future__ import annotations

import numpy as np

from latentlab.plots.redraw import redrawable
from latentlab.plots.style import PALETTE, attach_data, attach_recipe, new_figure, styled

__all__ = ["guidance_tradeoff_figure"]


def _column(values, name: str, n: int | None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or (n is not None and arr.size != n):
        raise ValueError(f"{name} must hold one value per guidance weight ({n}); got {arr.size}")
    return arr


@styled
def guidance_tradeoff_figure(guidance, fid, accuracy, *, clip_score=None, xlabel: str = "FID-domain (lower: closer to the data)",
                             ylabel: str = "prompt accuracy (mean over attributes)", title: str | None = None,
                             width: str | float = "one", aspect: float = 0.75):
    """Prompt accuracy against FID-domain, one labelled point per guidance weight, joined in order.

    Parameters
    ----------
    guidance : array ``(W,)``
        The guidance weights (:func:`~latentlab.metrics.text_to_image.guidance_sweep`); the point of
        ``w = 0`` (the unconditional model) is the chance level of the accuracy, drawn as a dotted line.
    fid, accuracy : arrays ``(W,)``
        FID-domain (squared feature units) and mean prompt accuracy in [0, 1] at each weight.
    clip_score : array ``(W,)``, optional
        Mean CLIP score at each weight, kept with the figure's data (the table of the sweep).
    xlabel, ylabel, title : str
    width : "one", "two" or inches
    aspect : float
        Height / width.

    Returns
    -------
    matplotlib.figure.Figure
        Data attached as a table: ``guidance``, ``fid``, ``accuracy`` (and ``clip_score``).
    """
    w = _column(guidance, "guidance", None)
    fid, accuracy = _column(fid, "fid", w.size), _column(accuracy, "accuracy", w.size)
    clip = None if clip_score is None else _column(clip_score, "clip_score", w.size)
    fig, ax = new_figure(width=width, aspect=aspect)
    ax.plot(fid, accuracy, color=PALETTE[0], marker="o", ms=4, lw=1)
    for i, (x, y) in enumerate(zip(fid, accuracy)):
        ax.annotate(f"w={w[i]:g}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=6)
    if (w == 0).any():
        ax.axhline(accuracy[np.flatnonzero(w == 0)[0]], color="0.6", lw=0.6, ls=":", label="w = 0 (chance)")
        ax.legend(frameon=False, loc="best")
    ax.margins(x=0.12, y=0.1)  # room for the labels right of the points
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    attach_data(fig, guidance=w, fid=fid, accuracy=accuracy, **({"clip_score": clip} if clip is not None else {}))
    attach_recipe(fig, "guidance_tradeoff_figure", xlabel=xlabel, ylabel=ylabel, title=title, width=width,
                  aspect=aspect)
    return fig


@redrawable("guidance_tradeoff_figure")
def _redraw_tradeoff(data: dict, **options):
    return guidance_tradeoff_figure(data["guidance"], data["fid"], data["accuracy"], clip_score=data.get("clip_score"),
                                    **options)
