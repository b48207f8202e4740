"""The evaluation chart: KID drawn x 10^3 with its axis saying so, raw values in the data."""

import numpy as np
import pytest

from latentlab.metrics import EvaluationTable
from latentlab.plots import figure_data, redraw, save_figure
from latentlab.plots.metrics import evaluation_figure

KID = {"VAE": [2.1e-3, 2.5e-3], "GAN": [0.8e-3, 1.0e-3]}


def table():
    values = {m: {"fid": np.array([30.0, 32.0]), "kid": np.array(KID[m]), "precision": np.array([0.7, 0.75]),
                  "recall": np.array([0.5, 0.55])} for m in KID}
    return EvaluationTable(models=tuple(KID), metrics=("fid", "kid", "precision", "recall"), values=values,
                           seeds=(0, 1), info={"data": "faces"})


def kid_axes(fig):
    return next(ax for ax in fig.axes if ax.get_title() == "KID")


def test_kid_is_drawn_times_a_thousand_and_saved_raw(tmp_path):
    fig = evaluation_figure(table())
    ax = kid_axes(fig)
    assert ax.get_ylabel() == "KID × 10³"
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx([1e3 * np.mean(KID["VAE"]), 1e3 * np.mean(KID["GAN"])])
    assert 0.5 < max(heights) < 5  # ticks of a few units, not 0.002
    data = figure_data(fig)
    assert data["kid_mean"].tolist() == pytest.approx([np.mean(KID["VAE"]), np.mean(KID["GAN"])])  # raw
    assert data["kid_std"][0] == pytest.approx(np.std(KID["VAE"], ddof=1))
    # other single-metric panels are not rescaled
    fid_ax = next(a for a in fig.axes if a.get_title() == "FID")
    assert [b.get_height() for b in fid_ax.patches] == pytest.approx([31.0, 31.0])
    written = save_figure(fig, tmp_path / "eval.png", close=False)
    again = redraw(next(p for p in written if p.suffix == ".csv"))
    assert kid_axes(again).get_ylabel() == "KID × 10³"
    assert [b.get_height() for b in kid_axes(again).patches] == pytest.approx(heights)
