"""CycleGAN: the cycle error falls, the translator puts glasses on held-out faces, exact resume,
balanced unpaired batches, linear learning-rate decay, clear errors, and `latentlab translate`."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from latentlab.analysis.edit_evaluation import score_image_edits
from latentlab.checkpoint import load_checkpoint
from latentlab.loading import load
from latentlab.cli import cli
from latentlab.data import Dataset, load as load_data
from latentlab.models.cyclegan import FakePool, domain_split
from latentlab.models.trainable import NoiseDraws
from latentlab.training import TrainingInterrupted, train
from latentlab.training import loop
from latentlab.training.loop import batch_indices, lr_factor

# small convolutions: a second thread only adds hand-off costs on a shared 2-core machine
pytestmark = pytest.mark.usefixtures("one_thread")

# centred faces, as the shared tiny classifier (tests/analysis/conftest.py) was trained on
FACES = {"size": 32, "nuisance": 0.0}
# 100 steps of a narrow CycleGAN: about 20 s on one core; glasses appear from about step 80
SMALL = {"model": {"kind": "cyclegan", "base_channels": 8, "res_blocks": 2, "d_base_channels": 16, "d_layers": 2},
         "train": {"steps": 100, "batch_size": 8, "lr": 2e-3, "ema_decay": 0.99, "log_every": 10,
                   "checkpoint_every": 0, "lr_decay_start": 0.5}}
TINY = {"model": {"kind": "cyclegan", "base_channels": 4, "res_blocks": 1, "d_base_channels": 4, "d_layers": 2,
                  "pool_size": 4},
        "train": {"batch_size": 4, "lr": 1e-3, "ema_decay": 0.9, "log_every": 2, "checkpoint_every": 0,
                  "lr_decay_start": 0.5}}


def _with(cfg, **train_fields):
    return {**cfg, "train": {**cfg["train"], **train_fields}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``(checkpoint path, TrainResult)`` of the small CycleGAN on 1500 centred faces."""
    out = tmp_path_factory.mktemp("cyclegan") / "cyclegan.pt"
    faces = load_data("faces", n=1500, seed=0, **FACES)
    return out, train(SMALL, dataset=faces, out=out, progress=False)


def test_cycle_error_falls(trained):
    history = trained[1].history
    first = np.mean([h["loss_cycle"] for h in history[:10]])
    last = np.mean([h["loss_cycle"] for h in history[-10:]])
    assert last < 0.5 * first, (first, last)


def test_translator_puts_glasses_on_held_out_faces(trained, tiny_faces_models):
    clf = load(tiny_faces_models["classifier"], expect="classifier")
    model = load(trained[0], expect="translator")
    held_out = load_data("faces", n=400, seed=12345, **FACES)
    a = held_out.get(np.flatnonzero(held_out.attrs["glasses"] == 0)[:100])
    there, back = model.round_trip(a, "a2b")
    cyclegan = score_image_edits(clf, a, there, target="glasses", returned=back, name="cyclegan")
    identity = score_image_edits(clf, a, a, target="glasses", returned=a, name="identity")
    assert identity.flip_rate == 0 and identity.ssim == pytest.approx(1) and identity.cycle_error == 0
    assert cyclegan.flip_rate > 0.5, cyclegan
    assert cyclegan.cycle_error < 0.3  # images in [-1, 1]: the faces come back


