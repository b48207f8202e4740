"""The shared training loop: losses fall, exact resume, NaN stop, config validation, DDP."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import latentlab
from latentlab.checkpoint import load_checkpoint
from latentlab.data import Dataset
from latentlab.training import TrainingDiverged, load_config, train


def _blobs(n=256, size=28, seed=0):
    """Images of a bright square at one of four places: easy to learn, cheap to train on."""
    g = np.random.default_rng(seed)
    x = -np.ones((n, 1, size, size), np.float32)
    where = g.integers(0, 4, n)
    for i, w in enumerate(where):
        r, c = divmod(int(w), 2)
        x[i, 0, 4 + 12 * r : 12 + 12 * r, 4 + 12 * c : 12 + 12 * c] = 1
    return Dataset(torch.from_numpy(x), attrs={"top": (where < 2).astype(int)}, name="blobs")


VAE = {"model": {"kind": "vae", "latent_dim": 4, "base_channels": 8}, "train": {"batch_size": 32, "lr": 2e-3, "log_every": 5}}
GAN = {"model": {"kind": "gan", "latent_dim": 4, "base_channels": 8, "loss": "wgan-gp", "d_steps": 2},
       "train": {"batch_size": 32, "lr": 1e-3, "betas": [0.0, 0.9], "log_every": 5}}


def _with(cfg, **train_fields):
    return {**cfg, "train": {**cfg["train"], **train_fields}}


def test_vae_loss_falls():
    result = train(_with(VAE, steps=60), dataset=_blobs(), progress=False)
    first = np.mean([h["loss"] for h in result.history[:5]])
    last = np.mean([h["loss"] for h in result.history[-5:]])
    assert last < 0.5 * first
    assert set(result.history[0]) == {"step", "loss", "recon", "kl"}


@pytest.mark.parametrize("cfg", [VAE, GAN], ids=["vae", "gan"])
def test_resume_continues_identically(tmp_path, cfg):
    data = _blobs()
    whole = train(_with(cfg, steps=12, checkpoint_every=0), dataset=data, out=tmp_path / "whole.pt", progress=False)
    train(_with(cfg, steps=6, checkpoint_every=0), dataset=data, out=tmp_path / "part.pt", progress=False)
    resumed = train(None, dataset=data, out=tmp_path / "part.pt", resume=True, overrides=["train.steps=12"], progress=False)
    assert [h["step"] for h in resumed.history] == list(range(7, 13))
    assert resumed.history == whole.history[6:]
    a, b = load_checkpoint(tmp_path / "whole.pt"), load_checkpoint(tmp_path / "part.pt")
    for key in ("model", "ema"):
        for name, t in a.weights[key].items():
            assert torch.equal(t, b.weights[key][name]), (key, name)
    def log(name):  # the logged losses, without the timings
        lines = (tmp_path / f"{name}.metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k not in ("time", "images_per_s")} for line in lines]

    # the line the first run wrote at its last step (6) gives way to the longer run's lines
    assert [r["step"] for r in log("part")] == [5, 10, 12]
    assert log("part") == log("whole")
    assert (tmp_path / "part.samples" / "step_00000012.png").exists()


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    data = _blobs()
    out = tmp_path / "m.pt"
    train(_with(VAE, steps=5), dataset=data, out=out, progress=False)
    before = load_checkpoint(out).weights["model"]
    poisoned = Dataset(data.data.clone(), name="bad")
    poisoned.data[:] = float("nan")
    with pytest.raises(TrainingDiverged, match=r"became nan at step 6.*last good checkpoint .*m.pt \(step 5\)"):
        train(None, dataset=poisoned, out=out, resume=True, overrides=["train.steps=20"], progress=False)
    after = load_checkpoint(out)
    assert after.training["step"] == 5
    assert all(torch.equal(before[k], after.weights["model"][k]) for k in before)


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "m.pt"
    out.write_text("mine")
    with pytest.raises(FileExistsError, match="--force"):
        train(_with(VAE, steps=1), dataset=_blobs(), out=out, progress=False)
    assert out.read_text() == "mine"


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.steps=0", "train.steps = 0 is out of range"),
        ("train.stepz=10", "unknown field train.stepz; \\[train\\] accepts: steps"),
        ("model.loss=nonsense", "model.loss = 'nonsense' is not allowed; choose one of: 'minimax'"),
        ("model.latent_dim=2.5", "model.latent_dim must be an integer"),
        ("train.lr=1e39", "train.lr = 1e.39 is not a number models can train with"),
        ("train.lr=inf", "train.lr = inf is not a number models can train with"),
        ("model.d_norm=batch", "d_norm = 'batch' cannot be used with loss 'wgan-gp'"),
    ],
)
def test_bad_config_fields_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(GAN, [override])


def test_unknown_kind_lists_kinds():
    with pytest.raises(ValueError, match="unknown model kind 'flow'.*gan, vae"):
        load_config({"model": {"kind": "flow"}})


def test_a_bundled_config_moves_to_a_folder_of_images(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    notes = []
    cfg = load_config("faces-vae-tiny", [f"data.name={tmp_path}"], log=notes.append)
    # faces' n and seed mean nothing to a folder and are dropped, and said; size applies and stays
    assert cfg.data.options == {"size": 32}
    assert len(notes) == 1 and "n=8000" in notes[0] and "seed=0" in notes[0] and "kept: size=32" in notes[0]
    # an option given on the command line is never dropped: the loader names it instead
    cfg = load_config("faces-vae-tiny", [f"data.name={tmp_path}", "data.options.size=16"])
    assert cfg.data.options == {"size": 16}
    # and the run trains on the folder's images at the config's size
    result = train("faces-vae-tiny", out=tmp_path / "m.pt", progress=False,
                   overrides=[f"data.name={tmp_path}", "train.steps=2", "train.batch_size=4", "train.checkpoint_every=0"])
    assert result.step == 2 and latentlab.load(tmp_path / "m.pt").sample_shape == (3, 32, 32)


def test_gan_inversion_beats_random_codes(single_thread_context):
    data = _blobs()
    with single_thread_context():  # small convolutions: one thread is faster on a shared 2-core machine
        result = train(_with(GAN, steps=80), dataset=data, progress=False)
        gan = result.model
        g = torch.Generator().manual_seed(1)
        z_true = gan.sample_latents(8, generator=g)
        with torch.no_grad():
            x = gan.decode(z_true)
        z_found, err = gan.invert(x, steps=200, restarts=3, generator=g)
    with torch.no_grad():
        random_err = ((gan.decode(gan.sample_latents(8, generator=g)) - x) ** 2).flatten(1).mean(1)
    assert err.mean() < 0.1 * random_err.mean()
    assert gan.encode(x).shape == (8, 4)


def test_load_returns_generator(tmp_path):
    train(_with(VAE, steps=3), dataset=_blobs(), out=tmp_path / "m.pt", progress=False)
    model = latentlab.load(tmp_path / "m.pt")
    from latentlab.models.base import Generator

    assert isinstance(model, Generator) and model.latent_shape == (4,)
    x = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, model.sample(5, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="expects \\(N, 4\\)"):
        model.decode(torch.zeros(2, 5))


DDP_SCRIPT = r"""
import json, sys, torch.distributed as dist
sys.path.insert(0, {tests!r})
from test_training import _blobs, _with, VAE
from latentlab.training import train
r = train(_with(VAE, steps=6, batch_size=32), dataset=_blobs(), out={out!r}, progress=False, device="cpu")
if not dist.is_initialized() and {rank_file!r}:
    open({rank_file!r}, "a").write(json.dumps(r.history) + "\n")
