"""Benchmark: LatentMap fit time for each kind (N = 10,000, 512 -> 512), and the R/L/M table
for tiny faces VAE <-> GAN <-> DDPM.

Part 1, fit time. Baselines, in the same run, on the same data: scikit-learn
``LinearRegression`` (``fit_intercept=False`` for "linear", ``True`` for "affine"),
``Ridge`` (same alpha) and ``scipy.linalg.orthogonal_procrustes`` on centred codes. Each
line prints both fit times, the largest difference between the two coefficient matrices,
and the R² of our map on 2,000 held-out pairs.

Data are planted: z_dst = A z_src + b + 0.1·noise, with A a random orthogonal matrix
and z_src ~ N(0, I). Affine, ridge and Procrustes are well specified (R² near the
noise ceiling, 0.99); "linear" has no bias, so its R² shows what leaving out the
planted offset b costs.

Part 2, the R/L/M table. The three models of the bundled configs ``faces-vae-tiny``
(16-d codes), ``faces-gan-tiny`` (32-d) and ``faces-ddpm-tiny`` (the 3 x 32 x 32
starting noise of DDIM) are trained into ``--models`` unless already there (about 5
minutes of CPU; reruns reuse them). ``--support + --test`` fresh real faces are located
once in each model, and every ordered pair of models shares these codes and the same
held-out split (:class:`~latentlab.analysis.support.SupportSet` built from them, which
is what ``support_set(..., source="data")`` would compute pair by pair, at three times
the cost). How each model locates an image:

* VAE: posterior mean, one network call;
* DDPM: DDIM inversion with ``decode_steps`` = 25 steps, 25 U-Net calls per image, and
  decoding a code costs as much again, so a DDPM destination dominates the run;
* GAN: optimisation (GAN inversion). The library default, recoder start + 300 Adam steps
  x 4 starts, costs about 3 s per image on one CPU core; the table uses the recoder
  start + ``--gan-invert-steps`` = 100 steps x 1 start, about 16 times cheaper for a
  pixel MSE about 6 % higher (0.082 against 0.077 on 32 faces).

For each pair the maps of each ``--kind`` are fitted on the support pairs and scored
on the held-out ones with :func:`~latentlab.analysis.map_evaluation.evaluate_maps`:
R, the destination's own reconstruction error; L, the latent error of the mapped
codes against the destination's codes; M, the image error (MSE and SSIM) of source
code -> map -> destination decoder; and the two baselines (a random orthogonal map,
the mean destination code). ``--out`` saves the whole table as one figure
(:func:`~latentlab.plots.maps.map_table_figure`), with its data beside it.

Run:  python benchmarks/bench_maps.py [--part fit|table|all] [--n 10000] [--dim 512] [--threads 1]
                                      [--models DIR] [--support 256] [--test 64] [--out maps.png]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from scipy.stats import ortho_group
from sklearn.linear_model import LinearRegression, Ridge
from threadpoolctl import threadpool_limits

import latentlab
from latentlab._io import check_can_write
from latentlab.analysis.map_evaluation import evaluate_maps
from latentlab.analysis.maps import KINDS, LatentMap
from latentlab.analysis.support import SupportSet

# name -> bundled config; the order of the table
MODELS = {"VAE": "faces-vae-tiny", "GAN": "faces-gan-tiny", "DDPM": "faces-ddpm-tiny"}


def timed(fn, repeat=3):
    """Best wall time of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fit_times(args):
    """Part 1: fit time of each kind against its scikit-learn / SciPy baseline."""
    rng = np.random.default_rng(0)
    d = args.dim
    A = ortho_group.rvs(d, random_state=1)
    bias = rng.standard_normal(d)
    Zs = rng.standard_normal((args.n + 2000, d))
    Zd = Zs @ A.T + bias + 0.1 * rng.standard_normal((args.n + 2000, d))
    Xs, Xd, Ts, Td = Zs[: args.n], Zd[: args.n], Zs[args.n :], Zd[args.n :]

    def procrustes_baseline():
        xm, ym = Xs.mean(axis=0), Xd.mean(axis=0)
        R, _ = scipy.linalg.orthogonal_procrustes(Xs - xm, Xd - ym)  # Xs R ≈ Xd, so W = Rᵀ
        return R.T

    baselines = {
        "linear": ("LinearRegression(fit_intercept=False)",
                   lambda: LinearRegression(fit_intercept=False).fit(Xs, Xd).coef_),
        "affine": ("LinearRegression()", lambda: LinearRegression().fit(Xs, Xd).coef_),
        "ridge": (f"Ridge(alpha={args.alpha})", lambda: Ridge(alpha=args.alpha).fit(Xs, Xd).coef_),
        "procrustes": ("scipy orthogonal_procrustes", procrustes_baseline),
    }
    print(f"N = {args.n:,} pairs, {d} -> {d}, BLAS threads: {args.threads}; best of 3")
    print(f"{'kind':<11} {'ours s':>7} {'baseline':<38} {'base s':>7} {'max|dW|':>9} {'R2 test':>8}")
    for kind, (name, baseline) in baselines.items():
        t_ours, m = timed(lambda: LatentMap(kind, alpha=args.alpha).fit(Xs, Xd))
        t_base, W = timed(baseline)
        diff = float(np.abs(m.coef_ - W).max())
        print(f"{kind:<11} {t_ours:>7.3f} {name:<38} {t_base:>7.3f} {diff:>9.1e} {m.score(Ts, Td):>8.4f}")


