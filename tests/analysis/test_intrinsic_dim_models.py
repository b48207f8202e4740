import numpy as np
import pytest
import torch
from click.testing import CliRunner

from latentlab.analysis.intrinsic_dim import decoder_jacobian, decoder_local_dimension, id_table, suggest_latent_size
from latentlab.cli import cli
from latentlab.codes import LatentCodes
from latentlab.models.base import Generator

pytestmark = pytest.mark.usefixtures("one_thread")


class RankThreeGenerator(Generator):
    """5-d codes, but the image depends on them only through 3 directions."""

    latent_shape = (5,)

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.w = torch.randn(5, 3, generator=g) @ torch.randn(3, 48, generator=g)

    def decode(self, z):
        return torch.tanh(torch.as_tensor(z, dtype=torch.float32) @ self.w).view(-1, 3, 4, 4)


class LinearGenerator(Generator):
    """decode(z) = z W: a linear map from 8-d codes to 2 x 5 x 5 images, of rank ``rank``."""

    latent_shape = (8,)

    def __init__(self, rank: int):
        g = torch.Generator().manual_seed(rank)
        self.w = torch.randn(8, rank, generator=g) @ torch.randn(rank, 50, generator=g)

    def decode(self, z):
        return (torch.as_tensor(z, dtype=torch.float32) @ self.w).view(-1, 2, 5, 5)


def test_decoder_local_dimension_is_the_jacobian_rank():
    ranks = decoder_local_dimension(RankThreeGenerator(), n=6, seed=1)
    assert ranks.tolist() == [3] * 6


@pytest.mark.parametrize("rank", [1, 4, 8])
def test_local_dimension_of_a_linear_decoder_is_its_rank(rank):
    gen = LinearGenerator(rank)
    assert decoder_local_dimension(gen, n=5, seed=2).tolist() == [rank] * 5
    # along k random directions the rank is min(k, rank): enough directions find it, fewer cap it
    assert decoder_local_dimension(gen, n=3, seed=2, max_directions=6).tolist() == [min(6, rank)] * 3
    assert decoder_local_dimension(gen, n=3, seed=2, max_directions=2, batch_size=4).tolist() == [min(2, rank)] * 3


def test_jacobian_of_a_linear_decoder_is_its_matrix():
    gen = LinearGenerator(4)
    z = gen.sample_latents(3, generator=torch.Generator().manual_seed(0))
    jac = decoder_jacobian(gen, z, batch_size=5)  # 24 products, 5 per call: codes split across calls
    assert jac.shape == (3, 50, 8)
    torch.testing.assert_close(jac, gen.w.T.expand(3, 50, 8))
    v = torch.randn(2, 8, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(decoder_jacobian(gen, z, v), (v @ gen.w).T.expand(3, 50, 2))


def test_forward_mode_jacobian_equals_reverse_mode_on_a_conv_decoder():
    from latentlab.models.vae import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(sample_shape=[1, 28, 28], latent_dim=5, base_channels=4)).eval()
    z = vae.sample_latents(2, generator=torch.Generator().manual_seed(3))
    jac = decoder_jacobian(vae, z, batch_size=4)
    for i in range(len(z)):
        reverse = torch.autograd.functional.jacobian(lambda v: vae.decode_with_grad(v).reshape(-1), z[i : i + 1])
        torch.testing.assert_close(jac[i], reverse.reshape(-1, 5), atol=1e-5, rtol=1e-4)
    assert jac.abs().max() > 0
    with pytest.raises(ValueError, match="latent codes have shape"):
        decoder_jacobian(vae, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="max_directions"):
        decoder_local_dimension(vae, n=2, max_directions=0)


def test_id_table_finds_a_planted_subspace():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 4)) @ rng.normal(size=(4, 20))
    (row,) = id_table({"plane": x}, methods=("twonn",))
    assert row.dimension == pytest.approx(4, rel=0.15) and row.ambient == 20 and row.n == 1500


