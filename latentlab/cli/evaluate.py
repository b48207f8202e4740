"""``latentlab evaluate``: one table of sample-quality (and mode-coverage) metrics across models."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    check_figure_out, data_option, device_option, force_option, InputPath, loader_options, parse_data_options,
    quiet_option,
)


@click.command()
@click.argument("models", nargs=-1, required=True, metavar="MODEL...", type=InputPath(exists=True))
@data_option("Real data: built-in dataset (faces, digits, ...) or a path. Default: the data the models were "
                   "trained on, with its options (refused when they were trained on different data).")
@loader_options("Data loader option, repeatable. For the models' training data the others stay as trained "
                   "(e.g. nuisance); the image size defaults to the first model's.")
@click.option("--classifier", type=InputPath(exists=True, dir_okay=False), default=None,
              help="Attribute classifier whose features define FID-domain (default: train one on the data, seed 0).")
@click.option("--n", type=click.IntRange(1), default=2000, show_default=True, help="Samples per model and seed.")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True,
              help="Number of sampling seeds (0, 1, ...); the table shows mean ± sd over them.")
@click.option("--disentanglement", is_flag=True, help="Add disentanglement scores (data with known factors, e.g. shapes).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the table as CSV.")
@click.option("--figure", type=click.Path(dir_okay=False), default=None,
              help="Also draw the table (.png/.pdf/.svg; its data is saved beside it as NAME.data.csv).")
@device_option
@force_option
@quiet_option
def evaluate(models, data_name, options, classifier, n, seeds, disentanglement, out, figure, device, force, quiet):
    """Score MODEL checkpoints on real data: FID-domain, KID, precision/recall, density/coverage.

    The real data is the data the models were trained on unless --data names other
    data; the first line says which data and options are used.

    On rings/grid and digits the table adds modes covered, % high-quality samples and the
    reverse KL of the mode histogram. FID-domain is computed in the features of an
    attribute classifier of the data: comparable between models on one dataset with one
    classifier, not with Inception FID.
    """
    from latentlab._io import check_can_write
    from latentlab.data.spec import choose_data
    from latentlab.metrics import evaluate_models

    data_options = parse_data_options(options)
    if out:  # refuse before minutes of sampling, not after
        check_can_write(out, force)
    if figure:
        check_figure_out(figure, force, others=[out])
    choice = choose_data(data_name, data_options, list(models))
    click.echo(choice.note)
    table = evaluate_models(list(models), choice.data, classifier=classifier, data_options=choice.options, n=n,
                            seeds=range(seeds), disentanglement=disentanglement, device=device,
                            progress=not quiet)
    click.echo(table.format())
    if out:
        table.to_csv(out, overwrite=force)
        click.echo(f"wrote {out}")
    if figure:
        from latentlab.plots.metrics import evaluation_figure
        from latentlab.plots.style import save_figure

        written = save_figure(evaluation_figure(table), figure, overwrite=force)
        click.echo(f"wrote {', '.join(map(str, written))}")
