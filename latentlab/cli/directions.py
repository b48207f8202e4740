"""``latentlab direction``, ``edit``, ``evaluate-edit`` and ``directions pca``.

Thin commands over :mod:`latentlab.analysis.workflow`. Run in a folder where the
quickstart trained its models, they need no paths: the model is the first of
``gan.pt``, ``vae.pt``, ``ddpm.pt`` found there, the classifier ``classifier.pt`` and
the CLIP model (for directions from text) ``clip.pt``.
"""

from __future__ import annotations

from pathlib import Path

import click

from latentlab.cli.options import (
    AS_TRAINED, TRAINED_ON, check_figure_out, data_option, device_option, force_option, InputPath,
    loader_options, parse_data_options, quiet_option, seed_option, stack, traversal_options,
)

# Looked for, in this order, in the current folder when --model is not given.
DEFAULT_MODELS = ("gan.pt", "vae.pt", "ddpm.pt")
DEFAULT_CLASSIFIER = "classifier.pt"
DEFAULT_CLIP = "clip.pt"

model_option = click.option(
    "--model", type=InputPath(), default=None,
    help=f"Model checkpoint (default: the first of {', '.join(DEFAULT_MODELS)} in this folder).",
)
classifier_option = click.option(
    "--classifier", type=InputPath(dir_okay=False), default=None,
    help=f"Attribute classifier checkpoint (default: {DEFAULT_CLASSIFIER} if it is in this folder).",
)
clip_option = click.option(
    "--clip", type=InputPath(dir_okay=False), default=None,
    help=f"CLIP image-text model checkpoint, for --labels-from clip or text (default: {DEFAULT_CLIP} if it is in "
         "this folder; train one: latentlab train faces-clip-tiny --out clip.pt).",
)
data_options = [
    data_option(f"Labelled images for --labels-from data: built-in dataset or a path {TRAINED_ON}."),
    loader_options(AS_TRAINED),
]
pca_data_options = [
    data_option(f"Images encoded for --codes data: built-in dataset or a path {TRAINED_ON}."),
    loader_options(AS_TRAINED),
]


def resolve_model(model: str | None) -> str:
    """``model``, or the first default checkpoint in the current folder (announced on stdout)."""
    from latentlab._io import note_input

    if model:
        return model
    for name in DEFAULT_MODELS:
        if Path(name).is_file():
            click.echo(f"using model {name} (choose another with --model)")
            note_input(name)  # an input of the command, like a --model given
            return name
    raise click.UsageError(
        f"no model given and none of {', '.join(DEFAULT_MODELS)} in this folder; pass --model PATH "
        "(or train one: latentlab train faces-gan-tiny --out gan.pt)"
    )


def _in_folder(given: str | None, default: str, what: str, option: str, train: str, required: bool) -> str | None:
    """``given``, or ``default`` in the current folder (announced, and noted as an input) when present;
    with ``required`` a usage error naming ``option`` and how to ``train`` one when neither."""
    from latentlab._io import note_input

    if given:
        return given
    if Path(default).is_file():
        click.echo(f"using {what} {default} (choose another with {option})")
        note_input(default)
        return default
    if required:
        raise click.UsageError(f"no {what} given and no {default} in this folder; pass {option} PATH "
                               f"(or train one: {train})")
    return None


def resolve_classifier(classifier: str | None, required: bool = False) -> str | None:
    """``classifier``, or ``classifier.pt`` in the current folder when present."""
    return _in_folder(classifier, DEFAULT_CLASSIFIER, "classifier", "--classifier", "latentlab classifier train",
                      required)


def resolve_clip(clip: str | None) -> str:
    """``clip``, or ``clip.pt`` in the current folder (announced on stdout); a usage error when neither."""
    return _in_folder(clip, DEFAULT_CLIP, "CLIP model", "--clip", "latentlab train faces-clip-tiny --out clip.pt", True)


def load_kind(path: str) -> str:
    """The model family (``"gan"``, ``"vae"``, ...) of the checkpoint at ``path``; ``"diffusers"`` for a folder."""
    from latentlab.checkpoint import load_checkpoint

    return "diffusers" if Path(path).is_dir() else load_checkpoint(path).kind


