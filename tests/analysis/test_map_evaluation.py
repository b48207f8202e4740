"""Map evaluation: SSIM, the errors R/L/M against baselines, error vs support size, figures."""

import math

import numpy as np
import pytest
import torch
from test_support import linked_pair  # the planted-map Generators (same folder)

from latentlab.analysis.map_evaluation import (
    BASELINES,
    baseline_maps,
    check_map_models,
    compare_maps,
    evaluate_maps,
    map_samples,
    ssim,
    support_curve,
)
from latentlab.analysis.support import support_set
from latentlab.plots import figure_data, save_figure
from latentlab.plots.maps import map_table_figure, mapped_samples_figure, support_curve_figure


# -- SSIM -----------------------------------------------------------------------------------
def _images(n=4, c=3, size=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth random images: structure at several scales, values in [-1, 1]
    low = torch.rand(n, c, size // 4, size // 4, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(low, size=size, mode="bilinear", align_corners=False)


def test_ssim_of_an_image_with_itself_is_one():
    x = _images()
    np.testing.assert_allclose(ssim(x, x), 1.0, atol=1e-12)


def test_ssim_decreases_as_noise_grows_and_is_symmetric():
    x = _images()
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(x.shape, generator=g)
    values = [ssim(x, x + s * noise).mean() for s in (0.02, 0.1, 0.3, 1.0)]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert values[0] > 0.9 and values[-1] < 0.3
    y = x + 0.2 * noise
    np.testing.assert_allclose(ssim(x, y), ssim(y, x), atol=1e-12)


def test_ssim_of_constant_images_is_the_luminance_term():
    # flat images have no variance: SSIM = (2ab + C1) / (a² + b² + C1) with C1 = (0.01 L)²
    a, b, c1 = 0.3, -0.2, (0.01 * 2.0) ** 2
    x, y = torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)
    np.testing.assert_allclose(ssim(x, y), (2 * a * b + c1) / (a * a + b * b + c1), rtol=1e-6)


def test_ssim_rejects_bad_input():
    x = _images()
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, x[:2])
    with pytest.raises(ValueError, match="smaller than the 11-pixel"):
        ssim(x[..., :8, :8], x[..., :8, :8])
    with pytest.raises(ValueError, match="odd"):
        ssim(x, x, window_size=4)
    with pytest.raises(ValueError, match="NaN"):
        ssim(x * np.nan, x)


# -- errors R, L, M on a planted map --------------------------------------------------------
@pytest.fixture(scope="module")
def exact():
    src, dst, W, b = linked_pair()
    fit, test = support_set(src, dst, source="generated", n=600, seed=0).split(200, seed=0)
    return src, dst, fit, test


def test_planted_affine_map_is_exact_and_baselines_are_not(exact):
    src, dst, fit, test = exact
    ev = compare_maps(fit, test, dst, kinds=("affine", "linear"))
    assert list(ev.scores) == ["affine", "linear", *BASELINES] and ev.n_test == 200
    assert ev.recon_mse < 1e-9 and ev.recon_ssim > 1 - 1e-6  # this destination encodes exactly
    exact_map = ev.scores["affine"]
    assert exact_map.latent_mse < 1e-8 and exact_map.image_mse < 1e-8 and exact_map.image_ssim > 1 - 1e-5
    # with a bias in the planted map, a map without one cannot be exact
    assert ev.scores["linear"].latent_rel > 0.05
    # the mean code explains none of the codes' variance; a random rotation does worse than that
    assert ev.scores["mean"].latent_rel == pytest.approx(1.0, abs=0.1)
    assert ev.scores["random-orthogonal"].latent_rel > 1.0
    for name in BASELINES:
        assert ev.scores[name].image_mse > 100 * max(exact_map.image_mse, 1e-6)
    table = ev.table()
    assert "random-orthogonal*" in table and "mean*" in table and "affine" in table and "R " in table
    assert ev.to_dict()["maps"]["affine"]["M_mse"] == exact_map.image_mse


