"""Class-conditional GAN: each class label generates its own mode."""

import numpy as np
import pytest
import torch

from latentlab.data import load
from latentlab.data.toy2d import assign_modes
from latentlab.training import train

# small MLPs and convolutions: a second thread only adds hand-off costs on a shared 2-core machine
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("conditioning", ["projection", "acgan"])
def test_conditional_gan_generates_the_asked_class(conditioning):
    rings = load("rings", n=2000)
    result = train({"model": {"kind": "gan", "cond_attr": "mode", "conditioning": conditioning, "latent_dim": 4,
                              "hidden": 64, "recoder": False},
                    "train": {"steps": 300, "batch_size": 128, "lr": 2e-3, "betas": [0.5, 0.999]}},
                   dataset=rings, progress=False)
    gan = result.model
    assert gan.config.num_classes == 8
    centres, sigma = np.array(rings.info["centres"]), rings.info["sigma"]
    hits = []
    for c in range(8):
        x = gan.sample(100, generator=torch.Generator().manual_seed(c), labels=c).numpy()
        nearest, _ = assign_modes(x, centres, sigma)
        hits.append((nearest == c).mean())
    assert np.mean(hits) > 0.6, hits  # chance is 1/8


def test_conditioning_errors():
    rings = load("rings", n=256)
    with pytest.raises(ValueError, match="cond_attr = 'digit' is not an attribute of rings; choose one of: mode"):
        train({"model": {"kind": "gan", "cond_attr": "digit"}, "train": {"steps": 1}}, dataset=rings, progress=False)
    plain = train({"model": {"kind": "gan", "hidden": 16}, "train": {"steps": 1, "batch_size": 32}}, dataset=rings, progress=False).model
    with pytest.raises(ValueError, match="unconditional"):
        plain.decode(torch.zeros(2, 64), labels=1)


def test_invert_leaves_the_generators_parameters_as_they_were():
    from latentlab.models import model_class
    from latentlab.training import load_config

    cfg = load_config({"model": {"kind": "gan", "latent_dim": 4, "base_channels": 4, "arch": "mlp", "hidden": 8,
                                 "sample_shape": [2]}})
    gan = model_class("gan")(cfg.model)
    params = list(gan.generator_net.parameters())
    params[0].requires_grad_(False)  # a user froze the first layer
    before = [p.detach().clone() for p in params]
    gan.invert(torch.zeros(3, 2), steps=5, restarts=1)
    assert [p.requires_grad for p in params] == [False] + [True] * (len(params) - 1)
    assert all(torch.equal(a, p) for a, p in zip(before, params))  # the codes moved, not the weights


def _gan(loss, **fields):
    from latentlab.models.gan import GAN, GANConfig

    torch.manual_seed(0)
    return GAN.build(GANConfig(loss=loss, hidden=16, latent_dim=4, recoder=False, **fields), load("rings", n=64))


@pytest.mark.parametrize("loss, want_d, want_g", [
    ("nonsaturating", 2 * np.log(2), np.log(2)),  # D(x) = 1/2 everywhere: log 2 for each term
    ("minimax", 2 * np.log(2), -np.log(2)),
    ("hinge", 2.0, 0.0),
    ("wgan", 0.0, 0.0),
])
def test_forward_is_both_players_losses(loss, want_d, want_g):
    gan = _gan(loss)
    with torch.no_grad():  # a critic that says 0 to everything: each loss has a closed form
        gan.discriminator.out.weight.zero_()
        gan.discriminator.out.bias.zero_()
    x = load("rings", n=32).get(np.arange(32))
    losses = gan(x, generator=torch.Generator().manual_seed(1))
    assert losses._fields == ("discriminator", "generator")
    assert losses.discriminator.item() == pytest.approx(want_d, abs=1e-6)
    assert losses.generator.item() == pytest.approx(want_g, abs=1e-6)


def test_forward_gradients_reach_the_player_each_loss_trains():
    gan = _gan("nonsaturating")
    x = load("rings", n=32).get(np.arange(32))
    draw = lambda: gan(x, generator=torch.Generator().manual_seed(3))  # noqa: E731
    first, again = draw(), draw()
    assert torch.equal(first.discriminator, again.discriminator) and torch.equal(first.generator, again.generator)
    g_params = list(gan.generator_net.parameters())
    # the discriminator's loss sees the fakes detached: no gradient reaches the generator
    assert all(g is None for g in torch.autograd.grad(first.discriminator, g_params, allow_unused=True))
    assert any(g is not None and g.abs().sum() > 0 for g in torch.autograd.grad(first.generator, g_params))


def test_forward_checks_labels_and_shapes():
    gan = _gan("hinge")
    with pytest.raises(ValueError, match="unconditional"):
        gan(torch.zeros(4, 2), labels=torch.zeros(4))
    with pytest.raises(ValueError, match="this model takes"):
        gan(torch.zeros(4, 3))
    cond = _gan("hinge", cond_attr="mode")
    with pytest.raises(ValueError, match="conditional"):
        cond(torch.zeros(4, 2))
    assert torch.isfinite(cond(torch.zeros(4, 2), labels=torch.arange(4)).generator)