def test_suggest_latent_size():
    assert suggest_latent_size(10.0, (9.0, 11.0)) == 20  # 1.5 * 11 = 16.5 -> 20
    assert suggest_latent_size(3.2) == 8
    with pytest.raises(ValueError):
        suggest_latent_size(float("nan"))


def test_cli_on_latents_and_bad_input(tmp_path):
    rng = np.random.default_rng(1)
    codes = LatentCodes(z=(rng.normal(size=(1200, 3)) @ rng.normal(size=(3, 12))).astype(np.float32))
    path = codes.save(tmp_path / "z.npz")
    result = CliRunner().invoke(cli, ["intrinsic-dim", "--latents", str(path), "--n", "1200", "--boot", "0", "--no-calibrate"])
    assert result.exit_code == 0, result.output
    twonn = next(line for line in result.output.splitlines() if "twonn" in line)
    assert 2.5 < float(twonn.split()[3]) < 3.5
    assert "suggested latent size" in result.output
    plot = tmp_path / "id.png"
    result = CliRunner().invoke(cli, ["intrinsic-dim", "--latents", str(path), "--n", "600", "--boot", "0", "--no-calibrate",
                                      "--method", "twonn", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    saved = np.load(tmp_path / "id.data.npz")
    assert plot.stat().st_size > 10000 and len(saved["log_mu_sorted"]) == 599
    slope = np.polyfit(saved["log_mu_sorted"][:500], saved["neg_log_survival"][:500], 1)[0]
    assert 2.3 < slope < 3.7  # the plotted points lie on a line of slope ~ the planted dimension 3
    result = CliRunner().invoke(cli, ["intrinsic-dim", "--latents", str(path), "--data", "faces"])
    assert result.exit_code == 2 and "exactly one of" in result.stderr


@pytest.fixture(scope="module")
def briefly_trained(tmp_path_factory):
    """A VAE and a DDPM (2 DDIM steps) trained for 2 steps on 64 faces: checkpoints, not good models."""
    from latentlab.training import train

    folder = tmp_path_factory.mktemp("id-models")
    small = ["train.steps=2", "train.batch_size=8", "data.options.n=64", "train.checkpoint_every=0"]
    train("faces-vae-tiny", out=folder / "vae.pt", overrides=small, progress=False)
    train("faces-ddpm-tiny", out=folder / "ddpm.pt", overrides=[*small, "model.decode_steps=2"], progress=False)
    return folder


def test_cli_prints_the_decoder_local_dimension_and_bounds_a_diffusion_models(briefly_trained):
    args = ["intrinsic-dim", "--n", "40", "--boot", "0", "--no-calibrate", "--method", "twonn"]
    result = CliRunner().invoke(cli, [*args, "--model", str(briefly_trained / "vae.pt"), "--jacobian-codes", "3"])
    assert result.exit_code == 0, result.output
    # an untrained conv decoder is a generic map: its Jacobian has full rank, the latent size
    assert "Jacobian rank at 3 codes): median 16, range 16-16 (latent size 16)" in result.output
    assert "decoder Jacobian" in result.stderr  # the progress bar
    # a DDPM's codes are images: no Jacobian unless asked, and then along a bounded number of directions
    ddpm = [*args, "--model", str(briefly_trained / "ddpm.pt"), "--quiet"]
    result = CliRunner().invoke(cli, ddpm)
    assert result.exit_code == 0, result.output
    assert "not computed; the codes have 3072 dimensions" in result.output and result.stderr == ""
    result = CliRunner().invoke(cli, [*ddpm, "--jacobian-codes", "1", "--jacobian-directions", "3"])
    assert result.exit_code == 0, result.output
    assert "along 3 random directions of 3072" in result.output
    assert "(Jacobian rank at 1 codes): median at least 3, range 3-3 (latent size 3072)" in result.output
