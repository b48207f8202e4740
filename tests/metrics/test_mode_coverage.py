"""Mode coverage: known answers on planted samples, the Generator path, bad input, the bundled configs."""

import math

import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.toy2d import grid_centres, ring_centres
from latentlab.metrics import classifier_mode_coverage, coverage_table, evaluate_mode_coverage, mode_coverage, summarize_coverage
from latentlab.models.base import Generator
from latentlab.training import load_config

RING_SIGMA = 0.02
GRID_SIGMA = 0.05
TRUE_HQ = 1 - math.exp(-4.5)  # P(Rayleigh radius <= 3 sigma) for a 2-D isotropic Gaussian


def _mixture_samples(centres, sigma, n, seed, modes=None):
    g = np.random.default_rng(seed)
    k = g.integers(0, len(centres), n) if modes is None else g.choice(modes, n)
    return centres[k] + sigma * g.standard_normal((n, 2))


@pytest.mark.parametrize("centres, sigma", [(ring_centres(), RING_SIGMA), (grid_centres(), GRID_SIGMA)], ids=["rings", "grid"])
def test_true_samples_cover_every_mode(centres, sigma):
    n = 20000
    res = mode_coverage(_mixture_samples(centres, sigma, n, seed=0), centres, sigma)
    assert res.n_modes == len(centres) and res.modes_covered == len(centres)
    # binomial standard error of the fraction is ~0.0007 at n = 20000
    assert res.high_quality_fraction == pytest.approx(TRUE_HQ, abs=0.004)
    assert res.mode_counts.sum() == round(res.high_quality_fraction * n)
    # reverse KL of a multinomial histogram from the uniform has mean ~(K - 1) / (2 n_hq)
    assert 0 <= res.reverse_kl < 5 * (len(centres) - 1) / (2 * res.mode_counts.sum())


def test_samples_from_one_mode_cover_one_mode_with_kl_log_k():
    centres = ring_centres()
    res = mode_coverage(_mixture_samples(centres, RING_SIGMA, 2500, seed=1, modes=[3]), centres, RING_SIGMA)
    assert res.modes_covered == 1
    assert res.mode_counts.argmax() == 3 and res.mode_counts[3] == res.mode_counts.sum()
    assert res.reverse_kl == pytest.approx(math.log(8), rel=1e-12)


def test_even_spread_over_some_modes_gives_log_k_over_m():
    centres = grid_centres()
    picked = np.repeat(centres[[0, 6, 12, 24, 7]], 100, axis=0)  # exactly on the means
    res = mode_coverage(torch.as_tensor(picked, dtype=torch.float32), centres, GRID_SIGMA)
    assert res.modes_covered == 5 and res.high_quality_fraction == 1.0
    assert res.reverse_kl == pytest.approx(math.log(25 / 5), rel=1e-9)


def test_samples_far_from_every_mode_are_not_high_quality():
    centres = ring_centres()
    g = np.random.default_rng(2)
    # radius 1 is 1 unit (50 sigma) from every mean on the circle of radius 2
    angle = g.uniform(0, 2 * np.pi, 1000)
    far = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    res = mode_coverage(far, centres, RING_SIGMA)
    assert res.high_quality_fraction == 0.0 and res.modes_covered == 0
    assert res.mode_counts.sum() == 0 and math.isnan(res.reverse_kl)


def test_min_count_ignores_stray_samples_and_nonfinite_samples_are_low_quality():
    centres = ring_centres()
    x = np.concatenate([np.repeat(centres[:1], 50, axis=0), centres[1:4], [[np.nan, 0.0]]])
    assert mode_coverage(x, centres, RING_SIGMA).modes_covered == 4
    strict = mode_coverage(x, centres, RING_SIGMA, min_count=20)
    assert strict.modes_covered == 1 and strict.min_count == 20
    assert strict.high_quality_fraction == pytest.approx(53 / 54)


class OneModeGenerator(Generator):
    """Puts every sample near one mode of the rings, whatever its code."""

    latent_shape = (2,)

    def __init__(self, mode: np.ndarray, spread: float):
        self.mode = torch.as_tensor(mode, dtype=torch.float32)
        self.spread = spread

    def decode(self, z):
        return self.mode + self.spread * z


def test_collapsed_generator_scores_one_mode():
    rings = load("rings", n=100)
    centres = np.asarray(rings.info["centres"])
    res = evaluate_mode_coverage(OneModeGenerator(centres[5], RING_SIGMA), rings, n=500, seeds=(0, 1, 2))
    assert res["seeds"] == [0, 1, 2] and res["n_runs"] == 3 and len(res["runs"]) == 3
    assert res["modes_covered"]["values"] == [1, 1, 1] and res["modes_covered"]["std"] == 0
    assert res["high_quality_fraction"]["mean"] == pytest.approx(TRUE_HQ, abs=0.03)
    assert res["reverse_kl"]["mean"] == pytest.approx(math.log(8))
    assert all(r.mode_counts.argmax() == 5 for r in res["runs"])
    # different seeds give different samples, so the fractions are not all identical
    assert len(set(res["high_quality_fraction"]["values"])) > 1


