"""DDPM: schedules, targets, samplers (against an exact denoiser), training, inversion, checkpoints."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import latentlab
from latentlab.checkpoint import load_checkpoint
from latentlab.data import Dataset
from latentlab.models.base import Generator
from latentlab.models.ddpm import DDPM
from latentlab.models.samplers import DDIMScheduler, DDPMScheduler, ddim_invert, sample_loop, trailing_timesteps
from latentlab.models.schedules import (
    PREDICTIONS, SCHEDULES, add_noise, alpha_bar, continuous_log_snr, log_snr_table, min_snr_weight,
    prediction_target, scales, split_prediction,
)
from latentlab.models.unet import SelfAttention, UNet
from latentlab.training import load_config, train


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------------------
# schedules and targets
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("T", [10, 1000])
def test_schedules_are_monotone_and_in_range(name, T):
    lam = log_snr_table(name, T)
    ab = alpha_bar(lam)
    assert lam.shape == (T,) and torch.isfinite(lam).all()
    assert (lam[1:] < lam[:-1]).all()  # strictly more noise at every step
    assert (ab > 0).all() and (ab < 1).all()
    assert ab[0] > 0.95 and ab[-1] < 0.01  # from almost clean to almost pure noise


def test_linear_and_cosine_schedules_match_their_definitions():
    ab = alpha_bar(log_snr_table("linear", 1000).double())
    betas = 1 - ab / torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
    assert betas[0].item() == pytest.approx(1e-4, rel=1e-3)
    assert betas[-1].item() == pytest.approx(0.02, rel=1e-3)
    assert torch.allclose(betas[1:] - betas[:-1], torch.full((999,), (0.02 - 1e-4) / 999, dtype=ab.dtype), rtol=1e-3, atol=1e-7)
    ab = alpha_bar(log_snr_table("cosine", 1000).double())
    t = torch.tensor([100.0, 500.0, 900.0], dtype=torch.float64)
    f = lambda tau: torch.cos((tau + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert torch.allclose(ab[t.long() - 1], f(t / 1000) / f(torch.zeros(1, dtype=ab.dtype)), rtol=1e-6)
    betas = 1 - ab / torch.cat([torch.ones(1, dtype=ab.dtype), ab[:-1]])
    assert betas.max().item() == pytest.approx(0.999, rel=1e-6)  # the last β is clipped


@pytest.mark.parametrize("name", ["cosine-continuous", "logsnr-linear"])
def test_continuous_schedules_agree_with_their_tables(name):
    u = torch.linspace(0, 1, 101, dtype=torch.float64)
    lam = continuous_log_snr(name, u)
    assert (lam[1:] < lam[:-1]).all()
    assert torch.allclose(log_snr_table(name, 100), lam[1:])


def test_unknown_schedule_lists_names():
    with pytest.raises(ValueError, match="unknown noise schedule 'quadratic'; choose one of: linear, cosine"):
        log_snr_table("quadratic", 1000)


def test_forward_noising_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(1, 3, 4, 4, generator=g) * 2 - 1
    n = 40000
    for lam in (2.0, 0.0, -3.0):
        ab = 1 / (1 + math.exp(-lam))
        x = add_noise(x0.expand(n, -1, -1, -1), torch.randn(n, 3, 4, 4, generator=g), torch.full((n,), lam))
        # mean sqrt(ᾱ) x0 and variance 1 - ᾱ per pixel, to within sampling error (5 standard errors)
        se = math.sqrt((1 - ab) / n)
        assert (x.mean(0) - math.sqrt(ab) * x0[0]).abs().max() < 5 * se
        assert (x.var(0) - (1 - ab)).abs().max() < 5 * (1 - ab) * math.sqrt(2 / n)


def _noised_batch(n: int, seed: int, lam_max: float):
    """``(x0, eps, lam, x_t)``: ``n`` float64 images in [-1, 1], their noise, log-SNRs from
    -lam_max to lam_max, and the noised images."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(n, 2, 3, 3, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.randn(n, 2, 3, 3, generator=g, dtype=torch.float64)
    lam = torch.linspace(-lam_max, lam_max, n, dtype=torch.float64)
    return x0, eps, lam, add_noise(x0, eps, lam)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_prediction_targets_round_trip(prediction):
    x0, eps, lam, x_t = _noised_batch(6, seed=1, lam_max=8)
    target = prediction_target(prediction, x0, eps, lam)
    x0_back, eps_back = split_prediction(prediction, target, x_t, lam)
    assert torch.allclose(x0_back, x0, atol=1e-9) and torch.allclose(eps_back, eps, atol=1e-9)
    # every target describes the same (x0, eps): convert through each of the others
    for other in PREDICTIONS:
        again = prediction_target(other, x0_back, eps_back, lam)
        assert torch.allclose(torch.stack(split_prediction(other, again, x_t, lam)), torch.stack([x0, eps]), atol=1e-9)


