"""score_image_edits: flip rate, off-target change, SSIM and return error against known answers."""

import numpy as np
import pytest
import torch

from latentlab.analysis.edit_evaluation import score_image_edits


class ChannelMeans:
    """A fixed attribute reader: P(glasses) from channel 0's mean, P(age) from channel 1's (steep sigmoids)."""

    def predict_proba(self, images, batch_size=256):
        means = torch.as_tensor(images).float().mean(dim=(2, 3))
        return {"glasses": torch.sigmoid(50 * means[:, 0]).numpy(), "age": torch.sigmoid(50 * means[:, 1]).numpy(),
                "hair": np.zeros((len(means), 3))}  # a categorical attribute: not scored


def _faces(n=8):
    x = torch.full((n, 2, 16, 16), -0.5)
    x += 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    return x


def test_known_flips_changes_and_errors():
    x = _faces()
    edited = x.clone()
    edited[:6, 0] = 0.5  # glasses switched on for 6 of 8
    edited[:, 1] += 0.2  # P(age) stays about 0: no off-target change
    back = x + 0.1
    scores = score_image_edits(ChannelMeans(), x, edited, target="glasses", returned=back, name="planted")
    assert scores.flip_rate == pytest.approx(6 / 8)
    assert scores.off_target < 1e-3 and scores.changes["glasses"] == pytest.approx(6 / 8, abs=1e-3)
    assert scores.cycle_error == pytest.approx(0.1, abs=1e-6)
    assert 0 < scores.ssim < 1 and set(scores.changes) == {"glasses", "age"}
    same = score_image_edits(ChannelMeans(), x, x, target="glasses")
    assert same.flip_rate == 0 and same.ssim == pytest.approx(1) and np.isnan(same.cycle_error)
    aged = x.clone()
    aged[:, 1] = 0.5
    assert score_image_edits(ChannelMeans(), x, aged, target="glasses").off_target == pytest.approx(1, abs=1e-3)


def test_bad_inputs_are_named():
    x = _faces()
    with pytest.raises(ValueError, match="target 'beard' is not a binary attribute .* glasses, age"):
        score_image_edits(ChannelMeans(), x, x, target="beard")
    with pytest.raises(ValueError, match="one shape"):
        score_image_edits(ChannelMeans(), x, x[:3], target="glasses")