def test_summary_mean_and_spread_and_table():
    centres = ring_centres()
    one = mode_coverage(centres[:1], centres, RING_SIGMA)
    all_modes = mode_coverage(centres, centres, RING_SIGMA)
    summary = summarize_coverage([one, all_modes])
    assert summary["modes_covered"]["mean"] == 4.5
    assert summary["modes_covered"]["std"] == pytest.approx(np.std([1, 8], ddof=1))
    table = coverage_table({"collapsed": summarize_coverage([one]), "mixed": summary})
    lines = table.splitlines()
    assert len(lines) == 4 and "modes covered" in lines[0]
    assert "1.0 ± 0.0 / 8" in lines[2] and "4.5 ± 4.9 / 8" in lines[3]


@pytest.mark.parametrize(
    "samples, match",
    [
        (np.zeros((10, 3)), r"samples must have shape \(N, 2\).*got shape \(10, 3\)"),
        (np.zeros(10), r"samples must have shape \(N, 2\)"),
        (np.zeros((0, 2)), r"N >= 1"),
    ],
)
def test_bad_samples_are_rejected(samples, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, ring_centres(), RING_SIGMA)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="min_count must be a positive integer"):
        mode_coverage(ring_centres(), ring_centres(), RING_SIGMA, min_count=0)
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        mode_coverage(ring_centres(), ring_centres(), 0.0)
    no_mixture = load("rings", n=10)
    no_mixture.info.pop("centres")
    with pytest.raises(ValueError, match=r"needs dataset.info\['centres'\].*'rings' and 'grid'"):
        evaluate_mode_coverage(OneModeGenerator(np.zeros(2), 0.1), no_mixture)
    with pytest.raises(ValueError, match="seeds must name at least one"):
        evaluate_mode_coverage(OneModeGenerator(np.zeros(2), 0.1), load("rings", n=10), seeds=())
    with pytest.raises(ValueError, match="non-empty dict"):
        coverage_table({})


class ImageGenerator(OneModeGenerator):
    def decode(self, z):
        return torch.zeros(len(z), 1, 8, 8)


def test_generator_of_images_is_rejected():
    with pytest.raises(ValueError, match=r"generated samples must have shape \(N, 2\)"):
        evaluate_mode_coverage(ImageGenerator(np.zeros(2), 0.1), load("rings", n=10), n=4, seeds=(0,))


CONFIGS = ["rings-gan-minimax", "rings-gan-nonsat", "rings-wgan-gp", "grid-gan-minimax", "grid-gan-nonsat", "grid-wgan-gp"]
LOSSES = {"minimax": "minimax", "nonsat": "nonsaturating", "wgan-gp": "wgan-gp"}


@pytest.mark.parametrize("name", CONFIGS)
def test_bundled_2d_gan_configs_validate(name):
    cfg = load_config(name)  # resolved in the bundled pretrained_configs/
    assert cfg.model.kind == "gan" and cfg.model.arch in ("auto", "mlp")
    assert cfg.data.name == name.split("-")[0]
    assert cfg.model.loss == LOSSES[name.split("-", 1)[1].removeprefix("gan-")]
    if cfg.model.loss == "wgan-gp":
        assert cfg.model.d_steps > 1 and cfg.model.gp_weight > 0


# -- modes as the classes of a classifier (digits) -----------------------------------------


def _one_hot(classes, k=10, confidence=1.0):
    p = np.full((len(classes), k), (1 - confidence) / (k - 1))
    p[np.arange(len(classes)), classes] = confidence
    return p


def test_classifier_modes_from_planted_probabilities():
    balanced = classifier_mode_coverage(_one_hot(np.repeat(np.arange(10), 30)))
    assert balanced.modes_covered == 10 and balanced.n_modes == 10
    assert balanced.high_quality_fraction == 1.0 and balanced.reverse_kl == pytest.approx(0.0, abs=1e-12)
    one = classifier_mode_coverage(torch.as_tensor(_one_hot(np.full(50, 3))))
    assert one.modes_covered == 1 and one.mode_counts[3] == 50
    assert one.reverse_kl == pytest.approx(math.log(10))
    # unsure samples (top probability below the threshold) are not of high quality
    mixed = np.concatenate([_one_hot(np.full(40, 7), confidence=0.95), _one_hot(np.arange(10), confidence=0.5)])
    res = classifier_mode_coverage(mixed, threshold=0.9)
    assert res.modes_covered == 1 and res.high_quality_fraction == pytest.approx(40 / 50)
    assert classifier_mode_coverage(mixed, threshold=0.5).modes_covered == 10
    assert classifier_mode_coverage(mixed, threshold=0.5, min_count=5).modes_covered == 1
    unsure = classifier_mode_coverage(_one_hot(np.arange(10), confidence=0.3))
    assert unsure.modes_covered == 0 and math.isnan(unsure.reverse_kl)


def test_binary_probabilities_are_two_modes():
    res = classifier_mode_coverage(np.array([0.99, 0.98, 0.02, 0.5]))
    assert res.n_modes == 2 and res.modes_covered == 2 and list(res.mode_counts) == [1, 2]


@pytest.mark.parametrize(
    "probs, kwargs, match",
    [
        (np.ones((5, 1)), {}, r"shape \(N, K\) with N >= 1 and K >= 2.*got shape \(5, 1\)"),
        (np.full((5, 3), 1.5), {}, r"finite numbers in \[0, 1\]"),
        (_one_hot(np.arange(3)), {"threshold": 0.0}, r"threshold must be a probability in \(0, 1\]"),
        (_one_hot(np.arange(3)), {"min_count": -1}, "min_count must be a positive integer"),
    ],
)
def test_bad_classifier_probabilities_are_rejected(probs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        classifier_mode_coverage(probs, **kwargs)