def _conditions(values) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


@click.command()
@click.option("--attr", "attribute", default=None,
              help="Binary attribute, e.g. glasses (needed unless --prompt names a text direction).")
@click.option("--condition", "conditions", multiple=True, metavar="ATTR",
              help="Attribute the edit must leave alone, repeatable (or comma-separated).")
@model_option
@click.option("--labels-from", type=click.Choice(["auto", "classifier", "data", "clip", "text"]), default="auto",
              show_default=True,
              help="Label the model's samples with the classifier (seconds), or encode labelled data and use its "
                   "labels, or label the samples zero-shot with a CLIP model (--clip, --prompt/--negative); text: no "
                   "labels, the text's direction pulled back through a linear map from the codes to the CLIP "
                   "embeddings of their images. auto: text if --prompt is given, else classifier if one is found, "
                   "else data. Encoding is fast for a VAE; a GAN inverts each image (see --invert-steps), a DDPM "
                   "runs DDIM inversion.")
@classifier_option
@clip_option
@click.option("--prompt", "prompts", multiple=True,
              help="CLIP labels or text direction: a text saying the attribute is there, repeatable (an ensemble), in "
                   "the words of the CLIP model's captions (e.g. 'a man with glasses'); default: the faces "
                   "prompts of --attr.")
@click.option("--negative", "negatives", multiple=True,
              help="A text saying it is not (e.g. 'a man, no glasses'), repeatable; needed with --prompt.")
@stack(*data_options)
@click.option("--n", type=click.IntRange(4), default=5000, show_default=True, help="Codes to label.")
@click.option("--invert-steps", type=click.IntRange(0), default=20, show_default=True,
              help="GAN with --labels-from data: Adam steps refining each image's code from the recoder's guess. "
                   "Each costs a generator pass forward and back: at 20 steps about 15 ms per image on a free CPU "
                   "core for the quickstart GAN (5000 images in 1-2 minutes, more on a busy machine); 0 takes the "
                   "recoder's guess as it is. The time left is shown as it runs.")
@click.option("--fraction", type=click.FloatRange(0, 0.5, min_open=True), default=0.1, show_default=True,
              help="Classifier and CLIP labels: share of codes kept at each end of the score ranking.")
@click.option("--method", type=click.Choice(["svm", "logistic", "lda", "mean_difference"]), default="svm",
              show_default=True, help="Linear classifier that finds the hyperplane.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Direction file to write (default: ATTR.npz).")
