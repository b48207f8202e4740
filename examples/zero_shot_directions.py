"""The glasses direction of a GAN found three ways: classifier labels, CLIP zero-shot labels, and from text alone.

Trains (or reuses) a GAN, an attribute classifier and a CLIP-style image-text model on
the built-in faces. The glasses direction of the GAN's latent space is then found

* with classifier labels: the GAN's samples scored by the attribute classifier, the most
  and least glasses-like kept, a linear SVM fitted (InterFaceGAN);
* with CLIP zero-shot labels: the same recipe, the samples scored by
  ``cos(image, "a man with glasses") − cos(image, "a man, no glasses")`` (prompt
  ensembles) — no attribute classifier, no labelled data;
* from text alone: a linear map from the GAN's codes to the CLIP embeddings of its
  samples, and the text difference "with glasses" − "no glasses" pulled back through it
  (``Aᵀ t``) — no labels at all;

and compared with a random direction: the cosine of each with the classifier-labelled
direction, and the flip rate and off-target change of its edits, scored by the classifier.

    python examples/zero_shot_directions.py --quick --out zero_shot           # CPU, a few minutes (32 px)
    python examples/zero_shot_directions.py --quick --models . --out zero_shot # reuse gan.pt, classifier.pt, clip.pt
    python examples/zero_shot_directions.py --out zero_shot                   # faces-gan, faces-clip at 64 px: a GPU job

Writes ``entanglement.png`` (change of every attribute per unit step along each
direction), ``cosines.png`` (cosines between the directions) with the data beside each,
the three direction files (``glasses_classifier.npz``, ``glasses_clip.npz``,
``glasses_text.npz``, for ``latentlab edit``) and ``results.csv`` (one row per direction).
"""

from pathlib import Path

import numpy as np

import latentlab
from latentlab.analysis import clip_label_samples, evaluate_directions, find_direction, find_text_direction
from latentlab.analysis.results import DirectionResult
from latentlab.analysis.text_directions import default_prompts
from latentlab.codes import label_samples
from latentlab.data import load
from latentlab.plots import save_figure
from latentlab.plots.directions import cosine_heatmap, entanglement_figure

from _common import (data_options, example_parser, faces_gan_settings, prepare, train_faces_classifier,
                     train_quietly, write_rows)

STEP = 2.0  # edit size in latent units
# a smaller CLIP than faces-clip-tiny for --smoke: seconds, not a minute
SMOKE_CLIP = ["train.steps=200", "model.embed_dim=32", "model.base_channels=8", "model.width=32", "model.layers=1",
              "model.heads=2", "model.vocabulary_seeds=4", "data.options.n=2000", "train.lr=2e-3"]


def parse_args(argv):
    parser = example_parser(__doc__, "zero_shot", "tiny GAN, classifier and CLIP on 32 px faces (CPU, a few minutes)")
    parser.add_argument("--models", metavar="FOLDER",
                        help="reuse gan.pt, classifier.pt and clip.pt from FOLDER (e.g. the quickstart's); "
                             "those missing are trained")
    return parser.parse_args(argv)


def models(args, s, out):
    """``(gan, classifier, clip, whether all three were reused)``, from --models or trained."""
    folder = Path(args.models) if args.models else None
    found = {name: folder / f"{name}.pt" for name in ("gan", "classifier", "clip")} if folder else {}
    found = {name: path for name, path in found.items() if path.is_file()}
    options = data_options(s["config"], s["data"], args.seed)
    gan = latentlab.load(found["gan"]) if "gan" in found else \
        train_quietly(s["config"], args.seed, s["overrides"], load("faces", **options), args.device)
    clf = latentlab.load(found["classifier"]) if "classifier" in found else \
        train_faces_classifier(options, s["clf_steps"], args.seed, args.device)[0]
    if "clip" in found:
        clip = latentlab.load(found["clip"])
    else:
        # the CLIP learns from its own faces and their captions, never from the GAN's samples
        config = "faces-clip" if s["config"] == "faces-gan" else "faces-clip-tiny"
        clip = train_quietly(config, args.seed, SMOKE_CLIP if args.smoke else [], None, args.device)
    return gan, clf, clip, len(found) == 3


