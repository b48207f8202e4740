"""``latentlab plot``: figures for papers from saved files.

::

    latentlab plot projection codes.npz --attr glasses --method umap --out proj.png
    latentlab plot images --data faces --label glasses --out faces.png
    latentlab plot images --model gan.pt --label glasses --classifier classifier.pt --out samples.png
    latentlab plot traversal gan.pt glasses.npz --out glasses.png
    latentlab plot heatmap matrix.csv --center 0 --out matrix.pdf
    latentlab plot curve log.csv --x step --y loss --series method --out loss.pdf
    latentlab plot redraw proj.csv --out proj.pdf --width two

Every figure is saved with the data behind it (``NAME.data.npz`` or ``NAME.data.csv`` beside ``NAME.png``), from
which ``plot redraw`` draws it again (in another format or size) without the inputs.
"""

from __future__ import annotations

from pathlib import Path

import click

from latentlab.cli.options import (
    check_figure_out, data_option, device_option, force_option, InputPath, loader_options, seed_option, stack,
    traversal_options,
)

_METHODS = ("umap", "pca", "tsne")  # latentlab.plots.projections.METHODS, without importing numpy here


def _width(value):
    if value is None or value in ("one", "two"):
        return value
    try:
        inches = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not 'one', 'two' or a width in inches") from None
    if inches <= 0:
        raise click.BadParameter(f"{value!r} is not a positive width in inches")
    return inches


def _width_option(default):
    return click.option("--width", default=default, show_default=default is not None,
                        callback=lambda ctx, param, value: _width(value),
                        help="one (a column of a two-column paper), two (the full text width) or inches.")


def figure_options(width, title_help="Figure title."):
    """``--out``, ``--format``, ``--title`` and ``--width`` (default ``width``) of a figure command."""
    return stack(
        click.option("--out", type=click.Path(dir_okay=False), required=True,
                     help="Figure to write (.png/.pdf/.svg); its data is saved beside it (NAME.data.npz or NAME.data.csv)."),
        click.option("--format", "formats", type=click.Choice(["png", "pdf", "svg"]), multiple=True,
                     help="Also save in this format (same name), repeatable."),
        click.option("--title", default=None, help=title_help),
        _width_option(width),
    )