@seed_option
@device_option
@force_option
@quiet_option
def direction(attribute, conditions, model, labels_from, classifier, clip, prompts, negatives, data_name, options, n,
              invert_steps, fraction, method, out, seed, device, force, quiet):
    """Find the latent direction of an attribute (optionally orthogonal to --condition attributes).

    Prints the validation accuracy of the attribute's hyperplane and the cosine with each
    condition before and after orthogonalization, and writes a .npz for `latentlab edit`.

    From text, with a CLIP model: `--labels-from clip --attr glasses` labels the samples
    zero-shot instead of with a classifier; `--prompt 'a man with glasses' --negative
    'a man, no glasses'` alone finds the text's direction, with no labels.
    """
    from latentlab._io import check_can_write
    from latentlab.analysis.text_directions import prompt_name
    from latentlab.analysis.workflow import find_direction, find_text_direction

    if bool(prompts) != bool(negatives):
        raise click.UsageError("give --prompt and --negative together: what the attribute looks like and what its "
                               "absence looks like")
    if labels_from == "auto" and prompts:
        labels_from = "text"
    if prompts and labels_from not in ("clip", "text"):
        raise click.UsageError(f"--prompt is read with --labels-from clip or text, not {labels_from}")
    if attribute is None:
        if not prompts:
            raise click.UsageError("give --attr (or --prompt and --negative for the direction of a text)")
        attribute = prompt_name(prompts[0])
    out = out or f"{attribute}.npz"
    model = resolve_model(model)
    asked = labels_from
    text = labels_from in ("clip", "text")
    classifier = None if labels_from == "data" or text else resolve_classifier(
        classifier, required=labels_from == "classifier")
    clip = resolve_clip(clip) if text else None
    check_can_write(out, force)
    if labels_from == "auto":
        labels_from = "classifier" if classifier else "data"
    encode_options = None
    data_options = parse_data_options(options) if options else None
    said = f"{len(prompts)} prompt(s) and {len(negatives)} negative(s)" if prompts else f"the default {attribute} prompts"
    if labels_from == "text":
        click.echo(f"text direction: {said}, pulled back through a map from {n} codes of {model} to their CLIP "
                   f"embeddings by {clip}")
    elif labels_from == "clip":
        click.echo(f"labels: CLIP {clip} zero-shot, {said}, on {n} samples of {model}")
    elif labels_from == "classifier":
        click.echo(f"labels: classifier {classifier} on {n} samples of {model}")
    else:
        from latentlab.data.spec import choose_data

        choice = choose_data(data_name, data_options, [model])
        click.echo(choice.note)
        data_name, data_options = choice.data, choice.options
        how = ""
        if load_kind(model) in ("gan", "progan"):  # both encode by inversion with a recoder
            import latentlab

            gan = latentlab.load(model, device=device)
            # one start, the recoder's guess (a checkpoint may still ask for the former default of 4)
            encode_options = {"steps": invert_steps, "restarts": 1 if gan.recoder_net is not None else None}
            how = f" ({gan.describe_inversion(**encode_options)})"
        why = " (no classifier given or found in this folder)" if asked == "auto" else ""
        click.echo(f"labels: the {attribute!r} labels of {n} images of {data_name}, encoded by {model}{how}{why}")
    if labels_from == "text":
        result = find_text_direction(
            model, clip, attribute, prompts=list(prompts) or None, negatives=list(negatives) or None,
            conditions=_conditions(conditions), n=n, seed=seed, device=device, progress=not quiet)
    else:
        result = find_direction(
            model, attribute, conditions=_conditions(conditions), labels_from=labels_from, classifier=classifier,
            data=data_name, data_options=data_options, n=n, seed=seed, method=method, fraction=fraction,
            device=device, progress=not quiet, encode_options=encode_options, clip=clip,
            prompts={attribute: (list(prompts), list(negatives))} if prompts else None,
        )
    for line in result.summary():
        click.echo(line)
    if text:
        click.echo(f"CLIP calls {result.labels.mean():.1%} of the {result.n} samples {attribute} (zero-shot)")
    if labels_from == "text":
        click.echo(f"map from codes to CLIP embeddings: R² {result.estimator.r2_:.3f}; the zero-shot score rises "
                   f"{result.estimator.gain_:.3f} per unit step along the direction")
    result.save(out, overwrite=force)
    click.echo(f"wrote {out}")


@click.command()
@model_option
@click.option("--direction", "direction_file", type=InputPath(dir_okay=False), required=True,
              help="Direction file from `latentlab direction` or `latentlab directions pca`.")
@traversal_options
@click.option("--out", type=click.Path(dir_okay=False), default="edit.png", show_default=True,
              help="Figure (.png/.pdf/.svg); the images are saved beside it as NAME.data.npz.")
