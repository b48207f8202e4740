"""Tiny trained faces models shared by the direction tests (trained once per session).

A GAN, a VAE and an attribute classifier on 3000 centred 32 px faces (``nuisance=0``:
with shifts, tilts and random backgrounds the tiny GAN does not learn faces in 500
steps). The bundled ``faces-*-tiny`` configs are used with one change: the GAN's
discriminator gets spectral normalisation. Without it, one training seed in three
gave a GAN that draws glasses on 4 % of its samples, where its edits could not be
tested; with it, five seeds out of five drew glasses on 14-47 % and the glasses edit
flipped 74-95 % of the samples.
Training runs on one thread: on a shared 2-core machine a second thread makes these
small convolutions several times slower, not faster.

The session fixture ``tiny_faces_models`` in ``tests/conftest.py`` calls
:func:`train_tiny_models` (on one thread), so tests in every folder share one training.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Centred faces; the models are trained on them and the data route encodes them too.
DATA_OPTIONS = {"n": 3000, "size": 32, "seed": 0, "nuisance": 0.0}
GAN_OVERRIDES = ["model.spectral_norm=true", "train.checkpoint_every=0"]
VAE_OVERRIDES = ["train.checkpoint_every=0"]
CLASSIFIER_STEPS = 150

NAMES = ("gan", "vae", "classifier")


def train_tiny_models(folder: Path) -> dict[str, Path]:
    """Checkpoints ``{"gan": ..., "vae": ..., "classifier": ...}`` in ``folder`` (trained if missing)."""
    from latentlab.data import load
    from latentlab.training import train_classifier
    from latentlab.training import train

    paths = {name: folder / f"{name}.pt" for name in NAMES}
    done = folder / "trained"
    if done.exists():
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    faces = load("faces", **DATA_OPTIONS)
    train("faces-gan-tiny", out=paths["gan"], overrides=GAN_OVERRIDES, dataset=faces, progress=False, force=True)
    train("faces-vae-tiny", out=paths["vae"], overrides=VAE_OVERRIDES, dataset=faces, progress=False, force=True)
    options = {k: v for k, v in DATA_OPTIONS.items() if k != "n"}
    train_classifier("faces", out=paths["classifier"], n=DATA_OPTIONS["n"], steps=CLASSIFIER_STEPS,
                     data_options=options, progress=False, force=True)
    done.touch()
    return paths


@pytest.fixture(scope="session")
def tiny_models(tiny_faces_models) -> dict[str, Path]:
    """Paths of the tiny trained ``gan``, ``vae`` and ``classifier`` checkpoints."""
    return tiny_faces_models