def trained_models(folder: Path) -> dict:
    """``{"VAE": model, ...}`` from ``folder``, training the missing ones from the bundled configs."""
    from latentlab.training import train

    folder.mkdir(parents=True, exist_ok=True)
    models = {}
    for name, config in MODELS.items():
        path = folder / f"{name.lower()}.pt"
        if not path.exists():
            t0 = time.perf_counter()
            train(config, out=path, device="cpu", progress=False)
            print(f"trained {config} -> {path} in {time.perf_counter() - t0:.0f} s")
        models[name] = latentlab.load(path, device="cpu")
    return models


def locate(models: dict, images: torch.Tensor, args) -> dict:
    """Codes of ``images`` in each model, timed."""
    how = {"VAE": "posterior mean",
           "DDPM": f"DDIM inversion, {models['DDPM'].config.decode_steps} steps",
           "GAN": f"inversion: recoder start + {args.gan_invert_steps} Adam steps x {args.gan_invert_restarts} start(s)"}
    codes = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        if name == "GAN":
            z = model.invert(images, steps=args.gan_invert_steps, restarts=args.gan_invert_restarts,
                             generator=torch.Generator().manual_seed(args.seed))[0]
        else:
            z = model.encode(images)
        dt = time.perf_counter() - t0
        codes[name] = z.float().numpy()
        print(f"  {name:<5} {str(tuple(model.latent_shape)):<12} {how[name]:<62} {dt:7.1f} s  "
              f"{1000 * dt / len(images):7.1f} ms/image")
    return codes


def rlm_table(args):
    """Part 2: R/L/M errors of maps between every ordered pair of the three tiny faces models."""
    from latentlab.data import load
    from latentlab.plots import save_figure
    from latentlab.plots.maps import map_table_figure

    if args.out:
        check_can_write(args.out, args.force)
    t_start = time.perf_counter()
    models = trained_models(Path(args.models))
    n = args.support + args.test
    # a seed no training run used: faces the models have not seen
    images = load("faces", n=n, size=32, seed=1_000_003 + args.seed).data.float()
    print(f"\nR/L/M table: {n} real 32 px faces, {args.support} support pairs + {args.test} held out "
          f"(the same split for every pair), kinds {', '.join(args.kinds)} (ridge alpha {args.alpha:g}), seed {args.seed}")
    print("locating the faces in each model:")
    with torch.no_grad():
        codes = locate(models, images, args)
    evaluations = {}
    for src, dst in itertools.permutations(models, 2):
        pairs = SupportSet(Z_src=codes[src], Z_dst=codes[dst], images=images.numpy(), source="data", data="faces",
                           seed=args.seed)
        fit, test = pairs.split(args.test, seed=args.seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            maps = {kind: fit.fit(kind, alpha=args.alpha) for kind in args.kinds}
        ev = evaluate_maps(maps, test, models[dst], support=fit, random_state=args.seed)
        evaluations[f"{src} -> {dst}"] = ev
        print(f"\n{src} -> {dst}  (fit + score {time.perf_counter() - t0:.1f} s)")
        if any("underdetermined" in str(w.message) for w in caught):
            print(f"  note: {len(fit)} support pairs < {fit.Z_src[0].size} source coordinates: linear/affine "
                  "are the minimum-norm solutions")
        print(ev.table())

    best = args.kinds[-1]
    print(f"\nsummary ({best} map; * baselines; R = destination's own reconstruction, the floor for M):")
    print(f"{'pair':<14}{'R mse':>8}{'R ssim':>8}{'L rel':>8}{'M mse':>8}{'M ssim':>8}"
          f"{'rand-orth* M':>14}{'mean* M':>9}")
    for pair, ev in evaluations.items():
        s = ev.scores[best]
        print(f"{pair:<14}{ev.recon_mse:>8.4f}{ev.recon_ssim:>8.3f}{s.latent_rel:>8.3f}{s.image_mse:>8.4f}"
              f"{s.image_ssim:>8.3f}{ev.scores['random-orthogonal'].image_mse:>14.4f}{ev.scores['mean'].image_mse:>9.4f}")
    print(f"part 2 wall time: {time.perf_counter() - t_start:.0f} s (torch threads: {torch.get_num_threads()})")
    if args.out:
        fig = map_table_figure(evaluations, width="two",
                               title=f"tiny faces models: {args.support} support pairs, {args.test} held-out faces")
        written = save_figure(fig, args.out, overwrite=args.force)
        print(f"wrote {', '.join(str(p) for p in written)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["fit", "table", "all"], default="all")
    parser.add_argument("--n", type=int, default=10_000, help="part 1: paired codes")
    parser.add_argument("--dim", type=int, default=512, help="part 1: code size")
    parser.add_argument("--alpha", type=float, default=1.0, help="ridge penalty")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1: shared 2-core machine)")
    parser.add_argument("--models", default=str(Path(tempfile.gettempdir()) / "latentlab-bench-maps"),
                        help="part 2: folder of vae.pt, gan.pt, ddpm.pt (trained there when missing)")
    parser.add_argument("--support", type=int, default=256, help="part 2: support pairs the maps are fitted on")
    parser.add_argument("--test", type=int, default=64, help="part 2: held-out faces the maps are scored on")
    parser.add_argument("--kind", dest="kinds", action="append", choices=KINDS,
                        help="part 2: kind of map, repeatable (default: affine, ridge)")
    parser.add_argument("--gan-invert-steps", type=int, default=100)
    parser.add_argument("--gan-invert-restarts", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="part 2: save the table figure here (.png/.pdf/.svg)")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    args = parser.parse_args()
    args.kinds = args.kinds or ["affine", "ridge"]

    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        if args.part in ("fit", "all"):
            fit_times(args)
        if args.part in ("table", "all"):
            rlm_table(args)


if __name__ == "__main__":
    main()
