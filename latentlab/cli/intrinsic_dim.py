"""``latentlab intrinsic-dim``: intrinsic dimension of data, latent codes or a model's samples."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    InputPath, check_figure_out, device_option, force_option, parse_data_options, seed_option,
)

METHOD_NAMES = ("twonn", "mle", "local_pca", "correlation", "gride")


@click.command("intrinsic-dim")
@click.option("--data", "data_name", type=InputPath(), default=None,
              help="Built-in dataset or path: ID of the (flattened) images.")
@click.option("--latents", type=InputPath(dir_okay=False), default=None, help="A codes .npz (from `latentlab encode`).")
@click.option("--model", type=InputPath(dir_okay=False), default=None,
              help="A checkpoint: ID of its samples, of its codes of real data, and its decoder's local dimension.")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHOD_NAMES), help="Estimator, repeatable (default: twonn and mle).")
@click.option("--n", type=click.IntRange(10), default=5000, show_default=True, help="Points used.")
@click.option("--calibrate/--no-calibrate", default=True, show_default=True,
              help="Correct the underestimate of neighbour-based estimators at high dimension.")
@click.option("--boot", type=click.IntRange(0), default=20, show_default=True, help="Bootstrap resamples for the interval (0: none).")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help="Data loader option, repeatable.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw the TwoNN fit and ID against scale of the first point set to this file (.png/.pdf/.svg).")
@seed_option
@device_option
@force_option
def intrinsic_dim(data_name, latents, model, methods, n, calibrate, boot, options, plot, seed, device, force):
    """Estimate intrinsic dimension (give exactly one of --data, --latents, --model) and suggest a latent size."""
    import numpy as np
    import torch

    from latentlab import data as data_mod
    from latentlab.analysis.intrinsic_dim import decoder_local_dimension, format_id_table, id_table, suggest_latent_size
    from latentlab.data.stats import random_subset

    given = [x for x in (data_name, latents, model) if x is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --data, --latents or --model")
    if plot:  # before any work
        check_figure_out(plot, force)
    methods = methods or ("twonn", "mle")
    opts = parse_data_options(options)

    def load_data(name, **extra):
        if name in data_mod.available():
            opts.setdefault("seed", seed)
            if "n" in data_mod.builtin_options(name):
                opts.setdefault("n", n)
        return random_subset(data_mod.load(name, **{**opts, **extra}), n, seed=seed)

    points = {}
    gen = None
    if data_name is not None:
        points[f"data {data_name}"] = load_data(data_name).data
    elif latents is not None:
        from latentlab.codes import LatentCodes

        z = LatentCodes.load(latents).z
        points[f"codes {latents}"] = z[np.random.default_rng(seed).permutation(len(z))[:n]]
    else:
        import latentlab
        from latentlab.codes import encode_dataset

        gen = latentlab.load(model, device=device, expect="generator")
        points[f"samples {model}"] = torch.cat([gen.sample(min(512, n - i), generator=torch.Generator().manual_seed(seed + i))
                                               for i in range(0, n, 512)])
        trained_on = (latentlab.checkpoint.load_checkpoint(model).dataset or {}).get("name")
        if trained_on and hasattr(gen, "encode"):
            real = data_mod.load_for_model(trained_on, gen, **({"n": min(n, 2000), "seed": seed} if trained_on in data_mod.available() else {}))
            real = random_subset(real, min(n, 2000), seed=seed)
            points[f"data {trained_on}"] = real.data
            if type(gen).__name__ != "GAN":  # GAN inversion of thousands of images is slow; skip by default
                points[f"codes of {trained_on}"] = encode_dataset(gen, real).z
    rows = id_table(points, methods, calibrate=calibrate, n_boot=boot, seed=seed)
    click.echo(format_id_table(rows))
    if gen is not None:
        ranks = decoder_local_dimension(gen, n=16, seed=seed)
        click.echo(f"decoder local dimension (Jacobian rank at 16 codes): median {int(np.median(ranks))}, "
                   f"range {ranks.min()}-{ranks.max()} (latent size {gen.latent_dim})")
    first = next((r for r in rows if r.what.startswith("data")), rows[0])
    click.echo(f"suggested latent size: {suggest_latent_size(first.dimension, first.ci)} "
               f"(1.5x the upper end of the {first.method} ID of {first.what}, rounded up to a multiple of 4)")
    if plot:
        from latentlab.analysis.intrinsic_dim import flatten_points
        from latentlab.plots import save_figure
        from latentlab.plots.intrinsic_dim import intrinsic_dim_figure

        name, x = next(iter(points.items()))
        written = save_figure(intrinsic_dim_figure(flatten_points(x), title=name), plot, overwrite=force)
        click.echo(f"wrote {', '.join(str(p) for p in written)}")
