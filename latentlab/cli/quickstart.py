"""``latentlab quickstart``: the whole tour on built-in data, written as an HTML report."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    device_option, force_option, quiet_option, seed_option,
)

OUT = "report"
TINY_DIR = "quickstart-tiny"  # throwaway models of --tiny: apart from the real ones


@click.command()
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report folder (index.html, figures/ as PNG + PDF + data, training logs). "
                   f"[default: {OUT}; with --tiny: {TINY_DIR}/{OUT}]")
@click.option("--models-dir", type=click.Path(file_okay=False), default=None,
              help="Where vae.pt, gan.pt, ddpm.pt and classifier.pt are left for the other commands. "
                   f"[default: the current folder; with --tiny: {TINY_DIR}]")
@click.option("--no-ddpm", is_flag=True, help="Skip the diffusion model (one to two minutes less on a CPU).")
@click.option("--tiny", is_flag=True,
              help=f"A few training steps only: checks the pipeline in seconds; the models are meaningless, so they "
                   f"go to {TINY_DIR}/, where they never block a real quickstart.")
@quiet_option
@seed_option
@device_option
@force_option
def quickstart(out, models_dir, no_ddpm, tiny, quiet, seed, device, force):
    """Train small VAE, GAN and DDPM models on the built-in faces and analyse them, in a few CPU minutes.

    Intrinsic dimension, attribute classifier, glasses/smile/age directions, glasses made
    orthogonal to age (entanglement before/after), edits, and a GAN -> VAE latent map,
    all in one HTML report. Afterwards `latentlab direction --attr glasses` and
    `latentlab map --src gan.pt --dst vae.pt` work as typed in --models-dir.
    """
    from latentlab.report.quickstart import QuickstartSettings, run_quickstart

    if tiny:
        models_dir = TINY_DIR if models_dir is None else models_dir
        out = f"{TINY_DIR}/{OUT}" if out is None else out
    out, models_dir = out or OUT, models_dir or "."
    settings = (QuickstartSettings.tiny if tiny else QuickstartSettings)(ddpm=not no_ddpm, seed=seed)
    result = run_quickstart(out, models_dir=models_dir, settings=settings, device=device, force=force,
                            progress=not quiet, log=click.echo)
    click.echo(f"models: {', '.join(str(p) for p in result.models.values())}")
    click.echo(f"report: {result.report} ({len(result.figures)} files, {result.timings['total']:.0f} s) - open it in a browser")
