"""``latentlab clip score``: how well prompts describe images, by a CLIP-style model."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    AS_TRAINED, TRAINED_ON, InputPath, device_option, loader_options, parse_data_options, seed_option,
)


@click.group("clip")
def clip_group():
    """CLIP-style image-text models (train one with: latentlab train faces-clip-tiny)."""


@clip_group.command("score")
@click.argument("model", type=InputPath(dir_okay=False))
@click.option("--prompt", "prompts", multiple=True, required=True, help="A text to score, repeatable.")
@click.option("--images", "data_name", type=InputPath(), default=None,
              help=f"Built-in dataset name or a path to your images {TRAINED_ON}.")
@loader_options(AS_TRAINED)
@click.option("--n", type=click.IntRange(1), default=500, show_default=True, help="Images scored (a random subset).")
@seed_option
@device_option
def score(model, prompts, data_name, options, n, seed, device):
    """Print the CLIP score of each --prompt over images of --images, by MODEL.

    CLIP score = 100 * max(cos(image, text), 0) (Hessel et al. 2021), averaged over the
    images; words the model never saw in training are named in a warning.
    """
    from latentlab import data
    from latentlab.analysis.text_directions import as_clip
    from latentlab.data.spec import choose_data
    from latentlab.data.stats import random_subset
    from latentlab.metrics.retrieval import clip_score

    clip = as_clip(model, device=device, what="MODEL")
    choice = choose_data(data_name, parse_data_options(options), {str(model): clip})
    click.echo(choice.note)
    opts = dict(choice.options)
    if str(choice.data) in data.available() and "n" in data.builtin_options(str(choice.data)):
        opts.setdefault("n", n)
        opts.setdefault("seed", seed)
    dataset = random_subset(data.load_for_model(choice.data, clip, **opts), n, seed=seed)
    scores = clip_score(clip, dataset.get(range(len(dataset))), prompts)
    width = max(len(p) for p in prompts)
    click.echo(f"{'prompt':<{width}}  CLIP score (mean ± sd over {len(dataset)} images)")
    for prompt, row in zip(prompts, scores):
        click.echo(f"{prompt:<{width}}  {row.mean():6.2f} ± {row.std():5.2f}")
