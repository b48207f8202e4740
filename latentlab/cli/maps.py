"""``latentlab map``: fit a linear map between two models' latent spaces; ``map apply`` and
``map transfer``: use one.

::

    latentlab map --src gan.pt --dst vae.pt [--support 2000] [--kind affine] --out gan2vae.npz
    latentlab map apply gan2vae.npz --src gan.pt --dst vae.pt --n 16 --out mapped.png
    latentlab map transfer gan2vae.npz --direction glasses-gan.npz --dst vae.pt --classifier classifier.pt \
        [--direct glasses-vae.npz] [--out glasses-in-vae.npz]

``map`` with options and no subcommand fits; the group is invoked without a command for
that (``invoke_without_command``), so its options are the fitting options.
"""

from __future__ import annotations

import click

from latentlab.cli.options import (
    check_figure_out, data_option, device_option, force_option, InputPath, loader_options, parse_data_options,
    quiet_option, seed_option,
)

_KINDS = ("linear", "affine", "ridge", "procrustes")  # latentlab.analysis.maps.KINDS, without importing numpy here


@click.group(name="map", invoke_without_command=True, subcommand_metavar="[apply|transfer MAP_FILE ...]")
@click.option("--src", "src_path", type=InputPath(), help="Source model: a checkpoint (.pt) or a diffusers model folder. Required to fit.")
@click.option("--dst", "dst_path", type=InputPath(), help="Destination model: a checkpoint (.pt) or a diffusers model folder. Required to fit.")
@click.option("--support", type=click.IntRange(2), default=2000, show_default=True,
              help="Support points (image pairs) the map is fitted on.")
@click.option("--test", "n_test", type=click.IntRange(1), default=256, show_default=True,
              help="Further images held out to score the maps (R/L/M table).")
@click.option("--kind", "kinds", type=click.Choice(_KINDS), multiple=True,
              help="Kind of map, repeatable to compare several; the first is written to --out. [default: affine]")
@click.option("--alpha", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="Ridge penalty (--kind ridge).")
@click.option("--source", type=click.Choice(["auto", "data", "generated"]), default="auto", show_default=True,
              help="data: real images encoded by both models; generated: the source's samples encoded by --dst; "
                   "auto: generated when --src can only encode by optimisation (GAN inversion, slow on a CPU), else data.")
@data_option("Built-in dataset or a path to your images (--source data).", default="faces")
@loader_options("Data loader option, repeatable.")
@click.option("--out", type=click.Path(dir_okay=False), default="map.npz", show_default=True,
              help="Where to write the fitted map (.npz).")
@click.option("--curve", type=click.Path(dir_okay=False), default=None,
              help="Also draw the held-out image error against the support size to this figure (.png/.pdf/.svg).")
@click.option("--table-figure", type=click.Path(dir_okay=False), default=None,
              help="Also draw the R/L/M table to this figure.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@quiet_option
@seed_option
@device_option
@force_option
@click.pass_context
def map_group(ctx, src_path, dst_path, support, n_test, kinds, alpha, source, data_name, options, out, curve,
              table_figure, batch_size, quiet, seed, device, force):
    """Fit a linear map from --src's latent space to --dst's, score it, write it to --out.

    The same images are located in both latent spaces (--source), --test of them are
    held out, and the map is fitted on the other --support. The table printed holds, on
    the held-out images: R, the destination's own reconstruction error; L, the latent
    error of the mapped codes against the destination's codes; M, the image error of
    source code -> map -> destination decoder; and two baselines (a random orthogonal
    map, the mean destination code).

    `latentlab map apply MAP_FILE --src ... --dst ...` draws source samples above their
    mapped counterparts; `latentlab map transfer MAP_FILE --direction ... --dst ...`
    carries an attribute direction into --dst and scores its edits there.
    """
    if ctx.invoked_subcommand is not None:
        return
    missing = [name for name, value in (("--src", src_path), ("--dst", dst_path)) if not value]
    if missing:
        raise click.UsageError(f"Missing option '{missing[0]}' (fitting a map needs --src and --dst).", ctx=ctx)

    import latentlab
    from latentlab._io import check_can_write
    from latentlab.analysis.map_evaluation import evaluate_maps, support_curve
    from latentlab.analysis.support import support_set
    from latentlab.plots import save_figure
    from latentlab.plots.maps import map_table_figure, support_curve_figure

    kinds = kinds or ("affine",)
    check_can_write(out, force)
    if table_figure:
        check_figure_out(table_figure, force, others=[out, curve])
    if curve:
        check_figure_out(curve, force, others=[out, table_figure])
    src, dst = (latentlab.load(p, device=device, expect="generator") for p in (src_path, dst_path))
    if source == "auto":
        source = "generated" if src.encodes_by_optimisation else "data"
        click.echo(f"support: {'samples of ' + str(src_path) + ' located in ' + str(dst_path) if source == 'generated' else 'real images located in both models'}"
                   f" (--source {'data' if source == 'generated' else 'generated'} for the other route)")
    pairs = support_set(src, dst, source=source, data=data_name, n=support + n_test, seed=seed,
                        batch_size=batch_size, data_options=parse_data_options(options), progress=not quiet)
    fit, test = pairs.split(n_test, seed=seed)
    maps = {kind: fit.fit(kind, alpha=alpha) for kind in dict.fromkeys(kinds)}
    evaluation = evaluate_maps(maps, test, dst, support=fit, random_state=seed, batch_size=batch_size)
    click.echo(f"{src_path} -> {dst_path}: {len(fit)} support pairs ({source}), {len(test)} held out")
    click.echo(evaluation.table())
    maps[kinds[0]].save(out, overwrite=force)
    written = [out]
    if table_figure:
        written += save_figure(map_table_figure(evaluation), table_figure, overwrite=force)
    if curve:
        result = support_curve(fit, test, dst, kinds=tuple(maps), alpha=alpha, random_state=seed, batch_size=batch_size)
        written += save_figure(support_curve_figure(result), curve, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)} ({kinds[0]} map)")


