"""Benchmark: sample-quality metrics on CPU, and FID-domain of the tiny faces VAE, GAN and DDPM.

Part 1, speed. Each metric of :mod:`latentlab.metrics.sample_quality` on 10,000 real and
10,000 generated feature vectors (64 features, the width of the domain classifier's;
two Gaussians with different covariances), against a named baseline in the same run,
on the same arrays (wall and process CPU seconds; the values must agree):

* FID: ``scipy.linalg.sqrtm`` of ``S_r S_g`` (the pytorch-fid / TTUR formula) against
  latentlab's two symmetric eigendecompositions;
* KID (100 subsets of 1000): ``sklearn.metrics.pairwise.polynomial_kernel`` matrices
  per subset (the usual NumPy code) against latentlab's in-place torch kernel sums;
* precision/recall (k = 3) and density/coverage (k = 5): the reference "prdc" recipe —
  ``sklearn.neighbors.NearestNeighbors`` radii and a full ``pairwise_distances`` matrix
  of real against fake (800 MB each) — against latentlab's neighbour engine and
  blockwise ball counts.

Part 2, models (skip with ``--skip-models``). Trains the bundled ``faces-vae-tiny``,
``faces-gan-tiny`` and ``faces-ddpm-tiny`` configs on one set of 32 px faces and a
domain classifier on the same data (seed 0), then prints :func:`latentlab.metrics.evaluate_models`
for the three models and for fresh real faces (another render seed: the best any model
can score, the baseline row): FID-domain and KID in the classifier's features,
precision/recall and density/coverage, mean ± sd over sampling seeds.
``--steps-fraction`` scales every config's training steps (default 0.5, with 500 samples
per model and seed: a few minutes on 2 free CPU cores; ``--steps-fraction 1 --samples
1000`` for the configs as bundled, about twice as long).

Threads: torch and the NumPy/SciPy baselines use ``--threads`` threads (default 1: on a
2-core machine shared with other jobs, more threads stall).

Run:  python benchmarks/bench_metrics.py [--n 10000] [--skip-speed] [--skip-models]
      [--steps-fraction 0.5] [--samples 500] [--seeds 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from latentlab.metrics import density_coverage, frechet_distance, kernel_distance, precision_recall, sample_quality
from latentlab.models.base import ImagePool


def timed(fn):
    """Wall seconds, CPU seconds of this process and the result of ``fn()``."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


# -- baselines ---------------------------------------------------------------------------


def fid_sqrtm(real, fake) -> float:
    from scipy import linalg

    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2)).real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid_sklearn(real, fake, n_subsets=100, subset_size=1000, seed=0) -> float:
    from sklearn.metrics.pairwise import polynomial_kernel

    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_subsets):
        x = real[rng.choice(len(real), subset_size, replace=False)]
        y = fake[rng.choice(len(fake), subset_size, replace=False)]
        kxx, kyy, kxy = (polynomial_kernel(a, b, degree=3, gamma=1.0 / x.shape[1], coef0=1) for a, b in
                         ((x, x), (y, y), (x, y)))
        m = subset_size
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    return float(np.mean(values))


def _radii_sklearn(x, k):
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x).kneighbors(x)[0][:, k]


def prdc_sklearn(real, fake, k_pr=3, k_dc=5):
    from sklearn.metrics import pairwise_distances

    d = pairwise_distances(real, fake)  # (N, M)
    r3, f3, r5 = _radii_sklearn(real, k_pr), _radii_sklearn(fake, k_pr), _radii_sklearn(real, k_dc)
    precision = float((d < r3[:, None]).any(axis=0).mean())
    recall = float((d < f3[None, :]).any(axis=1).mean())
    density = float((d < r5[:, None]).sum() / (k_dc * len(fake)))
    coverage = float((d.min(axis=1) < r5).mean())
    return precision, recall, density, coverage


# -- part 1 ------------------------------------------------------------------------------


