"""DDPM vs DDIM sampling: sample quality against the number of sampling steps.

Trains a DDPM on the built-in faces, then draws samples from the same network with two
samplers over a range of step counts (timesteps spaced evenly from the noisiest level):

* DDPM — ancestral sampling (Ho et al. 2020): every step draws from the Gaussian
  posterior, so it needs many steps; with fewer it is the strided sampler that Song et
  al. (2021) compare against (their eta = 1 rows);
* DDIM — the deterministic sampler (Song et al. 2021, eta = 0), which follows the same
  trajectory with large steps and stays good with few.

Quality is measured in FID-domain: Fréchet distance (and KID, precision, recall) between
features of real faces and of the samples, under an attribute classifier trained on the
faces (:func:`latentlab.metrics.domain_feature_network`). Two sets of real faces score
each other too: at these sample sizes FID is biased upwards, and that row is the floor.

    python examples/ddpm_vs_ddim.py --quick --out ddpm_vs_ddim     # CPU, a few minutes: a barely trained
                                                                   # tiny DDPM, few samples, up to 20 steps
    python examples/ddpm_vs_ddim.py --out ddpm_vs_ddim             # faces-ddpm at 64 px, up to 1000 steps: a GPU job

Writes ``quality_vs_steps.png`` (FID against steps, both samplers, with the data beside
it), ``samples.png`` (the same starting noise through each sampler and step count) and
``results.csv`` into ``--out``.
"""

import time
import warnings

import numpy as np
import torch

from latentlab.data import load
from latentlab.metrics import SampleSizeWarning, domain_feature_network, extract_features, sample_quality
from latentlab.plots import image_grid, new_figure, save_figure
from latentlab.plots.style import attach_data

from _common import data_options, example_parser, prepare, train_quietly, write_rows

SAMPLERS = ("ddim", "ddpm")


def parse_args(argv):
    parser = example_parser(__doc__, "ddpm_vs_ddim", "tiny DDPM, few samples, up to 20 steps (CPU, a few minutes)",
                            device_help="where to train and sample: auto, cpu, cuda, ...")
    parser.add_argument("--steps", type=int, nargs="+", help="sampling step counts to compare (default: 10 20 50 "
                        "100 1000; 2 5 10 20 with --quick)")
    return parser.parse_args(argv)


def settings(args) -> dict:
    if args.smoke:
        return dict(config="faces-ddpm-tiny", overrides=["train.steps=3", "train.batch_size=8"],
                    data={"n": 64, "nuisance": 0.0}, clf_steps=3, n_fake=12, n_real=24, steps=[1, 2])
    if args.quick:
        # centred faces, half the tiny config's training: blurry faces, but the samplers already differ
        return dict(config="faces-ddpm-tiny", overrides=["train.steps=250"], data={"n": 2000, "nuisance": 0.0},
                    clf_steps=150, n_fake=64, n_real=256, steps=[2, 5, 10, 20])
    return dict(config="faces-ddpm", overrides=[], data={}, clf_steps=1500, n_fake=2000, n_real=5000,
                steps=[10, 20, 50, 100, 1000])


