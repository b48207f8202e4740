"""Disentanglement metrics: known answers on planted codes, the Generator path, bad input.

The planted codes: factors copied into coordinates (standardised, plus tiny noise) are
perfectly disentangled; an evenly mixing rotation of that code (a Hadamard matrix with
random signs and a random permutation: every coordinate carries every factor with weight
1/2) keeps all the information but none of the separation; a code drawn independently
of the factors carries nothing.
"""

import numpy as np
import pytest
import torch
from scipy.linalg import hadamard
from scipy.stats import special_ortho_group

from latentlab.data import load
from latentlab.metrics.disentanglement import (
    DISENTANGLEMENT_METRICS,
    FacesOracle,
    FunctionOracle,
    ShapesOracle,
    betavae_score,
    dci,
    evaluate_disentanglement,
    factorvae_score,
    mig,
    modularity,
    oracle_for,
    sap,
)
from latentlab.models.base import Generator
from latentlab.models.vae import VAE, VAEConfig

# tiny renders and encoders are overhead-bound: one torch thread is faster on a shared CPU
pytestmark = pytest.mark.usefixtures("one_thread")

LEVELS = (2, 3, 4, 5)
N = 900
KEYS = ("betavae", "factorvae", "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap", "modularity")


def _mixing_rotation(k: int, seed: int) -> np.ndarray:
    g = np.random.default_rng(seed)
    signs = np.diag(g.choice([-1.0, 1.0], k))
    return hadamard(k) / np.sqrt(k) @ signs @ np.eye(k)[g.permutation(k)]


def _standardise(f: np.ndarray) -> np.ndarray:
    levels = np.asarray(LEVELS, dtype=float)
    return (f - (levels - 1) / 2) / np.sqrt((levels**2 - 1) / 12)  # exact mean and std of a uniform level


@pytest.fixture(scope="module")
def planted():
    g = np.random.default_rng(0)
    factors = np.stack([g.integers(0, k, N) for k in LEVELS], axis=1)
    perfect = _standardise(factors) + 0.01 * g.standard_normal(factors.shape)
    return {
        "factors": factors,
        "perfect": perfect,
        "mixed": perfect @ _mixing_rotation(len(LEVELS), seed=1).T,
        "random_rotation": perfect @ special_ortho_group.rvs(len(LEVELS), random_state=2).T,
        "independent": g.standard_normal(factors.shape),
    }


# ----------------------------------------------------------------------------------
# array metrics
# ----------------------------------------------------------------------------------
def test_mig_perfect_mixed_independent(planted):
    f = planted["factors"]
    assert mig(planted["perfect"], f) > 0.95
    assert mig(planted["mixed"], f) < 0.1
    assert mig(planted["random_rotation"], f) < 0.7
    assert mig(planted["independent"], f) < 0.05


def test_mig_of_a_permuted_and_rescaled_code_is_unchanged(planted):
    f, z = planted["factors"], planted["perfect"]
    moved = 3.0 * z[:, ::-1] - 7.0  # MIG does not care which coordinate holds a factor, nor its units
    assert mig(moved, f) == pytest.approx(mig(z, f), abs=1e-12)


def test_mig_continuous_factors_are_binned():
    g = np.random.default_rng(3)
    f = g.uniform(size=(2000, 3))
    assert mig(f + 1e-4 * g.standard_normal(f.shape), f) > 0.9
    assert mig(g.standard_normal(f.shape), f) < 0.05


def test_sap_reaches_its_ceiling_for_the_perfect_code(planted):
    f = planted["factors"]
    # an uninformative dimension still classifies at chance (balanced accuracy 1/L), so
    # the best possible gap of a categorical factor is 1 - 1/L
    ceiling = np.mean([1 - 1 / k for k in LEVELS])
    assert sap(planted["perfect"], f) == pytest.approx(ceiling, abs=0.03)
    assert sap(planted["mixed"], f) < 0.1
    assert sap(planted["random_rotation"], f) < ceiling - 0.2
    assert sap(planted["independent"], f) < 0.05


