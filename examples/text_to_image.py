"""Text to image with a small diffusion model: does it draw what the prompt says, and can a prompt edit a face?

Trains (or reuses, ``--models``) a CLIP-style image-text model (faces-clip-tiny), a
diffusion model that reads captions with that model's frozen text encoder
(faces-ddpm-text-tiny) and an attribute classifier, on the built-in faces. Then:

* **prompts → samples**: a few prompts, one row each, the same starting noise in each column;
* **prompt accuracy**: held-out prompts (the captions of faces the model never saw, in
  wordings never used in training), one sample each; the classifier's call on each sample
  compared with every fact its prompt states, per attribute. The chance level is the same
  score of the unconditional model's samples (the same noise) against the same prompts;
* **the guidance sweep** w = 0, 1, 2, 3, 5, 8: prompt accuracy, FID-domain (in the
  classifier's feature space) and CLIP score of the same prompts and noise at each weight,
  and the trade-off figure (accuracy against FID-domain);
* **editing by prompt**: held-out faces without glasses are DDIM-inverted under their own
  caption and decoded under the same caption "with glasses"; scored as any other edit of
  real images (flip rate, off-target change, SSIM to the input), next to the identity edit
  (the same caption at w = 1: the inversion round trip), and the young among them
  made old ("a young man" -> "an old man").

    python examples/text_to_image.py --quick --out text_to_image       # CPU, 23 minutes on one shared core (32 px)
    python examples/text_to_image.py --quick --models . --out t2i      # reuse clip.pt, ddpm-text.pt, classifier.pt
    python examples/text_to_image.py --out text_to_image               # the configs as bundled, more samples

``--quick`` trains the DDPM on centred faces (no shifts, tilts or backgrounds), which a
small model learns in minutes. Writes ``prompts.png``, ``tradeoff.png`` and ``edits.png``
with the data beside each, and ``accuracy.csv``, ``sweep.csv`` and ``edits.csv``.
"""

from pathlib import Path

import numpy as np

import latentlab
from latentlab.analysis import attribute_prompt_pairs, edit_by_prompt
from latentlab.data import load
from latentlab.metrics import guidance_sweep, prompt_accuracy
from latentlab.metrics.text_to_image import GUIDANCES, prompt_samples
from latentlab.plots import image_rows_figure, save_figure
from latentlab.plots.text_to_image import guidance_tradeoff_figure
from latentlab.training import train

from _common import data_options, example_parser, prepare, train_faces_classifier, write_rows

PROMPTS = ("an old man with glasses", "a smiling young woman", "a young man with a hat", "an elderly lady with glasses")
# files looked for in --models, by what they hold (the name this example writes first)
MODEL_FILES = {"clip": ("clip.pt", "faces-clip-tiny.pt"), "ddpm": ("ddpm-text.pt", "faces-ddpm-text-tiny.pt"),
               "classifier": ("classifier.pt",)}


def settings(args) -> dict:
    """Sizes for ``--smoke`` (seconds, for the tests), ``--quick`` (CPU minutes) and a full run."""
    if args.smoke:
        return dict(clip=["train.steps=20", "model.embed_dim=32", "model.base_channels=8", "model.width=32",
                          "model.layers=1", "model.heads=2", "model.vocabulary_seeds=4", "data.options.n=500"],
                    ddpm=["train.steps=6", "train.batch_size=8", "model.base_channels=8", "model.channel_mults=[1, 2]",
                          "model.decode_steps=3", "model.cross_attention_resolutions=[16]"],
                    data={"n": 256, "nuisance": 0.0}, clf_steps=10, n_eval=12, n_edit=6, shown=3, edit_guidance=3.0)
    if args.quick:
        return dict(clip=[], ddpm=[], data={"nuisance": 0.0}, clf_steps=150, n_eval=200, n_edit=48, shown=8,
                    edit_guidance=5.0)
    return dict(clip=[], ddpm=[], data={}, clf_steps=1500, n_eval=1000, n_edit=200, shown=8, edit_guidance=5.0)


def parse_args(argv):
    parser = example_parser(__doc__, "text_to_image", "faces-clip-tiny and faces-ddpm-text-tiny on 32 px centred "
                            "faces (CPU, about 20 minutes)")
    parser.add_argument("--models", metavar="FOLDER",
                        help="reuse clip.pt (or faces-clip-tiny.pt), ddpm-text.pt (or faces-ddpm-text-tiny.pt) and "
                             "classifier.pt from FOLDER, trained on the faces this run uses; those missing are trained")
    return parser.parse_args(argv)


def _found(folder, kind):
    for name in MODEL_FILES[kind] if folder else ():
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def models(args, s, out, options):
    """``(text DDPM, classifier)``, from ``--models`` or trained (the CLIP first: the DDPM reads its file)."""
    faces = load("faces", **options)
    ddpm_path = _found(args.models, "ddpm")
    if ddpm_path is None:
        clip_path = _found(args.models, "clip")
        if clip_path is None:
            clip_path = out / "clip.pt"
            train("faces-clip-tiny", overrides=[f"train.seed={args.seed}", "train.checkpoint_every=0", *s["clip"]],
                  out=clip_path, device=args.device, progress=False, force=True)
        ddpm_path = out / "ddpm-text.pt"
        train("faces-ddpm-text-tiny", overrides=[f"train.seed={args.seed}", "train.checkpoint_every=0",
                                                 f"model.clip_model={clip_path}", *s["ddpm"]],
              dataset=faces, out=ddpm_path, device=args.device, progress=False, force=True)
    clf_path = _found(args.models, "classifier")
    clf = latentlab.load(clf_path) if clf_path else train_faces_classifier(options, s["clf_steps"], args.seed,
                                                                           args.device)[0]
    return latentlab.load(ddpm_path, device=args.device).eval(), clf


