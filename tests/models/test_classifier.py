import numpy as np
import pytest
import torch

import latentlab
from latentlab.data import Dataset, load
from latentlab.training import train_classifier


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread):  # small convolutions: one thread is faster on a shared 2-core machine
    out = tmp_path_factory.mktemp("clf") / "clf.pt"
    clf, acc = train_classifier("faces", out=out, n=2000, steps=150, progress=False)
    return out, clf, acc


def test_learns_visible_attributes_on_held_out_faces(trained):
    _, _, acc = trained
    for name in ("glasses", "hat", "age"):
        assert acc[name] > 0.9, (name, acc)
    assert set(acc) == set(load("faces", n=4).attribute_names)


def test_checkpoint_round_trip_and_predictions(trained):
    out, clf, _ = trained
    again = latentlab.load(out)
    faces = load("faces", n=64, seed=123)
    np.testing.assert_allclose(again.scores(faces.images)["glasses"], clf.scores(faces.images)["glasses"], rtol=1e-5, atol=1e-5)
    proba = again.predict_proba(faces.images)
    assert proba["glasses"].shape == (64,) and proba["hair_color"].shape == (64, len(faces.attr_levels["hair_color"]))
    assert np.allclose(proba["hair_color"].sum(1), 1, atol=1e-5)
    assert set(np.unique(again.predict(faces.images)["smile"])) <= {0, 1}


def test_bad_use(trained):
    _, clf, _ = trained
    from latentlab.models.base import Generator

    assert not isinstance(clf, Generator)
    with pytest.raises(ValueError, match="lacks attribute 'glasses'"):
        clf.evaluate(Dataset(torch.zeros(4, 3, 32, 32), attrs={"other": [0, 1, 0, 1]}))
    with pytest.raises(ValueError, match="has no attributes"):
        latentlab.training.train({"model": {"kind": "classifier"}}, dataset=Dataset(torch.zeros(8, 3, 32, 32)), progress=False)


def test_a_fixed_dataset_is_split_not_redrawn(tmp_path):
    # digits holds 1,797 images whatever the seed: the held-out part must be other images
    clf, accuracy = train_classifier("digits", out=tmp_path / "digits.pt", steps=30, held_out=0.2, progress=False)
    assert set(accuracy) == {"digit"}
    assert accuracy["digit"] > 0.5  # ten classes: chance is 0.1 on the held-out images
    assert clf.attr_levels["digit"] == [str(d) for d in range(10)]