def test_sap_continuous_factors_use_r2():
    g = np.random.default_rng(4)
    f = g.standard_normal((1000, 3))
    # R^2 = 1 for its own coordinate; the second best is a chance correlation, R^2 ~ 1/N
    assert sap(f, f) == pytest.approx(1.0, abs=0.02)
    assert sap(g.standard_normal((1000, 3)), f) < 0.05


def test_dci_perfect_mixed_independent(planted):
    # the first two factors only (2 and 3 levels), to keep the 100-round boosting quick;
    # the codes keep all four coordinates
    f = planted["factors"][:, :2]
    perfect = dci(planted["perfect"], f)
    mixed = dci(planted["mixed"], f)
    independent = dci(planted["independent"], f)
    assert set(perfect) == {"disentanglement", "completeness", "informativeness"}
    assert perfect["disentanglement"] > 0.9 and perfect["completeness"] > 0.9
    assert perfect["informativeness"] > 0.98
    assert mixed["disentanglement"] < 0.3 and mixed["completeness"] < 0.3
    assert independent["disentanglement"] < 0.2 and independent["completeness"] < 0.2
    # chance accuracy of each factor is at most 1/2; no classifier beats it on noise by much
    assert independent["informativeness"] < 0.5 + 0.1


@pytest.mark.parametrize("estimator", ["forest", "lasso"])
def test_dci_other_estimators_separate_perfect_from_mixed(planted, estimator):
    f = planted["factors"][:, 1:3]
    perfect = dci(planted["perfect"], f, estimator=estimator)
    mixed = dci(planted["mixed"], f, estimator=estimator)
    assert perfect["disentanglement"] > 0.9 and perfect["completeness"] > 0.9
    assert mixed["disentanglement"] < perfect["disentanglement"] - 0.5
    assert mixed["completeness"] < perfect["completeness"] - 0.5


def test_modularity_perfect_mixed_independent(planted):
    f = planted["factors"]
    assert modularity(planted["perfect"], f) > 0.99
    # Mutual information in nats is not normalised by the factor's entropy, so in an even
    # mix the 5-level factor still dominates every coordinate; with factors of equal
    # entropy an even mix shares information equally and modularity falls to about 0.
    assert modularity(planted["mixed"], f) < 0.7
    g = np.random.default_rng(8)
    equal = g.integers(0, 5, (N, 4))
    code = (equal - 2) / np.sqrt(2) + 0.01 * g.standard_normal(equal.shape)
    assert modularity(code, equal) > 0.99
    assert modularity(code @ _mixing_rotation(4, 1).T, equal) < 0.3
    # An uninformative code is not at 0 either: its mutual information values are
    # estimation noise of similar size for every factor, which keeps delta below 1.
    assert modularity(planted["independent"], f) < 0.8


def test_array_metrics_are_deterministic_and_seeded(planted):
    f, z = planted["factors"], planted["random_rotation"]
    assert dci(z, f, estimator="lasso", random_state=5) == dci(z, f, estimator="lasso", random_state=5)
    assert sap(z, f, random_state=5) == sap(z, f, random_state=5)


# ----------------------------------------------------------------------------------
# interventional metrics
# ----------------------------------------------------------------------------------
def _oracle(rotation=None, independent=False):
    noise = np.random.default_rng(7)

    def render(f):
        if independent:
            return noise.standard_normal(f.shape)
        z = _standardise(f) if rotation is None else _standardise(f) @ rotation.T
        return z + 0.01 * noise.standard_normal(f.shape)

    return FunctionOracle(LEVELS, render)


SIZES = {"n_train": 300, "n_eval": 200}
CHANCE = 1 / len(LEVELS)


def _identity(x):
    return x


def test_betavae_score_perfect_mixed_independent():
    assert betavae_score(_identity, _oracle(), **SIZES) > 0.95
    assert betavae_score(_identity, _oracle(_mixing_rotation(4, 1)), **SIZES) < CHANCE + 0.2
    assert betavae_score(_identity, _oracle(independent=True), **SIZES) < CHANCE + 0.15


