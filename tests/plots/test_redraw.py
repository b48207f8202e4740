"""Every figure is reproducible from its saved data file; vector output needs no fonts."""

import json

import numpy as np
import pytest
import torch

from latentlab.analysis.edit_evaluation import EditEffects
from latentlab.plots import (
    cosine_heatmap,
    curve_figure,
    distance_histogram,
    drawers,
    embedding_figure,
    entanglement_figure,
    figure_data,
    growth_figure,
    heatmap_figure,
    image_grid,
    load_figure_data,
    new_figure,
    projection_figure,
    redraw,
    save_figure,
    traversal_figure,
)
from latentlab.analysis.intrinsic_dim import IDRow
from latentlab.analysis.map_evaluation import MapEvaluation, MapScores
from latentlab.plots.aae import petal_figure, style_transfer_figure
from latentlab.plots.intrinsic_dim import id_comparison_figure
from latentlab.plots.maps import map_table_figure, mapped_samples_figure, support_curve_figure
from latentlab.plots.style import attach_data
from latentlab.plots.text_to_image import guidance_tradeoff_figure
from latentlab.plots.training import training_curves_figure

RNG = np.random.default_rng(0)


def _effects(directions):
    m = RNG.normal(size=(3, len(directions)))
    return EditEffects(attributes=["glasses", "smile", "age"], directions=directions, matrix=m,
                       flip_rate={d: 0.5 for d in directions}, off_target={d: 0.1 for d in directions}, step=2.0, n=8)


FIGURES = {
    "image_grid": lambda: image_grid(torch.rand(5, 3, 8, 8) * 2 - 1, nrow=3, labels=list("abcde"), title="grid"),
    "image_grid_gray": lambda: image_grid(torch.rand(4, 1, 8, 8) * 2 - 1),
    "growth": lambda: growth_figure([torch.rand(3, 3, r, r) * 2 - 1 for r in (4, 8, 16)], title="growth"),
    "traversal": lambda: traversal_figure(torch.rand(2, 3, 3, 8, 8) * 2 - 1, [-2, 0, 2], title="glasses"),
    "cosine": lambda: cosine_heatmap(RNG.normal(size=(3, 6)), ["a", "b", "c"], title="cos"),
    "entanglement": lambda: entanglement_figure(_effects(["glasses", "smile"]), _effects(["glasses|age"])),
    "entanglement_one": lambda: entanglement_figure(_effects(["glasses"])),
    "histogram": lambda: distance_histogram(RNG.normal(size=30), RNG.integers(0, 2, 30), attribute="glasses",
                                            level_names=("without", "with"), bins=7),
    "heatmap": lambda: heatmap_figure(RNG.normal(size=(2, 3)), ["r0", "r1"], ["c0", "c1", "c2"], center=0.0,
                                      fmt="+.1f", title="h"),
    "curves": lambda: curve_figure([1, 2, 3], {"a": RNG.normal(size=(4, 3)), "b": RNG.normal(size=(1, 3))},
                                   band="std", ylabel="loss", logy=False, markers=True),
    "projection": lambda: projection_figure(RNG.normal(size=(30, 2, 3)), RNG.integers(0, 3, 30), method="pca",
                                            attribute="hair", level_names=["black", "brown", "blond"]),
    "projection_continuous": lambda: projection_figure(RNG.normal(size=(30, 4)), RNG.normal(size=30), method="pca"),
    "embedding_strings": lambda: embedding_figure(RNG.normal(size=(12, 2)), np.array(list("xyz") * 4), ticks=False),
    "map_table": lambda: map_table_figure(_map_evaluation()),
    "map_table_pairs": lambda: map_table_figure({"VAE -> GAN": _map_evaluation(), "GAN -> VAE": _map_evaluation()}),
    "mapped_samples": lambda: mapped_samples_figure(torch.rand(3, 3, 8, 8) * 2 - 1, torch.rand(3, 3, 8, 8) * 2 - 1,
                                                    labels=("GAN", "VAE"), per_row=2, title="mapped"),
    "support_curve": lambda: support_curve_figure(_support_curve()),
    "id_comparison": lambda: id_comparison_figure([IDRow("faces", "twonn", 9.5, (8.0, 11.0), 100, 3072),
                                                   IDRow("faces", "mle", 8.1, None, 100, 3072),
                                                   IDRow("codes", "twonn", 5.2, (4.0, 6.5), 100, 16)]),
    "petals": lambda: petal_figure(RNG.normal(size=(40, 2)), RNG.integers(0, 3, 40), RNG.normal(size=(500, 2)),
                                   means=RNG.normal(size=(3, 2)), level_names=["a", "b", "c"], attribute="class"),
    "style_transfer": lambda: style_transfer_figure(torch.rand(3, 1, 8, 8) * 2 - 1, torch.rand(3, 4, 1, 8, 8) * 2 - 1,
                                                    class_names=list("wxyz"), title="style"),
    "training_curves": lambda: training_curves_figure({"VAE": {"step": np.arange(1.0, 6.0), "loss": RNG.normal(size=5)},
                                                       "GAN": {"step": np.arange(1.0, 4.0), "loss_d": RNG.normal(size=3),
                                                               "loss_g": RNG.normal(size=3)}}),
    "guidance_tradeoff": lambda: guidance_tradeoff_figure([0, 1, 3, 8], RNG.uniform(1, 9, 4), RNG.uniform(size=4),
                                                          clip_score=RNG.uniform(20, 30, 4), title="w"),
}


