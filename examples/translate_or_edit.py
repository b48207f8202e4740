"""Latent edit or translation network? Glasses on the same held-out real faces, two ways.

Trains, on the same built-in faces, a CycleGAN between faces without glasses (A) and with
them (B), a VAE, and an attribute classifier. Then it puts glasses on held-out real faces
without them in two ways:

* **translation**: the CycleGAN's generator A -> B, and back with B -> A (the cycle);
* **latent edit**: the VAE encodes each face, its code moves along the glasses direction
  made orthogonal to the age direction (InterFaceGAN's conditional edit, fitted on
  encoded real faces) by once and twice the gap between the two classes' mean codes
  along it, and is decoded.

One function scores both (:func:`latentlab.analysis.score_image_edits`): the glasses flip
rate and the mean change of the other attributes (classifier), the SSIM of each edit to its
input, and how far the input comes back (the cycle for the CycleGAN, the unedited
reconstruction for the VAE). A row for the VAE's reconstruction alone shows how much of the
edit's cost is the encoder's.

Glasses go with age in the built-in faces (phi = 0.5, as in photographs): the change of
P(age) shows which edit carries the correlation along; ``--correlation 0`` removes it.

    python examples/translate_or_edit.py --quick --out translate_or_edit   # CPU, a few minutes (32 px)
    python examples/translate_or_edit.py --out translate_or_edit           # 64 px configs: a GPU job
    python examples/translate_or_edit.py --quick --correlation 0            # glasses independent of age

Writes ``comparison.png`` (inputs, translations, cycles, VAE reconstructions and edits)
with its data beside it, and ``results.csv`` (one row per way of editing).
"""

import numpy as np
import torch

from latentlab.analysis import class_gap, edit_images, find_direction, score_image_edits
from latentlab.data import load
from latentlab.plots import image_rows_figure, save_figure

from _common import data_options, example_parser, prepare, train_faces_classifier, train_quietly, write_rows

SCALES = (1.0, 2.0)  # VAE edit steps, in units of the class-mean gap along the direction


def settings(args) -> dict:
    """Sizes for ``--smoke`` (seconds, for the tests), ``--quick`` (CPU minutes) and a full run.

    ``latent``: per latent model, its config, overrides and how many real faces are encoded
    to fit its direction (GAN inversion costs more than the VAE's encoder).
    """
    if args.smoke:
        return dict(cyclegan="faces-cyclegan-glasses-tiny", data={"n": 256},
                    cyclegan_overrides=["train.steps=6", "model.base_channels=4", "model.res_blocks=1"],
                    latent={"VAE": ("faces-vae-tiny", ["train.steps=6"], 200),
                            "GAN": ("faces-gan-tiny", ["train.steps=6", "model.invert_steps=0"], 200)},
                    clf_steps=10, n_eval=16, shown=4)
    if args.quick:
        return dict(cyclegan="faces-cyclegan-glasses-tiny", data={}, cyclegan_overrides=[],
                    latent={"VAE": ("faces-vae-tiny", [], 3000), "GAN": ("faces-gan-tiny", [], 1500)},
                    clf_steps=150, n_eval=300, shown=8)
    return dict(cyclegan="faces-cyclegan-glasses", data={}, cyclegan_overrides=[],
                latent={"VAE": ("faces-vae", [], 10000), "GAN": ("faces-gan", [], 5000)},
                clf_steps=1500, n_eval=1000, shown=8)


def latent_edits(name, model, faces, n_codes, x, clf, seed):
    """Scores and images of ``model``'s conditional glasses edits of the faces ``x``.

    The direction: glasses made orthogonal to age, fitted on ``n_codes`` encoded real faces
    with their labels; the step: the gap between the mean codes of faces with and without
    glasses along it, times each of ``SCALES``.
    """
    glasses = find_direction(model, "glasses", conditions=["age"], labels_from="data", data=faces, n=n_codes,
                             seed=seed)
    index = np.random.default_rng(seed).choice(len(faces), size=n_codes, replace=False)
    with torch.no_grad():
        z = model.encode(faces.get(index)).cpu()
    step = class_gap(z, faces.attrs["glasses"][index], glasses.direction)
    print(f"{name} glasses direction: held-out accuracy {glasses.val_accuracy:.2f}, cosine to age "
          f"{glasses.cosines_before[0]:+.2f} before, {glasses.cosines_after[0]:+.2f} after; gap {step:.2f}")
    edited, rebuilt = edit_images(model, x, glasses.direction, [scale * step for scale in SCALES])
    edits = dict(zip(SCALES, edited))
    scores = [score_image_edits(clf, x, edited, target="glasses", returned=rebuilt, name=f"{name} edit {scale:g}x gap")
              for scale, edited in edits.items()]
    scores.append(score_image_edits(clf, x, rebuilt, target="glasses", returned=rebuilt, name=f"{name} reconstruction"))
    images = {f"{name} reconstruction": rebuilt, **{f"{name} edit {scale:g}x": e for scale, e in edits.items()}}
    return scores, images


