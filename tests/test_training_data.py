"""A model remembers the data it was trained on; commands given the model default to it and say so."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latentlab
from latentlab.cli import cli
from latentlab.data import load
from latentlab.data.spec import DataSpec, choose_data, training_data
from latentlab.data.stats import random_subset
from latentlab.models.base import ImagePool

pytestmark = pytest.mark.usefixtures("one_thread")

# centred faces (one background): not the loader's default nuisance = 1
TRAIN_OPTIONS = {"n": 256, "size": 32, "seed": 0, "nuisance": 0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A VAE trained 2 steps on centred faces (as the quickstart does), and a 2-step classifier of faces."""
    from latentlab.training import train_classifier
    from latentlab.training import train

    folder = tmp_path_factory.mktemp("trained-on")
    overrides = ["train.steps=2", "train.checkpoint_every=0", *(f"data.options.{k}={v}" for k, v in TRAIN_OPTIONS.items())]
    result = train("faces-vae-tiny", out=folder / "vae.pt", overrides=overrides, progress=False)
    train_classifier("faces", out=folder / "classifier.pt", n=128, steps=2, progress=False,
                     data_options={"size": 32, "nuisance": 0})
    return {"folder": folder, "vae": folder / "vae.pt", "classifier": folder / "classifier.pt", "result": result}


def run(args, folder, expect=0):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == expect, result.stdout + result.stderr
    return result.stdout, result.stderr


def test_checkpoint_and_loaded_model_know_their_training_data(trained):
    spec = training_data(trained["vae"])
    assert spec.name == "faces" and spec.options["nuisance"] == 0 and spec.options["n"] == 256
    assert spec.data_options["nuisance"] == 0 and "n" not in spec.data_options and "seed" not in spec.data_options
    assert latentlab.load(trained["vae"]).trained_on == spec == training_data(latentlab.load(trained["vae"]))
    assert trained["result"].model.trained_on == spec  # the model training returns, too
    # the spec reloads the very training samples
    torch.testing.assert_close(spec.load().get(np.arange(4)), load("faces", **TRAIN_OPTIONS).get(np.arange(4)))
    assert str(spec) == "faces (nuisance=0.0)"  # only what differs from the loader's defaults


def test_a_dataset_passed_to_training_is_what_is_recorded():
    from latentlab.training import train

    faces = load("faces", n=64, size=32, nuisance=0.25)  # the config's [data] says faces with defaults
    model = train("faces-vae-tiny", overrides=["train.steps=1", "train.batch_size=8"], dataset=faces,
                  progress=False).model
    assert model.trained_on.name == "faces" and model.trained_on.options["nuisance"] == 0.25
    assert model.trained_on.options["n"] == 64


def test_choose_data_follows_one_rule():
    model = ImagePool(torch.zeros(2, 3, 32, 32))
    model.trained_on = DataSpec("faces", {"n": 100, "size": 32, "seed": 0, "nuisance": 0.0})
    models = {"m.pt": model}
    default = choose_data(None, None, models)  # nothing given: the training data and options, n and seed left out
    assert (default.data, default.options["nuisance"], default.from_model) == ("faces", 0.0, True)
    assert "n" not in default.options and "seed" not in default.options
    assert default.note.startswith("data: faces (nuisance=0.0)") and "m.pt was trained on" in default.note
    same = choose_data("faces", None, models)  # the same dataset named without options: the model's options
    assert same.options == default.options and "nuisance=0.0" in same.note
    merged = choose_data("faces", {"nuisance": 0.5}, models)  # options given replace those one by one
    assert merged.options == {**default.options, "nuisance": 0.5}
    other = choose_data("shapes", {"size": 32}, models)  # other data: as given
    assert other.options == {"size": 32} and not other.from_model and "trained on faces" in other.note
    dataset = load("faces", n=4)
    assert choose_data(dataset, None, models).data is dataset


