"""Sample-quality metrics: known answers on Gaussians, feature extraction, the Generator path, bad input."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from latentlab.data import Dataset, load
from latentlab.metrics import (
    SampleSizeWarning,
    density_coverage,
    evaluate_samples,
    extract_features,
    frechet_distance,
    kernel_distance,
    precision_recall,
    sample_quality,
)
from latentlab.metrics.features import domain_feature_network
from latentlab.metrics.sample_quality import gaussian_frechet_distance
from latentlab.models.base import Generator, ImagePool
from latentlab.models.classifier import AttributeClassifier, ClassifierConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def gaussian(n, dim, seed, shift=0.0, scale=1.0):
    return shift + scale * np.random.default_rng(seed).standard_normal((n, dim))


# -- known answers ----------------------------------------------------------------------


def test_two_samples_of_one_distribution_score_as_identical():
    real, fake = gaussian(2000, 8, 0), gaussian(2000, 8, 1)
    q = sample_quality(real, fake, kid_subsets=20, kid_subset_size=500)
    # density has expectation exactly 1 for identical distributions (Naeem et al. 2020)
    assert q.density == pytest.approx(1.0, abs=0.05)
    # coverage tends to 1 - (1/2)^k = 0.969 for k = 5 and equal sample sizes
    assert q.coverage == pytest.approx(1 - 0.5**5, abs=0.02)
    assert 0.85 < q.precision <= 1 and 0.85 < q.recall <= 1
    assert abs(q.precision - q.recall) < 0.05  # the roles are symmetric
    assert 0 <= q.fid < 0.1  # FID's small-sample bias is ~ d(d+1)/n here
    assert abs(q.kid) < 0.01 and q.kid_std > 0
    assert (q.n_real, q.n_fake, q.feature_dim) == (2000, 2000, 8)


def test_disjoint_distributions_score_zero_and_a_large_fid():
    real, fake = gaussian(800, 8, 0), gaussian(800, 8, 1, shift=np.r_[20.0, np.zeros(7)])
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert density_coverage(real, fake) == (0.0, 0.0)
    # the means differ by 20 and the covariances agree: FID ~ 20^2
    assert frechet_distance(real, fake) == pytest.approx(400, rel=0.03)
    kid, _ = kernel_distance(real, fake, n_subsets=5, subset_size=400)
    assert kid > 100


def prdc_by_definition(real, fake, k):
    """Precision, recall, density and coverage straight from their definitions, as prdc
    (Naeem et al. 2020) computes them: open balls (``distance < radius``), radius the
    distance to the k-th nearest other point, all distances from exact pairwise
    coordinate differences."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    real_radii = np.sort(dist(real, real), axis=1)[:, k]  # column 0: the point itself
    fake_radii = np.sort(dist(fake, fake), axis=1)[:, k]
    cross = dist(real, fake)  # (N real, M fake)
    inside_real = cross < real_radii[:, None]
    return {
        "precision": inside_real.any(0).mean(),
        "recall": (cross < fake_radii[None, :]).any(1).mean(),
        "density": inside_real.sum() / (k * len(fake)),
        "coverage": (cross.min(1) < real_radii).mean(),
    }


