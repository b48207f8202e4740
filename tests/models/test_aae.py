"""Adversarial autoencoder and its priors: known answers on small data.

The digits known answers (>= 90 % of held-out codes in their own petal; the aggregated
posterior nearer its prior than a VAE's) take minutes of CPU and live in
benchmarks/bench_aae.py; here the same mechanisms are checked on 2-D data in seconds.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from latentlab.checkpoint import load_checkpoint
from latentlab.data import Dataset, load
from latentlab.models.priors import PRIORS, make_prior
from latentlab.training import train

# small MLPs and convolutions: a second thread only adds hand-off costs on a shared 2-core machine
pytestmark = pytest.mark.usefixtures("one_thread")

MLP_AAE = {"latent_dim": 2, "hidden": 64, "d_hidden": 64}
FAST = {"batch_size": 128, "lr": 2e-3, "betas": [0.5, 0.999], "ema_decay": 0.99}


def _train(model: dict, data, steps: int, seed: int = 0, **train_fields):
    return train({"model": {"kind": "aae", **model}, "train": {**FAST, "steps": steps, "seed": seed, **train_fields}},
                 dataset=data, progress=False)


# -- priors ------------------------------------------------------------------------------
def test_mixture_samples_lie_in_the_component_they_were_drawn_from():
    prior = make_prior("mixture", 2, components=10, radius=4.0, std=0.8, width=0.3)
    labels = torch.arange(10).repeat(200)
    z = prior.sample(len(labels), torch.Generator().manual_seed(0), labels=labels)
    assert (prior.component_of(z) == labels).float().mean() > 0.99
    # unlabelled draws pick every component about equally often (binomial sd of a share: 0.004)
    shares = torch.bincount(prior.component_of(prior.sample(20000, torch.Generator().manual_seed(1))), minlength=10) / 20000
    assert torch.allclose(shares, torch.full((10,), 0.1), atol=0.015)
    # embedded in 5 dimensions: the flower lies in the first two, the rest is narrow noise
    z5 = make_prior("mixture", 5, radius=4.0, width=0.3).sample(5000, torch.Generator().manual_seed(2))
    assert abs(z5[:, 2:].std().item() - 0.3) < 0.02 and abs(z5[:, :2].norm(dim=1).mean().item() - 4.0) < 0.1


def _scipy_mixture(prior):
    comps = []
    for mean, (c, s) in zip(prior.means.numpy(), prior._radial.numpy()):
        rot = np.eye(prior.dim)
        rot[:2, :2] = [[c, -s], [s, c]]  # columns: radial, tangential
        scales = np.full(prior.dim, prior.width)
        scales[0] = prior.std
        comps.append(stats.multivariate_normal(mean, rot @ np.diag(scales**2) @ rot.T))
    return lambda x: np.log(np.mean([c.pdf(x) for c in comps], axis=0))


@pytest.mark.parametrize("dim", [2, 3])
def test_log_densities_agree_with_scipy(dim):
    x = torch.randn(50, dim, generator=torch.Generator().manual_seed(dim)) * 3
    gauss = make_prior("gaussian", dim, std=1.5)
    np.testing.assert_allclose(gauss.log_prob(x), stats.multivariate_normal(np.zeros(dim), 1.5**2).logpdf(x), rtol=1e-5)
    mixture = make_prior("mixture", dim, components=7, radius=3.0, std=0.9, width=0.4)
    z = mixture.sample(50, torch.Generator().manual_seed(0))  # points where the density is not tiny
    np.testing.assert_allclose(mixture.log_prob(z), _scipy_mixture(mixture)(z.numpy()), rtol=1e-4)
    box = make_prior("uniform", dim, std=2.0)
    a = math.sqrt(3) * 2.0
    np.testing.assert_allclose(box.log_prob(x), stats.uniform(-a, 2 * a).logpdf(x.numpy()).sum(1), rtol=1e-6)


def test_mixture_density_integrates_to_one():
    prior = make_prior("mixture", 2, components=10, radius=4.0, std=0.8, width=0.3)
    grid = torch.linspace(-9, 9, 721)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    density = prior.log_prob(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).exp()
    cell = float(grid[1] - grid[0]) ** 2
    assert abs(float(density.sum()) * cell - 1.0) < 1e-3


def test_samples_have_the_stated_spread():
    g = torch.Generator().manual_seed(0)
    assert abs(make_prior("gaussian", 4, std=2.0).sample(40000, g).std().item() - 2.0) < 0.03
    u = make_prior("uniform", 4, std=2.0).sample(40000, g)
    assert abs(u.std().item() - 2.0) < 0.03 and u.abs().max() <= math.sqrt(3) * 2.0
    roll = make_prior("swiss_roll", 2, components=5, radius=4.0, width=0.05)
    radii = [roll.sample(500, g, labels=k).norm(dim=1).mean().item() for k in range(5)]
    assert radii == sorted(radii) and radii[-1] < 4.2  # parts follow the spiral outwards
    with pytest.raises(NotImplementedError, match="swiss_roll prior has no closed-form"):
        roll.log_prob(torch.zeros(1, 2))
    one = make_prior("mixture", 3).sample(8, torch.Generator().manual_seed(3))
    assert torch.equal(one, make_prior("mixture", 3).sample(8, torch.Generator().manual_seed(3)))


def test_prior_errors_name_what_is_allowed():
    with pytest.raises(ValueError, match="prior='flower' is not one of 'gaussian', 'mixture', 'swiss_roll', 'uniform'"):
        make_prior("flower", 2)
    with pytest.raises(ValueError, match="needs codes of at least 2 numbers; the code size is 1"):
        make_prior("mixture", 1)
    with pytest.raises(ValueError, match="swiss_roll prior is 2-D; the code size is 3"):
        make_prior("swiss_roll", 3)
    with pytest.raises(ValueError, match="gaussian prior has no parts"):
        make_prior("gaussian", 2).sample(3, labels=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        make_prior("mixture", 2).sample(3, labels=[0, 1, 10])
    with pytest.raises(ValueError, match=r"over \(N, 2\)"):
        make_prior("gaussian", 2).log_prob(torch.zeros(4, 3))
    assert set(PRIORS) == {"gaussian", "mixture", "swiss_roll", "uniform"}


def test_config_errors_are_value_errors():
    rings = load("rings", n=256)
    base = {**MLP_AAE, "hidden": 8, "d_hidden": 8}
    with pytest.raises(ValueError, match="swiss_roll prior is 2-D; the code size is 3"):
        _train({**base, "latent_dim": 3, "prior": "swiss_roll"}, rings, 1)
    with pytest.raises(ValueError, match="model.prior = 'flower' is not allowed; choose one of: 'gaussian', 'mixture'"):
        _train({**base, "prior": "flower"}, rings, 1)
    with pytest.raises(ValueError, match="one prior component per class of 'mode' \\(8\\); the gaussian prior has no parts"):
        _train({**base, "label_attr": "mode"}, rings, 1)
    with pytest.raises(ValueError, match="the mixture prior has 5 components"):
        _train({**base, "label_attr": "mode", "prior": "mixture", "prior_components": 5}, rings, 1)
    with pytest.raises(ValueError, match="label_attr = 'digit' is not an attribute of rings; choose one of: mode"):
        _train({**base, "label_attr": "digit", "prior": "mixture"}, rings, 1)
    with pytest.raises(ValueError, match="supervised = true needs model.label_attr"):
        _train({**base, "supervised": True}, rings, 1)


def test_cli_train_with_a_prior_that_does_not_fit_is_one_line(tmp_path):
    from click.testing import CliRunner

    from latentlab.cli import cli

    result = CliRunner().invoke(cli, ["train", "digits-aae-flower", "--out", str(tmp_path / "m.pt"),
                                      "--set", "model.prior=swiss_roll", "--set", "model.latent_dim=3"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "swiss_roll prior is 2-D; the code size is 3" in lines[0], result.stderr


# -- the model ---------------------------------------------------------------------------
def test_label_conditioned_codes_land_in_their_own_petal():
    """Eight Gaussian modes, an 8-petal prior, the discriminator told each point's mode:
    held-out points are encoded into their own mode's petal (chance: 1/8)."""
    fit, held = load("rings", n=3000, seed=0, sigma=0.3), load("rings", n=1000, seed=1, sigma=0.3)
    aae = _train({**MLP_AAE, "prior": "mixture", "label_attr": "mode"}, fit, 400).model
    assert aae.config.num_classes == 8 and aae.prior.num_classes == 8
    petal = aae.petal_of(aae.encode(held.data))
    assert (petal == torch.as_tensor(held.attrs["mode"])).float().mean() >= 0.9
    # the model's own prior, not N(0, I): its codes ring the origin at the petals' radius
    z = aae.sample_latents(2000, torch.Generator().manual_seed(0))
    assert abs(z.norm(dim=1).mean().item() - aae.config.prior_radius) < 0.2
    x5 = aae.sample(200, torch.Generator().manual_seed(0), labels=5)  # codes from petal 5 decode to mode 5
    centres = torch.as_tensor(np.array(fit.info["centres"]), dtype=torch.float32)
    assert (torch.cdist(x5, centres).argmin(1) == 5).float().mean() >= 0.9


