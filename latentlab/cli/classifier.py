"""``latentlab classifier``: train the attribute classifier that labels samples and scores edits."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    data_option, device_option, force_option, loader_options, parse_data_options, quiet_option, seed_option,
)


@click.group()
def classifier():
    """Attribute classifiers (label a model's samples, evaluate edits)."""


@classifier.command("train")
@data_option("Built-in dataset or a path to labelled data.", default="faces")
@click.option("--out", type=click.Path(dir_okay=False), default="classifier.pt", show_default=True, help="Checkpoint to write.")
@click.option("--n", type=click.IntRange(100), default=20000, show_default=True, help="Training samples.")
@click.option("--steps", type=click.IntRange(1), default=1500, show_default=True, help="Training steps (batches of 64).")
@loader_options()
@seed_option
@device_option
@force_option
@quiet_option
def train_cmd(data_name, out, n, steps, options, seed, device, force, quiet):
    """Train a CNN predicting every attribute of --data; print its held-out accuracy."""
    from latentlab.training import train_classifier

    _, accuracy = train_classifier(data_name, out=out, n=n, steps=steps, seed=seed, data_options=parse_data_options(options),
                                   device=device, force=force, progress=not quiet)
    click.echo(f"wrote {out}; held-out accuracy:")
    for name, acc in accuracy.items():
        click.echo(f"  {name:<12} {acc:.3f}")
