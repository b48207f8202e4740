"""Training curves: quantities of different scales on separate axes."""

import numpy as np
import pytest

from latentlab.plots import figure_data
from latentlab.plots.training import loss_panels, training_curves_figure

STEPS = np.arange(1.0, 51.0)
VAE = {"step": STEPS, "loss": 3000 / np.sqrt(STEPS) + 200, "recon": 2980 / np.sqrt(STEPS) + 180, "kl": 20 + np.log(STEPS),
       "images_per_s": np.full(50, 100.0), "time": STEPS / 10}
GAN = {"step": STEPS, "loss_d": np.full(50, 1.3), "loss_g": np.full(50, 0.7), "d_real": np.full(50, 0.55),
       "d_fake": np.full(50, 0.45), "g_grad_norm": 200 * np.exp(-STEPS / 20), "loss_recoder": np.full(50, 1.1)}


def axes_of(fig) -> dict[str, object]:
    """Each drawn column -> the axes it is drawn on (``run/column``, from the axes titles)."""
    out = {}
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        run = ax.get_title().split(":")[0]
        for line in ax.get_lines():
            key = f"{run}/{line.get_label()}"
            assert key not in out, f"{key} is drawn twice"
            out[key] = ax
    return out


def test_kl_and_gradient_norm_get_axes_of_their_own():
    fig = training_curves_figure({"VAE": VAE, "GAN": GAN})
    where = axes_of(fig)
    # every logged quantity is drawn once; step, time and speed are not
    assert set(where) == {f"VAE/{k}" for k in ("loss", "recon", "kl")} | {f"GAN/{k}" for k in GAN if k != "step"}
    assert where["VAE/loss"] is where["VAE/recon"]
    assert where["VAE/kl"] is not where["VAE/recon"]
    assert where["GAN/loss_d"] is where["GAN/loss_g"] is where["GAN/loss_recoder"]
    assert where["GAN/g_grad_norm"] not in (where["GAN/loss_d"], where["GAN/d_real"])
    assert where["GAN/d_real"] is where["GAN/d_fake"] and where["GAN/d_real"] is not where["GAN/loss_d"]
    # a separate axes means a separate y scale: the KL's range is its own, not the reconstruction's
    kl_low, kl_high = where["VAE/kl"].get_ylim()
    assert kl_high < 100 and kl_low > 10
    assert where["VAE/kl"].get_ylabel() == "KL" and where["GAN/g_grad_norm"].get_ylabel() == "gradient norm"
    assert set(figure_data(fig)) == {f"VAE/{k}" for k in VAE} | {f"GAN/{k}" for k in GAN}


def test_panels_of_a_log():
    assert loss_panels(["step", "loss", "recon", "kl", "time"]) == [("loss", ["loss", "recon"]), ("KL", ["kl"])]
    assert loss_panels(["step", "loss"]) == [("loss", ["loss"])]
    assert [label for label, _ in loss_panels(GAN)] == ["loss", "gradient norm", "discriminator"]
    with pytest.raises(ValueError, match="no losses to draw"):
        training_curves_figure({"run": {"step": STEPS, "time": STEPS}})


def test_a_single_logged_step_is_visible(render):
    fig = training_curves_figure({"DDPM": {"step": np.array([2.0]), "loss": np.array([0.5])}})
    (line,) = fig.axes[0].get_lines()
    assert line.get_marker() == "o"  # a line through one point would draw nothing
    assert list(fig.axes[0].get_xticks()) == [2.0]