def scores(real, fake, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        (p, r), (d, c) = precision_recall(real, fake, k), density_coverage(real, fake, k)
    return {"precision": p, "recall": r, "density": d, "coverage": c}


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_identical_sets_score_exactly_one_with_open_balls(k, offset):
    # A memorising generator: every generated point equals a real one. Each open real
    # ball (radius: distance to the k-th nearest other real point, no ties among them)
    # holds its own centre and the k - 1 nearer neighbours, but not the k-th, which lies
    # on its boundary: k fake points per ball, density k N / (k N) = 1 exactly (closed
    # balls would give (k + 1) / k), and every ball and fake ball holds its own centre.
    real = offset + gaussian(300, 7, 0)
    fake = real[np.random.default_rng(1).permutation(len(real))]
    assert scores(real, fake, k) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


@pytest.mark.parametrize("data", ["copies", "lattice"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_ball_counts_match_the_definition_on_ties(data, k):
    g = np.random.default_rng(k)
    if data == "copies":
        # half the generated points copy real ones (some twice), half are fresh
        real = gaussian(90, 5, 0)
        fake = np.concatenate([real[g.integers(0, 90, 40)], gaussian(40, 5, 1), real[:5]])
    else:
        # small integer coordinates: duplicates and equal distances everywhere
        real = g.integers(0, 4, (120, 3)).astype(float)
        fake = g.integers(0, 4, (100, 3)).astype(float) + 0.5 * (g.random((100, 3)) < 0.2)
    expected = prdc_by_definition(real, fake, k)
    assert scores(real, fake, k) == pytest.approx(expected, abs=1e-12)


def test_ball_counts_match_the_definition_on_random_data():
    real, fake = gaussian(150, 6, 0), gaussian(120, 6, 1, scale=1.3)
    for k in (2, 5):
        assert scores(real, fake, k) == pytest.approx(prdc_by_definition(real, fake, k), abs=1e-12)
    # sample_quality computes all four in one pass, with different k for the two pairs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        q = sample_quality(real, fake, k_precision=2, k_density=5, kid_subsets=2, kid_subset_size=50)
    two, five = prdc_by_definition(real, fake, 2), prdc_by_definition(real, fake, 5)
    assert (q.precision, q.recall) == pytest.approx((two["precision"], two["recall"]), abs=1e-12)
    assert (q.density, q.coverage) == pytest.approx((five["density"], five["coverage"]), abs=1e-12)


def test_precision_and_recall_separate_collapse_from_spread():
    real = gaussian(1500, 2, 0)
    narrow = gaussian(1500, 2, 1, scale=0.15)  # sharp but covers the centre only
    broad = gaussian(1500, 2, 2, scale=5.0)  # covers everything and much besides
    p_narrow, r_narrow = precision_recall(real, narrow)
    p_broad, r_broad = precision_recall(real, broad)
    assert p_narrow > 0.9 and r_narrow < 0.35
    assert p_broad < 0.35 and r_broad > 0.95
    # density (a count of real balls per sample, about k anywhere in the real support)
    # is blind to the collapse; coverage (real balls reached) sees it
    d_narrow, c_narrow = density_coverage(real, narrow)
    assert d_narrow == pytest.approx(1.0, abs=0.15) and c_narrow < 0.35
    d_broad, _ = density_coverage(real, broad)
    assert d_broad < 0.35  # most broad samples fall outside every real ball


def test_gaussian_frechet_distance_matches_the_closed_form():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert gaussian_frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)
    # 2 x 2, non-commuting covariances: Tr (S1 S2)^1/2 = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))
    s1 = np.array([[2.0, 0.5], [0.5, 1.0]])
    s2 = np.array([[1.0, -0.7], [-0.7, 3.0]])
    assert not np.allclose(s1 @ s2, s2 @ s1)
    cross = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    mu1, mu2 = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    expected = 8.0 + np.trace(s1) + np.trace(s2) - 2 * cross
    assert gaussian_frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)
    assert gaussian_frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-10)
    # a singular covariance is fine: 2-D Gaussians, one flat along y
    flat = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert gaussian_frechet_distance(mu1, flat, mu1, np.eye(2)) == pytest.approx(1.0)

    # sample FID of large samples approaches the population value
    g = np.random.default_rng(3)
    a = g.multivariate_normal(mu1, s1, 40000)
    b = g.multivariate_normal(mu2, s2, 40000)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def _biased_mmd2(x, y):
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def test_kid_is_unbiased_and_seeded():
    # many independent pairs of small samples of one distribution: KID averages to 0,
    # where the plain (biased) MMD^2 estimate is clearly positive
    pairs = [(gaussian(50, 16, 2 * s), gaussian(50, 16, 2 * s + 1)) for s in range(300)]
    kid = np.array([kernel_distance(a, b, n_subsets=1, subset_size=50)[0] for a, b in pairs])
    biased = np.array([_biased_mmd2(a, b) for a, b in pairs])
    standard_error = kid.std(ddof=1) / math.sqrt(len(kid))
    # (the cubic kernel's estimates are skewed, so the bound is 4 standard errors)
    assert abs(kid.mean()) < 4 * standard_error
    assert biased.mean() > 20 * standard_error
    real, fake = gaussian(300, 4, 0), gaussian(300, 4, 1)
    assert kernel_distance(real, fake, n_subsets=5, subset_size=100, seed=7) == \
        kernel_distance(real, fake, n_subsets=5, subset_size=100, seed=7)
    with pytest.warns(SampleSizeWarning, match="subset_size 1000 is larger than the smaller set"):
        kernel_distance(real, fake, n_subsets=2)