def test_resume_continues_identically(tmp_path, monkeypatch):
    faces = load_data("faces", n=64, seed=0, **FACES)
    whole = train(_with(TINY, steps=8), dataset=faces, out=tmp_path / "whole.pt", progress=False)
    # the same 8-step run stopped after step 4 as Ctrl-C stops it (the learning-rate schedule
    # depends on train.steps, so the run is stopped, not trained for 4 steps and extended)
    step = loop._Trainer.step

    def stop_after_four(self, i, context):
        step(self, i, context)
        self.stop_requested = self.stop_requested or i + 1 == 4

    monkeypatch.setattr(loop._Trainer, "step", stop_after_four)
    with pytest.raises(TrainingInterrupted, match="interrupted at step 4"):
        train(_with(TINY, steps=8), dataset=faces, out=tmp_path / "part.pt", progress=False)
    monkeypatch.undo()
    resumed = train(None, dataset=faces, out=tmp_path / "part.pt", resume=True, progress=False)
    assert resumed.history == whole.history[4:]
    a, b = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(tmp_path / "part.pt")
    for key in ("model", "ema"):
        for name, t in a.weights[key].items():
            assert torch.equal(t, b.weights[key][name]), (key, name)
    # 2 fakes per domain a step: the pools of 4 filled in two steps, then swapped fakes
    assert int(a.weights["model"]["pool_a.count"]) == 4
    # the last step's rate: linear decay from step 4 of 8 reaches 1/4 of train.lr at the last step
    for name in ("generators", "discriminators"):
        assert a.training["optimizers"][name]["param_groups"][0]["lr"] == pytest.approx(1e-3 / 4)


def test_lr_factor_is_constant_then_linear_to_zero():
    factors = [lr_factor(s, 10, 0.5) for s in range(10)]
    assert factors[:6] == [1.0] * 6  # step 5 is the first of the decay: (10 - 5) / (10 - 5)
    assert np.allclose(np.diff(factors[5:]), -0.2) and factors[-1] == pytest.approx(0.2)
    assert [lr_factor(s, 10, 1.0) for s in range(10)] == [1.0] * 10


def test_batches_are_half_each_domain_each_in_its_own_order():
    groups = [np.arange(0, 30), np.arange(100, 112)]
    epoch = [batch_indices(0, 8, seed=3, step=s, groups=groups) for s in range(3)]  # B: 3 batches of 4 = one epoch
    assert all(np.isin(b[:4], groups[0]).all() and np.isin(b[4:], groups[1]).all() for b in epoch)
    assert sorted(np.concatenate([b[4:] for b in epoch])) == list(groups[1])  # each B image once per epoch
    assert len(set(np.concatenate([b[:4] for b in epoch]))) == 12  # A runs its own, longer epoch
    # each process keeps its share of both domains
    assert np.array_equal(batch_indices(0, 8, 3, 0, rank=1, world_size=2, groups=groups), epoch[0][1::2])


def test_pool_shows_earlier_fakes_once_full():
    pool = FakePool(3, (1, 2, 2))
    draws = NoiseDraws(torch.Generator().manual_seed(0))
    first = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 2, 2)
    assert torch.equal(pool.query(first, draws), first) and int(pool.count) == 3
    shown = pool.query(torch.full((50, 1, 2, 2), 9.0), draws)
    earlier = (shown[:, 0, 0, 0] != 9).sum()
    assert 0 < earlier <= 3  # each of the three earlier fakes can be shown once: it is swapped out
    assert set(pool.images[:, 0, 0, 0].tolist()) <= {0.0, 1.0, 2.0, 9.0}


def test_domains_must_split_the_data():
    faces = load_data("faces", n=64, seed=0, **FACES)
    with pytest.raises(ValueError, match=r"domain_attr = 'glases' is not an attribute of faces; choose one of: glasses"):
        train({**TINY, "model": {**TINY["model"], "domain_attr": "glases"}, "train": {"steps": 1}}, dataset=faces,
              progress=False)
    with pytest.raises(ValueError, match=r"domain_attr = 'hair_color' does not split faces into two non-empty domains"):
        train({**TINY, "model": {**TINY["model"], "domain_attr": "hair_color"}, "train": {"steps": 1}}, dataset=faces,
              progress=False)
    with pytest.raises(ValueError, match=r"domain B \(glasses\) has \d+ samples, fewer than its share of a batch"):
        train(_with(TINY, steps=1, batch_size=64), dataset=faces, progress=False)
    one_domain = Dataset(faces.data, attrs={"glasses": np.zeros(len(faces), int)}, name="plain")
    with pytest.raises(ValueError, match="does not split plain .* no: 64 samples"):
        domain_split(one_domain, "glasses")
    result = CliRunner().invoke(cli, ["train", "faces-cyclegan-glasses-tiny", "--set", "model.domain_attr=hair_color",
                                      "--set", "data.options.n=64", "--out", "never.pt"])
    assert result.exit_code == 2 and result.stderr.strip().count("\n") == 0, result.output
    assert "does not split faces into two non-empty domains" in result.stderr