"""


def test_two_process_gloo_matches_single_process(tmp_path):
    """Two processes splitting each global batch compute the same run as one process."""
    script = tmp_path / "ddp.py"
    histories = tmp_path / "histories.jsonl"
    script.write_text(DDP_SCRIPT.format(tests=os.path.dirname(__file__), out=str(tmp_path / "ddp.pt"), rank_file=str(histories)))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29531", str(script)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    both = [json.loads(line) for line in histories.read_text().splitlines()]
    assert len(both) == 2 and both[0] == both[1]  # logs are global-batch averages, the same on each rank
    single = train(_with(VAE, steps=6, batch_size=32), dataset=_blobs(), progress=False).history
    for a, b in zip(both[0], single):
        for key in ("loss", "recon", "kl"):
            assert a[key] == pytest.approx(b[key], rel=1e-3), (a["step"], key)
    assert load_checkpoint(tmp_path / "ddp.pt").training["step"] == 6  # rank 0 wrote the checkpoint


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    """SIGINT stops at the end of a step, writes a checkpoint, exits 130; --resume completes the run."""
    import signal
    import time

    out = tmp_path / "vae.pt"
    args = ["latentlab", "train", "faces-vae-tiny", "--out", str(out), "--quiet", "--set", "data.options.n=256",
            "--set", "train.steps=100000", "--set", "train.log_every=1", "--set", "train.batch_size=16"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = tmp_path / "vae.metrics.jsonl"
    deadline = time.time() + 120
    while not (log.exists() and log.read_text().count("\n") >= 2) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err
    saved = load_checkpoint(out).training["step"]
    assert 2 <= saved < 100000
    done = subprocess.run([*args[:-4], "--resume", "--set", f"train.steps={saved + 3}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out).training["step"] == saved + 3