def _spokes(n: int, seed: int, k: int = 8) -> tuple[Dataset, np.ndarray]:
    """3-D points: the class sets the first two coordinates (a point on a circle), the style
    (standard normal) the third."""
    g = np.random.default_rng(seed)
    cls, style = g.integers(0, k, n), g.normal(0, 1, n)
    angle = 2 * np.pi * cls / k
    x = np.stack([2 * np.cos(angle), 2 * np.sin(angle), style], 1).astype(np.float32)
    return Dataset(torch.from_numpy(x), attrs={"class": cls}, attr_levels={"class": [str(c) for c in range(k)]},
                   name="spokes"), style


def _spoke_of(x: torch.Tensor, k: int = 8) -> torch.Tensor:
    return (torch.atan2(x[:, 1], x[:, 0]) / (2 * math.pi / k)).round().long() % k


def test_supervised_style_transfer_keeps_the_style_and_changes_the_class():
    fit, _ = _spokes(4000, 0)
    held, style = _spokes(500, 1)
    aae = _train({**MLP_AAE, "latent_dim": 1, "label_attr": "class", "supervised": True}, fit, 300).model
    new = (torch.as_tensor(held.attrs["class"]) + 3) % 8
    out = aae.style_transfer(held.data, new)
    assert (_spoke_of(out) == new).float().mean() >= 0.95
    assert np.corrcoef(out[:, 2].numpy(), style)[0, 1] > 0.85
    # the decoder's class comes from the label: any code decodes onto the asked spoke
    drawn = aae.decode(aae.sample_latents(100, torch.Generator().manual_seed(0)), labels=6)
    assert (_spoke_of(drawn) == 6).all()
    with pytest.raises(ValueError, match="labels must be one class index or 500 of them"):
        aae.style_transfer(held.data, new[:3])


