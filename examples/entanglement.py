"""Entangled directions and conditional editing: glasses <-> age.

In the built-in faces glasses go with age (a phi correlation of 0.5 by default, as in
photographs), and a GAN trained on them learns the correlation: the glasses and age
hyperplanes of its latent space are tilted towards each other, so adding glasses also
ages a face. Projecting the glasses direction onto the orthogonal complement of the age
direction (InterFaceGAN's conditional manipulation) keeps the glasses edit and drops most
of the ageing, and the same the other way round. An attribute classifier scores every
edit: the change of P(glasses) and P(age) per unit step, before and after conditioning.

    python examples/entanglement.py --quick --out entanglement      # CPU, a few minutes (32 px, centred faces)
    python examples/entanglement.py --out entanglement              # faces-gan at 64 px: a GPU job
    python examples/entanglement.py --quick --correlation 0         # no correlation in the data: nothing to remove

Writes ``entanglement.png`` (attributes x directions, as fitted and conditioned),
``cosines.png`` (cosines between the four directions) with the data beside each, and
``results.csv`` (one row per direction).
"""

import numpy as np

from latentlab.analysis import evaluate_directions, find_direction
from latentlab.data import load
from latentlab.plots import save_figure
from latentlab.plots.directions import cosine_heatmap, entanglement_figure

from _common import (LABELS_HELP, data_options, example_parser, faces_gan_settings, prepare,
                     train_faces_classifier, train_quietly, write_rows)

PAIR = ("glasses", "age")


def parse_args(argv):
    parser = example_parser(__doc__, "entanglement", "tiny GAN on 32 px centred faces (CPU, a few minutes)")
    parser.add_argument("--correlation", type=float, default=0.5,
                        help="phi correlation of glasses and age in the training faces (default 0.5)")
    parser.add_argument("--step", type=float, default=2.0, help="edit step in latent units (default 2)")
    parser.add_argument("--labels", choices=["classifier", "data"], help=LABELS_HELP)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    s = faces_gan_settings(args, quick_fraction=0.15)
    labels_from = args.labels or s["labels"]
    out = prepare(args)

    options = {**data_options(s["config"], s["data"], args.seed), "correlations": {PAIR: args.correlation}}
    faces = load("faces", **options)
    observed = float(np.corrcoef(faces.attrs[PAIR[0]], faces.attrs[PAIR[1]])[0, 1])
    print(f"training faces: correlation of {PAIR[0]} and {PAIR[1]} {observed:+.2f} (asked for {args.correlation:+.2f})")
    gan = train_quietly(s["config"], args.seed, s["overrides"], faces, args.device)
    clf, accuracy = train_faces_classifier(options, s["clf_steps"], args.seed, args.device)
    print("classifier: held-out accuracy " + ", ".join(f"{a} {accuracy[a]:.3f}" for a in PAIR))

    # each attribute's hyperplane, and its normal made orthogonal to the other's
    n = min(s["codes"], len(faces)) if labels_from == "data" else s["codes"]
    directions = {
        attr: find_direction(gan, attr, conditions=[other], labels_from=labels_from, classifier=clf, data=faces,
                             n=n, fraction=s["fraction"], seed=args.seed)
        for attr, other in (PAIR, PAIR[::-1])
    }
    for result in directions.values():
        print("\n".join(result.summary()))
    before, after = evaluate_directions(gan, clf, list(directions.values()), n=s["n_edit"], step=args.step,
                                        seed=args.seed + 1)
    print(f"\nchange of P(attribute) per unit step (step {args.step:g}, {s['n_edit']} faces), as fitted:")
    print(before.table())
    print("\nconditioned (each direction orthogonal to the other attribute's):")
    print(after.table())

    def effect(effects, column, attribute):
        return float(effects.matrix[effects.attributes.index(attribute), effects.directions.index(column)])

    rows = []
    for effects, kind in ((before, "as fitted"), (after, "conditioned")):
        for column in effects.directions:
            rows.append({"direction": column, "kind": kind,
                         **{f"dP_{a}_per_step": round(effect(effects, column, a), 4) for a in PAIR},
                         "flip_rate": round(effects.flip_rate[column], 4),
                         "off_target": round(effects.off_target[column], 4)})
    g, a = PAIR
    print(f"=> the {g} and {a} directions have cosine {directions[g].cosines_before[0]:+.2f}; "
          f"editing {g} moves P({a}) by {effect(before, g, a):+.3f} per unit step as fitted and "
          f"{effect(after, f'{g}|{a}', a):+.3f} conditioned on {a} (P({g}): {effect(before, g, g):+.3f} -> "
          f"{effect(after, f'{g}|{a}', g):+.3f}); editing {a} moves P({g}) by {effect(before, a, g):+.3f} -> "
          f"{effect(after, f'{a}|{g}', g):+.3f}")

    write_rows(rows, out / "results.csv")
    written = save_figure(entanglement_figure(before, after), out / "entanglement.png", overwrite=True)
    vectors = [directions[g].primal, directions[a].primal, directions[g].direction, directions[a].direction]
    written += save_figure(cosine_heatmap(vectors, [g, a, f"{g}|{a}", f"{a}|{g}"]), out / "cosines.png", overwrite=True)
    print("wrote", ", ".join(map(str, [*written, out / "results.csv"])))
    return rows


if __name__ == "__main__":
    main()