@map_group.command("apply")
@click.argument("map_file", type=InputPath(dir_okay=False))
@click.option("--src", "src_path", required=True, type=InputPath(),
              help="Source model checkpoint the map was fitted from.")
@click.option("--dst", "dst_path", required=True, type=InputPath(),
              help="Destination model checkpoint the map was fitted to.")
@click.option("--n", type=click.IntRange(1, 256), default=16, show_default=True, help="Number of source samples.")
@click.option("--per-row", type=click.IntRange(1), default=16, show_default=True, help="Samples per row of the figure.")
@click.option("--encoded", is_flag=True,
              help="Add a row with the source samples located directly by --dst's encoder (slow for a GAN).")
@click.option("--out", type=click.Path(dir_okay=False), default="mapped.png", show_default=True,
              help="Output figure (.png/.pdf/.svg); the images are saved beside it as NAME.data.npz.")
@seed_option
@device_option
@force_option
def apply(map_file, src_path, dst_path, n, per_row, encoded, out, seed, device, force):
    """Draw --n samples of --src above their images through MAP_FILE in --dst."""
    import latentlab
    from latentlab.analysis.transfer import check_map_models, map_samples
    from latentlab.analysis.maps import LatentMap
    from latentlab.plots import save_figure
    from latentlab.plots.maps import mapped_samples_figure

    check_figure_out(out, force)
    latent_map = LatentMap.load(map_file)
    src, dst = (latentlab.load(p, device=device, expect="generator") for p in (src_path, dst_path))
    check_map_models(latent_map, src, dst)
    samples = map_samples(latent_map, src, dst, n=n, seed=seed, encoded=encoded)
    fig = mapped_samples_figure(samples.source, samples.mapped, samples.encoded, per_row=per_row,
                                labels=("source", "mapped", "dst encoded"),
                                title=f"{src_path} -> {dst_path} ({latent_map.kind} map, seed {seed})")
    written = save_figure(fig, out, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")


@map_group.command("transfer")
@click.argument("map_file", type=InputPath(dir_okay=False))
@click.option("--direction", "direction_file", required=True, type=InputPath(dir_okay=False),
              help="Direction file from `latentlab direction`, found in the map's source model.")
@click.option("--dst", "dst_path", required=True, type=InputPath(),
              help="Destination model checkpoint the map was fitted to.")
@click.option("--classifier", type=InputPath(dir_okay=False), default=None,
              help="Attribute classifier checkpoint that scores the edits (default: classifier.pt if it is in this folder).")
@click.option("--direct", "direct_file", type=InputPath(dir_okay=False), default=None,
              help="The same attribute's direction found in --dst itself, to compare with.")
@click.option("--n", type=click.IntRange(1), default=256, show_default=True, help="Destination codes edited.")
@click.option("--step", type=float, default=2.0, show_default=True, help="Edit size, in latent units (not 0).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Save the carried direction as a direction file (.npz) for `latentlab edit --model DST`.")
@seed_option
@device_option
@force_option
def transfer(map_file, direction_file, dst_path, classifier, direct_file, n, step, out, seed, device, force):
    """Carry an attribute direction through MAP_FILE into --dst and score its edits there.

    The direction's edit is applied to --n codes of --dst, and the classifier measures
    how many samples without the attribute gain it (flip rate), against the direction
    found in --dst directly (--direct) and a random direction (chance level).
    """
    import numpy as np

    import latentlab
    from latentlab._io import check_can_write
    from latentlab.analysis.transfer import carry_direction, check_map_models, direction_transfer
    from latentlab.analysis.maps import LatentMap
    from latentlab.analysis.results import DirectionResult, PCAResult, load_direction_file
    from latentlab.cli.directions import resolve_classifier

    classifier = resolve_classifier(classifier, required=True)
    if out:
        check_can_write(out, force)
    latent_map = LatentMap.load(map_file)
    found = load_direction_file(direction_file)
    if isinstance(found, PCAResult):
        raise ValueError(f"{direction_file} holds principal directions (latentlab directions pca), which name no "
                         "attribute to score; give an attribute direction from `latentlab direction`")
    carried = carry_direction(latent_map, found, model=str(dst_path), via=str(map_file), what=str(direction_file))
    dst = latentlab.load(dst_path, device=device, expect="generator")
    check_map_models(latent_map, None, dst)
    direct = None
    if direct_file:
        direct = DirectionResult.load(direct_file)
        direct.check_model(dst, what=str(direct_file))
    clf = latentlab.load(classifier, device=device, expect="classifier")
    effects = direction_transfer(dst, clf, latent_map, found, direct_direction=direct, n=n, step=step, seed=seed)
    click.echo(f"{found.attribute}: {direction_file} ({found.model or 'source'}) carried by {map_file} "
               f"({latent_map.kind} map) into {dst_path}; {n} codes, step {step:g}")
    click.echo("change of P(attribute) per unit step:")
    click.echo(effects.table())
    rates = ", ".join(f"{name} {effects.flip_rate[name]:.3f}" for name in effects.directions)
    click.echo(f"flip rate of {found.attribute}: {rates}")
    if direct is not None:
        cosine = float(np.dot(carried.direction.reshape(-1), direct.direction.reshape(-1)))
        click.echo(f"cosine between the carried and the direct direction: {cosine:+.3f}")
    if out:
        carried.save(out, overwrite=force)
        click.echo(f"wrote {out} (use: latentlab edit --model {dst_path} --direction {out})")