def test_models_trained_on_different_data_are_refused_without_a_choice():
    a, b, c = (ImagePool(torch.zeros(2, 3, 32, 32)) for _ in range(3))
    a.trained_on = DataSpec("faces", {"nuisance": 0.0, "n": 10})
    b.trained_on = DataSpec("faces", {"nuisance": 1.0, "n": 10})
    c.trained_on = DataSpec("faces", {"nuisance": 0.0, "n": 99, "seed": 3})  # other samples, same data
    with pytest.raises(ValueError, match="trained on different data .*a: faces.*b: faces"):
        choose_data(None, None, {"a": a, "b": b})
    with pytest.raises(ValueError, match="trained on different data"):
        choose_data("faces", None, {"a": a, "b": b})
    assert choose_data("faces", {"nuisance": 0.3}, {"a": a, "b": b}).options["nuisance"] == 0.3  # a choice settles it
    assert choose_data(None, None, {"a": a, "c": c}).options == {"nuisance": 0.0}
    with pytest.raises(ValueError, match="does not record the data it was trained on"):
        choose_data(None, None, {"pool": ImagePool(torch.zeros(2, 3, 32, 32))})


def test_evaluate_defaults_to_the_models_training_data(trained):
    from latentlab.metrics import evaluate_models

    flat = torch.nn.Sequential(torch.nn.AvgPool2d(8), torch.nn.Flatten())  # 48 pixel features: no classifier needed
    for data in (None, "faces"):
        table = evaluate_models([str(trained["vae"])], data, feature_network=flat, n=40)
        assert table.info["data_options"]["nuisance"] == 0.0 and "nuisance=0.0" in table.info["data_note"]
        assert table.info["data"] == "faces (nuisance=0.0)"
    table = evaluate_models([str(trained["vae"])], "faces", data_options={"nuisance": 1.0}, feature_network=flat, n=40)
    assert table.info["data_options"]["nuisance"] == 1.0
    for args in ([], ["--data", "faces"]):
        out, _ = run(["evaluate", trained["vae"], "--classifier", trained["classifier"], "--n", "40", "--quiet", *args],
                     trained["folder"])
        first = out.splitlines()[0]
        assert first.startswith("data: faces (nuisance=0.0)") and "vae.pt" in first
        assert "data faces (nuisance=0.0)" in out  # the table says so too
    out, _ = run(["evaluate", trained["vae"], "--classifier", trained["classifier"], "--n", "40", "--quiet",
                  "--data", "faces", "-o", "nuisance=1"], trained["folder"])
    assert out.splitlines()[0].startswith("data: faces (the loader's defaults)")  # nuisance 1 is the default


def test_intrinsic_dim_of_a_model_defaults_to_its_training_data(trained):
    from latentlab.analysis.intrinsic_dim import model_point_sets

    vae = latentlab.load(trained["vae"])
    lines = []
    points, choice = model_point_sets(vae, name="vae.pt", n=30, seed=1, log=lines.append)
    assert lines == [choice.note] and choice.note.startswith("data: faces (nuisance=0.0)")
    centred = random_subset(load("faces", n=30, seed=1, size=32, nuisance=0.0), 30, seed=1).data
    torch.testing.assert_close(points["data faces"], centred)  # the data actually loaded: centred faces
    assert list(points) == ["samples vae.pt", "data faces", "codes of faces"]
    points, _ = model_point_sets(vae, data="faces", n=30, seed=1)
    torch.testing.assert_close(points["data faces"], centred)
    points, _ = model_point_sets(vae, data="faces", data_options={"nuisance": 1.0}, n=30, seed=1)
    assert not torch.equal(points["data faces"], centred)  # an explicit choice is honoured
    for args in ([], ["--data", "faces"]):
        out, _ = run(["intrinsic-dim", "--model", trained["vae"], "--n", "30", "--boot", "0", "--jacobian-codes", "0",
                      "--no-calibrate", "--quiet", *args], trained["folder"])
        assert out.splitlines()[0].startswith("data: faces (nuisance=0.0)")
        assert "data faces" in out and "codes of faces" in out


def test_encode_defaults_to_the_models_training_data(trained, tmp_path):
    from latentlab.codes import LatentCodes

    out, _ = run(["encode", trained["vae"], "--n", "8", "--out", tmp_path / "codes.npz", "--quiet"], trained["folder"])
    assert out.splitlines()[0].startswith("data: faces (nuisance=0.0)")
    assert LatentCodes.load(tmp_path / "codes.npz").z.shape == (8, 16)