def _fill(images, rows, n):
    """``images`` at ``rows`` of a grey batch of ``n`` (columns without an image stay grey)."""
    out = images.new_zeros(n, *images.shape[1:])
    out[rows] = images
    return out


def main(argv=None):
    args = parse_args(argv)
    s = settings(args)
    out = prepare(args)
    options = data_options("faces-ddpm-text-tiny", s["data"], args.seed)
    model, clf = models(args, s, out, options)
    w_default = model.config.guidance_scale

    # prompts -> samples: one row per prompt, the same noise in each column
    rows = {p: prompt_samples(model, [p] * s["shown"], seed=args.seed) for p in PROMPTS}
    written = save_figure(image_rows_figure(rows, title=f"prompt -> samples (guidance {w_default:g})"),
                          out / "prompts.png", overwrite=True)

    # held-out prompts: captions of faces never seen, in the held-out wordings
    held_out = load("faces", **{**options, "n": s["n_eval"], "seed": args.seed + 1000})
    prompts = held_out.captions("held_out", seed=args.seed)
    accuracy = prompt_accuracy(model, clf, prompts, seed=args.seed)
    print(f"prompt accuracy of {len(prompts)} held-out prompts at guidance {w_default:g} (chance: the "
          f"unconditional model's samples against the same prompts)\n{accuracy.table()}")
    accuracy_rows = [{"attribute": a, "prompts": accuracy.scores.counts[a], "accuracy": v,
                      "chance": accuracy.chance.accuracy[a], "guidance": w_default}
                     for a, v in accuracy.scores.accuracy.items()]

    sweep = guidance_sweep(model, clf, clf, held_out.images, prompts, guidances=GUIDANCES, seed=args.seed,
                           progress=not args.smoke)
    print(f"\nguidance sweep (same prompts and noise; FID-domain against {len(held_out)} real faces)\n{sweep.table()}")
    written += save_figure(guidance_tradeoff_figure(sweep.column("guidance"), sweep.column("fid"),
                                                    sweep.column("accuracy_mean"), clip_score=sweep.column("clip_score"),
                                                    title="classifier-free guidance"),
                           out / "tradeoff.png", overwrite=True)
    best = max(sweep.rows, key=lambda r: r["accuracy_mean"])
    print(f"=> prompt accuracy {sweep.rows[0]['accuracy_mean']:.2f} at w = 0 (chance), highest "
          f"{best['accuracy_mean']:.2f} at w = {best['guidance']:g}; FID-domain {sweep.rows[0]['fid']:.1f} at w = 0, "
          f"{best['fid']:.1f} at w = {best['guidance']:g}")

    # edit by prompt: held-out faces without glasses, their caption -> the same caption with glasses
    faces = load("faces", **{**options, "n": 4 * s["n_edit"] + 16, "seed": args.seed + 2000})
    index = np.flatnonzero(faces.attrs["glasses"] == 0)[: s["n_edit"]]
    x = faces.get(index)
    source, target = attribute_prompt_pairs({k: v[index] for k, v in faces.attrs.items()}, "glasses", seed=args.seed)
    w = s["edit_guidance"]
    identity = edit_by_prompt(model, x, source, source, guidance_scale=1.0)
    glasses = edit_by_prompt(model, x, source, target, guidance_scale=w)
    # the young among them, "a young man" -> "an old man": the attribute small models learn first
    young = np.flatnonzero(faces.attrs["age"][index] == 0)
    who = ["man" if m else "woman" for m in faces.attrs["male"][index][young]]
    scores = [identity.score(clf, "glasses", "identity (w=1)"), glasses.score(clf, "glasses", f"with glasses (w={w:g})")]
    edit_rows = {"input": x, "reconstruction": identity.reconstruction, "with glasses": glasses.edited}
    if len(young):
        older = edit_by_prompt(model, x[young], [f"a young {p}" for p in who], [f"an old {p}" for p in who],
                               guidance_scale=w)
        scores.append(older.score(clf, "age", f"young -> old (w={w:g})"))
        edit_rows["old (young inputs)"] = _fill(older.edited, young, len(x))
    print(f"\nedit by prompt: {len(x)} held-out faces without glasses, e.g. {source[0]!r} -> {target[0]!r}; "
          f"the {len(young)} young ones 'a young man' -> 'an old man' (flip rate: of age)")
    print(f"{'edit':<24}{'flip rate':>10}{'off-target':>11}{'SSIM':>7}{'recon L1':>10}")
    for sc in scores:
        print(f"{sc.name:<24}{sc.flip_rate:>10.3f}{sc.off_target:>11.3f}{sc.ssim:>7.3f}{sc.cycle_error:>10.3f}")
    k = s["shown"]
    written += save_figure(image_rows_figure({name: im[:k] for name, im in edit_rows.items()},
                                             title="edit by prompt: inverted under its caption, decoded 'with glasses'"),
                           out / "edits.png", overwrite=True)

    write_rows(accuracy_rows, out / "accuracy.csv")
    write_rows(sweep.rows, out / "sweep.csv")
    write_rows([sc.row() for sc in scores], out / "edits.csv")
    print("wrote", ", ".join(map(str, [*written, out / "accuracy.csv", out / "sweep.csv", out / "edits.csv"])))
    return {"accuracy": accuracy, "sweep": sweep.rows, "edits": [sc.row() for sc in scores]}


if __name__ == "__main__":
    main()