def speed(n: int, dim: int, seed: int) -> None:
    g = np.random.default_rng(seed)
    real = g.standard_normal((n, dim))
    mix = g.standard_normal((dim, dim)) / np.sqrt(dim)
    fake = 0.1 + g.standard_normal((n, dim)) @ (0.9 * np.eye(dim) + 0.2 * mix)
    print(f"\nspeed: {n} real and {n} fake features of dimension {dim}, CPU, {torch.get_num_threads()} torch threads")
    print(f"{'metric':<20} {'latentlab (s)':>14} {'CPU s':>7} {'baseline (s)':>13} {'CPU s':>7}  values (latentlab | baseline)")
    rows = [
        ("FID", lambda: frechet_distance(real, fake), "scipy sqrtm", lambda: fid_sqrtm(real, fake)),
        ("KID 100x1000", lambda: kernel_distance(real, fake)[0], "sklearn kernels", lambda: kid_sklearn(real, fake)),
    ]
    for name, ours, base_name, base in rows:
        w, c, v = timed(ours)
        bw, bc, bv = timed(base)
        print(f"{name:<20} {w:>14.3f} {c:>7.2f} {bw:>13.3f} {bc:>7.2f}  {v:.6g} | {bv:.6g}  ({base_name})")
    w1, c1, pr = timed(lambda: precision_recall(real, fake, 3))
    w2, c2, dc = timed(lambda: density_coverage(real, fake, 5))
    bw, bc, base = timed(lambda: prdc_sklearn(real, fake))
    print(f"{'precision/recall':<20} {w1:>14.3f} {c1:>7.2f} {'':>13} {'':>7}  {pr[0]:.4f}, {pr[1]:.4f} | "
          f"{base[0]:.4f}, {base[1]:.4f}")
    print(f"{'density/coverage':<20} {w2:>14.3f} {c2:>7.2f} {'':>13} {'':>7}  {dc[0]:.4f}, {dc[1]:.4f} | "
          f"{base[2]:.4f}, {base[3]:.4f}")
    print(f"{'  both (4 numbers)':<20} {w1 + w2:>14.3f} {c1 + c2:>7.2f} {bw:>13.3f} {bc:>7.2f}  "
          "(sklearn NearestNeighbors + full pairwise_distances, prdc recipe)")
    w, c, q = timed(lambda: sample_quality(real, fake))
    print(f"{'sample_quality (all)':<20} {w:>14.3f} {c:>7.2f} {'':>13} {'':>7}  FID, KID and the four k-NN scores "
          "(one pass over the distances)")


# -- part 2 ------------------------------------------------------------------------------


def models(steps_fraction: float, samples: int, seeds: int, n_data: int) -> None:
    from latentlab.data import load
    from latentlab.metrics import evaluate_models
    from latentlab.metrics.features import domain_feature_network
    from latentlab.training import load_config, train

    faces = load("faces", n=n_data, size=32, seed=0)
    print(f"\nmodels: tiny faces VAE, GAN, DDPM trained on {n_data} faces (32 px, seed 0); "
          f"steps x {steps_fraction:g}", flush=True)
    trained = {}
    for name in ("vae", "gan", "ddpm"):
        config = f"faces-{name}-tiny"
        steps = max(1, round(load_config(config).train.steps * steps_fraction))
        w, _, result = timed(lambda: train(config, overrides=[f"train.steps={steps}", "train.checkpoint_every=0"],
                                           dataset=faces, device="cpu", progress=False))
        trained[name.upper()] = result.model
        print(f"  trained {config}: {steps} steps in {w:.0f} s", flush=True)
    w, _, classifier = timed(lambda: domain_feature_network(faces, n=n_data, steps=300, seed=0))
    print(f"  trained the domain classifier (300 steps) in {w:.0f} s", flush=True)
    fresh = load("faces", n=samples, size=32, seed=12345).images
    rows = {"real faces (baseline)": ImagePool(fresh), **trained}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        w, _, table = timed(lambda: evaluate_models(rows, faces, classifier=classifier, n=samples, seeds=range(seeds)))
    print(f"  evaluated in {w:.0f} s\n")
    print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="samples per set in the speed test")
    parser.add_argument("--dim", type=int, default=64, help="feature dimension in the speed test")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--steps-fraction", type=float, default=0.5,
                        help="scale of each config's training steps (1: the configs as bundled)")
    parser.add_argument("--samples", type=int, default=500, help="generated (and real) samples per model and seed")
    parser.add_argument("--seeds", type=int, default=2, help="sampling seeds")
    parser.add_argument("--data", type=int, default=4000, help="training faces")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and BLAS threads (default 1: on a shared 2-core machine more threads stall)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):  # the NumPy/SciPy baselines get the same number of threads
        if not args.skip_speed:
            speed(args.n, args.dim, seed=0)
        if not args.skip_models:
            models(args.steps_fraction, args.samples, args.seeds, args.data)


if __name__ == "__main__":
    main()
