"""The table across models: digits through a trained classifier, rings, the figure and the CLI."""

import csv
import math
import re
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latentlab.cli
from latentlab.cli.evaluate import evaluate
from latentlab.data import Dataset, load
from latentlab.metrics import (
    EvaluationTable,
    SampleSizeWarning,
    evaluate_classifier_mode_coverage,
    evaluate_models,
)
from latentlab.models.base import Generator, ImagePool
from latentlab.plots.metrics import evaluation_figure
from latentlab.plots.style import figure_data

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.filterwarnings("ignore::latentlab.metrics.SampleSizeWarning")]


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread):
    """A digits classifier (200 steps: every training image right, most with p >= 0.9) and a
    barely trained digits VAE, as checkpoints."""
    from latentlab.training import train_classifier
    from latentlab.training import train

    folder = tmp_path_factory.mktemp("evaluate-models")
    classifier, accuracy = train_classifier("digits", out=folder / "classifier.pt", n=1797, steps=200, progress=False)
    assert accuracy["digit"] > 0.95
    train("digits-vae", out=folder / "vae.pt", overrides=["train.steps=2", "train.checkpoint_every=0"], progress=False)
    return {"classifier": classifier, "classifier_path": folder / "classifier.pt", "vae": folder / "vae.pt"}


def test_a_generator_of_one_digit_covers_one_mode(digits, trained):
    threes = ImagePool(digits.images[torch.as_tensor(digits.attrs["digit"] == 3)])
    res = evaluate_classifier_mode_coverage(threes, trained["classifier"], n=300, seeds=(0, 1))
    assert res["attribute"] == "digit" and res["n_modes"] == 10
    assert res["modes_covered"]["values"] == [1, 1]
    assert all(r.mode_counts.argmax() == 3 for r in res["runs"])
    assert res["reverse_kl"]["mean"] == pytest.approx(math.log(10))
    every = evaluate_classifier_mode_coverage(ImagePool(digits.images), trained["classifier"], n=500, seeds=(0,))
    assert every["modes_covered"]["values"] == [10]
    assert every["high_quality_fraction"]["mean"] > 0.9 and every["reverse_kl"]["mean"] < 0.05
    with pytest.raises(ValueError, match="does not predict 'glasses'; it predicts: digit"):
        evaluate_classifier_mode_coverage(threes, trained["classifier"], attribute="glasses")


def test_table_across_models_on_digits(digits, trained, tmp_path):
    models = {
        "all digits": ImagePool(digits.images),
        "only 3s": ImagePool(digits.images[torch.as_tensor(digits.attrs["digit"] == 3)]),
    }
    table = evaluate_models(models, digits, classifier=trained["classifier"], n=300, seeds=(0, 1))
    assert isinstance(table, EvaluationTable) and table.models == ("all digits", "only 3s")
    assert table.metrics == ("fid", "kid", "precision", "recall", "density", "coverage", "modes_covered",
                             "high_quality_fraction", "reverse_kl")
    assert table.info["fid_label"] == "FID-domain" and table.info["n_modes"] == 10
    assert table.mean("all digits", "modes_covered") == 10 and table.mean("only 3s", "modes_covered") == 1
    assert table.mean("only 3s", "fid") > 5 * table.mean("all digits", "fid")
    assert table.mean("only 3s", "recall") < 0.3 < 0.8 < table.mean("all digits", "recall")
    assert table.mean("only 3s", "coverage") < 0.3 < 0.8 < table.mean("all digits", "coverage")
    fid = table.values["all digits"]["fid"]
    assert fid.shape == (2,) and fid[0] != fid[1]  # two seeds, two sample sets
    assert table.std("all digits", "fid") == pytest.approx(np.std(fid, ddof=1))

    text = str(table).splitlines()
    assert "FID-domain" in text[0] and "modes (of 10)" in text[0] and text[2].startswith("all digits")
    assert "10.0 ± 0.0" in text[2] and "1.0 ± 0.0" in text[3]

    path = table.to_csv(tmp_path / "table.csv")
    rows = list(csv.DictReader(open(path)))
    assert [r["model"] for r in rows] == ["all digits", "only 3s"]
    assert float(rows[1]["modes_covered_mean"]) == 1.0
    with pytest.raises(FileExistsError, match="already exists"):
        table.to_csv(path)
    table.to_csv(path, overwrite=True)

    fig = evaluation_figure(table)
    data = figure_data(fig)
    assert list(data["model"]) == ["all digits", "only 3s"] and "recall_std" in data
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5  # grouped unit scores, FID, KID, modes, KL
    with pytest.raises(ValueError, match="cannot draw metric 'mig'"):
        evaluation_figure(table, metrics=["fid", "mig"])
    # the saved table alone draws the figure again
    from latentlab.plots import redraw, save_figure

    written = save_figure(fig, tmp_path / "table-figure.png", close=False)
    again = redraw(next(p for p in written if p.suffix == ".csv"))
    assert [ax.get_title() for ax in again.axes] == [ax.get_title() for ax in fig.axes]
    assert again._suptitle.get_text() == fig._suptitle.get_text()
    np.testing.assert_allclose(figure_data(again)["fid_mean"], data["fid_mean"])


class PointGenerator(Generator):
    latent_shape = (2,)

    def __init__(self, points: torch.Tensor):
        self.points = points

    def decode(self, z):
        u = torch.special.ndtr(z[:, 0])
        return self.points[(u * len(self.points)).long().clamp_(0, len(self.points) - 1)]