def test_forward_is_the_training_loss_and_changes_nothing():
    rings = load("rings", n=512, sigma=0.3)
    aae = _train({**MLP_AAE, "prior": "mixture", "label_attr": "mode"}, rings, 5).raw_model
    before = {k: v.clone() for k, v in aae.state_dict().items()}
    x, y = rings.data[:64], torch.as_tensor(rings.attrs["mode"][:64])
    loss = aae(x, y)
    assert loss.ndim == 0 and torch.isfinite(loss)
    recon = torch.nn.functional.mse_loss(aae.decode(aae.encode(x)), x)
    assert loss.item() > recon.item()  # plus the encoder's adversarial loss, -log D > 0
    loss.backward()
    assert all(p.grad is not None for p in aae.encoder.parameters())
    assert all(torch.equal(v, before[k]) for k, v in aae.state_dict().items())
    with pytest.raises(ValueError, match="uses the labels of 'mode': pass labels"):
        aae(x)


@pytest.mark.parametrize("model", [{"prior": "mixture", "label_attr": "digit"},
                                   {"prior": "gaussian", "label_attr": "digit", "supervised": True}],
                         ids=["petals", "supervised"])
def test_resume_continues_identically(tmp_path, model):
    digits = load("digits", n=128, seed=0)
    cfg = {**model, "latent_dim": 2, "base_channels": 4, "d_hidden": 16}
    fields = {"batch_size": 32, "log_every": 5, "checkpoint_every": 0}
    whole = _train(cfg, digits, 12, **fields)
    train({"model": {"kind": "aae", **cfg}, "train": {**FAST, **fields, "steps": 6}}, dataset=digits,
          out=tmp_path / "part.pt", progress=False)
    resumed = train(None, dataset=digits, out=tmp_path / "part.pt", resume=True, overrides=["train.steps=12"],
                    progress=False)
    assert resumed.history == whole.history[6:]
    saved = load_checkpoint(tmp_path / "part.pt").weights
    for key, model in (("model", whole.raw_model), ("ema", whole.model)):
        for name, t in model.state_dict().items():
            assert torch.equal(t, saved[key][name]), (key, name)