def test_factorvae_score_perfect_mixed_independent():
    sizes = {**SIZES, "n_variance": 2000}
    assert factorvae_score(_identity, _oracle(), **sizes) > 0.95
    assert factorvae_score(_identity, _oracle(_mixing_rotation(4, 1)), **sizes) < CHANCE + 0.2
    assert factorvae_score(_identity, _oracle(independent=True), **sizes) < CHANCE + 0.15


def test_factorvae_prunes_collapsed_dimensions():
    # a collapsed coordinate (constant, as a VAE's unused posterior mean nearly is) would
    # divide by a zero standard deviation if it were not left out
    def render(f):
        return np.concatenate([_standardise(f), np.zeros((len(f), 1))], axis=1)

    oracle = FunctionOracle(LEVELS, render)
    assert factorvae_score(_identity, oracle, n_train=200, n_eval=100, n_variance=1000) == 1.0
    assert factorvae_score(_identity, FunctionOracle(LEVELS, lambda f: np.zeros((len(f), 3))), n_train=20, n_eval=10) == 0.0


def test_interventional_scores_are_seeded():
    oracle = FunctionOracle(LEVELS, lambda f: _standardise(f) @ special_ortho_group.rvs(4, random_state=0).T)
    a = betavae_score(_identity, oracle, n_train=50, n_eval=30, seed=3)
    assert a == betavae_score(_identity, oracle, n_train=50, n_eval=30, seed=3)
    b = factorvae_score(_identity, oracle, n_train=50, n_eval=30, n_variance=200, seed=3)
    assert b == factorvae_score(_identity, oracle, n_train=50, n_eval=30, n_variance=200, seed=3)


def test_represent_may_return_tensors():
    oracle = FunctionOracle(LEVELS, lambda f: torch.as_tensor(_standardise(f), dtype=torch.float32))
    assert betavae_score(lambda x: x * 2, oracle, n_train=100, n_eval=50) > 0.95


# ----------------------------------------------------------------------------------
# oracles for the built-in data
# ----------------------------------------------------------------------------------
def test_shapes_oracle_renders_the_dataset_images():
    data = load("shapes", n=40, size=32, seed=3)
    oracle = oracle_for(data)
    assert isinstance(oracle, ShapesOracle) and oracle.size == 32
    factors = oracle.factors_of(data)
    assert torch.equal(oracle.render(factors, np.random.default_rng(0)), data.images)


def test_faces_oracle_draws_independent_factors_and_renders_images():
    oracle = FacesOracle(size=32)
    g = np.random.default_rng(0)
    f = oracle.sample_factors(4000, g)
    assert f.shape == (4000, len(oracle.factor_names))
    glasses, age = oracle.factor_names.index("glasses"), oracle.factor_names.index("age")
    assert abs(np.corrcoef(f[:, glasses], f[:, age])[0, 1]) < 0.06  # 4 standard errors at n = 4000
    x = oracle.render(f[:5], g)
    assert x.shape == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert "pos_x" not in FacesOracle(size=32, nuisance=0.0).factor_names  # constant without nuisance


# ----------------------------------------------------------------------------------
# a Generator on built-in data
# ----------------------------------------------------------------------------------
class CentroidEncoder(Generator):
    """Codes the shape's centre of mass (x, y) and its area: pos_x, pos_y and scale."""

    latent_shape = (3,)
    sample_shape = (1, 32, 32)

    def decode(self, z):
        raise NotImplementedError

    def encode(self, x):
        mask = (torch.as_tensor(x)[:, 0] > 0).float()
        area = mask.sum(dim=(1, 2))
        grid = torch.arange(mask.shape[-1], dtype=torch.float32)
        cx = (mask.sum(dim=1) * grid).sum(dim=1) / area
        cy = (mask.sum(dim=2) * grid).sum(dim=1) / area
        return torch.stack([cx, cy, area], dim=1)


