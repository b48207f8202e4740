"""``latentlab intrinsic-dim``: intrinsic dimension of data, latent codes or a model's samples."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    check_figure_out, data_option, device_option, force_option, InputPath, loader_options, parse_data_options,
    quiet_option, seed_option,
)

METHOD_NAMES = ("twonn", "mle", "local_pca", "correlation", "gride")


@click.command("intrinsic-dim")
@data_option("Built-in dataset or path: ID of the (flattened) images. With --model: the real data compared "
                   "and encoded (default: the data the model was trained on, with its options).")
@click.option("--latents", type=InputPath(dir_okay=False), default=None, help="A codes .npz (from `latentlab encode`).")
@click.option("--model", type=InputPath(), default=None,
              help="A checkpoint: ID of its samples, of its codes of real data, and its decoder's local dimension.")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHOD_NAMES), help="Estimator, repeatable (default: twonn and mle).")
@click.option("--n", type=click.IntRange(10), default=5000, show_default=True, help="Points used.")
@click.option("--calibrate/--no-calibrate", default=True, show_default=True,
              help="Correct the underestimate of neighbour-based estimators at high dimension.")
@click.option("--boot", type=click.IntRange(0), default=20, show_default=True, help="Bootstrap resamples for the interval (0: none).")
@loader_options("Data loader option, repeatable.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw the TwoNN fit and ID against scale of the point set the suggested latent size is "
                   "about (the data, where there are data) to this file (.png/.pdf/.svg).")
@click.option("--jacobian-codes", type=click.IntRange(0), default=None,
              help="--model: codes at which the decoder's Jacobian rank is computed (0: none). Default 16 when the "
                   "codes have at most --jacobian-directions dimensions, else 0.")
@click.option("--jacobian-directions", type=click.IntRange(1), default=64, show_default=True,
              help="--model: latent directions the Jacobian is taken along. Codes with at most this many dimensions "
                   "get the exact rank (one decoder pass per dimension and code); larger ones, e.g. a DDPM's, are "
                   "probed along this many random directions and the rank is a lower bound.")
@seed_option
@device_option
@force_option
@quiet_option
def intrinsic_dim(data_name, latents, model, methods, n, calibrate, boot, options, plot, jacobian_codes,
                  jacobian_directions, seed, device, force, quiet):
    """Estimate intrinsic dimension (of --data, --latents or --model) and suggest a latent size.

    With --model it estimates the ID of the model's samples, of real data (the data
    the model was trained on, with its options, unless --data names other data) and of
    that data's codes.

    With --model it also prints the decoder's local dimension, the rank of its Jacobian
    at codes drawn from the prior: 16 codes x 16 decoder passes for a 16-d VAE, seconds on
    a CPU; for a DDPM (3072-d codes, each pass a DDIM run) only when asked with --jacobian-codes.
    """
    import numpy as np

    from latentlab import data as data_mod
    from latentlab.analysis.intrinsic_dim import format_id_table, id_table, suggest_latent_size
    from latentlab.data.stats import random_subset

    given = [x for x in (data_name if model is None else None, latents, model) if x is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --data, --latents or --model (--data may go with --model: "
                               "the real data it is compared with)")
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
    if model is None and data_name is not None:
        points[f"data {data_name}"] = load_data(data_name).data
    elif latents is not None:
        from latentlab.codes import LatentCodes

        z = LatentCodes.load(latents).z
        points[f"codes {latents}"] = z[np.random.default_rng(seed).permutation(len(z))[:n]]
    else:
        import latentlab
        from latentlab.analysis.intrinsic_dim import model_point_sets

        gen = latentlab.load(model, device=device, expect="generator")
        points, _ = model_point_sets(gen, name=str(model), data=data_name, data_options=opts, n=n, seed=seed,
                                     encode=not gen.encodes_by_optimisation, progress=not quiet, log=click.echo)
    rows = id_table(points, methods, calibrate=calibrate, n_boot=boot, seed=seed, progress=not quiet)
    click.echo(format_id_table(rows))
    if gen is not None:
        _local_dimension(gen, jacobian_codes, jacobian_directions, seed, quiet)
    first = next((r for r in rows if r.what.startswith("data")), rows[0])
    click.echo(f"suggested latent size: {suggest_latent_size(first.dimension, first.ci)} "
               f"(1.5x the upper end of the {first.method} ID of {first.what}, rounded up to a multiple of 4)")
    if plot:
        from latentlab.plots import save_figure
        from latentlab.plots.intrinsic_dim import intrinsic_dim_figure

        written = save_figure(intrinsic_dim_figure(points, which=first.what, calibrate=calibrate, random_state=seed),
                              plot, overwrite=force)
        click.echo(f"wrote {', '.join(str(p) for p in written)}")


def _local_dimension(gen, codes: int | None, directions: int, seed: int, quiet: bool) -> None:
    """Print the rank of ``gen``'s decoder Jacobian, or why it was not computed."""
    import numpy as np

    from latentlab.analysis.intrinsic_dim import decoder_local_dimension

    d = gen.latent_dim
    exact = d <= directions
    codes = (16 if exact else 0) if codes is None else codes
    if codes == 0:
        if not exact:
            click.echo(f"decoder local dimension: not computed; the codes have {d} dimensions, so the Jacobian at one "
                       f"code takes {d} passes through the decoder (for a diffusion model each a whole DDIM run). "
                       f"--jacobian-codes N probes {directions} random directions at N codes (--jacobian-directions "
                       "sets how many), giving a lower bound.")
        return
    along = f"all {d} latent directions" if exact else f"{directions} random directions of {d}"
    click.echo(f"decoder local dimension: Jacobian at {codes} codes along {along} "
               f"({codes * min(d, directions)} decoder passes, forward mode)")
    ranks = decoder_local_dimension(gen, n=codes, seed=seed, max_directions=None if exact else directions,
                                    progress=not quiet)
    at_least = "at least " if not exact and np.median(ranks) >= directions else ""
    click.echo(f"decoder local dimension (Jacobian rank at {codes} codes): median {at_least}{int(np.median(ranks))}, "
               f"range {ranks.min()}-{ranks.max()} (latent size {d})")
