"""Figures for maps between latent spaces: mapped samples, error vs support size, error table.

Each function takes results of :mod:`latentlab.analysis.map_evaluation` (or plain
tensors) and returns a ``Figure`` with its data attached; save it with
:func:`~latentlab.plots.style.save_figure`.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
from matplotlib.table import Table

from latentlab._validation import check_choice, check_int
from latentlab.analysis.map_results import MapEvaluation, MapScores, _fmt
from latentlab.plots.images import tile_images
from latentlab.plots.redraw import redrawable
from latentlab.plots.style import ONE_COLUMN, PALETTE, TWO_COLUMN, attach_data, attach_recipe, new_figure

__all__ = ["mapped_samples_figure", "support_curve_figure", "map_table_figure"]

_METRIC_LABELS = {
    "image_mse": "M: image MSE (per pixel)",
    "image_ssim": "M: SSIM",
    "latent_mse": "L: latent MSE (per coordinate)",
    "latent_rel": "L: unexplained variance of the codes",
}


def mapped_samples_figure(source, mapped, encoded=None, *, labels=("source", "mapped", "encoded"),
                          per_row: int = 16, title: str | None = None, width: float = TWO_COLUMN):
    """Source samples above their counterparts in the destination model.

    Parameters
    ----------
    source : tensor or array, shape (n, C, H, W), values in [-1, 1]
        The source model's samples.
    mapped : same shape
        The destination's decodings of the mapped codes.
    encoded : same shape, optional
        The destination's decodings of its own codes of the source samples (a third row).
    labels : sequence of str
        Names of the rows, in that order.
    per_row : int, default=16
        Samples per row; more samples wrap into further blocks of rows.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [torch.as_tensor(r).detach().float().cpu() for r in (source, mapped, encoded) if r is not None]
    if rows[0].ndim != 4:
        raise ValueError(f"mapped_samples_figure needs images (n, C, H, W); got samples of shape {tuple(rows[0].shape)}")
    if any(r.shape != rows[0].shape for r in rows):
        raise ValueError(f"all rows must have the same shape; got {[tuple(r.shape) for r in rows]}")
    if len(labels) < len(rows):
        raise ValueError(f"got {len(labels)} row labels for {len(rows)} rows")
    check_int(per_row, "per_row", min=1)
    n, c, h, w = rows[0].shape
    cols = min(n, per_row)
    blocks = math.ceil(n / cols)
    blank = torch.ones(1, c, h, w)  # white, like the padding
    order = []
    for b in range(blocks):
        for r in rows:
            chunk = r[b * cols : (b + 1) * cols]
            order.append(torch.cat([chunk, blank.expand(cols - len(chunk), c, h, w)]) if len(chunk) < cols else chunk)
    pad = max(1, h // 16)
    tiled = tile_images(torch.cat(order), nrow=cols, pad=pad)
    fig, ax = new_figure(width=width, aspect=tiled.shape[0] / tiled.shape[1] + (0.05 if title else 0))
    ax.imshow(tiled.squeeze(-1) if c == 1 else tiled, cmap="gray" if c == 1 else None, interpolation="nearest",
              vmin=0, vmax=255)
    centres = [pad + i * (h + pad) + h / 2 for i in range(blocks * len(rows))]
    ax.set_yticks(centres, [labels[i % len(rows)] for i in range(len(centres))])
    ax.set_xticks([])
    ax.tick_params(left=False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    attach_data(fig, **{str(labels[i]): r.numpy() for i, r in enumerate(rows)})
    attach_recipe(fig, "mapped_samples_figure", labels=[str(x) for x in labels[: len(rows)]], per_row=per_row,
                  title=title, width=width)
    return fig


@redrawable("mapped_samples_figure")
def _redraw_mapped_samples(data, *, labels, **options):
    return mapped_samples_figure(*[data[label] for label in labels], labels=labels, **options)


def support_curve_figure(curve, *, metric: str = "image_mse", title: str | None = None, width="one"):
    """Held-out error against the number of support points, one line per kind of map.

    The baselines are horizontal dashed lines; for image metrics the destination's own
    reconstruction error ``R`` (the floor for a map into that space) is a dotted line.

    Parameters
    ----------
    curve : SupportCurve
    metric : {"image_mse", "image_ssim", "latent_mse", "latent_rel"}
    title : str, optional
    width : "one", "two" or inches

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_choice(metric, "metric", tuple(_METRIC_LABELS))
    fig, ax = new_figure(width=width, aspect=1.0)
    data = {"support_size": np.asarray(curve.sizes)}
    for i, (kind, errs) in enumerate(curve.errors.items()):
        ax.plot(curve.sizes, errs[metric], marker="o", ms=3, color=PALETTE[i % len(PALETTE)], label=kind)
        data[kind] = np.asarray(errs[metric])
    styles = iter(PALETTE[len(curve.errors):] + PALETTE)
    for name, scores in curve.baselines.items():
        value = getattr(scores, metric)
        if np.isfinite(value):
            ax.axhline(value, ls="--", lw=0.9, color=next(styles), label=f"{name} (baseline)")
            data[f"baseline {name}"] = np.full(len(curve.sizes), value)
    if metric.startswith("image"):
        recon = curve.recon_mse if metric == "image_mse" else curve.recon_ssim
        if np.isfinite(recon):
            ax.axhline(recon, ls=":", lw=0.9, color="0.3", label="R: dst reconstruction")
            data["R"] = np.full(len(curve.sizes), recon)
    ax.set_xscale("log")
    values = np.concatenate([np.ravel(v) for v in data.values()][1:])
    values = values[np.isfinite(values) & (values > 0)]
    if metric != "image_ssim" and len(values) and values.max() > 10 * values.min():
        ax.set_yscale("log")  # only when the errors span more than a decade
    ax.set_xlabel("support points")
    ax.set_ylabel(_METRIC_LABELS[metric])
    fig.legend(frameon=False, loc="outside lower center", ncol=2)
    title = title or f"{curve.n_test} held-out images"
    ax.set_title(title)
    attach_data(fig, **data)
    attach_recipe(fig, "support_curve_figure", metric=metric, title=title, width=width, kinds=list(curve.errors))
    return fig


@redrawable("support_curve_figure")
def _redraw_support_curve(data, *, metric, kinds, **options):
    from types import SimpleNamespace

    nan = float("nan")
    curve = SimpleNamespace(
        sizes=np.asarray(data["support_size"]), n_test=0,
        errors={kind: {metric: np.asarray(data[kind], dtype=float)} for kind in kinds},
        baselines={k[len("baseline "):]: SimpleNamespace(**{metric: float(np.asarray(v, dtype=float)[0])})
                   for k, v in data.items() if k.startswith("baseline ")},
        recon_mse=float(np.asarray(data["R"], dtype=float)[0]) if "R" in data and metric == "image_mse" else nan,
        recon_ssim=float(np.asarray(data["R"], dtype=float)[0]) if "R" in data and metric == "image_ssim" else nan,
    )
    return support_curve_figure(curve, metric=metric, **options)


def map_table_figure(evaluation, *, title: str | bool | None = None, width="one"):
    """The errors R, L and M of a :class:`MapEvaluation` as a table figure.

    One row per map (baselines in grey, marked ``*``) and a first row with the
    destination's reconstruction error ``R`` in the image columns.

    Parameters
    ----------
    evaluation : MapEvaluation, or dict of str -> MapEvaluation
        A dict (e.g. ``{"VAE -> GAN": ..., "GAN -> VAE": ...}``) draws one block of rows
        per entry, headed by its name and ``R``; the data saved gain a ``pair`` column.
    title : str, False or None
        ``None``: the number of held-out images; ``False``: no title.
    width : "one", "two" or inches

    Returns
    -------
    matplotlib.figure.Figure
    """

    named = isinstance(evaluation, Mapping)
    blocks = list(evaluation.items()) if named else [(None, evaluation)]
    if not blocks:
        raise ValueError("give at least one MapEvaluation")
    header = ["map", "L mse/dim", "L rel", "M mse", "M ssim"]
    cells, grey, block_starts = [], [], []
    data = {k: [] for k in ("pair", "map", "baseline", "L_mse", "L_rel", "M_mse", "M_ssim")}
    for pair, ev in blocks:
        block_starts.append(len(cells) + 1)
        cells.append([("" if pair is None else f"{pair}:  ") + "R: dst reconstruction", "", "",
                      f"{ev.recon_mse:.4f}", _fmt(ev.recon_ssim)])
        grey.append(pair is None)
        rows = list(ev.scores.items())
        for name, s in rows:
            cells.append([("" if pair is None else "    ") + name + ("*" if name in ev.baselines else ""),
                          f"{s.latent_mse:.4f}", f"{s.latent_rel:.3f}", f"{s.image_mse:.4f}", _fmt(s.image_ssim)])
            grey.append(name in ev.baselines)  # R and the baselines: references, not results
        data["pair"] += [pair] * (len(rows) + 1)
        data["map"] += ["R"] + [n for n, _ in rows]
        data["baseline"] += [False] + [n in ev.baselines for n, _ in rows]
        data["L_mse"] += [np.nan] + [s.latent_mse for _, s in rows]
        data["L_rel"] += [np.nan] + [s.latent_rel for _, s in rows]
        data["M_mse"] += [ev.recon_mse] + [s.image_mse for _, s in rows]
        data["M_ssim"] += [ev.recon_ssim] + [s.image_ssim for _, s in rows]
    fig, ax = new_figure(width=width)
    # rows of a fixed height in inches (about 0.22), whatever the width
    fig.set_figheight(ONE_COLUMN * (0.065 * (len(cells) + 1) + (0.06 if title is not False else 0)))
    ax.set_axis_off()
    table = Table(ax, bbox=[0, 0, 1, 1])
    widths = [0.36, 0.16, 0.16, 0.16, 0.16]
    for row, values in enumerate([header, *cells]):
        for col, text in enumerate(values):
            cell = table.add_cell(row, col, widths[col], 1.0, text=text, loc="left" if col == 0 else "right")
            cell.set_linewidth(0.4)
            cell.visible_edges = "B" if row == 0 else ("T" if row in block_starts else "")
            cell.get_text().set_fontsize(7)
            if row > 0 and grey[row - 1]:
                cell.get_text().set_color("0.45")
            if row in block_starts and named:
                cell.get_text().set_fontweight("bold")
    table.auto_set_font_size(False)
    ax.add_table(table)
    if title is not False:
        n_test = sorted({ev.n_test for _, ev in blocks})
        title = title or f"{', '.join(map(str, n_test))} held-out images (* baseline)"
        ax.set_title(title)
    if not named:
        del data["pair"]
    attach_data(fig, **{k: np.asarray(v) for k, v in data.items()})
    attach_recipe(fig, "map_table_figure", title=title, width=width)
    return fig


@redrawable("map_table_figure")
def _redraw_map_table(data, **options):

    pairs = data["pair"] if "pair" in data else np.full(len(data["map"]), "")
    evaluations = {}
    for pair in dict.fromkeys(str(p) for p in pairs):
        rows = [i for i, p in enumerate(pairs) if str(p) == pair]
        recon = next(i for i in rows if str(data["map"][i]) == "R")
        scores = {str(data["map"][i]): MapScores(float(data["L_mse"][i]), float(data["L_rel"][i]), float(data["M_mse"][i]),
                                                 float(data["M_ssim"][i])) for i in rows if i != recon}
        baselines = tuple(str(data["map"][i]) for i in rows if i != recon and str(data["baseline"][i]) in ("True", "1"))
        evaluations[pair] = MapEvaluation(scores, baselines, float(data["M_mse"][recon]), float(data["M_ssim"][recon]))
    return map_table_figure(evaluations if "pair" in data else evaluations[""], **options)