def test_centroid_encoder_reveals_positions():
    model = CentroidEncoder()
    scores = evaluate_disentanglement(model, "shapes", n=1000, metrics=["mig", "sap"])
    assert set(scores) == {"mig", "sap"}
    # pos_x and pos_y (32 levels into 20 bins: a gap of up to log 20 / log 32 = 0.86 each)
    # are captured by one coordinate each; shape, scale and orientation only weakly
    assert 0.25 < scores["mig"] < 0.6
    assert scores["sap"] > 0.25


def test_evaluate_disentanglement_untrained_vae_returns_every_key_in_range():
    torch.manual_seed(0)
    data = load("shapes", n=200, size=32, seed=1)
    model = VAE.build(VAEConfig(latent_dim=4, base_channels=8), data)
    scores = evaluate_disentanglement(model, data, n=12, seed=0)
    assert tuple(scores) == KEYS
    assert all(0.0 <= v <= 1.0 for v in scores.values()), scores
    again = evaluate_disentanglement(model, data, n=12, seed=0, metrics=["factorvae", "sap"])
    assert again == {"factorvae": scores["factorvae"], "sap": scores["sap"]}


def test_evaluate_disentanglement_on_faces_by_name():
    class MeanColour(Generator):
        latent_shape = (3,)
        sample_shape = (3, 32, 32)

        def decode(self, z):
            raise NotImplementedError

        def encode(self, x):
            return torch.as_tensor(x).mean(dim=(2, 3))

    scores = evaluate_disentanglement(MeanColour(), "faces", n=12, metrics=("mig", "factorvae"))
    assert set(scores) == {"mig", "factorvae"} and all(0 <= v <= 1 for v in scores.values())


# ----------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", [mig, modularity, sap, dci])
def test_array_metrics_reject_bad_input(planted, metric):
    z, f = planted["perfect"], planted["factors"]
    with pytest.raises(ValueError, match="rows"):
        metric(z[:-1], f)
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metric(bad, f)
    bad_f = f.astype(float)
    bad_f[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        metric(z, bad_f)
    with pytest.raises(ValueError, match="at least 10 samples"):
        metric(z[:5], f[:5])
    constant = f.copy()
    constant[:, 2] = 1
    with pytest.raises(ValueError, match="factor column 2 is constant"):
        metric(z, constant)


def test_bad_options_are_named(planted):
    z, f = planted["perfect"], planted["factors"]
    with pytest.raises(ValueError, match="'gbt', 'forest' or 'lasso'"):
        dci(z, f, estimator="svm")
    with pytest.raises(ValueError, match="n_bins"):
        mig(z, f, n_bins=1)
    with pytest.raises(ValueError, match="test_fraction"):
        sap(z, f, test_fraction=1.5)
    with pytest.raises(ValueError, match="two factors"):
        modularity(z, f[:, 0])
    with pytest.raises(TypeError, match="FactorOracle"):
        betavae_score(_identity, "shapes")
    with pytest.raises(ValueError, match="batch_size"):
        factorvae_score(_identity, _oracle(), batch_size=1)
    with pytest.raises(ValueError, match="represent returned"):
        betavae_score(lambda x: x[:1], _oracle(), n_train=10, n_eval=5)


def test_evaluate_disentanglement_errors():
    model = CentroidEncoder()
    with pytest.raises(ValueError, match="shapes, faces"):
        evaluate_disentanglement(model, "rings", n=20)
    with pytest.raises(ValueError, match="shapes, faces"):
        evaluate_disentanglement(model, load("digits", size=32), n=20)
    with pytest.raises(ValueError, match="choose from " + ", ".join(DISENTANGLEMENT_METRICS)):
        evaluate_disentanglement(model, "shapes", n=20, metrics=["mig", "fid"])
    with pytest.raises(ValueError, match="shape"):
        evaluate_disentanglement(model, load("shapes", n=20, size=64), n=20, metrics="mig")

    class NoEncoder(Generator):
        latent_shape = (2,)

        def decode(self, z):
            return z

    with pytest.raises(NotImplementedError, match="cannot encode"):
        evaluate_disentanglement(NoEncoder(), "shapes", n=20)