def test_translate_checks_its_direction(trained):
    model = trained[1].model
    with pytest.raises(ValueError, match="direction must be one of 'a2b', 'b2a', not 'a2c'"):
        model.translate(torch.zeros(1, 3, 32, 32), "a2c")
    out = model.translate(torch.zeros(2, 3, 32, 32, requires_grad=True), "b2a")
    assert out.shape == (2, 3, 32, 32) and not out.requires_grad and out.abs().max() <= 1


def test_translate_cli_writes_a_grid_and_never_overwrites(trained, tmp_path):
    out = tmp_path / "grid.png"
    args = ["translate", str(trained[0]), "--n", "6", "--out", str(out)]
    runner = CliRunner()
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    saved = np.load(tmp_path / "grid.data.npz")
    assert saved["images"].shape == (3, 6, 3, 32, 32)
    assert list(saved["rows"]) == ["no glasses (input)", "glasses (translated)", "no glasses (back)"]
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "--force" in again.stderr and again.stderr.strip().count("\n") == 0
    assert runner.invoke(cli, [*args, "--force", "--direction", "b2a"]).exit_code == 0
    assert list(np.load(tmp_path / "grid.data.npz")["rows"])[0] == "glasses (input)"


def test_two_folders_of_images_are_the_two_domains(tmp_path):
    from PIL import Image

    g = np.random.default_rng(0)
    for name, n, level in (("horses", 5, 40), ("zebras", 3, 220)):
        (tmp_path / name).mkdir()
        for i in range(n):
            pixels = np.clip(g.normal(level, 10, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    data = load_data(str(tmp_path), subfolders=["horses", "zebras"])
    assert data.attrs["subfolder"].tolist() == [0] * 5 + [1] * 3
    result = train({**TINY, "model": {**TINY["model"], "domain_attr": "subfolder"}, "train": {"steps": 2, "batch_size": 2}},
                   dataset=data, progress=False)
    assert result.model.domains == ("horses", "zebras")
    with pytest.raises(FileNotFoundError, match="sub-folders of .* are: horses, zebras"):
        load_data(str(tmp_path), subfolders=["horses", "donkeys"])


def test_forward_gives_both_players_losses_and_changes_nothing(trained):
    model = trained[1].raw_model
    faces = load_data("faces", n=64, seed=3, **FACES)
    x, y = faces.get(np.arange(16)), torch.as_tensor(faces.labels(np.arange(16)), dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = model(x, y)
    assert losses.discriminators.ndim == 0 and losses.discriminators > 0
    # the generators' loss holds 10 x the cycle error (plus non-negative adversarial and identity terms)
    in_b = y[:, model.config.domain_index] > 0.5
    cycle = sum((model.round_trip(part, d)[1] - part).abs().mean() for part, d in ((x[~in_b], "a2b"), (x[in_b], "b2a")))
    assert losses.generators >= 10 * cycle - 1e-4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_training_writes_a_translation_preview(trained):
    from PIL import Image

    preview = trained[0].parent / "cyclegan.samples" / "step_00000100.png"
    # three rows (8 faces without glasses, their translations, the way back) of 32 px tiles, 1 px apart
    assert Image.open(preview).size == (8 * 33 + 1, 3 * 33 + 1)
