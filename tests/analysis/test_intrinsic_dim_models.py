import numpy as np
import pytest
import torch
from click.testing import CliRunner

from latentlab.analysis.intrinsic_dim import decoder_local_dimension, id_table, suggest_latent_size
from latentlab.cli import cli
from latentlab.codes import LatentCodes
from latentlab.models.base import Generator


class RankThreeGenerator(Generator):
    """5-d codes, but the image depends on them only through 3 directions."""

    latent_shape = (5,)

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.w = torch.randn(5, 3, generator=g) @ torch.randn(3, 48, generator=g)

    def decode(self, z):
        return torch.tanh(torch.as_tensor(z, dtype=torch.float32) @ self.w).view(-1, 3, 4, 4)


def test_decoder_local_dimension_is_the_jacobian_rank():
    ranks = decoder_local_dimension(RankThreeGenerator(), n=6, seed=1)
    assert ranks.tolist() == [3] * 6


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
    saved = np.load(tmp_path / "id.npz")
    assert plot.stat().st_size > 10000 and len(saved["log_mu_sorted"]) == 599
    slope = np.polyfit(saved["log_mu_sorted"][:500], saved["neg_log_survival"][:500], 1)[0]
    assert 2.3 < slope < 3.7  # the plotted points lie on a line of slope ~ the planted dimension 3
    result = CliRunner().invoke(cli, ["intrinsic-dim", "--latents", str(path), "--data", "faces"])
    assert result.exit_code == 2 and "exactly one of" in result.stderr
