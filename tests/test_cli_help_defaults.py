"""Help texts state the defaults that apply, read from where they are defined."""

import inspect
import tomllib
from importlib import resources

from click.testing import CliRunner

from latentlab.cli import cli
from latentlab.models import DEFAULT_DECODE_STEPS, DEFAULT_SAMPLER, DEFAULT_TIMESTEPS


def _help(*path):
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0
    return " ".join(result.stdout.split())  # one line: wrapping aside


def test_sample_help_shows_the_diffusion_defaults():
    from latentlab.models.ddpm import DDPM, DDPMConfig

    # the numbers in the help are those the model uses
    assert DDPMConfig().decode_steps == DEFAULT_DECODE_STEPS and DDPMConfig().timesteps == DEFAULT_TIMESTEPS
    assert inspect.signature(DDPM.sample).parameters["sampler"].default == DEFAULT_SAMPLER
    tiny = tomllib.loads((resources.files("latentlab.pretrained_configs") / "faces-ddpm-tiny.toml").read_text())
    text = _help("sample")
    assert f"Default: {DEFAULT_SAMPLER}, deterministic DDIM with its config's decode_steps ({DEFAULT_DECODE_STEPS}" in text
    assert f"{tiny['model']['decode_steps']} for faces-ddpm-tiny" in text
    assert f"all of the model's timesteps ({DEFAULT_TIMESTEPS}" in text


def test_directions_pca_help_describes_its_own_options():
    text = _help("directions", "pca")
    assert "--labels-from" not in text  # it has no such option
    assert "--codes [auto|data|features|prior]" in text and "GANSpace" in text and "[default: auto]" in text
    assert "Images encoded for --codes data" in text
