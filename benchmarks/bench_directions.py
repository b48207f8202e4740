"""Benchmark: AttributeDirection (squared-hinge Newton SVM) against the InterFaceGAN recipe.

Baseline, in the same run: the reference recipe of InterFaceGAN (Shen et al. 2020) —
rank 500,000 codes by an attribute score, keep the top and bottom 2 % (N = 20,000,
d = 512), split 70/30 per class with a seed, fit scikit-learn's ``SVC(kernel="linear")``
on the training part. A second baseline is ``LinearSVC(dual=False)`` (liblinear's
primal solver for the same squared-hinge objective as ours) on the same split.

Data are planted: codes z ~ N(0, I_512) (float32), score = z·n + sigma·noise for a
random unit n, so the best possible hyperplane is known. All hyperplanes are also
scored on the extremes of a fresh, independent pool of codes (the "test" column).

Part 2 fits all of N = 1,000,000 codes (binary labels, 30 % held out) and reports the
time and the extra memory allocated during ``fit`` (tracemalloc peak; NumPy reports
its buffers to tracemalloc) next to the input size.

BLAS is limited to one thread by default (``--threads``): the machine this was written
on has two cores shared with other jobs, where multi-threaded OpenBLAS stalls, and
libsvm (the baseline) is single-threaded anyway.

Run:  python benchmarks/bench_directions.py [--sigma 1.0 2.0] [--big-n 1000000]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
from sklearn.svm import SVC, LinearSVC
from threadpoolctl import threadpool_limits

from latentlab.analysis.directions import AttributeDirection


def planted(n_codes: int, dim: int, sigma: float, seed: int, normal: np.ndarray):
    """Codes ``(n_codes, dim)`` float32 and scores ``z·normal + sigma·noise``."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_codes, dim), dtype=np.float32)
    scores = Z @ normal.astype(np.float32) + sigma * rng.standard_normal(n_codes, dtype=np.float32)
    return Z, scores


def extremes(Z, scores, fraction):
    """Top/bottom ``fraction`` of the codes by score: (codes, labels 0/1)."""
    k = int(fraction * len(scores))
    order = np.argsort(scores, kind="stable")
    idx = np.concatenate([order[:k], order[-k:]])
    return Z[idx], np.r_[np.zeros(k), np.ones(k)]


def reference_split(y, val_fraction, seed):
    """The recipe's seeded per-class shuffle and split: (train idx, val idx)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_val = round(val_fraction * idx.size)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.concatenate(train), np.concatenate(val)


def timed(fn):
    """((wall seconds, CPU seconds), result) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - t0, time.process_time() - c0), out


def accuracy(w, b, X, y):
    return float(np.mean(((X @ w.astype(X.dtype)) + b > 0) == (y == 1)))


def unit_hyperplane(coef, intercept):
    norm = np.linalg.norm(coef)
    return coef / norm, float(intercept) / norm


