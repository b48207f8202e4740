"""The glasses hyperplane of a GAN, and editing along its normal (InterFaceGAN).

Trains a GAN and an attribute classifier on the built-in faces, draws codes from the
GAN's prior, labels the decoded faces with the classifier, keeps the most and the least
glasses-like codes and fits a linear SVM: its hyperplane separates glasses from none in
the latent space, and its unit normal is the glasses direction. Moving codes along the
normal puts glasses on; moving against it takes them off. The classifier scores every
edited face.

    python examples/glasses_direction.py --quick --out glasses      # CPU, a few minutes (32 px, centred faces)
    python examples/glasses_direction.py --out glasses              # faces-gan at 64 px: a GPU job

Writes ``traversal.png`` (faces moved along the direction, one column per step),
``distances.png`` (signed distances of the labelled codes from the hyperplane) with the
data beside each, and ``results.csv`` (share of faces with glasses at each step).
"""

import numpy as np
import torch

from latentlab.analysis import find_direction, move, traversal_images
from latentlab.data import load
from latentlab.plots import save_figure
from latentlab.plots.directions import distance_histogram, traversal_figure

from _common import (LABELS_HELP, data_options, example_parser, faces_gan_settings, prepare,
                     train_faces_classifier, train_quietly, write_rows)

STEPS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)  # latent units along the unit normal


def parse_args(argv):
    parser = example_parser(__doc__, "glasses", "tiny GAN on 32 px centred faces (CPU, a few minutes)")
    parser.add_argument("--labels", choices=["classifier", "data"], help=LABELS_HELP)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    s = faces_gan_settings(args, quick_fraction=0.1)
    out = prepare(args)

    # the config's faces (size, number), with this run's changes; rendered lazily, on demand
    options = data_options(s["config"], s["data"], args.seed)
    faces = load("faces", **options)
    gan = train_quietly(s["config"], args.seed, s["overrides"], faces, args.device)
    clf, accuracy = train_faces_classifier(options, s["clf_steps"], args.seed, args.device)
    print(f"classifier: held-out glasses accuracy {accuracy['glasses']:.3f}")

    # the hyperplane: classifier labels of the GAN's own samples (the top and bottom fraction
    # of its scores), or the labels of real faces located in the latent space
    glasses = find_direction(gan, "glasses", labels_from=args.labels or s["labels"], classifier=clf, data=faces,
                             n=min(s["codes"], len(faces)) if (args.labels or s["labels"]) == "data" else s["codes"],
                             fraction=s["fraction"], seed=args.seed)
    print("\n".join(glasses.summary()))

    # edits: the same codes moved along the normal, scored by the classifier
    z = gan.sample_latents(s["n_edit"], generator=torch.Generator().manual_seed(args.seed + 1))
    with_glasses = []
    for step in STEPS:
        with torch.no_grad():
            images = gan.decode(torch.as_tensor(move(z, glasses.direction, step=step)))
        with_glasses.append(clf.predict(images)["glasses"])
    with_glasses = np.stack(with_glasses)  # (steps, n_edit), 0/1
    start = with_glasses[STEPS.index(0.0)].astype(bool)
    gained = with_glasses[-1][~start].mean() if (~start).any() else float("nan")
    lost = 1 - with_glasses[0][start].mean() if start.any() else float("nan")

    print(f"\n{'step':>6}  {'faces with glasses':>18}")
    for step, share in zip(STEPS, with_glasses.mean(axis=1)):
        print(f"{step:>+6.1f}  {100 * share:>17.1f}%")
    print(f"=> the glasses hyperplane separates held-out codes with accuracy {glasses.val_accuracy:.2f}; "
          f"moving {STEPS[-1]:+g} along its normal puts glasses on {100 * gained:.0f}% of the faces without them, "
          f"moving {STEPS[0]:+g} takes them off {100 * lost:.0f}% of the faces with them")

    write_rows([{"step": step, "share_with_glasses": float(share), "n": s["n_edit"]}
                for step, share in zip(STEPS, with_glasses.mean(axis=1))], out / "results.csv")
    grid = traversal_images(gan, z[: 2 if args.smoke else 8], glasses.direction, STEPS)
    written = save_figure(traversal_figure(grid, STEPS, title="moving along the glasses direction"),
                          out / "traversal.png", overwrite=True)
    written += save_figure(distance_histogram(glasses.distances, glasses.labels, attribute="glasses"),
                           out / "distances.png", overwrite=True)
    print("wrote", ", ".join(map(str, [*written, out / "results.csv"])))
    return {"val_accuracy": glasses.val_accuracy, "gained": gained, "lost": lost}


if __name__ == "__main__":
    main()