def test_v_is_rotation_of_x0_and_eps():
    # v = a eps - s x0 and a² + s² = 1, so ‖v‖² + ‖a x0 + s eps‖² = ‖x0‖² + ‖eps‖² per pixel
    lam = torch.tensor([0.7])
    a, s = scales(lam, 2)
    x0, eps = torch.tensor([[0.3]]), torch.tensor([[-1.2]])
    v = prediction_target("v", x0, eps, lam)
    assert torch.allclose(v**2 + add_noise(x0, eps, lam) ** 2, x0**2 + eps**2)
    assert torch.allclose(a**2 + s**2, torch.ones(1))


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_min_snr_weighting_gives_every_target_the_loss_of_its_x0(prediction):
    # whatever the target, the weighted squared error of a prediction is min(SNR, γ)·|x̂0 - x0|²
    x0, eps, lam, x_t = _noised_batch(9, seed=2, lam_max=12)
    g = torch.Generator().manual_seed(3)
    x0_hat = x0 + 0.1 * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    a, s = scales(lam, 4)
    eps_hat = (x_t - a * x0_hat) / s  # the noise estimate that goes with x̂0 at x_t
    out = prediction_target(prediction, x0_hat, eps_hat, lam)
    err = (out - prediction_target(prediction, x0, eps, lam)).pow(2).flatten(1).sum(1)
    gamma = 5.0
    expected = torch.exp(lam).clamp(max=gamma) * (x0_hat - x0).pow(2).flatten(1).sum(1)
    assert torch.allclose(min_snr_weight(prediction, lam, gamma) * err, expected, rtol=1e-6)
    # levels noisier than SNR γ keep the plain eps loss; the weights never overflow
    noisy = lam[lam < math.log(gamma)]
    assert torch.equal(min_snr_weight("eps", noisy, gamma), torch.ones_like(noisy))
    assert torch.isfinite(min_snr_weight(prediction, torch.tensor([-1e4, 1e4]), gamma)).all()


# --------------------------------------------------------------------------------------
# samplers, with the exact denoiser of a finite data set
# --------------------------------------------------------------------------------------
def _exact_denoiser(data):
    """The optimal ε-prediction for data drawn uniformly from the rows of ``data``."""

    def eps_hat(x, lam):
        a, s = scales(lam, x.ndim)
        d2 = ((x[:, None] - a[:, None] * data[None]) ** 2).flatten(2).sum(2)
        w = torch.softmax(-d2 / (2 * s.flatten()[:, None] ** 2), dim=1)
        x0 = torch.einsum("nk,k...->n...", w, data)
        return (x - a * x0) / s

    return eps_hat


def _nearest_mse(x, data):
    return ((x[:, None] - data[None]) ** 2).flatten(2).mean(2).min(1).values


def test_trailing_timesteps_start_at_pure_noise():
    assert trailing_timesteps(1000, 50).tolist() == list(range(999, 0, -20))
    assert trailing_timesteps(10, 10).tolist() == list(range(9, -1, -1))
    assert trailing_timesteps(10, 3).tolist() == [9, 6, 2]
    with pytest.raises(ValueError, match="steps must be an integer from 1 to 10"):
        trailing_timesteps(10, 11)


