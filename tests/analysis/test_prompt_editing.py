"""Editing real faces by prompt: the inversion round trip, an attribute switched by the
target prompt, prompt pairs that differ in the attribute alone, and clear errors."""

import numpy as np
import pytest
import torch

import latentlab
from latentlab.analysis.prompt_editing import attribute_prompt_pairs, edit_by_prompt
from latentlab.data import load
from latentlab.data.captions import read_face_caption

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def models(tiny_text_models):
    return latentlab.load(tiny_text_models["ddpm"]).eval(), latentlab.load(tiny_text_models["classifier"])


@pytest.fixture(scope="module")
def young():
    """32 held-out centred young faces without glasses, their attributes, and prompt pairs adding glasses."""
    faces = load("faces", n=200, size=32, seed=321, nuisance=0.0)
    index = np.flatnonzero((faces.attrs["glasses"] == 0) & (faces.attrs["age"] == 0))[:32]
    attrs = {k: v[index] for k, v in faces.attrs.items()}
    return faces.get(index), attrs, attribute_prompt_pairs(attrs, "glasses", seed=0)


def test_prompt_pairs_differ_in_the_attribute_alone(young):
    _, attrs, (source, target) = young
    for i, (s, t) in enumerate(zip(source, target)):
        before, after = read_face_caption(s), read_face_caption(t)
        assert "glasses" not in before and after.pop("glasses") == 1, (s, t)
        assert before == after, (s, t)
        assert after["male"] == attrs["male"][i] and after["age"] == attrs["age"][i] == 0
    hats = attribute_prompt_pairs(attrs, "hat", seed=0)[1]
    assert all(read_face_caption(t)["hat"] == 1 for t in hats)


def test_the_same_prompt_at_guidance_one_gives_the_input_back(models, young):
    model, _ = models
    x, _, (source, _) = young
    edit = edit_by_prompt(model, x, source, source, guidance_scale=1.0)
    assert torch.equal(edit.edited, edit.reconstruction)
    error = (edit.edited - x).abs().mean()
    other_face = (x.roll(1, 0) - x).abs().mean()  # how far apart two different faces are
    assert error < 0.5 * other_face, (float(error), float(other_face))
    assert edit.codes.shape == x.shape and edit.steps == model.config.decode_steps


def test_an_old_prompt_ages_more_faces_than_the_identity_edit(models, young):
    # measured on this fixture (32 young faces, w = 3): "an old man/woman" flips age on 94 %
    # of them, the identity edit on none. The small model learned age and sex, not yet glasses
    # (the glasses edit flipped none of 48 faces at w = 1, 3 and 5), so age is the attribute tested.
    model, clf = models
    x, attrs, _ = young
    who = ["man" if m else "woman" for m in attrs["male"]]
    source, target = [f"a young {w}" for w in who], [f"an old {w}" for w in who]
    identity = edit_by_prompt(model, x, source, source, guidance_scale=1.0).score(clf, "age", "identity")
    older = edit_by_prompt(model, x, source, target, guidance_scale=3.0).score(clf, "age", "older")
    assert older.flip_rate > identity.flip_rate + 0.5, (older.row(), identity.row())
    assert older.changes["age"] > 0.3 > abs(identity.changes["age"])
    assert older.ssim < identity.ssim  # the edit changes the image more than the round trip
    assert older.cycle_error == pytest.approx(identity.cycle_error)  # one inversion under the same source


def test_bad_input_is_named(models, young):
    model, _ = models
    x, attrs, (source, target) = young
    with pytest.raises(ValueError, match="attribute 'age' cannot be added .* choose one of: glasses, hat, beard"):
        attribute_prompt_pairs(attrs, "age")
    with pytest.raises(ValueError, match="target holds 2 prompts for 32 images"):
        edit_by_prompt(model, x, source, target[:2])
    with pytest.raises(ValueError, match=r"is empty: give it some words"):
        edit_by_prompt(model, x[:1], "", "a man with a hat")
    with pytest.raises(ValueError, match="images must be a non-empty batch"):
        edit_by_prompt(model, x[0], source[0], target[0])
    with pytest.raises(ValueError, match="steps must be"):
        edit_by_prompt(model, x[:1], source[0], target[0], steps=0)
