"""``pca_directions`` picks meaningful codes by default: encoded data for a VAE, GANSpace features for a GAN."""

import numpy as np
import pytest
import torch

import latentlab
from latentlab.analysis.workflow import PCAResult, auto_pca_codes, pca_directions
from latentlab.models.base import ImagePool

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def models(tiny_models):
    return {name: latentlab.load(path) for name, path in tiny_models.items() if name != "classifier"}


def test_auto_picks_per_model_kind(models):
    assert auto_pca_codes(models["vae"]) == "data" and auto_pca_codes(models["gan"]) == "features"
    assert auto_pca_codes(ImagePool(torch.zeros(2, 1, 4, 4))) == "prior"  # neither features nor an encoder


def test_default_on_a_vae_has_a_clearly_non_uniform_spectrum(models):
    vae = models["vae"]
    d = vae.latent_dim
    result = pca_directions(vae, k=4, n=800, seed=0)
    assert result.codes == "data"
    assert "nuisance=0.0" in result.source  # encoded fresh faces like those it was trained on
    assert result.explained_variance_ratio[0] > 2 / d  # well above the 1/d of an isotropic spectrum
    prior = pca_directions(vae, k=4, n=800, seed=0, codes="prior")
    assert prior.explained_variance_ratio[0] < 1.5 / d < result.explained_variance_ratio[0]


def test_ganspace_directions_move_the_features_most(models, tmp_path):
    gan = models["gan"]
    result = pca_directions(gan, k=3, n=1000, seed=0)
    assert result.codes == "features" and result.components.shape == (3, gan.latent_dim)
    np.testing.assert_allclose(np.linalg.norm(result.components, axis=1), 1.0, rtol=1e-9)
    assert np.all(np.diff(result.explained_variance) <= 0)
    # a step along the first direction changes the first feature layer more than most random unit steps
    z = gan.sample_latents(200, generator=torch.Generator().manual_seed(1))
    base = gan.decoder_features(z)

    def change(direction):
        step = torch.as_tensor(direction, dtype=torch.float32)
        return float((gan.decoder_features(z + step) - base).norm(dim=1).mean())

    rng = np.random.default_rng(0)
    random = [change(v / np.linalg.norm(v)) for v in rng.standard_normal((20, gan.latent_dim))]
    assert change(result.components[0]) > np.quantile(random, 0.9)
    result.save(tmp_path / "pca.npz")
    again = PCAResult.load(tmp_path / "pca.npz")
    assert again.codes == "features" and again.source == result.source