# -- sample-size warnings and bad input -------------------------------------------------------


def test_too_few_samples_warn_and_impossibly_few_raise():
    with pytest.warns(SampleSizeWarning, match="k-NN"):
        precision_recall(gaussian(50, 2, 0), gaussian(50, 2, 1))
    with pytest.warns(SampleSizeWarning, match=r"fewer than 2 x 16 = 32 samples"):
        frechet_distance(gaussian(20, 16, 0), gaussian(20, 16, 1))
    with pytest.raises(ValueError, match=r"k = 3 needs at least k \+ 1 = 4 samples.*got 10 real and 3 fake"):
        precision_recall(gaussian(10, 2, 0), gaussian(3, 2, 1))
    with pytest.raises(ValueError, match="k = 5 needs at least k"):
        density_coverage(gaussian(5, 2, 0), gaussian(10, 2, 1))
    with pytest.raises(ValueError, match="FID needs at least 2 samples"):
        frechet_distance(gaussian(1, 2, 0), gaussian(10, 2, 1))


@pytest.mark.parametrize(
    "real, fake, match",
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), r"different widths: real \(10, 3\), fake \(10, 4\)"),
        (np.zeros(10), np.zeros((10, 1)), r"real must have shape \(N, F\).*got shape \(10,\)"),
        (np.zeros((10, 2)), np.full((10, 2), np.nan), "fake contains NaN"),
    ],
)
def test_bad_feature_arrays_are_rejected(real, fake, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(real, fake)


def test_bad_k_is_rejected():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        precision_recall(gaussian(10, 2, 0), gaussian(10, 2, 1), k=0)


# -- features ----------------------------------------------------------------------------

POOL = nn.Sequential(nn.AvgPool2d(7), nn.Flatten())  # no weights: 28 px digits -> 16 features


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def test_extract_features_of_a_user_network(digits):
    images = digits.images[:300]
    feats = extract_features(images, POOL, batch_size=64)
    assert feats.shape == (300, 16) and feats.dtype == np.float64
    # the pooled features are block means of the images, whatever the batching
    expected = images.reshape(300, 1, 4, 7, 4, 7).mean(dim=(3, 5)).reshape(300, 16).double().numpy()
    np.testing.assert_allclose(feats, expected, atol=1e-6)
    # (N, ...) outputs are flattened
    assert extract_features(images, nn.AvgPool2d(7), batch_size=1000).shape == (300, 16)


def test_extract_features_rejects_images_the_network_does_not_take(digits):
    rgb_net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())
    with pytest.raises(ValueError, match=r"failed on images of shape \(10, 1, 28, 28\)"):
        extract_features(digits.images[:10], rgb_net)
    with pytest.raises(ValueError, match=r"must have shape \(N, C, H, W\).*got shape \(10, 784\)"):
        extract_features(digits.images[:10].reshape(10, -1), POOL)
    with pytest.raises(ValueError, match=r"features \(N, F\) with N = 10; it returned \(1, 16\)"):
        extract_features(digits.images[:10], nn.Sequential(POOL, nn.AdaptiveAvgPool1d(16), _Sum()))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        clf = AttributeClassifier.build(ClassifierConfig(features=8), load("digits", size=32, n=20))
    with pytest.raises(ValueError, match=r"images have shape \(10, 1, 28, 28\); the feature classifier takes \(N, 1, 32, 32\)"):
        extract_features(digits.images[:10], clf)
    assert extract_features(load("digits", size=32, n=20).images, clf).shape == (20, 8)


