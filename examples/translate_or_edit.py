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
    """Sizes for ``--smoke`` (seconds, for the tests), ``--quick`` (CPU minutes) and a full run."""
    if args.smoke:
        return dict(cyclegan="faces-cyclegan-glasses-tiny", vae="faces-vae-tiny", data={"n": 256},
                    cyclegan_overrides=["train.steps=6", "model.base_channels=4", "model.res_blocks=1"],
                    vae_overrides=["train.steps=6"], clf_steps=10, codes=200, n_eval=16, shown=4)
    if args.quick:
        return dict(cyclegan="faces-cyclegan-glasses-tiny", vae="faces-vae-tiny", data={}, cyclegan_overrides=[],
                    vae_overrides=[], clf_steps=150, codes=3000, n_eval=300, shown=8)
    return dict(cyclegan="faces-cyclegan-glasses", vae="faces-vae", data={}, cyclegan_overrides=[], vae_overrides=[],
                clf_steps=1500, codes=10000, n_eval=1000, shown=8)


def main(argv=None):
    parser = example_parser(__doc__, "translate_or_edit", "tiny CycleGAN and VAE on 32 px centred faces (CPU, a few "
                            "minutes)")
    parser.add_argument("--correlation", type=float, default=0.5,
                        help="phi correlation of glasses and age in the faces (default 0.5, the built-in faces')")
    args = parser.parse_args(argv)
    s = settings(args)
    out = prepare(args)

    # one set of training faces for all three models (the CycleGAN config's: size, centring)
    options = {**data_options(s["cyclegan"], s["data"], args.seed), "correlations": {("glasses", "age"): args.correlation}}
    faces = load("faces", **options)
    cyclegan = train_quietly(s["cyclegan"], args.seed, s["cyclegan_overrides"], faces, args.device)
    vae = train_quietly(s["vae"], args.seed, s["vae_overrides"], faces, args.device)
    clf, accuracy = train_faces_classifier(options, s["clf_steps"], args.seed, args.device)
    print(f"classifier: held-out accuracy glasses {accuracy['glasses']:.3f}, age {accuracy['age']:.3f}")

    # the VAE's glasses direction made orthogonal to age, fitted on encoded real faces, and
    # the edit's size: the gap between the mean codes of faces with and without glasses
    codes = min(s["codes"], len(faces))
    glasses = find_direction(vae, "glasses", conditions=["age"], labels_from="data", data=faces, n=codes,
                             seed=args.seed)
    index = np.random.default_rng(args.seed).choice(len(faces), size=codes, replace=False)
    with torch.no_grad():
        z = vae.encode(faces.get(index)).cpu()
    step = class_gap(z, faces.attrs["glasses"][index], glasses.direction)
    print(f"VAE glasses direction: held-out accuracy {glasses.val_accuracy:.2f}, cosine to age "
          f"{glasses.cosines_before[0]:+.2f} before, {glasses.cosines_after[0]:+.2f} after; step {step:.2f}")

    # held-out real faces without glasses (another seed), edited both ways
    held_out = load("faces", **{**options, "n": max(4 * s["n_eval"], 64), "seed": args.seed + 1000})
    x = held_out.get(np.flatnonzero(held_out.attrs["glasses"] == 0)[: s["n_eval"]])
    there, back = cyclegan.round_trip(x, "a2b")
    edits = {scale: edit_images(vae, x, glasses.direction, scale * step) for scale in SCALES}
    rebuilt = edits[SCALES[0]][1]
    scores = [score_image_edits(clf, x, there, target="glasses", returned=back, name="CycleGAN A->B")]
    scores += [score_image_edits(clf, x, edited, target="glasses", returned=rebuilt, name=f"VAE edit {scale:g}x gap")
               for scale, (edited, _) in edits.items()]
    scores.append(score_image_edits(clf, x, rebuilt, target="glasses", returned=rebuilt, name="VAE reconstruction"))
    rows = [{**sc.row(), "age_change": sc.changes["age"], "correlation": args.correlation} for sc in scores]

    print(f"\n{len(x)} held-out faces without glasses")
    print(f"{'edit':<26}{'flip rate':>10}{'off-target':>11}{'dP(age)':>9}{'SSIM':>7}{'cycle/recon L1':>16}")
    for r in rows:
        print(f"{r['edit']:<26}{r['flip_rate']:>10.3f}{r['off_target']:>11.3f}{r['age_change']:>+9.3f}"
              f"{r['ssim']:>7.3f}{r['cycle_error']:>16.3f}")
    cg, edit = scores[0], scores[-2]
    print(f"=> on the same faces the CycleGAN puts glasses on {100 * cg.flip_rate:.0f}% (SSIM {cg.ssim:.2f} to the "
          f"input, P(age) {cg.changes['age']:+.2f}), the VAE's conditional edit ({SCALES[-1]:g}x gap) on "
          f"{100 * edit.flip_rate:.0f}% (SSIM {edit.ssim:.2f}, P(age) {edit.changes['age']:+.2f}; its "
          f"reconstruction alone has SSIM {scores[-1].ssim:.2f})")

    write_rows(rows, out / "results.csv")
    k = s["shown"]
    fig = image_rows_figure({"input": x[:k], "CycleGAN A->B": there[:k], "CycleGAN back": back[:k],
                             "VAE reconstruction": rebuilt[:k],
                             **{f"VAE edit {scale:g}x": edits[scale][0][:k] for scale in SCALES}},
                            title="glasses on held-out faces: translation vs latent edit")
    written = save_figure(fig, out / "comparison.png", overwrite=True)
    print(f"wrote {', '.join(str(p) for p in written)}, {out / 'results.csv'}")
    return rows


if __name__ == "__main__":
    main()