@pytest.mark.parametrize("name", SCHEDULES)
def test_samplers_with_exact_denoiser_land_on_the_data(name):
    g = torch.Generator().manual_seed(0)
    data = torch.rand(5, 1, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    lam = log_snr_table(name, 1000)
    ddim = DDIMScheduler(lam)
    ddim.set_timesteps(50)
    x = sample_loop(_exact_denoiser(data), ddim, torch.randn(32, 1, 4, 4, generator=g, dtype=torch.float64))
    assert _nearest_mse(x, data).max() < 1e-6
    ddpm = DDPMScheduler(lam)
    ddpm.set_timesteps(200)
    x = sample_loop(_exact_denoiser(data), ddpm, torch.randn(32, 1, 4, 4, generator=g, dtype=torch.float64), generator=g)
    assert _nearest_mse(x, data).max() < 1e-6
    # all five data points are reached: the samplers do not collapse onto one mode
    assert len(set(((x[:, None] - data[None]) ** 2).flatten(2).sum(2).argmin(1).tolist())) == 5


def test_ddim_eta_controls_randomness():
    g = torch.Generator().manual_seed(0)
    data = torch.rand(3, 1, 2, 2, generator=g) * 2 - 1
    z = torch.randn(8, 1, 2, 2, generator=g)
    sch = DDIMScheduler(log_snr_table("linear", 100).float(), eta=1.0)
    sch.set_timesteps(10)
    runs = [sample_loop(_exact_denoiser(data), sch, z, torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    sch.eta = 0.0
    assert torch.equal(sample_loop(_exact_denoiser(data), sch, z, torch.Generator().manual_seed(1)),
                       sample_loop(_exact_denoiser(data), sch, z, torch.Generator().manual_seed(2)))


def test_inversion_inverts_each_step_exactly_with_fixed_point_iterations():
    # a smooth denoiser (not a memorising one), so each step's inverse is well defined
    lam = log_snr_table("cosine", 1000)
    w = torch.tensor(0.3, dtype=torch.float64)

    def denoiser(x, level):
        return w * torch.tanh(x) * torch.sigmoid(level)[:, None, None, None]

    sch = DDIMScheduler(lam)
    sch.set_timesteps(20)
    x0 = torch.rand(4, 1, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    plain = sample_loop(denoiser, sch, ddim_invert(denoiser, sch, x0))
    refined = sample_loop(denoiser, sch, ddim_invert(denoiser, sch, x0, fixed_point_iters=30))
    assert (refined - x0).abs().max() < 1e-8
    assert (refined - x0).abs().max() < (plain - x0).abs().max()


def test_sampling_and_inversion_show_a_bar_over_their_steps(capsys):
    data = torch.rand(3, 1, 2, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    z = torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(1))
    sch = DDIMScheduler(log_snr_table("linear", 100).float())
    sch.set_timesteps(7)
    quiet = sample_loop(_exact_denoiser(data), sch, z)
    assert capsys.readouterr().err == ""
    assert torch.equal(sample_loop(_exact_denoiser(data), sch, z, progress=True), quiet)  # the bar changes nothing
    err = capsys.readouterr().err
    assert "DDIM sampling" in err and "7/7" in err
    ddim_invert(_exact_denoiser(data), sch, quiet, progress=True)
    err = capsys.readouterr().err
    assert "DDIM inversion" in err and "7/7" in err


# --------------------------------------------------------------------------------------
# the model, trained on four planted images
# --------------------------------------------------------------------------------------
def _quadrants(copies=4):
    """Four 8x8 images, one bright 2x2 square in each quadrant; attribute ``top`` = square in the top half."""
    x = -np.ones((4, 1, 8, 8), np.float32)
    for i in range(4):
        r, c = divmod(i, 2)
        x[i, 0, 1 + 4 * r : 3 + 4 * r, 1 + 4 * c : 3 + 4 * c] = 1
    x = np.tile(x, (copies, 1, 1, 1))
    return Dataset(torch.from_numpy(x), attrs={"top": np.tile([1, 1, 0, 0], copies)}, name="quadrants")


TINY = {
    "model": {"kind": "ddpm", "base_channels": 16, "channel_mults": [1, 2], "num_res_blocks": 1, "norm_groups": 8,
              "prediction": "v", "decode_steps": 10},
    "train": {"steps": 300, "batch_size": 16, "lr": 2e-3, "betas": [0.9, 0.999], "ema_decay": 0.0, "log_every": 10},
}


@pytest.fixture(scope="module")
def trained():
    """A class-conditional tiny DDPM overfitted to the four images (label dropout 25 %)."""
    cfg = {**TINY, "model": {**TINY["model"], "cond_attr": "top", "label_dropout": 0.25}}
    return train(cfg, dataset=_quadrants(), progress=False)


def test_tiny_model_overfits(trained):
    losses = [h["loss"] for h in trained.history]
    assert np.mean(losses[-30:]) < 0.3 * np.mean(losses[:10])
    images = _quadrants(1).data
    x = trained.model.sample(16, generator=torch.Generator().manual_seed(0))
    assert x.shape == (16, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    # the training images are 0.5 apart (mean squared error); samples sit on them
    assert _nearest_mse(x, images).max() < 0.15
    assert torch.median(_nearest_mse(x, images)) < 0.03


def test_class_conditioning_picks_the_class(trained):
    images = _quadrants(1).data
    for label, allowed in ((1, [0, 1]), (0, [2, 3])):
        for scale, at_least in ((1.0, 14), (3.0, 16)):  # guidance sharpens the conditional
            x = trained.model.sample(16, generator=torch.Generator().manual_seed(label), labels=label, guidance_scale=scale)
            nearest = ((x[:, None] - images[None]) ** 2).flatten(2).mean(2).argmin(1)
            assert torch.isin(nearest, torch.tensor(allowed)).sum() >= at_least, (label, scale)
    with pytest.raises(ValueError, match="class labels must lie in 0..1"):
        trained.model.sample(2, labels=2)


def test_ddim_decode_is_deterministic(trained):
    model = trained.model
    z = model.sample_latents(4, generator=torch.Generator().manual_seed(3))
    assert model.latent_shape == (1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.decode(z), model.decode(z.clone()))
        # batching changes nothing but float rounding
        assert torch.allclose(model.decode(z, steps=7), model.decode(z, steps=7, batch_size=3), atol=1e-5)
    a = model.sample(4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, model.sample(4, generator=torch.Generator().manual_seed(5)))
    # stochastic samplers draw their noise from the generator too
    for kw in ({"sampler": "ddim", "eta": 1.0}, {"sampler": "ddpm", "steps": 20}):
        b = model.sample(4, generator=torch.Generator().manual_seed(5), **kw)
        assert torch.equal(b, model.sample(4, generator=torch.Generator().manual_seed(5), **kw))
        assert not torch.equal(b, model.sample(4, generator=torch.Generator().manual_seed(6), **kw))


def test_inversion_then_decoding_reconstructs(trained):
    model = trained.model
    images = _quadrants(1).data
    labels = torch.tensor([1, 1, 0, 0])
    err = model.reconstruction_error(images, steps=(5, 50), labels=labels)
    assert set(err) == {5, 50} and err[50].shape == (4,)
    assert err[50].mean() < err[5].mean()
    assert err[50].max() < 5e-3  # 1 % of the distance between two training images
    z = model.encode(images, labels=labels)
    assert z.shape == images.shape and torch.isfinite(z).all()


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_untrained_loss_is_the_mean_square_of_the_target(schedule, prediction):
    # the output convolution starts at zero, so the first loss is E[target²]: 1 for eps,
    # E[x0²] = 1 for ±1 pixels, and E[(a eps - s x0)²] = a² + s² = 1 for v
    cfg = load_config({**TINY, "model": {**TINY["model"], "schedule": schedule, "prediction": prediction}}).model
    model = DDPM.build(cfg, _quadrants(8))
    x = torch.where(torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.5, -1.0, 1.0)
    loss = model(x, generator=torch.Generator().manual_seed(1))
    assert loss.item() == pytest.approx(1.0, abs=0.05)
    loss.backward()
    assert model.net.conv_out.weight.grad.abs().sum() > 0


def test_min_snr_gamma_above_every_snr_leaves_the_eps_loss_unchanged():
    # the linear schedule's largest SNR is about 1e4: with γ = 1e6 every eps weight is 1
    x = _quadrants(4).data
    losses = []
    for gamma in (0.0, 1e6):
        cfg = load_config({**TINY, "model": {**TINY["model"], "prediction": "eps", "min_snr_gamma": gamma}}).model
        torch.manual_seed(0)
        model = DDPM.build(cfg, _quadrants(4))
        with torch.no_grad():
            for p in model.parameters():  # an output that is not zero, so the loss is not just E[eps²]
                p.add_(0.05 * torch.randn_like(p))
        losses.append(model(x, generator=torch.Generator().manual_seed(1)))
    torch.testing.assert_close(losses[1], losses[0])


# --------------------------------------------------------------------------------------
# configs, checkpoints, size
# --------------------------------------------------------------------------------------
def test_cifar_size_network_has_35_7M_parameters():
    cfg = load_config("cifar-size-ddpm").model
    model = DDPM(dataclasses.replace(cfg, sample_shape=[3, 32, 32]))
    n = sum(p.numel() for p in model.parameters())
    assert n == pytest.approx(35.7e6, rel=0.01)


@pytest.mark.parametrize("channels, size, mults, attention", [(1, 28, [1, 2, 2], [7]), (3, 32, [1, 2, 2, 2], [16]),
                                                             (3, 64, [1, 1, 2, 2, 2], [16, 8])])
def test_unet_serves_28_32_and_64_px(channels, size, mults, attention):
    net = UNet(channels, size, base_channels=8, channel_mults=mults, num_res_blocks=1,
               attention_resolutions=attention, attention_heads=2, norm_groups=4, num_classes=3)
    x = torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(0))
    out = net(x, torch.tensor([-3.0, 5.0]), torch.tensor([0, 3]))
    assert out.shape == x.shape
    assert sum(isinstance(m, SelfAttention) for m in net.modules()) > 1  # chosen levels plus the middle


def test_saved_model_loads_and_decodes_deterministically(tmp_path):
    cfg = {**TINY, "train": {**TINY["train"], "steps": 4, "ema_decay": 0.9}, "model": {**TINY["model"], "decode_steps": 3}}
    train(cfg, dataset=_quadrants(), out=tmp_path / "d.pt", progress=False)
    model = latentlab.load(tmp_path / "d.pt")
    assert isinstance(model, Generator) and isinstance(model, DDPM) and model.latent_shape == (1, 8, 8)
    saved = load_checkpoint(tmp_path / "d.pt").weights["ema"]["log_snr"]  # the schedule is stored with the weights
    assert torch.equal(saved, log_snr_table("linear", 1000).float()) and torch.equal(model.log_snr, saved)
    z = model.sample_latents(3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.decode(z), model.decode(z))
    assert model.encode(model.decode(z).detach()).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match=r"expects \(N, 1, 8, 8\)"):
        model.decode(torch.zeros(2, 1, 4, 4))


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.schedule=quadratic", "model.schedule = 'quadratic' is not allowed; choose one of: 'linear'"),
        ("model.prediction=score", "model.prediction = 'score' is not allowed; choose one of: 'eps', 'v', 'x0'"),
        ("model.channel_mults=[1, 0]", "model.channel_mults must be a list of positive integers"),
        ("model.dropout=1.5", "model.dropout = 1.5 is out of range"),
        ("model.timesteps=1", "model.timesteps = 1 is out of range"),
        ("model.decode_steps=2000", "model.decode_steps = 2000 cannot exceed model.timesteps = 1000"),
        ("model.num_classes=3", "model.num_classes > 0 needs model.cond_attr"),
        ("model.label_dropout=2", "model.label_dropout = 2.0 is out of range"),
        ("model.min_snr_gamma=-1", "model.min_snr_gamma = -1.0 is out of range"),
    ],
)
def test_bad_config_fields_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(TINY, [override])


@pytest.mark.parametrize(
    "model_fields, message",
    [
        ({"attention_resolutions": [16]}, r"model.attention_resolutions contains \[16\].*choose from \[8, 4\]"),
        ({"channel_mults": [1, 2, 2, 2, 2]}, "model.channel_mults has 5 levels.*divisible by 16"),
        ({"cond_attr": "smile"}, "model.cond_attr = 'smile' is not an attribute of quadrants; choose one of: top"),
        ({"attention_resolutions": [4], "attention_heads": 3}, "model.attention_heads = 3 must divide"),
    ],
)
def test_config_that_does_not_fit_the_data_is_refused(model_fields, message):
    cfg = load_config({**TINY, "model": {**TINY["model"], **model_fields}})
    with pytest.raises(ValueError, match=message):
        DDPM.build(cfg.model, _quadrants(1))


def test_labels_for_unconditional_model_are_refused():
    model = DDPM.build(load_config(TINY).model, _quadrants(1))
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(1, labels=0)
    with pytest.raises(ValueError, match="unknown sampler 'euler'; choose one of: ddim, ddpm"):
        model.sample(1, sampler="euler")