def main(argv=None):
    args = parse_args(argv)
    s = faces_gan_settings(args, quick_fraction=0.1)
    out = prepare(args)
    gan, clf, clip, reused = models(args, s, out)
    # a --smoke GAN of a few steps draws no glasses for a classifier to find: its reference
    # labels come from real faces, located by the recoder (see faces_gan_settings)
    labels = "classifier" if reused else s["labels"]
    n = s["codes"]
    prompts = default_prompts(clip, "glasses")  # "a man with glasses", ... / "a man, no glasses", ...

    # how often CLIP's zero-shot labels of the GAN's samples agree with the classifier's
    zero_shot = clip_label_samples(gan, clip, {"glasses": prompts}, n=n, seed=args.seed + 7).attrs["glasses"]
    truth = label_samples(gan, clf, n=n, seed=args.seed + 7).attrs["glasses"]
    chance = zero_shot.mean() * truth.mean() + (1 - zero_shot.mean()) * (1 - truth.mean())
    agreement = float((zero_shot == truth).mean())
    print(f"CLIP zero-shot glasses labels agree with the classifier's on {100 * agreement:.0f}% of {n} samples "
          f"(independent labels at these rates: {100 * chance:.0f}%)")

    faces = load("faces", **data_options(s["config"], s["data"], args.seed)) if labels == "data" else None
    reference = find_direction(gan, "glasses", labels_from=labels, classifier=clf, data=faces, n=n,
                               fraction=s["fraction"], seed=args.seed)
    clip_labelled = find_direction(gan, "glasses", labels_from="clip", clip=clip, n=n, fraction=s["fraction"],
                                   seed=args.seed)
    text = find_text_direction(gan, clip, "glasses", n=n, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    random = rng.standard_normal(gan.latent_shape)
    random = DirectionResult(attribute="glasses", direction=random / np.linalg.norm(random),
                             primal=random / np.linalg.norm(random), intercept=0.0, labels_from="random")
    results = [reference, clip_labelled, text, random]
    for r in results[:3]:
        r.save(out / f"glasses_{r.labels_from}.npz", overwrite=True)

    effects, _ = evaluate_directions(gan, clf, results, n=s["n_edit"], step=STEP, seed=args.seed + 1)
    cosines = [float(r.primal.ravel() @ reference.primal.ravel()) for r in results]
    how = {labels: f"{labels} labels", "clip": "CLIP zero-shot labels", "text": "text, pulled back", "random": "random"}
    print(f"\n{'glasses direction':<24}{'cosine':>8}{'flip rate':>11}{'off-target':>12}")
    rows = []
    for r, name, cosine in zip(results, effects.directions, cosines):
        flip, off = effects.flip_rate[name], effects.off_target[name]
        print(f"{how[r.labels_from]:<24}{cosine:>8.3f}{flip:>11.3f}{off:>12.3f}")
        rows.append({"direction": name, "found_from": r.labels_from, "cosine_to_reference": cosine,
                     "flip_rate": flip, "off_target": off, "n_codes": n, "n_edited": s["n_edit"], "step": STEP})
    print(f"=> with no classifier, CLIP's zero-shot labels give a direction at cosine {cosines[1]:.2f} to the "
          f"{labels}-labelled one and text alone one at cosine {cosines[2]:.2f}; their edits flip "
          f"{100 * effects.flip_rate[effects.directions[1]]:.0f}% and {100 * effects.flip_rate[effects.directions[2]]:.0f}% "
          f"of the faces without glasses, a random direction {100 * effects.flip_rate[effects.directions[3]]:.0f}%")

    write_rows(rows, out / "results.csv")
    written = save_figure(entanglement_figure(effects), out / "entanglement.png",
                          overwrite=True)
    written += save_figure(cosine_heatmap([r.primal for r in results], effects.directions,
                                          title="cosines between the glasses directions"),
                           out / "cosines.png", overwrite=True)
    print("wrote", ", ".join(map(str, [*written, out / "results.csv"])))
    return {"agreement": agreement, "chance": chance, "cosines": dict(zip(effects.directions, cosines)),
            "flip_rate": dict(effects.flip_rate), "off_target": dict(effects.off_target)}


if __name__ == "__main__":
    main()
