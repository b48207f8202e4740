"""Directions from text: the pull-back on planted linear encoders, and CLIP on the tiny faces models.

The planted cases have exact answers (a synthetic linear "image encoder" e = A z + b).
The model cases use the session's tiny GAN and classifier (tests/analysis/conftest.py)
and its small CLIP (tests/conftest.py, trained on other faces than the GAN): its
zero-shot labels must agree with the classifier's far above chance, the direction they
give must lie close to the classifier's, and the text direction must flip glasses on
where a random direction does not.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone

import latentlab
from latentlab.analysis.edit_evaluation import edit_effects
from latentlab.analysis.results import DirectionResult
from latentlab.analysis.text_directions import (
    TextDirection, clip_label_samples, default_prompts, pull_back, text_target, zero_shot_scores,
)
from latentlab.analysis.maps import LatentMap
from latentlab.analysis.workflow import evaluate_directions, find_direction, find_text_direction
from latentlab.codes import label_samples
from latentlab.data.tokenizer import UnknownWordsWarning

pytestmark = pytest.mark.usefixtures("one_thread")


# -- planted linear encoders ------------------------------------------------------------------
def _planted(latent=8, embed=12, n=3000, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((embed, latent)) * rng.uniform(0.1, 2.0, latent)  # unequal column scales
    b = rng.standard_normal(embed)
    Z = rng.standard_normal((n, latent))
    E = Z @ A.T + b + noise * rng.standard_normal((n, embed))
    return A, b, Z, E, rng


def test_pull_back_is_the_gradient_of_the_score_and_beats_every_other_step():
    A, b, Z, E, rng = _planted()
    t = rng.standard_normal(A.shape[0])
    fitted = TextDirection(t).fit(Z, E)
    expected = A.T @ t / np.linalg.norm(A.T @ t)
    np.testing.assert_allclose(fitted.direction_, expected, atol=1e-9)
    # no unit step raises <A z, t> more than the pulled-back one (Cauchy–Schwarz)
    steps = rng.standard_normal((2000, A.shape[1]))
    steps /= np.linalg.norm(steps, axis=1, keepdims=True)
    assert (steps @ A.T @ t).max() < fitted.gain_ == pytest.approx(np.linalg.norm(A.T @ t))
    # the predicted score is gain * signed distance from the direction's hyperplane
    np.testing.assert_allclose(fitted.gain_ * fitted.decision_function(Z[:50]), E[:50] @ t, atol=1e-8)
    assert fitted.r2_ == pytest.approx(1.0)


def test_an_isometric_encoder_gives_back_the_planted_latent_direction():
    # orthonormal columns: the text difference of a latent move w is A w, and pulling it back gives w
    rng = np.random.default_rng(1)
    A = np.linalg.qr(rng.standard_normal((16, 6)))[0]
    w = rng.standard_normal(6)
    w /= np.linalg.norm(w)
    Z = rng.standard_normal((500, 6))
    E = Z @ A.T + 0.01 * rng.standard_normal((500, 16))  # a little noise: recovered up to it
    direction = TextDirection(A @ w).fit(Z, E).direction_
    assert direction @ w > 0.999


def test_pull_back_through_a_map_keeps_latent_shapes_and_refuses_what_it_cannot_do():
    rng = np.random.default_rng(2)
    A = np.zeros((4, 6))
    A[:, :3] = rng.standard_normal((4, 3))
    latent_map = LatentMap.from_coefficients("linear", A, src_shape=(2, 3))
    assert pull_back(latent_map, rng.standard_normal(4)).shape == (2, 3)
    with pytest.raises(ValueError, match="destination shape"):
        pull_back(latent_map, np.ones(5))
    wide = LatentMap.from_coefficients("linear", np.vstack([np.eye(3), np.zeros((1, 3))]))
    with pytest.raises(ValueError, match="do not control"):
        pull_back(wide, np.array([0.0, 0, 0, 1]))  # the target is outside the map's range
    with pytest.raises(ValueError, match="target has 3 numbers but the embeddings 4"):
        TextDirection(np.ones(3)).fit(rng.standard_normal((20, 2)), rng.standard_normal((20, 4)))
    with pytest.raises(ValueError, match="needs target"):
        TextDirection().fit(rng.standard_normal((20, 2)), rng.standard_normal((20, 4)))
    assert clone(TextDirection(np.ones(3), kind="ridge")).get_params()["kind"] == "ridge"


# -- the tiny faces models ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def models(tiny_faces_models, tiny_clip):
    return {"gan": latentlab.load(tiny_faces_models["gan"]), "classifier": latentlab.load(tiny_faces_models["classifier"]),
            "clip": latentlab.load(tiny_clip[1])}


def test_zero_shot_labels_of_samples_agree_with_the_classifier(models):
    gan, clf, clip = models["gan"], models["classifier"], models["clip"]
    codes = clip_label_samples(gan, clip, {"glasses": default_prompts(clip, "glasses")}, n=600, seed=3)
    truth = label_samples(gan, clf, n=600, seed=3)
    np.testing.assert_array_equal(codes.z, truth.z)  # the same codes for the same seed
    ours, theirs = codes.attrs["glasses"], truth.attrs["glasses"]
    chance = ours.mean() * theirs.mean() + (1 - ours.mean()) * (1 - theirs.mean())  # agreement of independent labels
    agreement = (ours == theirs).mean()
    assert agreement > max(0.8, chance + 0.2), (agreement, chance)  # measured 0.88 against 0.51
    # the scores are the difference of cosines with the two ensembles
    images = gan.decode(torch.as_tensor(codes.z[:8]))
    np.testing.assert_allclose(zero_shot_scores(clip, images, *default_prompts(clip, "glasses")),
                               codes.scores["glasses"][:8], atol=1e-5)


def test_zero_shot_and_text_directions_match_the_classifier_direction_and_beat_a_random_one(models):
    gan, clf, clip = models["gan"], models["classifier"], models["clip"]
    reference = find_direction(gan, "glasses", labels_from="classifier", classifier=clf, n=1500, seed=0)
    zero_shot = find_direction(gan, "glasses", labels_from="clip", clip=clip, n=1500, seed=0)
    text = find_text_direction(gan, clip, "glasses", n=1500, seed=0)
    cosine = lambda r: float(r.primal.ravel() @ reference.primal.ravel())  # noqa: E731
    assert cosine(zero_shot) > 0.8 and cosine(text) > 0.8, (cosine(zero_shot), cosine(text))  # measured 0.92, 0.97
    assert text.labels_from == "text" and zero_shot.labels_from == "clip"
    assert np.linalg.norm(text.direction) == pytest.approx(1.0)
    random = np.random.default_rng(0).standard_normal(gan.latent_shape)
    effects = edit_effects(gan, clf, {"glasses~text": text.direction, "glasses~random": random / np.linalg.norm(random)},
                           n=200, step=2.0, seed=5)
    assert effects.flip_rate["glasses~text"] > 0.7 > 0.2 > effects.flip_rate["glasses~random"], effects.flip_rate
    # the same seed gives the same direction
    again = find_text_direction(gan, clip, "glasses", n=1500, seed=0)
    np.testing.assert_array_equal(again.direction, text.direction)


def test_text_directions_save_condition_and_evaluate_like_the_others(models, tmp_path):
    gan, clf, clip = models["gan"], models["classifier"], models["clip"]
    text = find_text_direction(gan, clip, prompts=["a man with glasses", "a woman with glasses"],
                               negatives=["a man, no glasses", "a woman, no glasses"], conditions=["age"], n=400)
    assert text.attribute == "man-with-glasses" and text.name == "man-with-glasses|age"
    assert abs(text.cosines_after[0]) < 1e-9 and abs(text.direction.ravel() @ text.condition_directions[0].ravel()) < 1e-9
    text.save(tmp_path / "t.npz")
    loaded = DirectionResult.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(loaded.direction, text.direction)
    assert (loaded.labels_from, loaded.method) == ("text", "text")
    glasses = find_text_direction(gan, clip, "glasses", n=400)
    zero_shot = find_direction(gan, "glasses", labels_from="clip", clip=clip, n=400)
    before, _ = evaluate_directions(gan, clf, [glasses, zero_shot], n=32)
    assert before.directions == ["glasses~text", "glasses~clip"]
    assert not np.isnan(before.flip_rate["glasses~text"])  # scored as glasses edits
    with pytest.raises(ValueError, match="two directions named 'glasses~text'"):
        evaluate_directions(gan, clf, [glasses, glasses], n=8)


def test_bad_prompts_and_models_are_refused_clearly(models, tiny_faces_models, tiny_clip):
    gan, clip = models["gan"], models["clip"]
    with pytest.raises(ValueError, match="prompt '' is empty"):
        text_target(clip, "", "a man")
    with pytest.raises(ValueError, match="at least one negative prompt"):
        text_target(clip, "a man with glasses", [])
    with pytest.raises(ValueError, match="no word the CLIP model learnt"):
        text_target(clip, "xyzzy frobnicate", "a man, no glasses")
    with pytest.raises(ValueError, match="embed alike"):
        text_target(clip, "a man with glasses", "a man with glasses")
    with pytest.warns(UnknownWordsWarning, match="face"):
        text_target(clip, "a face with glasses", "a face, no glasses")
    with pytest.raises(ValueError, match="no default prompts for 'hair_color'"):
        find_text_direction(gan, clip, "hair_color", n=8)
    with pytest.raises(ValueError, match="both prompts and negatives"):
        find_text_direction(gan, clip, prompts="a man with glasses", n=8)
    with pytest.raises(ValueError, match="kind 'gan'; it must be a CLIP"):
        find_direction(gan, "glasses", labels_from="clip", clip=tiny_faces_models["gan"], n=8)
    with pytest.raises(ValueError, match="needs a CLIP"):
        find_direction(gan, "glasses", labels_from="clip", n=8)
    with pytest.raises(ValueError, match="holds a CLIP image-text model; this needs a generative model"):
        find_text_direction(tiny_clip[1], clip, "glasses", n=8)