def test_baselines_are_seeded_orthogonal_and_centred(exact):
    _, _, fit, _ = exact
    a, b = baseline_maps(fit, random_state=3), baseline_maps(fit, random_state=3)
    c = baseline_maps(fit, random_state=4)
    Q = a["random-orthogonal"].coef_
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)  # d_dst = 6 >= d_src = 4
    np.testing.assert_array_equal(Q, b["random-orthogonal"].coef_)
    assert not np.allclose(Q, c["random-orthogonal"].coef_)
    # both send the mean source code to the mean destination code
    for m in a.values():
        np.testing.assert_allclose(m.transform(fit.Z_src.mean(0, keepdims=True))[0], fit.Z_dst.mean(0), atol=1e-5)


def test_error_falls_as_the_support_grows_to_the_noise_floor():
    sigma, d_src = 0.1, 12
    src, dst, _, _ = linked_pair(d_src=d_src, d_dst=16, noise=sigma, seed=1)
    fit, test = support_set(src, dst, source="generated", n=1200, seed=0).split(200, seed=0)
    curve = support_curve(fit, test, dst, kinds=("affine", "linear"))
    assert curve.sizes.tolist() == [10, 30, 100, 300, 1000]
    affine = curve.errors["affine"]["latent_mse"]
    assert np.all(np.diff(affine) < 0), affine
    # 10 points for 13 unknowns per coordinate: the minimum-norm fit misses most of the map
    assert affine[0] > 10 * affine[-1]
    # least squares with p = d_src + 1 unknowns on n Gaussian points, noise sigma in the
    # codes (held-out ones too): expected held-out error sigma² (1 + p / (n - p - 1))
    p = d_src + 1
    assert affine[1] == pytest.approx(sigma**2 * (1 + p / (30 - p - 1)), rel=0.2)
    assert affine[-1] == pytest.approx(sigma**2 * (1 + p / (1000 - p - 1)), rel=0.1)
    # a map without a bias cannot fit a planted bias, however many points it gets
    assert curve.errors["linear"]["latent_mse"][-1] > 3 * affine[-1]
    # the image error follows the latent error down
    m = curve.errors["affine"]["image_mse"]
    assert m[0] > m[-1] and m[-1] < 0.2 * min(s.image_mse for s in curve.baselines.values())
    d = curve.to_dict()
    assert d["sizes"] == curve.sizes.tolist() and set(d["baselines"]) == set(BASELINES)


def test_curve_sizes_are_checked(exact):
    _, dst, fit, test = exact
    with pytest.raises(ValueError, match=r"sizes must be integers in \[2, 400\]"):
        support_curve(fit, test, dst, sizes=[1, 10])
    with pytest.raises(ValueError, match=r"\[2, 400\]"):
        support_curve(fit, test, dst, sizes=[500])
    with pytest.raises(ValueError, match="kinds must name"):
        support_curve(fit, test, dst, kinds=("cubic",))


# -- applying a map, mismatches ------------------------------------------------------------
def test_map_samples_through_the_planted_map_match_the_source(exact):
    src, dst, fit, _ = exact
    m = fit.fit("affine")
    out = map_samples(m, src, dst, n=8, seed=2, encoded=True)
    assert out.source.shape == (8, 1, 12, 12) and out.z_mapped.shape == (8, 6)
    np.testing.assert_allclose(out.mapped.numpy(), out.source.numpy(), atol=1e-3)
    np.testing.assert_allclose(out.encoded.numpy(), out.source.numpy(), atol=1e-4)
    again = map_samples(m, src, dst, n=8, seed=2)
    np.testing.assert_array_equal(again.z_src, out.z_src)
    assert again.encoded is None


def test_map_fitted_for_other_latent_sizes_is_refused(exact):
    src, dst, fit, test = exact
    m = fit.fit("affine")
    other_src, other_dst, _, _ = linked_pair(d_src=3, d_dst=5)
    with pytest.raises(ValueError, match=r"source codes of shape \(4,\).*latent shape \(3,\)"):
        check_map_models(m, other_src, dst)
    with pytest.raises(ValueError, match=r"destination codes of shape \(6,\).*latent shape \(5,\)"):
        map_samples(m, src, other_dst)
    with pytest.raises(ValueError, match="latent shape"):
        evaluate_maps(m, test, other_dst)
    with pytest.raises(ValueError, match="like a baseline"):
        evaluate_maps({"mean": m}, test, dst)
    with pytest.raises(TypeError, match="SupportSet"):
        evaluate_maps(m, (test.Z_src, test.Z_dst), dst)


