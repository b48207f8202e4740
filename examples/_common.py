"""What the example scripts share: their common options, the thread setting and output
folder, training a bundled config quietly, and writing the results table.

Not part of latentlab: Python puts this folder on the path when an example is run as a
script (``python examples/<name>.py``), which is how the examples import it.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch

from latentlab.training import train_classifier
from latentlab.training import load_config, train

LABELS_HELP = ("how codes get their labels: 'classifier' (default) labels the GAN's own samples, as InterFaceGAN; "
               "'data' locates real labelled faces in the latent space by GAN inversion (slow on a CPU)")


def example_parser(doc: str, out: str, quick_help: str, *, device_help: str = "where to train: auto, cpu, cuda, ...",
                   seed_help: str | None = None, threads_help: str = "small networks") -> argparse.ArgumentParser:
    """An argument parser with the options every example has: ``--quick``, the hidden
    ``--smoke`` (seconds; for the tests), ``--out``, ``--device``, ``--seed``, ``--threads``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=out, help="folder for the figures and the results table")
    parser.add_argument("--device", default="auto", help=device_help)
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--threads", type=int, help=f"CPU threads for torch (default: 1 with --quick, whose "
                        f"{threads_help} gain nothing from more on a shared machine; torch's choice otherwise)")
    return parser


def faces_gan_settings(args, quick_fraction: float) -> dict:
    """Sizes of the GAN-on-faces direction examples for ``--smoke``, ``--quick`` and a full
    run; ``quick_fraction`` is the share of codes kept at each end of the score ranking."""
    if args.smoke:
        # a GAN of a few steps draws neither glasses nor old faces yet, so its codes are
        # labelled from real faces, located by the recoder alone (no inversion steps)
        return dict(config="faces-gan-tiny", overrides=["train.steps=15", "model.invert_steps=0"],
                    data={"n": 256, "nuisance": 0.0}, clf_steps=10, codes=256, fraction=0.25, n_edit=64, labels="data")
    if args.quick:
        # centred faces: with shifts, tilts and backgrounds a tiny GAN learns no faces in 500 steps
        return dict(config="faces-gan-tiny", overrides=[], data={"n": 3000, "nuisance": 0.0},
                    clf_steps=150, codes=3000, fraction=quick_fraction, n_edit=500, labels="classifier")
    return dict(config="faces-gan", overrides=[], data={}, clf_steps=1500, codes=20000, fraction=0.05, n_edit=2000,
                labels="classifier")


def prepare(args) -> Path:
    """Set torch's threads (one for --quick/--smoke unless --threads says otherwise) and
    make the output folder; returns it."""
    if args.threads or args.quick or args.smoke:
        torch.set_num_threads(args.threads or 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def data_options(config: str, changes: dict, seed: int) -> dict:
    """The data options of a bundled config, with this run's changes and seed."""
    return {**load_config(config).data.options, **changes, "seed": seed}


def train_quietly(config: str, seed: int, overrides, dataset, device: str):
    """The model of ``config`` trained on ``dataset`` (no checkpoints, no progress bar)."""
    return train(config, overrides=[f"train.seed={seed}", "train.checkpoint_every=0", *overrides],
                 dataset=dataset, device=device, progress=False).model


def train_faces_classifier(options: dict, steps: int, seed: int, device: str):
    """The attribute classifier on faces drawn with ``options``: (classifier, held-out accuracy per attribute)."""
    return train_classifier("faces", n=min(options["n"], 20000), steps=steps, seed=seed,
                            data_options={k: v for k, v in options.items() if k != "n"}, device=device,
                            progress=False)


def write_rows(rows: list[dict], path: Path) -> Path:
    """``rows`` (dicts with the same keys) as a CSV table at ``path``."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
