"""``latentlab data``: list, preview and summarise datasets."""

from __future__ import annotations

import click

from latentlab.cli.options import InputPath, check_figure_out, force_option, loader_options, parse_data_options, seed_option

_option_option = loader_options("Loader option, repeatable (e.g. -o size=64 -o correlations=glasses~age=0.6).")


def _load(name_or_path, n, seed, options):
    from latentlab import data

    opts = parse_data_options(options)
    if name_or_path in data.available():
        opts.setdefault("seed", seed)
        if n is not None:
            opts.setdefault("n", n)
    dataset = data.load(name_or_path, **opts)
    if len(dataset) == 0:
        raise ValueError(f"{name_or_path} holds no samples")
    return dataset


@click.group()
def data():
    """List, preview and summarise datasets (built-in or your own files)."""


@data.command("list")
def list_cmd():
    """List the built-in datasets and the file formats latentlab reads."""
    from latentlab.data import describe_builtin

    click.echo("Built-in datasets (procedural or bundled; nothing is downloaded):")
    for name, desc in describe_builtin().items():
        click.echo(f"  {name:<8} {desc}")
    click.echo("Your own data (give a path instead of a name):")
    click.echo("  an image folder (searched recursively; optional attributes CSV by file name)")
    click.echo("  a CelebA folder (img_align_celeba/ + list_attr_celeba.txt)")
    click.echo("  an .npz file of images, MNIST-format IDX files (raw or .gz)")


@data.command()
@click.argument("name_or_path", type=InputPath())
@click.option("--n", type=click.IntRange(1, 1024), default=64, show_default=True, help="Number of images.")
@click.option("--out", type=click.Path(dir_okay=False), default="preview.png", show_default=True,
              help="Output image (.png, .pdf or .svg); the images are saved beside it as NAME.data.npz.")
@click.option("--label", default=None, help="Attribute to print under each image.")
@seed_option
@_option_option
@force_option
def preview(name_or_path, n, out, label, seed, options, force):
    """Save a grid of NAME_OR_PATH's images, optionally labelled with one attribute."""
    from latentlab.data.stats import random_subset
    from latentlab.plots import image_grid, save_figure

    check_figure_out(out, force)
    dataset = random_subset(_load(name_or_path, n, seed, options), n, seed=seed)
    if not dataset.is_image:
        raise ValueError(f"{dataset.name!r} holds 2-D points, not images; try 'latentlab data stats'")
    labels = None
    if label is not None:
        if label not in dataset.attrs:
            raise ValueError(f"unknown attribute {label!r}; {dataset.name} has: {', '.join(dataset.attribute_names) or 'none'}")
        levels = dataset.attr_levels[label]
        labels = [f"{label}={levels[v]}" if len(levels) > 2 else (label if v else f"no {label}") for v in dataset.attrs[label]]
    fig = image_grid(dataset.images, labels=labels, title=f"{dataset.name}: {len(dataset)} samples")
    written = save_figure(fig, out, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")


@data.command()
@click.argument("name_or_path", type=InputPath())
@click.option("--n", type=click.IntRange(1), default=None, help="Samples to generate (built-in data).")
@seed_option
@_option_option
def stats(name_or_path, n, seed, options):
    """Print counts, attribute frequencies and attribute correlations."""
    from latentlab.data.stats import attribute_stats

    s = attribute_stats(_load(name_or_path, n, seed, options))
    click.echo(f"{s['name']}: {s['n']} samples of shape {tuple(s['sample_shape'])}")
    if s["factors"]:
        click.echo(f"known factors: {', '.join(s['factors'])}")
    for name, levels in s["attributes"].items():
        parts = ", ".join(f"{lvl} {c} ({frac:.1%})" for lvl, (c, frac) in levels.items())
        click.echo(f"  {name:<12} {parts}")
    names, corr = s["correlation"]
    if len(names) > 1:
        click.echo("correlation of binary attributes (phi):")
        width = max(len(x) for x in names) + 1
        click.echo(" " * width + "".join(f"{x[:7]:>8}" for x in names))
        for name, row in zip(names, corr):
            click.echo(f"{name:<{width}}" + "".join(f"{v:8.2f}" for v in row))
