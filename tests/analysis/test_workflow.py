"""Attribute directions found for trained tiny faces models: edits, conditioning, files, errors, figures."""

import numpy as np
import pytest
import torch

import latentlab
from latentlab.analysis.workflow import (
    DirectionResult,
    PCAResult,
    evaluate_directions,
    find_direction,
    load_direction_file,
    pca_directions,
)
from latentlab.codes import LatentCodes
from latentlab.data import Dataset
from latentlab.models.base import Generator
from latentlab.plots import figure_data, save_figure
from latentlab.plots.directions import cosine_heatmap, distance_histogram, entanglement_figure, traversal_figure

N_CODES = 3000  # labelled codes per direction
N_EDIT = 256  # codes edited when scoring an edit
STEP = 2.0  # latent units


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def models(tiny_models):
    return {name: latentlab.load(path) for name, path in tiny_models.items()}


@pytest.fixture(scope="module")
def glasses_given_age(models):
    """The GAN's glasses direction from classifier labels, conditioned on age."""
    return find_direction(models["gan"], "glasses", conditions=["age"], classifier=models["classifier"], n=N_CODES)


@pytest.fixture(scope="module")
def effects(models, glasses_given_age):
    """Edit effects of the primal and the conditioned glasses direction, plus a random direction as chance."""
    before, after = evaluate_directions(models["gan"], models["classifier"], [glasses_given_age], n=N_EDIT, step=STEP)
    random_direction = np.random.default_rng(0).normal(size=models["gan"].latent_shape)
    chance = DirectionResult(attribute="glasses", direction=random_direction, primal=random_direction, intercept=0.0)
    chance_effects, _ = evaluate_directions(models["gan"], models["classifier"], [chance], n=N_EDIT, step=STEP)
    return before, after, chance_effects


def _row(effects, attribute):
    return effects.matrix[effects.attributes.index(attribute)]


# -- the direction does what it says ------------------------------------------------------------
def test_classifier_labels_find_a_glasses_direction_that_adds_glasses(glasses_given_age, effects):
    result = glasses_given_age
    assert result.labels_from == "classifier" and result.n == N_CODES
    assert result.val_accuracy > 0.9  # the extremes of the score ranking are linearly separable
    before, _, chance = effects
    # most edited samples without glasses get them, far more than along a random direction
    assert before.flip_rate["glasses"] > 0.5, before.table()
    assert before.flip_rate["glasses"] > chance.flip_rate["glasses"] + 0.3, (before.table(), chance.table())
    assert _row(before, "glasses")[0] > 0.1
    # the signed distances rank the codes as the classifier labels them (the offset is fitted on the
    # extremes of the score ranking, so the classifier's 0.5 threshold need not sit at distance 0)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(result.labels, result.distances) > 0.9


def test_conditioning_on_age_removes_the_age_change(glasses_given_age, effects):
    result = glasses_given_age
    # glasses go with age in the data (phi = 0.5), so the two normals are far from orthogonal
    assert abs(result.cosines_before[0]) > 0.2
    assert abs(result.cosines_after[0]) < 1e-9
    np.testing.assert_allclose(np.linalg.norm(result.direction), 1.0, atol=1e-12)
    before, after, chance = effects
    age_before, age_after = _row(before, "age")[0], _row(after, "age")[0]
    assert age_before > 0.05, before.table()  # the entanglement is there to remove
    assert abs(age_after) < 0.6 * age_before, (before.table(), after.table())
    # and the conditioned edit still adds glasses, clearly more than a random direction does
    assert result.name == "glasses|age" and after.directions == ["glasses|age"]
    assert _row(after, "glasses")[0] > max(0.05, _row(chance, "glasses")[0] + 0.05), (after.table(), chance.table())