@seed_option
@device_option
@force_option
def edit(model, direction_file, component, n, span, steps, out, seed, device, force):
    """Draw codes, move each along a direction and save the traversal grid."""
    import numpy as np

    from latentlab.plots import model_traversal_figure, save_figure

    model = resolve_model(model)
    check_figure_out(out, force)
    fig = model_traversal_figure(model, direction_file, component=component, n=n,
                                 steps=np.linspace(span[0], span[1], steps), seed=seed, device=device)
    written = save_figure(fig, out, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")


@click.command("evaluate-edit")
@model_option
@classifier_option
@click.option("--direction", "direction_files", type=InputPath(dir_okay=False), multiple=True, required=True,
              help="Direction file from `latentlab direction`, repeatable.")
@click.option("--step", type=float, default=2.0, show_default=True, help="Edit size, in latent units (not 0).")
@click.option("--n", type=click.IntRange(1), default=256, show_default=True, help="Codes edited.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also save the entanglement matrices as a figure (.png/.pdf/.svg).")
@seed_option
@device_option
@force_option
def evaluate_edit(model, classifier, direction_files, step, n, out, seed, device, force):
    """Score edits with the classifier: entanglement matrix, flip rate, off-target change.

    Each column is the mean change of P(attribute) per unit step. A direction with
    conditions is evaluated twice: as fitted (named by its attribute) and orthogonalized
    (named ATTR|CONDITIONS). Directions of one attribute found in different ways are
    named ATTR~HOW (glasses~classifier, glasses~clip, glasses~text) and their cosines printed.
    """
    import latentlab
    from latentlab.analysis.workflow import DirectionResult, evaluate_directions
    from latentlab.plots import save_figure
    from latentlab.plots.directions import entanglement_figure

    model = resolve_model(model)
    classifier = resolve_classifier(classifier, required=True)
    if out:
        check_figure_out(out, force)
    results = [DirectionResult.load(p) for p in direction_files]
    gen = latentlab.load(model, device=device, expect="generator")
    for path, r in zip(direction_files, results):
        r.check_model(gen, what=str(path))
    clf = latentlab.load(classifier, device=device, expect="classifier")
    before, after = evaluate_directions(gen, clf, results, n=n, step=step, seed=seed)
    click.echo(f"change of P(attribute) per unit step, {n} codes, step {step:g}:")
    click.echo(before.table())
    if after is not None:
        click.echo("orthogonalized to their conditions:")
        click.echo(after.table())
    if len(results) > 1:
        from latentlab.analysis.orthogonal import cosine_matrix

        cosines = cosine_matrix([r.primal for r in results])
        width = max(len(d) for d in before.directions) + 2
        click.echo("cosine between the directions:")
        click.echo(" " * width + "".join(f"{d[:13]:>14}" for d in before.directions))
        for name, row in zip(before.directions, cosines):
            click.echo(f"{name:<{width}}" + "".join(f"{v:14.3f}" for v in row))
    if out:
        written = save_figure(entanglement_figure(before, after), out, overwrite=force)
        click.echo(f"wrote {', '.join(str(p) for p in written)}")


@click.group()
def directions():
    """Directions found without labels."""


@directions.command("pca")
@model_option
@click.option("--k", type=click.IntRange(1), default=10, show_default=True, help="Directions to keep.")
@click.option("--codes", type=click.Choice(["auto", "data", "features", "prior"]), default="auto", show_default=True,
              help="data: PCA of the codes of real images (--data) encoded by the model; features: GANSpace, PCA of "
                   "the decoder's first feature layer for prior codes, regressed back to the codes; prior: codes "
                   "drawn from the prior (an isotropic prior gives uniform, arbitrary components); auto: data for a "
                   "VAE and a DDPM (DDIM inversion: slow), features for a GAN.")
@stack(*pca_data_options)
@click.option("--n", type=click.IntRange(2), default=5000, show_default=True, help="Images encoded or codes drawn.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Save the directions (.npz) for `latentlab edit`.")
@seed_option
@device_option
@force_option
@quiet_option
def pca(model, k, codes, data_name, options, n, out, seed, device, force, quiet):
    """Principal directions of the model's latent space, without labels; prints the variance along each.

    The first line says which codes were used (--codes auto picks per model kind).
    """
    from latentlab._io import check_can_write
    from latentlab.analysis.workflow import pca_directions

    model = resolve_model(model)
    if out:
        check_can_write(out, force)
    result = pca_directions(model, k=k, codes=codes, n=n, seed=seed, data=data_name,
                            data_options=parse_data_options(options) if options else None, device=device,
                            progress=not quiet)
    how = f"--codes auto chose {result.codes} for a {load_kind(model).upper()}" if codes == "auto" else f"--codes {codes}"
    click.echo(f"codes: {result.codes} ({how}): {result.source}")
    unit = "feature variance" if result.codes == "features" else "variance"
    click.echo(f"{'direction':<10}{unit:>17}{'share':>8}{'cumulative':>12}")
    cumulative = 0.0
    for name, var, ratio in zip(result.names, result.explained_variance, result.explained_variance_ratio):
        cumulative += ratio
        click.echo(f"{name:<10}{var:>17.4g}{ratio:>8.3f}{cumulative:>12.3f}")
    if out:
        result.save(out, overwrite=force)
        click.echo(f"wrote {out}")