def main(argv=None):
    parser = example_parser(__doc__, "translate_or_edit", "tiny CycleGAN, VAE and GAN on 32 px centred faces (CPU, "
                            "a few minutes)")
    parser.add_argument("--correlation", type=float, default=0.5,
                        help="phi correlation of glasses and age in the faces (default 0.5, the built-in faces')")
    args = parser.parse_args(argv)
    s = settings(args)
    out = prepare(args)

    # one set of training faces for every model (the CycleGAN config's: size, centring)
    options = {**data_options(s["cyclegan"], s["data"], args.seed), "correlations": {("glasses", "age"): args.correlation}}
    faces = load("faces", **options)
    cyclegan = train_quietly(s["cyclegan"], args.seed, s["cyclegan_overrides"], faces, args.device)
    clf, accuracy = train_faces_classifier(options, s["clf_steps"], args.seed, args.device)
    print(f"classifier: held-out accuracy glasses {accuracy['glasses']:.3f}, age {accuracy['age']:.3f}")

    # held-out real faces without glasses (another seed), edited every way
    held_out = load("faces", **{**options, "n": max(4 * s["n_eval"], 64), "seed": args.seed + 1000})
    x = held_out.get(np.flatnonzero(held_out.attrs["glasses"] == 0)[: s["n_eval"]])
    there, back = cyclegan.round_trip(x, "a2b")
    scores = [score_image_edits(clf, x, there, target="glasses", returned=back, name="CycleGAN A->B")]
    images = {"input": x, "CycleGAN A->B": there, "CycleGAN back": back}
    for name, (config, overrides, n_codes) in s["latent"].items():
        model = train_quietly(config, args.seed, overrides, faces, args.device)
        more_scores, more_images = latent_edits(name, model, faces, min(n_codes, len(faces)), x, clf, args.seed)
        scores += more_scores
        images.update(more_images)
    rows = [{**sc.row(), "age_change": sc.changes["age"], "correlation": args.correlation} for sc in scores]

    print(f"\n{len(x)} held-out faces without glasses (glasses~age correlation {args.correlation:+g} in training)")
    print(f"{'edit':<20}{'flip rate':>10}{'off-target':>11}{'dP(age)':>9}{'SSIM':>7}{'cycle/recon L1':>16}")
    for r in rows:
        print(f"{r['edit']:<20}{r['flip_rate']:>10.3f}{r['off_target']:>11.3f}{r['age_change']:>+9.3f}"
              f"{r['ssim']:>7.3f}{r['cycle_error']:>16.3f}")
    cg, edit = scores[0], next(sc for sc in scores if sc.name == f"VAE edit {SCALES[-1]:g}x gap")
    print(f"=> on the same faces the CycleGAN puts glasses on {100 * cg.flip_rate:.0f}% (SSIM {cg.ssim:.2f} to the "
          f"input, P(age) {cg.changes['age']:+.2f}), the VAE's conditional edit ({SCALES[-1]:g}x gap) on "
          f"{100 * edit.flip_rate:.0f}% (SSIM {edit.ssim:.2f}, P(age) {edit.changes['age']:+.2f})")

    write_rows(rows, out / "results.csv")
    k = s["shown"]
    fig = image_rows_figure({name: im[:k] for name, im in images.items()},
                            title="glasses on held-out faces: translation vs latent edit")
    written = save_figure(fig, out / "comparison.png", overwrite=True)
    print(f"wrote {', '.join(str(p) for p in written)}, {out / 'results.csv'}")
    return rows


if __name__ == "__main__":
    main()