def test_data_labels_on_the_vae_find_a_glasses_direction(models, tiny_models):
    result = find_direction(tiny_models["vae"], "glasses", n=2000)  # no classifier: labels from the data
    assert result.labels_from == "data" and result.label_source == "faces"
    assert np.isnan(result.fraction)  # binary labels: no ranking
    assert result.val_accuracy > 0.9
    before, _ = evaluate_directions(models["vae"], models["classifier"], [result], n=N_EDIT, step=STEP)
    assert before.flip_rate["glasses"] > 0.5, before.table()


def test_the_data_route_draws_images_like_the_training_data(tiny_models):
    result = find_direction(tiny_models["vae"], "glasses", labels_from="data", n=200)
    assert result.data_options["nuisance"] == 0.0 and result.data_options["size"] == 32  # as the model was trained
    assert result.data_options["seed"] != 0  # but not the training images
    result = find_direction(tiny_models["vae"], "glasses", labels_from="data", n=200, data_options={"nuisance": 0.5})
    assert result.data_options["nuisance"] == 0.5


# -- files ----------------------------------------------------------------------------------------
def test_direction_file_round_trip(tmp_path, glasses_given_age, models):
    path = tmp_path / "glasses.npz"
    glasses_given_age.save(path)
    again = DirectionResult.load(path)
    for name in ("direction", "primal", "condition_directions", "cosines_before", "cosines_after", "distances", "labels"):
        np.testing.assert_array_equal(getattr(again, name), getattr(glasses_given_age, name), err_msg=name)
    for name in ("attribute", "conditions", "intercept", "val_accuracy", "labels_from", "data_options", "method",
                 "fraction", "n", "seed", "name", "latent_shape"):
        assert getattr(again, name) == getattr(glasses_given_age, name), name
    assert again.estimator is None
    z = np.random.default_rng(1).normal(size=(5, *again.latent_shape))
    np.testing.assert_allclose(again.signed_distance(z), glasses_given_age.estimator.decision_function(z), atol=1e-10)
    assert isinstance(load_direction_file(path), DirectionResult)
    with pytest.raises(FileExistsError, match="already exists"):
        glasses_given_age.save(path)
    again.check_model(models["gan"])
    with pytest.raises(ValueError, match=r"latent shape \(32,\).*codes of shape \(16,\)"):
        again.check_model(models["vae"])