def main(argv=None):
    args = parse_args(argv)
    s = settings(args)
    step_counts = sorted(args.steps or s["steps"])
    out = prepare(args)

    options = data_options(s["config"], s["data"], args.seed)
    faces = load("faces", **options)
    t0 = time.perf_counter()
    ddpm = train_quietly(s["config"], args.seed, s["overrides"], faces, args.device)
    print(f"trained the DDPM in {time.perf_counter() - t0:.0f} s ({ddpm.config.timesteps} noise levels, "
          f"{ddpm.config.prediction}-prediction)")

    # FID-domain: penultimate features of an attribute classifier trained on the faces
    features = domain_feature_network("faces", data_options={k: v for k, v in options.items() if k != "n"},
                                      n=min(options["n"], 20000), steps=s["clf_steps"], seed=args.seed,
                                      device=args.device)
    real = load("faces", **{**options, "n": 2 * s["n_real"], "seed": args.seed + 1_000}).images
    real_a = extract_features(real[: s["n_real"]], features)
    real_b = extract_features(real[s["n_real"]:], features)

    def quality(fake_features, reference=real_a):
        with warnings.catch_warnings():  # small sample sizes are the point of --quick; said in the docstring
            warnings.simplefilter("ignore", SampleSizeWarning)
            return sample_quality(reference, fake_features, kid_subset_size=min(1000, len(fake_features)),
                                  seed=args.seed)

    rows = [{"sampler": "real faces", "steps": 0, **quality(real_b[: s["n_fake"]]).to_dict(), "seconds_per_image": 0.0}]
    grids, grid_labels = [], []
    for sampler in SAMPLERS:
        for steps in step_counts:
            t0 = time.perf_counter()
            # the same seed gives both samplers the same starting noise x_T
            fake = ddpm.sample(s["n_fake"], generator=torch.Generator().manual_seed(args.seed), sampler=sampler,
                               steps=steps)
            seconds = (time.perf_counter() - t0) / s["n_fake"]
            scores = quality(extract_features(fake, features)).to_dict()
            rows.append({"sampler": sampler.upper(), "steps": steps, **scores, "seconds_per_image": seconds})
            grids.append(fake[:8])
            grid_labels += [f"{sampler.upper()} {steps}" if i == 0 else "" for i in range(len(fake[:8]))]

    print(f"\nsample quality in FID-domain ({s['n_fake']} samples against {s['n_real']} real faces; "
          f"'real faces': {s['n_fake']} other real faces, the floor at this size)")
    print(f"{'sampler':<11}{'steps':>6}{'FID':>10}{'KID':>11}{'precision':>10}{'recall':>8}{'s/image':>9}")
    for r in rows:
        print(f"{r['sampler']:<11}{r['steps']:>6}{r['fid']:>10.4g}{r['kid']:>11.4g}{r['precision']:>10.2f}"
              f"{r['recall']:>8.2f}{r['seconds_per_image']:>9.3f}")

    fid = {sampler.upper(): {r["steps"]: r["fid"] for r in rows if r["sampler"] == sampler.upper()}
           for sampler in SAMPLERS}
    wins = sum(fid["DDIM"][k] < fid["DDPM"][k] for k in step_counts)
    best_ddpm = min(step_counts, key=fid["DDPM"].get)
    enough = [k for k in step_counts if fid["DDIM"][k] <= fid["DDPM"][best_ddpm]]
    print(f"=> DDIM has the lower FID at {wins} of {len(step_counts)} step counts; "
          + (f"DDIM with {enough[0]} steps (FID {fid['DDIM'][enough[0]]:.4g}) does as well as DDPM's best, "
             f"with {best_ddpm} steps (FID {fid['DDPM'][best_ddpm]:.4g})" if enough else
             f"DDPM's best (FID {fid['DDPM'][best_ddpm]:.4g} with {best_ddpm} steps) beats DDIM at every step count")
          + f"; real faces against real faces: FID {rows[0]['fid']:.4g}")

    write_rows(rows, out / "results.csv")
    fig, ax = new_figure("one", aspect=0.75)
    for sampler, values in fid.items():
        ax.plot(step_counts, [values[k] for k in step_counts], "o-", label=sampler)
    ax.axhline(rows[0]["fid"], ls="--", color="0.5", lw=0.9, label="real vs real")
    ax.set_xscale("log")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel("FID-domain")
    ax.legend(frameon=False)
    attach_data(fig, steps=np.array(step_counts), **{f"fid_{k.lower()}": np.array([v[s_] for s_ in step_counts])
                                                    for k, v in fid.items()},
                real_vs_real=np.full(len(step_counts), rows[0]["fid"]))
    written = save_figure(fig, out / "quality_vs_steps.png", overwrite=True)
    written += save_figure(image_grid(torch.cat(grids), nrow=len(grids[0]), labels=grid_labels),
                           out / "samples.png", overwrite=True)
    print("wrote", ", ".join(map(str, [*written, out / "results.csv"])))
    return rows


if __name__ == "__main__":
    main()
