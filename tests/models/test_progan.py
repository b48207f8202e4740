"""Progressive GAN: exact fades at alpha 0 and 1, the schedule by step, exact resume mid-fade, training end to end."""

import contextlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import latentlab
from latentlab.checkpoint import load_checkpoint
from latentlab.data import Dataset
from latentlab.models.base import Generator
from latentlab.models.progan import (
    GrowthPhase,
    ProGAN,
    growth_levels,
    growth_phase,
    growth_starts,
    loss_spikes,
    real_at,
)
from latentlab.training import load_config, train

# small convolutions: a second thread only adds hand-off costs on a shared 2-core machine
pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"kind": "progan", "latent_dim": 4, "base_channels": 2, "max_channels": 4, "recoder": False}


def _model(size=16, **fields):
    cfg = load_config({"model": {**SMALL, "sample_shape": [3, size, size], **fields}})
    torch.manual_seed(0)
    return ProGAN(cfg.model).eval()


def _blobs(n=64, size=16, seed=0):
    """Images of a bright square in one of four corners: cheap to train on."""
    g = np.random.default_rng(seed)
    x = -np.ones((n, 3, size, size), np.float32)
    for i, w in enumerate(g.integers(0, 4, n)):
        r, c = divmod(int(w), 2)
        h = size // 2
        x[i, :, r * h : r * h + h - 2, c * h : c * h + h - 2] = 1
    return Dataset(torch.from_numpy(x), name="blobs")


def test_growth_levels_and_non_power_of_two_sizes():
    assert [growth_levels(s) for s in (4, 8, 32, 64)] == [1, 2, 4, 5]
    for bad in (28, 48, 2, 0):
        with pytest.raises(ValueError, match="power-of-two size"):
            growth_levels(bad)
    with pytest.raises(ValueError, match="power-of-two size of at least 4.*got 28 px"):
        train("faces-progan-tiny", overrides=["train.steps=1", "train.batch_size=8"], dataset=_blobs(16, size=28),
              progress=False)


def test_a_size_that_is_not_a_power_of_two_is_one_line_from_the_cli(tmp_path):
    from latentlab.cli import cli

    result = CliRunner().invoke(cli, ["train", "faces-progan-tiny", "--out", str(tmp_path / "m.pt"), "--quiet",
                                      "--set", "data.name=digits", "--set", "data.options.size=28", "--set", "data.options.n=64"], prog_name="latentlab")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "power-of-two size" in lines[0] and "28 px" in lines[0], result.stderr


def test_alpha_schedule_by_step():
    # level 0 for 3 steps; levels 1 and 2 each fade for 4 steps (alpha 0, 1/4, 2/4, 3/4), then 3 stable steps
    expected = [(0, 1.0)] * 3 + [(1, 0.0), (1, 0.25), (1, 0.5), (1, 0.75)] + [(1, 1.0)] * 3 \
        + [(2, 0.0), (2, 0.25), (2, 0.5), (2, 0.75)] + [(2, 1.0)] * 3 + [(2, 1.0)] * 5  # the last level lasts
    got = [growth_phase(s, 3, fade_steps=4, stable_steps=3) for s in range(len(expected))]
    assert [(p.level, p.alpha) for p in got] == expected
    assert [p.resolution for p in got[::7]] == [4, 8, 16, 16]
    assert growth_starts(3, 4, 3) == [3, 10]
    abrupt = [growth_phase(s, 3, 4, 3, "abrupt") for s in range(len(expected))]
    assert [(p.level, p.alpha) for p in abrupt] == [(level, 1.0) for level, _ in expected]
    model = _model(16, fade_steps=4, stable_steps=3)
    assert [model.phase_at(s) for s in range(len(expected))] == got and model.schedule_steps() == 17
    assert growth_phase(0, 1, 4, 3) == GrowthPhase(0, 1.0)  # 4 px data: nothing to grow
    with pytest.raises(ValueError, match="stable_steps >= 1"):
        growth_phase(0, 3, 4, 0)


