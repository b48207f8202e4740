import json

import pytest

# A VAE with a small MLP on the 2-D rings: a few milliseconds a step on one CPU core.
TINY = {
    "model": {"kind": "vae", "latent_dim": 2, "hidden": 16},
    "data": {"name": "rings", "options": {"n": 512, "seed": 0}},
    "train": {"steps": 12, "batch_size": 32, "lr": 1e-3, "ema_decay": 0.9, "log_every": 5, "checkpoint_every": 0},
}


@pytest.fixture
def tiny_config():
    """``tiny_config(**train_fields)``: the tiny run config with some ``train`` fields changed."""
    return lambda **train: {**TINY, "train": {**TINY["train"], **train}}


@pytest.fixture
def logged_losses():
    """``logged_losses(path)``: the lines of a metrics log without their timings (which differ run to run)."""

    def read(path):
        lines = path.read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k not in ("time", "images_per_s")} for line in lines]

    return read