def _map_evaluation():
    scores = {"affine": MapScores(*RNG.uniform(size=4)), "mean code": MapScores(*RNG.uniform(size=3), float("nan"))}
    return MapEvaluation(scores, ("mean code",), float(RNG.uniform()), float(RNG.uniform()), 64)


def _support_curve():
    from types import SimpleNamespace

    sizes = np.array([10, 100, 1000])
    errors = {kind: {"image_mse": np.sort(RNG.uniform(0.02, 0.2, 3))[::-1].copy()} for kind in ("affine", "ridge")}
    baselines = {"mean code": SimpleNamespace(image_mse=0.3), "random orthogonal": SimpleNamespace(image_mse=0.25)}
    return SimpleNamespace(sizes=sizes, errors=errors, baselines=baselines, recon_mse=0.015, recon_ssim=0.7, n_test=64)


def _same_data(a: dict, b: dict):
    assert list(a) == list(b)
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.dtype.kind in "US":
            assert x.tolist() == y.tolist(), key
        else:
            np.testing.assert_array_equal(x, y, err_msg=key)


@pytest.mark.parametrize("kind", list(FIGURES))
def test_saved_data_redraws_the_same_figure(kind, tmp_path, render):
    fig = FIGURES[kind]()
    before = render(fig)
    written = save_figure(fig, tmp_path / "fig.png", close=False)
    data_file = next(p for p in written if p.suffix in (".npz", ".csv"))
    again = redraw(data_file)
    _same_data(figure_data(fig), figure_data(again))
    after = render(again)
    assert before.shape == after.shape and np.array_equal(before, after)
    # and once more from the redrawn figure's own files
    written = save_figure(again, tmp_path / "again.png")
    assert render(redraw(next(p for p in written if p.suffix in (".npz", ".csv")))).shape == before.shape


def test_every_figure_function_of_the_package_is_covered():
    assert set(drawers()) >= {"image_grid", "traversal_figure", "cosine_heatmap", "entanglement_figure",
                              "distance_histogram", "heatmap_figure", "curve_figure", "embedding_figure",
                              "map_table_figure", "mapped_samples_figure", "support_curve_figure", "id_comparison_figure", "evaluation_figure",
                              "training_curves_figure", "petal_figure", "style_transfer_figure",
                              "guidance_tradeoff_figure"}


def test_options_can_be_changed_when_redrawing(tmp_path):
    save_figure(heatmap_figure(np.eye(2), title="old"), tmp_path / "h.png")
    fig = redraw(tmp_path / "h.data.npz", width="two", title="new")
    assert fig.get_figwidth() == pytest.approx(6.9) and fig.axes[0].get_title() == "new"
    with pytest.raises(TypeError, match="heatmap_figure does not take that option"):
        redraw(tmp_path / "h.data.npz", colour="red")


def test_a_table_keeps_its_recipe_beside_it_and_refuses_a_changed_table(tmp_path):
    fig = distance_histogram([0.1, -0.2, 0.3], [1, 0, 1], attribute="glasses")
    written = save_figure(fig, tmp_path / "hist.png")
    assert [p.name for p in written] == ["hist.png", "hist.data.csv", "hist.data.json"]
    table = np.genfromtxt(tmp_path / "hist.data.csv", delimiter=",", names=True)  # a plain table, no comments
    assert table.dtype.names == ("distance", "label") and len(table) == 3
    recipe = json.loads((tmp_path / "hist.data.json").read_text())
    assert recipe["drawer"] == "distance_histogram" and recipe["options"]["attribute"] == "glasses"
    data, _ = load_figure_data(tmp_path / "hist.data.csv")
    assert data["label"].dtype.kind == "i" and data["label"].tolist() == [1, 0, 1]
    with open(tmp_path / "hist.data.csv", "a") as f:
        f.write("0.5,0\n")
    with pytest.raises(ValueError, match="hist.data.json was written with another version of hist.data.csv"):
        redraw(tmp_path / "hist.data.csv")
    # the sidecar is an output too: never replaced without overwrite
    (tmp_path / "other.data.json").write_text("{}")
    with pytest.raises(FileExistsError, match="other.data.json already exists"):
        save_figure(distance_histogram([0.1, -0.2], [1, 0]), tmp_path / "other.png")


def test_data_without_a_recipe_or_not_a_data_file_is_refused(tmp_path):
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 1])
    attach_data(fig, x=np.array([0, 1]), y=np.array([0, 1]))
    save_figure(fig, tmp_path / "plain.png")
    with pytest.raises(ValueError, match="no recipe.*curve_figure"):
        redraw(tmp_path / "plain.data.csv")
    with pytest.raises(ValueError, match="not a figure's data file"):
        redraw(tmp_path / "plain.png")
    with pytest.raises(FileNotFoundError):
        redraw(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match=r"the data of plain.png is plain.data.csv"):
        redraw(tmp_path / "plain.csv")


def test_vector_output_embeds_truetype_fonts_and_svg_needs_none(tmp_path):
    fig = heatmap_figure(RNG.normal(size=(2, 2)), ["a", "b"], ["c", "d"], title="fonts")
    save_figure(fig, tmp_path / "f.pdf", formats=("svg", "png"))
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # Type 42: TrueType outlines embedded
    svg = (tmp_path / "f.svg").read_text()
    assert "<text" not in svg and "<path" in svg  # glyphs drawn as paths
    from PIL import Image

    with Image.open(tmp_path / "f.png") as png:
        assert png.info["dpi"][0] == pytest.approx(300, abs=1)