def part1(args, normal):
    print(f"\n== Part 1: {args.pool:,} codes x {args.dim}, top/bottom {args.fraction:.0%} "
          f"(N = {2 * int(args.fraction * args.pool):,}), 70/30 split ==")
    header = (f"{'sigma':>5}  {'method':<38} {'wall s':>8} {'CPU s':>8} {'val acc':>8} {'test acc':>8} "
              f"{'cos(n)':>7}")
    for sigma in args.sigma:
        Z, scores = planted(args.pool, args.dim, sigma, seed=1, normal=normal)
        Zt, st = planted(args.pool, args.dim, sigma, seed=2, normal=normal)
        Xt, yt = extremes(Zt, st, args.fraction)
        print(header)
        rows = []

        (t_ours, c_ours), ours = timed(lambda: AttributeDirection(
            "svm", fraction=args.fraction, val_fraction=0.3, random_state=0).fit(Z, scores))
        rows.append(("AttributeDirection('svm') [whole fit]", t_ours, c_ours, ours.val_accuracy_,
                     accuracy(ours.direction_flat_, ours.intercept_, Xt, yt), float(ours.direction_flat_ @ normal)))

        X, y = extremes(Z, scores, args.fraction)
        train, val = reference_split(y, 0.3, seed=0)
        Xtr, ytr = X[train].astype(np.float64), y[train]

        (t_lsvc, c_lsvc), lsvc = timed(lambda: LinearSVC(C=1.0, dual=False, tol=1e-4, max_iter=10_000).fit(Xtr, ytr))
        w, b = unit_hyperplane(lsvc.coef_[0], lsvc.intercept_[0])
        rows.append(("LinearSVC(dual=False) [fit only]", t_lsvc, c_lsvc, accuracy(w, b, X[val], y[val]),
                     accuracy(w, b, Xt, yt), float(w @ normal)))

        if not args.skip_svc:
            (t_svc, c_svc), svc = timed(lambda: SVC(kernel="linear", C=1.0).fit(Xtr, ytr))
            w, b = unit_hyperplane(svc.coef_[0], svc.intercept_[0])
            rows.append(('SVC(kernel="linear") [fit only]', t_svc, c_svc, accuracy(w, b, X[val], y[val]),
                         accuracy(w, b, Xt, yt), float(w @ normal)))
        for name, t, c, va, ta, cos in rows:
            print(f"{sigma:>5.2f}  {name:<38} {t:>8.2f} {c:>8.2f} {va:>8.4f} {ta:>8.4f} {cos:>7.4f}")
        if not args.skip_svc:
            gap = 100 * (rows[0][3] - rows[-1][3])
            test_gap = 100 * (rows[0][4] - rows[-1][4])
            print(f"       speed-up vs SVC: {t_svc / t_ours:.1f}x wall, {c_svc / c_ours:.1f}x CPU (ours includes "
                  f"ranking {args.pool:,} codes and scoring all of them); accuracy difference (ours - SVC): "
                  f"val {gap:+.2f} points (different 30 % splits), test {test_gap:+.2f} points")
        print(f"       speed-up vs LinearSVC: {t_lsvc / t_ours:.1f}x wall, {c_lsvc / c_ours:.1f}x CPU; "
              f"accuracy_remaining_ = {ours.accuracy_remaining_:.4f}")


def part2(args, normal):
    n = args.big_n
    print(f"\n== Part 2: all of N = {n:,} codes x {args.dim} (float32), binary labels, 30 % held out ==")
    Z, scores = planted(n, args.dim, args.sigma[0], seed=3, normal=normal)
    y = scores > 0.5  # an attribute held by ~1/3 of the codes: hyperplane offset from the origin
    del scores
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    ours = AttributeDirection("svm", val_fraction=0.3, random_state=0).fit(Z, y)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"fit time {elapsed:.1f} s wall, {cpu:.1f} s CPU ({ours.n_iter_} Newton steps), "
          f"val accuracy {ours.val_accuracy_:.4f}, "
          f"cos(n) {ours.direction_flat_ @ normal:.4f}, intercept {ours.intercept_:+.3f} "
          f"(Bayes boundary z.n = 0.5: intercept -0.500)")
    print(f"input {Z.nbytes / 2**30:.2f} GiB; extra memory allocated by fit (peak) {peak / 2**30:.3f} GiB; "
          f"process peak RSS {rss:.2f} GiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=500_000, help="codes ranked by score (default 500,000)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--fraction", type=float, default=0.02)
    parser.add_argument("--sigma", type=float, nargs="+", default=[1.0], help="score noise level(s)")
    parser.add_argument("--big-n", type=int, default=1_000_000, help="size of part 2 (0 skips it)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--skip-svc", action="store_true", help="leave out the slow kernel-SVC baseline")
    parser.add_argument("--parts", type=int, nargs="+", default=[1, 2], choices=[1, 2], help="parts to run")
    args = parser.parse_args()
    normal = np.random.default_rng(0).standard_normal(args.dim)
    normal /= np.linalg.norm(normal)
    with threadpool_limits(args.threads):
        print(f"BLAS threads: {args.threads}")
        if 1 in args.parts:
            part1(args, normal)
        if 2 in args.parts and args.big_n:
            part2(args, normal)


if __name__ == "__main__":
    main()