def test_other_files_are_refused_with_a_clear_message(tmp_path):
    codes = tmp_path / "codes.npz"
    LatentCodes(z=np.zeros((4, 3), np.float32)).save(codes)
    with pytest.raises(ValueError, match="not a direction file.*holds latent codes"):
        DirectionResult.load(codes)
    with pytest.raises(FileNotFoundError):
        DirectionResult.load(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a valid .npz file"):
        load_direction_file(text)


def test_pca_of_an_isotropic_prior_is_flat_and_round_trips(tmp_path, models):
    result = pca_directions(models["gan"], k=5, codes="prior", n=4000, seed=0)
    assert result.codes == "prior" and "isotropic prior gives uniform components" in result.source
    d = models["gan"].latent_dim
    # N(0, I) codes: every direction holds about 1/d of the variance
    np.testing.assert_allclose(result.explained_variance_ratio, 1 / d, rtol=0.25)
    flat = result.components.reshape(5, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(5), atol=1e-10)
    result.save(tmp_path / "pca.npz")
    again = load_direction_file(tmp_path / "pca.npz")
    assert isinstance(again, PCAResult) and again.names == ["pc0", "pc1", "pc2", "pc3", "pc4"]
    np.testing.assert_array_equal(again.components, result.components)
    with pytest.raises(ValueError, match="not a direction file.*holds principal directions"):
        DirectionResult.load(tmp_path / "pca.npz")


def test_pca_of_encoded_faces_has_preferred_axes(models):
    result = pca_directions(models["vae"], k=3, codes="data", n=1000)
    d = models["vae"].latent_dim
    assert result.explained_variance_ratio[0] > 2 / d  # unlike the prior, the data's codes are not isotropic


# -- bad input ------------------------------------------------------------------------------------
class NoEncoder(Generator):
    """A user's generator that cannot encode images."""

    latent_shape = (4,)

    def decode(self, z):
        return torch.zeros(len(z), 3, 32, 32)


def test_bad_input_gives_clear_errors(models, tmp_path):
    gan, clf = models["gan"], models["classifier"]
    with pytest.raises(ValueError, match="unknown attribute 'beauty'.*glasses, smile, age, beard, hat, male"):
        find_direction(gan, "beauty", classifier=clf, n=100)
    with pytest.raises(ValueError, match="'hair_color' has 4 values.*binary"):
        find_direction(gan, "hair_color", classifier=clf, n=100)
    with pytest.raises(ValueError, match="unknown condition 'agee'"):
        find_direction(gan, "glasses", conditions=["agee"], classifier=clf, n=100)
    with pytest.raises(ValueError, match="condition of itself"):
        find_direction(gan, "glasses", conditions="glasses", classifier=clf, n=100)
    with pytest.raises(ValueError, match="labels_from='model' is not one of 'auto', 'classifier', 'data'"):
        find_direction(gan, "glasses", labels_from="model", n=100)
    with pytest.raises(ValueError, match="needs an attribute classifier"):
        find_direction(gan, "glasses", labels_from="classifier", n=100)
    with pytest.raises(ValueError, match="cannot encode images"):
        find_direction(NoEncoder(), "glasses", labels_from="data", n=100)


def test_a_single_class_is_refused(models):
    images = torch.zeros(40, 3, 32, 32)
    no_glasses = Dataset(images, attrs={"glasses": np.zeros(40, int), "age": np.arange(40) % 2}, name="plain")
    with pytest.raises(ValueError, match="only 0 of 40 codes are labelled with 'glasses'"):
        find_direction(models["vae"], "glasses", data=no_glasses, n=40)


def test_directions_of_another_model_are_refused(models, glasses_given_age):
    with pytest.raises(ValueError, match=r"direction 0 \(glasses\|age\) has latent shape \(32,\)"):
        evaluate_directions(models["vae"], models["classifier"], [glasses_given_age], n=8)


# -- figures --------------------------------------------------------------------------------------
def test_figures_carry_their_data(tmp_path, models, glasses_given_age, effects):
    from latentlab.analysis.editing import traversal_images

    steps = [-2.0, 0.0, 2.0]
    z = models["gan"].sample_latents(3, generator=torch.Generator().manual_seed(0))
    images = traversal_images(models["gan"], z, glasses_given_age.direction, steps=steps)
    fig = traversal_figure(images, steps, title="glasses")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["-2", "0", "+2"]
    written = save_figure(fig, tmp_path / "edit.png")
    assert [p.name for p in written] == ["edit.png", "edit.data.npz"]
    assert np.load(tmp_path / "edit.data.npz")["images"].shape == (3, 3, 3, 32, 32)
    with pytest.raises(ValueError, match="one step per column"):
        traversal_figure(images, [0.0, 1.0])

    r = glasses_given_age
    fig = cosine_heatmap([r.primal, r.condition_directions[0], r.direction], ["glasses", "age", "glasses|age"])
    cos = figure_data(fig)["cosine"]
    np.testing.assert_allclose(np.diag(cos), 1.0)
    np.testing.assert_allclose(cos[1, 2], 0.0, atol=1e-9)  # conditioned direction ⟂ the age normal
    np.testing.assert_allclose(cos[0, 1], r.cosines_before[0], atol=1e-12)

    before, after, _ = effects
    data = figure_data(entanglement_figure(before, after))
    np.testing.assert_array_equal(data["before"], before.matrix)
    np.testing.assert_array_equal(data["after"], after.matrix)
    assert list(data["after_directions"]) == ["glasses|age"]

    fig = distance_histogram(r.distances, r.labels, attribute="glasses")
    save_figure(fig, tmp_path / "hist.png")
    table = np.genfromtxt(tmp_path / "hist.data.csv", delimiter=",", names=True)
    assert len(table) == r.n
    with pytest.raises(ValueError, match="0 or 1"):
        distance_histogram([0.1, 0.2], [0, 2])
