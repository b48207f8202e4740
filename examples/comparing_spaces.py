"""Comparing latent spaces through a support set: VAE <-> VAE of two seeds, and GAN <-> VAE.

Two models trained on the same faces learn latent spaces that differ by more than noise:
coordinates come in another order, with other signs and scales. If the two spaces hold
the same information, a linear map fitted on a *support set* (the same images located in
both spaces) carries the codes of one model to the other: decoding the mapped codes
gives back the images. Here

* two VAEs that differ only in their training seed are compared through real faces
  encoded by both (``source="data"``);
* a GAN is compared with a VAE through the GAN's own samples, whose GAN codes are exact,
  encoded by the VAE (``source="generated"``: no GAN inversion needed).

Each map is scored on held-out pairs: ``L rel`` is the share of the destination codes'
variance the map leaves unexplained (0 = perfect), ``M`` the image error of the mapped
codes, against the destination's own reconstruction error ``R`` (the floor) and two
baselines (a random rotation, the mean code).

    python examples/comparing_spaces.py --quick --out spaces      # CPU, a few minutes (32 px, centred faces)
    python examples/comparing_spaces.py --out spaces              # faces-vae / faces-gan at 64 px: a GPU job

Writes, per pair, ``<pair>_mapped.png`` (source samples, their mapped images and the
destination's own encoding of them) and ``<pair>_support_curve.png`` (held-out image
error against the support size), the data beside each, and ``results.csv``.
"""


from latentlab import support_set
from latentlab.analysis import compare_maps, support_curve
from latentlab.analysis.map_evaluation import map_samples
from latentlab.data import load
from latentlab.plots import save_figure
from latentlab.plots.maps import mapped_samples_figure, support_curve_figure

from _common import data_options, example_parser, prepare, train_quietly, write_rows

KINDS = ("affine", "procrustes")


def parse_args(argv):
    parser = example_parser(__doc__, "spaces", "tiny models on 32 px centred faces (CPU, a few minutes)",
                            seed_help="seed of the first VAE and the GAN; the second VAE uses seed + 1")
    return parser.parse_args(argv)


def settings(args) -> dict:
    if args.smoke:
        return dict(gan="faces-gan-tiny", vae="faces-vae-tiny", overrides=["train.steps=15"],
                    data={"n": 256, "nuisance": 0.0}, support=160, test=40)
    if args.quick:
        # centred faces: with shifts, tilts and backgrounds a tiny GAN learns no faces in 500 steps
        return dict(gan="faces-gan-tiny", vae="faces-vae-tiny", overrides=[], data={"n": 3000, "nuisance": 0.0},
                    support=1500, test=300)
    return dict(gan="faces-gan", vae="faces-vae", overrides=[], data={}, support=10000, test=1000)


def main(argv=None):
    args = parse_args(argv)
    s = settings(args)
    out = prepare(args)

    options = data_options(s["vae"], s["data"], args.seed)
    faces = load("faces", **options)

    def fit(config, seed):
        return train_quietly(config, seed, s["overrides"], faces, args.device)

    vae_a, vae_b, gan = fit(s["vae"], args.seed), fit(s["vae"], args.seed + 1), fit(s["gan"], args.seed)
    # faces the models never saw, for the VAE pair; the GAN pair uses the GAN's own samples
    unseen = load("faces", **{**options, "n": s["support"] + s["test"], "seed": args.seed + 1_000})
    pairs = {
        f"VAE seed {args.seed} -> VAE seed {args.seed + 1}": (vae_a, vae_b, dict(source="data", data=unseen)),
        "GAN -> VAE": (gan, vae_a, dict(source="generated")),
    }

    rows, lines = [], []
    for name, (src, dst, how) in pairs.items():
        pairs_all = support_set(src, dst, n=s["support"] + s["test"], seed=args.seed, **how)
        support, test = pairs_all.split(s["test"], seed=args.seed)
        evaluation = compare_maps(support, test, dst, kinds=KINDS, random_state=args.seed)
        print(f"\n{name}: {len(support)} support pairs ({how['source']}), {len(test)} held out")
        print(evaluation.table())
        for map_name, score in evaluation.scores.items():
            rows.append({"pair": name, "map": map_name, "baseline": map_name in evaluation.baselines,
                         **{k: round(v, 5) for k, v in score.to_dict().items()},
                         "R_mse": round(evaluation.recon_mse, 5)})
        best = min(KINDS, key=lambda k: evaluation.scores[k].latent_rel)
        rotation = evaluation.scores["random-orthogonal"]
        lines.append(f"{name}: the {best} map leaves {evaluation.scores[best].latent_rel:.2f} of the destination "
                     f"codes' variance unexplained (random rotation {rotation.latent_rel:.2f}); mapped images MSE "
                     f"{evaluation.scores[best].image_mse:.4f} against the destination's own reconstruction "
                     f"{evaluation.recon_mse:.4f} (random rotation {rotation.image_mse:.4f})")

        stem = name.replace(" -> ", "_to_").replace(" ", "_")
        mapped = map_samples(evaluation.maps[best], src, dst, n=8, seed=args.seed, encoded=True)
        figure = mapped_samples_figure(mapped.source, mapped.mapped, mapped.encoded,
                                       labels=("source", f"mapped ({best})", "dst.encode"), title=name)
        written = save_figure(figure, out / f"{stem}_mapped.png", overwrite=True)
        curve = support_curve(support, test, dst, kinds=KINDS, random_state=args.seed)
        written += save_figure(support_curve_figure(curve, title=name), out / f"{stem}_support_curve.png",
                               overwrite=True)
        print("wrote", ", ".join(map(str, written)))

    print("\n=> " + "\n=> ".join(lines))
    write_rows(rows, out / "results.csv")
    print("wrote", out / "results.csv")
    return rows


if __name__ == "__main__":
    main()
