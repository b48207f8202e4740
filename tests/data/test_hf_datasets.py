"""Hugging Face ``datasets`` folders written by ``save_to_disk`` load as Datasets."""

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.data import load

datasets = pytest.importorskip("datasets")

COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (128, 128, 128), (250, 250, 0), (0, 0, 0)]


def _table(n=12, side=20):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, len(COLOURS), n)
    images = [Image.new("RGB", (side, side), COLOURS[c]) for c in colour]
    features = datasets.Features({"image": datasets.Image(), "colour": datasets.ClassLabel(names=[
        "red", "green", "blue", "grey", "yellow", "black"]), "bright": datasets.Value("bool"),
        "score": datasets.Value("float32")})
    return datasets.Dataset.from_dict({"image": images, "colour": colour.tolist(),
                                       "bright": [bool(c in (3, 4)) for c in colour],
                                       "score": rng.random(n).tolist()}, features=features), colour


def test_a_saved_dataset_loads_with_its_labels(tmp_path):
    table, colour = _table()
    table.save_to_disk(str(tmp_path / "hf"))
    d = load(tmp_path / "hf", size=16)
    assert len(d) == 12 and d.sample_shape == (3, 16, 16)
    np.testing.assert_array_equal(d.attrs["colour"], colour)
    assert d.attr_levels["colour"][:3] == ["red", "green", "blue"]
    assert set(d.attrs) == {"colour", "bright"}  # the float column is not a label
    x = d.get(np.arange(12))
    expected = torch.tensor([COLOURS[c] for c in colour], dtype=torch.float32) / 127.5 - 1
    torch.testing.assert_close(x.mean(dim=(2, 3)), expected, atol=1e-5, rtol=0)  # each image is its colour
    assert load(tmp_path / "hf", limit=5).get(np.arange(5)).shape == (5, 3, 20, 20)  # native size


def test_splits_of_a_dataset_dict(tmp_path):
    table, _ = _table()
    datasets.DatasetDict({"train": table.select(range(8)), "test": table.select(range(8, 12))}).save_to_disk(
        str(tmp_path / "dd"))
    assert len(load(tmp_path / "dd", split="test")) == 4
    with pytest.raises(ValueError, match="holds the splits train, test; choose one with split="):
        load(tmp_path / "dd")
    with pytest.raises(ValueError, match="no split 'valid'"):
        load(tmp_path / "dd", split="valid")


def test_a_model_trains_on_it(tmp_path):
    from latentlab.training import train

    table, _ = _table(n=32)
    table.save_to_disk(str(tmp_path / "hf"))
    result = train({"model": {"kind": "vae", "latent_dim": 4, "base_channels": 8},
                    "data": {"name": str(tmp_path / "hf"), "options": {"size": 32}},
                    "train": {"steps": 3, "batch_size": 8, "checkpoint_every": 0}}, progress=False)
    assert result.model.trained_on.name == str(tmp_path / "hf")


def test_a_dataset_without_images_is_one_clear_error(tmp_path):
    datasets.Dataset.from_dict({"x": [1.0, 2.0]}).save_to_disk(str(tmp_path / "numbers"))
    with pytest.raises(ValueError, match="has no image column; its columns: x"):
        load(tmp_path / "numbers")