def test_a_checkpoint_loads_as_a_generator_with_its_prior(tmp_path):
    import latentlab

    digits = load("digits", n=64, seed=0)
    out = tmp_path / "aae.pt"
    train("digits-aae-flower", dataset=digits, out=out, progress=False,
          overrides=["train.steps=2", "train.batch_size=16", "model.base_channels=4", "model.d_hidden=8"])
    gen = latentlab.load(out)
    assert gen.latent_shape == (2,) and gen.prior.name == "mixture" and gen.prior.num_classes == 10
    z = gen.encode(digits.data[:5])
    assert torch.equal(z, gen.encode(digits.data[:5]))  # deterministic
    assert gen.decode(z).shape == (5, 1, 28, 28) and gen.decode(z).abs().max() <= 1
    g = torch.Generator().manual_seed(0)
    assert torch.equal(gen.sample_latents(4, g), gen.prior.sample(4, torch.Generator().manual_seed(0)))
    assert gen.decoder_features(z).shape[0] == 5


@pytest.mark.slow  # two tiny trainings, then three commands that each load the model and encode faces
def test_direction_map_and_intrinsic_dim_commands_take_an_aae(tmp_path, monkeypatch):
    """The analyses reach an AAE through the Generator interface alone, as they reach a VAE."""
    from click.testing import CliRunner

    from latentlab.analysis.maps import LatentMap
    from latentlab.analysis.workflow import DirectionResult
    from latentlab.cli import cli

    faces = load("faces", n=96, size=32, seed=0)
    tiny = ["train.steps=3", "train.batch_size=16", "model.base_channels=4"]
    train("faces-aae-tiny", out=tmp_path / "aae.pt", dataset=faces, progress=False, overrides=[*tiny, "model.d_hidden=8"])
    train("faces-vae-tiny", out=tmp_path / "vae.pt", dataset=faces, progress=False, overrides=[*tiny, "model.latent_dim=8"])
    monkeypatch.chdir(tmp_path)

    def run(*args):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("direction", "--attr", "glasses", "--model", "aae.pt", "--labels-from", "data", "--n", "96", "--out", "g.npz",
        "--quiet")
    assert DirectionResult.load(tmp_path / "g.npz").direction.shape == (16,)
    run("map", "--src", "aae.pt", "--dst", "vae.pt", "--support", "48", "--test", "16", "--out", "m.npz", "--quiet")
    fitted = LatentMap.load(tmp_path / "m.npz")
    assert fitted.src_shape_ == (16,) and fitted.dst_shape_ == (8,)
    out = run("intrinsic-dim", "--model", "aae.pt", "--n", "64", "--boot", "0", "--jacobian-codes", "2", "--quiet")
    assert "decoder local dimension" in out, out


@pytest.mark.slow  # two models of 400 steps each
def test_aggregated_posterior_matches_the_prior_more_closely_than_a_vae():
    """Same data, code size, widths and steps: the AAE's codes of held-out points are nearer
    N(0, I) (MMD² with an RBF kernel, against as many prior draws) than the VAE's posterior means."""
    from latentlab.metrics.prior_match import mmd_rbf

    fit, held = load("rings", n=3000, seed=0, sigma=0.05), load("rings", n=1000, seed=1, sigma=0.05)
    aae = _train({**MLP_AAE, "prior": "gaussian"}, fit, 400).model
    vae = train({"model": {"kind": "vae", "latent_dim": 2, "hidden": 64, "sigma": 0.1},
                 "train": {**FAST, "steps": 400, "betas": [0.9, 0.999]}}, dataset=fit, progress=False).model

    def distance(model):
        z = model.encode(held.data)
        return np.mean([mmd_rbf(z, model.sample_latents(len(z), torch.Generator().manual_seed(s))) for s in range(5)])

    floor = np.mean([mmd_rbf(torch.randn(1000, 2, generator=torch.Generator().manual_seed(s)),
                             torch.randn(1000, 2, generator=torch.Generator().manual_seed(10 + s))) for s in range(5)])
    assert distance(aae) < distance(vae)
    assert floor < distance(aae)  # the comparison is above what the sample size allows