def test_table_on_rings_scores_mode_collapse():
    rings = load("rings", n=2000, seed=0)
    fresh = load("rings", n=2000, seed=1).data
    centres = torch.as_tensor(np.asarray(rings.info["centres"]), dtype=torch.float32)
    near_mode_2 = centres[2] + rings.info["sigma"] * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    table = evaluate_models({"mixture": PointGenerator(fresh), "one mode": PointGenerator(near_mode_2)}, rings, n=500)
    assert table.info["fid_label"] == "FID (data)" and table.info["feature_dim"] == 2 and table.info["n_modes"] == 8
    assert table.mean("mixture", "modes_covered") == 8 and table.mean("one mode", "modes_covered") == 1
    assert table.mean("one mode", "reverse_kl") == pytest.approx(math.log(8))
    assert table.mean("one mode", "recall") < 0.25 < 0.8 < table.mean("mixture", "recall")
    assert table.std("mixture", "fid") == 0.0  # one seed


def test_bad_arguments_are_rejected(digits):
    one = {"a": ImagePool(digits.images)}
    with pytest.raises(ValueError, match="models is empty"):
        evaluate_models({}, digits)
    with pytest.raises(TypeError, match="not a Generator"):
        evaluate_models({"x": object()}, digits)
    with pytest.raises(ValueError, match="seeds must name at least one"):
        evaluate_models(one, digits, seeds=())
    with pytest.raises(ValueError, match="mode_coverage must be 'auto', True or False"):
        evaluate_models(one, digits, feature_network=torch.nn.Flatten(), mode_coverage="yes")
    with pytest.raises(ValueError, match="neither"):
        evaluate_models(one, Dataset(digits.images, name="unlabelled"),
                        feature_network=torch.nn.Flatten(), mode_coverage=True)
    with pytest.raises(ValueError, match=r"real \(20, 1, 28, 28\), generated \(20, 1, 32, 32\)"):
        evaluate_models({"big": ImagePool(torch.zeros(3, 1, 32, 32))}, digits, n=20,
                        feature_network=torch.nn.Flatten(), mode_coverage=False)
    with pytest.raises(ValueError, match="compared in their own space"):
        evaluate_models({"p": PointGenerator(torch.zeros(3, 2))}, load("rings", n=50), feature_network=torch.nn.Flatten())


# -- the command -----------------------------------------------------------------------------


def _invoke(args):
    # the command under a group of latentlab's own kind: errors become one line, exit 2
    group = type(latentlab.cli.cli)(name="latentlab", commands={"evaluate": evaluate})
    return CliRunner().invoke(group, ["evaluate", *map(str, args)])


def test_cli_prints_the_table_and_refuses_to_overwrite(trained, tmp_path):
    out, fig = tmp_path / "table.csv", tmp_path / "fig.png"
    args = [trained["vae"], "--data", "digits", "--classifier", trained["classifier_path"], "--n", 40, "--seeds", 2,
            "--out", out, "--figure", fig, "--device", "cpu"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        result = _invoke(args)
    assert result.exit_code == 0, result.output
    first, *lines = result.stdout.splitlines()
    assert first == f"data: digits (the loader's defaults), the options {trained['vae']} was trained with"
    assert "FID-domain" in lines[0] and "modes (of 10)" in lines[0]
    assert lines[2].startswith(str(trained["vae"]))
    assert out.exists() and fig.exists() and fig.with_name(f"{fig.stem}.data.csv").exists()

    again = _invoke(args)
    assert again.exit_code == 2
    assert again.stderr.strip().count("\n") == 0 and "already exists" in again.stderr and "--force" in again.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        assert _invoke([*args, "--force"]).exit_code == 0


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--n", "0"], "Invalid value for '--n'"),
        (["--option", "size=32"], r"shape \(1, 32, 32\) but the model takes \(1, 28, 28\)"),
        (["--option", "colour=red"], "unknown option 'colour'"),
    ],
)
def test_cli_bad_options_exit_2_with_one_line(trained, extra, match):
    result = _invoke([trained["vae"], "--data", "digits", "--classifier", trained["classifier_path"], *extra])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("latentlab: error:")
    assert re.search(match, result.stderr), result.stderr


class CentroidEncoder(ImagePool):
    """Shapes drawn from a pool; encodes an image as its ink centroid and area (a partly disentangled code)."""

    def encode(self, x):
        ink = (x[:, 0] + 1) / 2  # (N, H, W) in [0, 1]
        h, w = ink.shape[1:]
        mass = ink.sum(dim=(1, 2)).clamp_min(1e-6)
        ys = torch.arange(h, dtype=ink.dtype)[None, :, None]
        xs = torch.arange(w, dtype=ink.dtype)[None, None, :]
        return torch.stack([(ink * xs).sum(dim=(1, 2)) / mass, (ink * ys).sum(dim=(1, 2)) / mass, mass / (h * w)], 1)


def test_disentanglement_columns_score_an_encoder_and_leave_a_decoder_only_model_empty():
    shapes = load("shapes", n=300, size=32, seed=0)
    pool = shapes.images
    flat = torch.nn.Flatten()  # a feature network given by the user: pixels as features
    table = evaluate_models({"centroid": CentroidEncoder(pool), "decoder only": ImagePool(pool)}, shapes,
                            feature_network=flat, n=40, seeds=(0,), disentanglement=True)
    keys = ("betavae", "factorvae", "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap",
            "modularity")
    scored = {k: table.mean("centroid", k) for k in keys}
    assert all(0.0 <= v <= 1.0 for v in scored.values()), scored  # each metric's own correctness: test_disentanglement.py
    assert all(math.isnan(table.mean("decoder only", k)) for k in keys)
