"""``latentlab edit-prompt``: edit real images with a text-conditioned diffusion model, by prompt."""

from __future__ import annotations

import click

from latentlab.cli.options import (
    AS_TRAINED, TRAINED_ON, InputPath, check_figure_out, data_option, device_option, force_option, loader_options,
    parse_data_options, quiet_option, seed_option,
)


@click.command("edit-prompt")
@click.argument("model", type=InputPath(dir_okay=False))
@click.option("--from", "source", default=None, help="What the images show, e.g. 'a young man' (with --to).")
@click.option("--to", "target", default=None, help="What they should show, e.g. 'an old man' (with --from).")
@click.option("--add", metavar="ATTRIBUTE", default=None,
              help="Instead of --from/--to: each face's own caption, and the same caption with ATTRIBUTE added "
                   "(glasses, hat or beard; faces without it are chosen).")
@data_option(f"Built-in dataset name or a path to your images {TRAINED_ON}.")
@loader_options(AS_TRAINED)
@click.option("--n", type=click.IntRange(1, 64), default=8, show_default=True, help="Images to edit (columns).")
@click.option("--guidance", type=click.FloatRange(0), default=None,
              help="Classifier-free guidance weight of the decoding under --to. Default: the config's guidance_scale.")
@click.option("--steps", type=click.IntRange(1), default=None,
              help="DDIM steps of the inversion and the decodings. Default: the config's decode_steps.")
@click.option("--classifier", type=InputPath(dir_okay=False), default=None,
              help="Attribute classifier checkpoint: score the edit (flip rate, off-target change, SSIM).")
@click.option("--attribute", default=None, help="The attribute the edit should switch on, for --classifier "
              "(default: the --add attribute).")
@click.option("--out", type=click.Path(dir_okay=False), default="prompt_edit.png", show_default=True,
              help="Output figure (.png/.pdf/.svg): inputs, reconstructions, edits; the images are saved beside it.")
@seed_option
@device_option
@force_option
@quiet_option
def edit_prompt(model, source, target, add, data_name, options, n, guidance, steps, classifier, attribute, out, seed,
                device, force, quiet):
    """Edit real images by prompt with MODEL (a text-conditioned DDPM).

    Each image is DDIM-inverted under the prompt --from (what it shows) and decoded from that
    noise under --to, with guidance. The figure has three rows: the inputs (chosen from --data
    with --seed), their reconstructions under --from (the edit's starting point) and the edits.
    """
    if add is None and (source is None or target is None):
        raise click.UsageError("give --from and --to (what the images show, what they should show), or --add")
    if add is not None and (source is not None or target is not None):
        raise click.UsageError("--add makes the prompts from each face's caption: give it without --from/--to")
    attribute = attribute or add
    if classifier is not None and attribute is None:
        raise click.UsageError("--classifier scores the edit for an attribute: give --attribute (e.g. age)")

    import numpy as np

    import latentlab
    from latentlab import data
    from latentlab.analysis.prompt_editing import attribute_prompt_pairs, check_editable, edit_by_prompt
    from latentlab.data.spec import choose_data
    from latentlab.metrics.text_to_image import check_text_model
    from latentlab.plots import image_rows_figure, save_figure

    check_figure_out(out, force)
    gen = latentlab.load(model, device=device, expect="generator")
    check_text_model(gen)
    if add is not None:
        check_editable(add)
    else:
        gen.text_context([source, target])  # refuses an empty prompt, or one of no known word, before any work
    clf = latentlab.load(classifier, device=device, expect="classifier") if classifier else None
    if clf is not None and attribute not in clf.attribute_names:
        raise ValueError(f"--attribute {attribute!r} is not predicted by {classifier}; it predicts: "
                         f"{', '.join(clf.attribute_names)}")
    given = parse_data_options(options)
    choice = choose_data(data_name, given, {str(model): gen})
    click.echo(choice.note)
    opts = dict(choice.options)
    if "n" not in given and str(choice.data) in data.available() and "n" in data.builtin_options(str(choice.data)):
        opts["n"] = max(200, 20 * n)  # enough to choose from, rendered quickly
    dataset = data.load_for_model(choice.data, gen, **opts)
    pool = np.arange(len(dataset))
    if add is not None:
        if add not in dataset.attrs:
            raise ValueError(f"--add {add} needs faces with attributes; {dataset.name} has: "
                             f"{', '.join(dataset.attrs) or 'no attributes'}")
        pool = np.flatnonzero(np.asarray(dataset.attrs[add]) == 0)
    index = np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False))
    if add is not None:
        source, target = attribute_prompt_pairs({k: np.asarray(v)[index] for k, v in dataset.attrs.items()}, add,
                                                seed=seed)
    x = dataset.get(index)
    edit = edit_by_prompt(gen, x, source, target, guidance_scale=guidance, steps=steps, progress=not quiet)
    shown = f"{edit.source[0]!r} -> {edit.target[0]!r}" + (" (the first image's)" if add else "")
    click.echo(f"edited {len(x)} images: {shown}, guidance {edit.guidance_scale:g}, {edit.steps} DDIM steps")
    if clf is not None:
        sc = edit.score(clf, attribute)
        click.echo(f"{attribute}: flip rate {sc.flip_rate:.3f}, off-target change {sc.off_target:.3f}, "
                   f"SSIM to the input {sc.ssim:.3f}, reconstruction L1 {sc.cycle_error:.3f}")
    fig = image_rows_figure({"input": x, "reconstruction": edit.reconstruction, "edited": edit.edited},
                            title=f"{edit.source[0]} -> {edit.target[0]}" if not add else f"adding {add}")
    written = save_figure(fig, out, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")