def _save(fig, out, formats, force):
    from latentlab.plots import save_figure

    written = save_figure(fig, out, formats=formats, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")


@click.group()
def plot():
    """Figures for papers: projections, image grids, traversals, heatmaps, curves; redraw saved ones."""


@plot.command()
@click.argument("codes", type=InputPath(dir_okay=False))
@click.option("--attr", "attribute", default=None,
              help="Colour by this attribute, score or factor of the codes (default: one colour).")
@click.option("--method", type=click.Choice(_METHODS), default="umap", show_default=True,
              help="umap and tsne keep neighbourhoods; pca is linear (its axes are directions of largest variance).")
@click.option("--n-max", type=click.IntRange(4), default=5000, show_default=True,
              help="Embed at most this many codes (a random subset).")
@figure_options("one")
@seed_option
@force_option
def projection(codes, attribute, method, n_max, out, formats, title, width, seed, force):
    """Embed latent CODES (an .npz from `latentlab encode`) in 2-D and colour them by an attribute."""
    from latentlab.codes import LatentCodes
    from latentlab.plots import codes_labels, projection_figure

    check_figure_out(out, force)
    latent = LatentCodes.load(codes)
    if attribute is not None:
        codes_labels(latent, attribute)  # an unknown name fails before the slow embedding
    fig = projection_figure(latent, method=method, attribute=attribute, random_state=seed, n_max=n_max, title=title,
                            width=width)
    _save(fig, out, formats, force)


@plot.command()
@click.option("--model", type=InputPath(), default=None, help="Draw samples of this model checkpoint.")
@data_option("Or show images of this dataset (built-in name or path).")
@loader_options("Data loader option, repeatable.")
@click.option("--n", type=click.IntRange(1, 1024), default=16, show_default=True, help="Number of images.")
@click.option("--nrow", type=click.IntRange(1), default=None, help="Images per row (default: a near-square grid).")
@click.option("--label", "attribute", default=None,
              help="Write this attribute under each image: the data's label, or the --classifier's prediction for samples.")
@click.option("--classifier", type=InputPath(dir_okay=False), default=None,
              help="Attribute classifier that labels a model's samples (with --label).")
@figure_options("two")
@seed_option
@device_option
@force_option
def images(model, data_name, options, n, nrow, attribute, classifier, out, formats, title, width, seed, device,
           force):
    """A labelled grid of a model's samples (--model) or of a dataset's images (--data)."""
    import torch

    import latentlab
    from latentlab.plots import attribute_labels, image_grid

    if (model is None) == (data_name is None):
        raise click.UsageError("give exactly one of --model (samples of a checkpoint) or --data (a dataset's images)")
    if model is not None and options:
        raise click.UsageError("--option applies to --data only")
    if attribute is not None and model is not None and classifier is None:
        raise click.UsageError("labelling a model's samples needs --classifier PATH")
    if classifier is not None and model is None:
        raise click.UsageError("--classifier labels a model's samples; --data images carry their own labels")
    check_figure_out(out, force)
    labels = None
    if model is not None:
        gen = latentlab.load(model, device=device, expect="generator")
        x = gen.sample(n, generator=torch.Generator().manual_seed(seed))
        if x.ndim != 4:
            raise ValueError(f"{model} draws samples of shape {tuple(x.shape[1:])}, not images")
        if attribute is not None:
            clf = latentlab.load(classifier, device=device, expect="classifier")
            if attribute not in clf.attr_levels:
                raise ValueError(f"unknown attribute {attribute!r}; {classifier} predicts: {', '.join(clf.attr_levels)}")
            labels = attribute_labels(clf.predict(x)[attribute], attribute, clf.attr_levels[attribute])
        title = title or f"{Path(model).name}: {n} samples (seed {seed})"
    else:
        from latentlab.cli.data import _load
        from latentlab.data.stats import random_subset

        dataset = random_subset(_load(data_name, n, seed, options), n, seed=seed)
        if not dataset.is_image:
            raise ValueError(f"{dataset.name!r} holds 2-D points, not images")
        x = dataset.images
        if attribute is not None:
            if attribute not in dataset.attrs:
                raise ValueError(f"unknown attribute {attribute!r}; {dataset.name} has: "
                                 f"{', '.join(dataset.attribute_names) or 'none'}")
            labels = attribute_labels(dataset.attrs[attribute], attribute, dataset.attr_levels.get(attribute))
        title = title or f"{dataset.name}: {len(dataset)} images"
    _save(image_grid(x, nrow=nrow, labels=labels, title=title, width=width), out, formats, force)


@plot.command()
@click.argument("model", type=InputPath())
@click.argument("direction", type=InputPath(dir_okay=False))
@traversal_options
@figure_options("two")
@seed_option
@device_option
@force_option
def traversal(model, direction, component, n, span, steps, out, formats, title, width, seed, device, force):
    """Move codes of MODEL along DIRECTION (a file from `latentlab direction` or `directions pca`) and show the grid."""
    import numpy as np

    from latentlab.plots import model_traversal_figure

    check_figure_out(out, force)
    fig = model_traversal_figure(model, direction, component=component, n=n, steps=np.linspace(span[0], span[1], steps),
                                 seed=seed, device=device, title=title, width=width)
    _save(fig, out, formats, force)


@plot.command()
@click.argument("table", type=InputPath(dir_okay=False))
@click.option("--center", type=float, default=None,
              help="Value at the middle of a diverging colormap (e.g. 0 for signed values); default: sequential.")
@click.option("--vmin", type=float, default=None, help="Lower colour limit.")
@click.option("--vmax", type=float, default=None, help="Upper colour limit.")
@click.option("--cmap", default=None, help="Matplotlib colormap (default: viridis, or RdBu_r with --center).")
@click.option("--fmt", default=".2f", show_default=True, help="Format of the values written in the cells.")
@click.option("--no-annotate", is_flag=True, help="Do not write the values in the cells.")
@click.option("--colorbar-label", default=None, help="Label of the colour bar.")
@click.option("--xlabel", default=None)
@click.option("--ylabel", default=None)
@figure_options(None)
@force_option
def heatmap(table, center, vmin, vmax, cmap, fmt, no_annotate, colorbar_label, xlabel, ylabel, out, formats, title,
            width, force):
    """A heatmap of the matrix in TABLE (CSV: a header of column names, optionally row names in the first column)."""
    from latentlab.plots import heatmap_figure, read_matrix

    check_figure_out(out, force)
    _check_cmap(cmap)
    matrix, rows, cols = read_matrix(table)
    try:
        format(0.5, fmt)
    except ValueError:
        raise click.BadParameter(f"{fmt!r} is not a Python number format such as .2f or .1%", param_hint="--fmt") from None
    fig = heatmap_figure(matrix, rows, cols, cmap=cmap, center=center, vmin=vmin, vmax=vmax, annotate=not no_annotate,
                         fmt=fmt, colorbar_label=colorbar_label, title=title, xlabel=xlabel, ylabel=ylabel, width=width)
    _save(fig, out, formats, force)


def _check_cmap(cmap):
    if cmap is None:
        return
    import matplotlib

    if cmap not in matplotlib.colormaps:
        raise click.BadParameter(f"unknown colormap {cmap!r} (e.g. viridis, cividis, RdBu_r)", param_hint="--cmap")


@plot.command()
@click.argument("table", type=InputPath(dir_okay=False))
@click.option("--x", "x_col", default=None, help="Column of the x axis (default: the first).")
@click.option("--y", "y_cols", multiple=True, help="Column to draw, repeatable (default: every other numeric column).")
@click.option("--series", default=None, help="Column whose values split the rows into series (e.g. method).")
@click.option("--band", type=click.Choice(["ci95", "std", "none"]), default="ci95", show_default=True,
              help="Band around the mean over rows with the same x: 95% confidence interval, ±1 std, or none.")
@click.option("--logx", is_flag=True, help="Logarithmic x axis.")
@click.option("--logy", is_flag=True, help="Logarithmic y axis.")
@click.option("--markers", is_flag=True, help="Mark each point.")
@click.option("--xlabel", default=None, help="x-axis label (default: the x column).")
@click.option("--ylabel", default=None, help="y-axis label (default: the y column, when there is one).")
@figure_options("one")
@force_option
def curve(table, x_col, y_cols, series, band, logx, logy, markers, xlabel, ylabel, out, formats, title, width, force):
    """Mean curves with a confidence band from TABLE (CSV); rows with the same x are runs (seeds) of one point."""
    from latentlab.plots import curve_figure, curves_from_table, read_table

    check_figure_out(out, force)
    columns = read_table(table)
    x, ys = curves_from_table(columns, x=x_col, y=list(y_cols) or None, series=series)
    x_name = x_col or next(iter(columns))
    fig = curve_figure(x, ys, band=None if band == "none" else band, xlabel=xlabel or x_name,
                       ylabel=ylabel or (y_cols[0] if len(y_cols) == 1 else None), title=title, logx=logx, logy=logy,
                       markers=markers, legend=len(ys) > 1, width=width)
    _save(fig, out, formats, force)


@plot.command()
@click.argument("data_file", type=InputPath(dir_okay=False))
@figure_options(None, title_help="Replace the figure's title.")
@force_option
def redraw(data_file, out, formats, title, width, force):
    """Draw a saved figure again from its DATA_FILE (the NAME.data.npz or NAME.data.csv saved beside it), e.g. as PDF.

    Redrawn unchanged beside its own data (fig.data.npz -> fig.pdf), the figure keeps
    that data file as it is; with a new --title or --width it needs another name.
    """
    from pathlib import Path

    from latentlab._io import check_can_write, figure_data_paths
    from latentlab.plots import redraw as redraw_figure
    from latentlab.plots import save_figure

    options = {k: v for k, v in {"title": title, "width": width}.items() if v is not None}
    own_data = Path(data_file).resolve() in {p.resolve() for p in figure_data_paths(out)}
    if own_data and options:
        raise click.UsageError(f"{out} would save the changed figure's data over {data_file}, which it is drawn from; "
                               "give --out another name")
    if own_data:
        for target in [Path(out)] + [Path(out).with_suffix("." + f) for f in formats]:
            check_can_write(target, force)
    else:
        check_figure_out(out, force)
    written = save_figure(redraw_figure(data_file, **options), out, formats=formats, overwrite=force, with_data=not own_data)
    click.echo(f"wrote {', '.join(str(p) for p in written)}" + (f" (its data: {data_file}, unchanged)" if own_data else ""))