@contextlib.contextmanager
def perturbed(*modules):
    """The parameters of ``modules`` moved by noise inside the block, restored exactly after it."""
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in modules]
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.add_(torch.randn(p.shape, generator=g))
    try:
        yield
    finally:
        for m, state in zip(modules, saved):
            m.load_state_dict(state)


def test_generator_fade_is_exact_at_alpha_0_and_1():
    model = _model(16)
    net = model.generator_net
    z = model.sample_latents(6, torch.Generator().manual_seed(0))
    for size in (8, 16):
        level = model.resolutions.index(size)
        previous = model.decode_at(z, size // 2)
        # alpha = 0: exactly the previous resolution's output, upsampled; the new layers play no part
        faded_out = model.decode_at(z, size, alpha=0.0)
        assert torch.equal(faded_out, F.interpolate(previous, scale_factor=2, mode="nearest"))
        with perturbed(net.blocks[level - 1], net.to_rgb[level]):
            assert torch.equal(model.decode_at(z, size, alpha=0.0), faded_out)
        # alpha = 1: exactly the new block's output; the previous toRGB plays no part
        full = model.decode_at(z, size, alpha=1.0)
        with perturbed(net.to_rgb[level - 1]):
            assert torch.equal(model.decode_at(z, size, alpha=1.0), full)
        with perturbed(net.to_rgb[level]):
            assert not torch.equal(model.decode_at(z, size, alpha=1.0), full)
        half = model.decode_at(z, size, alpha=0.5)
        assert not torch.equal(half, full) and not torch.equal(half, faded_out)
    # decode is the final resolution at alpha = 1
    assert torch.equal(model.decode(z), model.decode_at(z, 16)) and model.decode(z).shape == (6, 3, 16, 16)


def test_critic_and_real_images_fade_is_exact_at_alpha_0_and_1():
    model = _model(16)
    critic = model.discriminator
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for level in (1, 2):
        seen = real_at(x, GrowthPhase(level, 1.0))
        assert torch.equal(seen, F.avg_pool2d(x, 2 ** (2 - level)) if level < 2 else x)
        with model.growing(GrowthPhase(level - 1, 1.0)):
            below = critic(F.avg_pool2d(seen, 2))[0]
        with model.growing(GrowthPhase(level, 0.0)):  # alpha = 0: the previous critic on the downsampled image
            assert torch.equal(critic(seen)[0], below)
            with perturbed(critic.from_rgb[level], critic.blocks[level - 1]):
                assert torch.equal(critic(seen)[0], below)
        with model.growing(GrowthPhase(level, 1.0)):
            full = critic(seen)[0]
            with perturbed(critic.from_rgb[level - 1]):  # alpha = 1: the previous fromRGB plays no part
                assert torch.equal(critic(seen)[0], full)
        with model.growing(GrowthPhase(level, 0.5)):
            assert not torch.equal(critic(seen)[0], full) and not torch.equal(critic(seen)[0], below)
        # real images at alpha = 0: the half-size images upsampled; at alpha 1/2 halfway
        lower = F.interpolate(real_at(x, GrowthPhase(level - 1, 1.0)), scale_factor=2, mode="nearest")
        torch.testing.assert_close(real_at(x, GrowthPhase(level, 0.0)), lower, rtol=0, atol=1e-6)
        torch.testing.assert_close(real_at(x, GrowthPhase(level, 0.5)), (lower + seen) / 2, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="critic is at 16 px"):
        critic(x[:, :, :8, :8])


def test_resume_in_the_middle_of_a_fade_is_exact(tmp_path):
    data = _blobs()
    cfg = {"model": {**SMALL, "fade_steps": 6, "stable_steps": 2},
           "train": {"batch_size": 16, "lr": 1e-3, "betas": [0.0, 0.99], "log_every": 3, "checkpoint_every": 0}}
    half, whole = 6, 12
    model = _model(16, fade_steps=6, stable_steps=2)
    assert model.phase_at(half).level == 1 and 0 < model.phase_at(half).alpha < 1  # stopped mid-fade
    assert model.phase_at(whole - 1).level == 2  # and the rest grows again
    full = train({**cfg, "train": {**cfg["train"], "steps": whole}}, dataset=data, out=tmp_path / "whole.pt", progress=False)
    train({**cfg, "train": {**cfg["train"], "steps": half}}, dataset=data, out=tmp_path / "part.pt", progress=False)
    resumed = train(None, dataset=data, out=tmp_path / "part.pt", resume=True, overrides=[f"train.steps={whole}"],
                    progress=False)
    assert resumed.history == full.history[half:]
    assert [h["alpha"] for h in full.history[half - 1 : half + 2]] == pytest.approx([3 / 6, 4 / 6, 5 / 6])  # float32 logs
    a, b = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(tmp_path / "part.pt")
    for key in ("model", "ema"):
        for name, t in a.weights[key].items():
            assert torch.equal(t, b.weights[key][name]), (key, name)


def test_tiny_config_trains_from_the_cli_and_loads_as_a_generator(tmp_path):
    from latentlab.cli import cli

    out = tmp_path / "progan.pt"
    # one step per phase reaches 32 px in 7 steps (4 px; 8, 16 and 32 px: a fade step and a stable step)
    args = ["train", "faces-progan-tiny", "--out", str(out), "--quiet", "--set", "data.options.n=256",
            "--set", "model.fade_steps=1", "--set", "model.stable_steps=1", "--set", "train.steps=8",
            "--set", "train.batch_size=16"]
    result = CliRunner().invoke(cli, args, prog_name="latentlab")
    assert result.exit_code == 0, result.output
    history = load_checkpoint(out).training
    assert history["step"] == 8
    gen = latentlab.load(out)
    assert isinstance(gen, Generator) and gen.config.kind == "progan" and gen.latent_shape == (32,)
    assert gen.resolutions == [4, 8, 16, 32]
    x = gen.sample(5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1
    assert torch.equal(x, gen.sample(5, generator=torch.Generator().manual_seed(0)))
    codes = gen.encode(x, steps=2)  # GAN inversion, from the recoder's guess
    assert codes.shape == (5, 32) and torch.isfinite(codes).all()
    # the attribute direction of glasses, from real faces located by the recoder
    result = CliRunner().invoke(cli, ["direction", "--model", str(out), "--attr", "glasses", "--labels-from", "data",
                                      "--n", "200", "--invert-steps", "0", "--out", str(tmp_path / "g.npz"), "--quiet"],
                                prog_name="latentlab")
    assert result.exit_code == 0, result.output
    saved = np.load(tmp_path / "g.npz")
    direction = saved["direction"] if "direction" in saved.files else None
    assert direction is not None and direction.size == 32 and np.isclose(np.linalg.norm(direction), 1, atol=1e-5)


def test_growth_figure_shows_the_same_codes_at_every_resolution():
    from latentlab.plots import figure_data, growth_figure

    model = _model(16)
    z = model.sample_latents(3, torch.Generator().manual_seed(0))
    stages = [model.decode_at(z, r) for r in model.resolutions]
    data = figure_data(growth_figure(stages))
    assert data["images"].shape == (3, 3, 3, 16, 16) and data["rows"].tolist() == ["4 px", "8 px", "16 px"]
    np.testing.assert_array_equal(data["images"][0][..., ::4, ::4], stages[0].numpy())  # 4 px blocks, enlarged
    with pytest.raises(ValueError, match="whose size divides 16 px"):
        growth_figure([stages[2], torch.zeros(3, 3, 6, 6)])


def test_loss_spikes_measure_the_jump_at_each_growth():
    # a loss at 1 that swings up to 5 and down to -2 after step 10 and stays put at step 20; 25 is not covered
    history = [{"step": s + 1, "loss_d": {10: 5.0, 11: -2.0}.get(s, 1.0)} for s in range(28)]
    spikes = loss_spikes(history, [10, 20, 25], window=4)
    assert spikes[:2] == [4.0, 0.0] and np.isnan(spikes[2])
    with pytest.raises(ValueError, match="window"):
        loss_spikes(history, [10], window=0)