# -- figures --------------------------------------------------------------------------------
def test_figures_carry_their_data_and_save(exact, tmp_path):
    src, dst, fit, test = exact
    ev = compare_maps(fit, test, dst, kinds=("affine", "procrustes"))
    fig = map_table_figure(ev)
    data = figure_data(fig)
    assert data["map"].tolist() == ["R", "affine", "procrustes", *BASELINES]
    np.testing.assert_allclose(data["M_mse"][1], ev.scores["affine"].image_mse)
    written = save_figure(fig, tmp_path / "table.png")
    assert (tmp_path / "table.png").stat().st_size > 1000 and tmp_path / "table.data.csv" in written

    curve = support_curve(fit, test, dst, kinds=("affine",), sizes=[10, 100, 400])
    fig = support_curve_figure(curve, metric="image_mse")
    data = figure_data(fig)
    np.testing.assert_array_equal(data["support_size"], [10, 100, 400])
    np.testing.assert_allclose(data["baseline mean"], curve.baselines["mean"].image_mse)
    save_figure(fig, tmp_path / "curve.png")
    with pytest.raises(ValueError, match="metric="):
        support_curve_figure(curve, metric="psnr")

    out = map_samples(fit.fit("affine"), src, dst, n=20, encoded=True)
    fig = mapped_samples_figure(out.source, out.mapped, out.encoded, per_row=8)
    assert set(figure_data(fig)) == {"source", "mapped", "encoded"}
    assert len(fig.axes[0].get_yticklabels()) == 3 * math.ceil(20 / 8)
    save_figure(fig, tmp_path / "mapped.png")
    with pytest.raises(ValueError, match="same shape"):
        mapped_samples_figure(out.source, out.mapped[:3])


# -- tiny trained faces models --------------------------------------------------------------
@pytest.fixture(scope="module")
def faces_models(one_thread):  # small convolutions: one thread is faster on a shared 2-core machine
    """Two VAEs (seeds 0 and 1) and a GAN, trained briefly on 2000 faces at 32 px."""
    from latentlab import data
    from latentlab.training import train

    ds = data.load("faces", n=2000, size=32, seed=0)
    small = ["model.base_channels=8", "train.batch_size=32"]
    vae0 = train("faces-vae-tiny", overrides=[*small, "train.steps=150", "train.seed=0"], dataset=ds, progress=False).model
    vae1 = train("faces-vae-tiny", overrides=[*small, "train.steps=150", "train.seed=1"], dataset=ds, progress=False).model
    gan = train("faces-gan-tiny", overrides=[*small, "train.steps=150"], dataset=ds, progress=False).model
    return {"vae0": vae0, "vae1": vae1, "gan": gan}


@pytest.mark.slow
@pytest.mark.parametrize("pair,source", [(("vae0", "vae1"), "data"), (("vae1", "vae0"), "data"),
                                         (("gan", "vae0"), "generated")])
def test_maps_between_trained_models_beat_the_baselines(faces_models, pair, source):
    src, dst = (faces_models[name] for name in pair)
    fit, test = support_set(src, dst, source=source, n=900, seed=1).split(150, seed=0)
    ev = compare_maps(fit, test, dst, kinds=("affine",))
    s, best_baseline = ev.scores["affine"], min(ev.scores[b].image_mse for b in BASELINES)
    # R is the destination's own floor; the map's error above it is a small part of the baselines'
    assert s.image_mse < best_baseline
    assert s.image_mse - ev.recon_mse < 0.5 * (best_baseline - ev.recon_mse), ev.table()
    assert s.image_ssim > max(ev.scores[b].image_ssim for b in BASELINES), ev.table()
    assert s.latent_rel < 0.5 and ev.scores["mean"].latent_rel > 0.9, ev.table()
