"""``latentlab translate``: a translator's inputs, translations and round trips as one grid."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    AS_TRAINED, TRAINED_ON, InputPath, check_figure_out, data_option, device_option, force_option, loader_options,
    parse_data_options, seed_option,
)


@click.command()
@click.argument("model", type=InputPath(dir_okay=False))
@data_option(f"Built-in dataset name or a path to your images {TRAINED_ON}.")
@click.option("--n", type=click.IntRange(1, 64), default=16, show_default=True, help="Images to translate (columns).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="a2b: domain A to B (e.g. no glasses to glasses); b2a: back.")
@click.option("--out", type=click.Path(dir_okay=False), default="translation.png", show_default=True,
              help="Output figure (.png/.pdf/.svg); the images are saved beside it as NAME.data.npz.")
@loader_options(AS_TRAINED)
@seed_option
@device_option
@force_option
def translate(model, data_name, n, direction, out, options, seed, device, force):
    """Translate images of one domain with MODEL (a CycleGAN) and back.

    The grid has three rows: the inputs (images of the source domain of --data, chosen with
    --seed), their translations, and the translations translated back.
    """
    import latentlab
    from latentlab import data
    from latentlab.analysis.translation import domain_images, translation_rows
    from latentlab.data.spec import choose_data
    from latentlab.plots import image_rows_figure, save_figure

    check_figure_out(out, force)
    translator = latentlab.load(model, device=device, expect="translator")
    given = parse_data_options(options)
    choice = choose_data(data_name, given, {str(model): translator})
    click.echo(choice.note)
    opts = dict(choice.options)
    if "n" not in given and str(choice.data) in data.available() and "n" in data.builtin_options(str(choice.data)):
        opts["n"] = max(200, 20 * n)  # enough of each domain to choose from, rendered quickly
    dataset = data.load_for_model(choice.data, translator, **opts)
    images = domain_images(dataset, getattr(translator.config, "domain_attr", None), direction, n, seed=seed)
    fig = image_rows_figure(translation_rows(translator, images, direction),
                            title=f"{translator.domains[0]} <-> {translator.domains[1]}: {direction}")
    written = save_figure(fig, out, overwrite=force)
    click.echo(f"translated {len(images)} images {direction}; wrote {', '.join(str(p) for p in written)}")
