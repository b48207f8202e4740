"""Benchmark: LatentMap fit time for each kind, N = 10,000 paired codes, 512 -> 512.

Baselines, in the same run, on the same data: scikit-learn ``LinearRegression``
(``fit_intercept=False`` for "linear", ``True`` for "affine"), ``Ridge`` (same alpha)
and ``scipy.linalg.orthogonal_procrustes`` on centred codes. Each line prints both fit
times, the largest difference between the two coefficient matrices, and the R² of our
map on 2,000 held-out pairs.

Data are planted: z_dst = A z_src + b + 0.1·noise, with A a random orthogonal matrix
and z_src ~ N(0, I). Affine, ridge and Procrustes are well specified (R² near the
noise ceiling, 0.99); "linear" has no bias, so its R² shows what leaving out the
planted offset b costs.

Run:  python benchmarks/bench_maps.py [--n 10000] [--dim 512] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg
from scipy.stats import ortho_group
from sklearn.linear_model import LinearRegression, Ridge
from threadpoolctl import threadpool_limits

from latentlab.analysis.maps import LatentMap


def timed(fn, repeat=3):
    """Best wall time of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: shared 2-core machine)")
    args = parser.parse_args()

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
    with threadpool_limits(args.threads):
        print(f"N = {args.n:,} pairs, {d} -> {d}, BLAS threads: {args.threads}; best of 3")
        print(f"{'kind':<11} {'ours s':>7} {'baseline':<38} {'base s':>7} {'max|dW|':>9} {'R2 test':>8}")
        for kind, (name, baseline) in baselines.items():
            t_ours, m = timed(lambda: LatentMap(kind, alpha=args.alpha).fit(Xs, Xd))
            t_base, W = timed(baseline)
            diff = float(np.abs(m.coef_ - W).max())
            print(f"{kind:<11} {t_ours:>7.3f} {name:<38} {t_base:>7.3f} {diff:>9.1e} {m.score(Ts, Td):>8.4f}")


if __name__ == "__main__":
    main()