class _Sum(nn.Module):
    def forward(self, x):
        return x.sum(0, keepdim=True)


def test_domain_classifier_is_reproducible(digits):
    small = digits.subset(np.arange(300))
    a = domain_feature_network(small, n=300, steps=15, seed=3)
    b = domain_feature_network(small, n=300, steps=15, seed=3)
    assert isinstance(a, AttributeClassifier) and a.attribute_names == ["digit"]
    np.testing.assert_array_equal(extract_features(small.images[:50], a), extract_features(small.images[:50], b))
    with pytest.raises(ValueError, match="no attribute labels"):
        domain_feature_network(Dataset(digits.images[:50], name="unlabelled"))


# -- the Generator path ------------------------------------------------------------------


def test_evaluate_samples_ranks_real_images_above_noise(digits):
    real_like = ImagePool(digits.images)
    noise = ImagePool(torch.rand(500, 1, 28, 28) * 2 - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        good = evaluate_samples(real_like, digits, feature_network=POOL, n_real=400, n_fake=400, seed=0)
        bad = evaluate_samples(noise, digits, feature_network=POOL, n_real=400, n_fake=400, seed=0)
    assert good.precision > 0.8 and good.recall > 0.8 and good.coverage > 0.8
    assert bad.precision == 0.0 and bad.coverage == 0.0
    assert bad.fid > 20 * good.fid and bad.kid > good.kid
    assert (good.n_real, good.n_fake, good.feature_dim) == (400, 400, 16)


def test_evaluate_samples_rejects_bad_input(digits):
    big = ImagePool(torch.zeros(5, 1, 32, 32))
    with pytest.raises(ValueError, match=r"real \(50, 1, 28, 28\), generated \(50, 1, 32, 32\)"):
        evaluate_samples(big, digits, feature_network=POOL, n_real=50, n_fake=50)
    with pytest.raises(ValueError, match=r"k = 3 needs at least k \+ 1 = 4 samples.*got 50 real and 3 fake"):
        evaluate_samples(ImagePool(digits.images), digits, feature_network=POOL, n_real=50, n_fake=3)
    with pytest.raises(ValueError, match="n_fake must be a positive integer"):
        evaluate_samples(ImagePool(digits.images), digits, feature_network=POOL, n_fake=0)
    nan = ImagePool(torch.full((5, 1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="NaN or infinite"):
        evaluate_samples(nan, digits, feature_network=POOL, n_real=50, n_fake=50)


class PointGenerator(Generator):
    latent_shape = (2,)

    def __init__(self, centre, spread):
        self.centre, self.spread = torch.as_tensor(centre, dtype=torch.float32), spread

    def decode(self, z):
        return self.centre + self.spread * z


def test_2d_data_is_compared_in_its_own_space():
    rings = load("rings", n=1000, seed=5)
    centre = np.asarray(rings.info["centres"])[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        collapsed = evaluate_samples(PointGenerator(centre, rings.info["sigma"]), rings, n_real=600, n_fake=600)
    assert collapsed.feature_dim == 2
    assert collapsed.precision > 0.9 and collapsed.recall < 0.25  # one mode of eight
    assert 0.05 < collapsed.coverage < 0.25
