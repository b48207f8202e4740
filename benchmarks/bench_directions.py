"""Benchmark: AttributeDirection (squared-hinge Newton SVM) against the InterFaceGAN recipe.

Baseline, in the same run: the reference recipe of InterFaceGAN (Shen et al. 2020),
``train_boundary`` — rank 500,000 codes by an attribute score, keep the top and bottom
2 % (N = 20,000, d = 512), split 70/30 per class with a seed, fit scikit-learn's
``SVC(kernel="linear")`` on the training part, then report its accuracy on the
validation part and on the remaining 480,000 codes. Two comparisons per noise level:

1. the whole recipe: ``AttributeDirection("svm").fit(codes, scores)``, which computes
   the same things (direction, validation accuracy, accuracy on the remaining codes),
   against the recipe step by step (ranking, SVC fit, SVC predictions);
2. the hyperplane fit alone on the same 14,000 training codes: ours
   (``val_fraction=0``) against ``SVC(kernel="linear").fit`` and against
   ``LinearSVC(dual=False)`` (liblinear's primal solver for the same squared-hinge
   objective as ours), all scored on the same validation codes.

Data are planted: codes z ~ N(0, I_512) (float32), score = z·n + sigma·noise for a
random unit n, so the best possible hyperplane is known. All hyperplanes are also
scored on the extremes of a fresh, independent pool of codes (the "test" column).

Part 2 fits all of N = 1,000,000 codes (binary labels, 30 % held out) and reports the
time and the extra memory allocated during ``fit`` (tracemalloc peak; NumPy reports
its buffers to tracemalloc) next to the input size.

BLAS is limited to one thread by default (``--threads``): the machine this was written
on has two cores shared with other jobs, where multi-threaded OpenBLAS stalls, and
libsvm (the baseline) is single-threaded anyway. (AttributeDirection itself runs
problems that fit in one copy, like part 1's, on one BLAS thread whatever the setting:
with two threads they took 3-4x longer here. Part 2's block products do gain from more.)

Run:  python benchmarks/bench_directions.py [--sigma 0.5 1.0 2.0] [--parts 1 2] [--big-n 1000000]
      [--repeats 5] [--remaining-sample 20000] [--skip-svc]
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


def median_time(fn, repeats: int):
    """(median wall s, median CPU s, last result) over ``repeats`` calls."""
    runs = [timed(fn) for _ in range(repeats)]
    return float(np.median([r[0][0] for r in runs])), float(np.median([r[0][1] for r in runs])), runs[-1][1]


def reference_recipe(Z, scores, fraction, remaining_sample, seed):
    """InterFaceGAN's ``train_boundary`` as published, step by step, timed.

    Sort all scores, reorder the codes, take the top/bottom ``fraction``, split 70/30 per
    class, fit ``SVC(kernel="linear")``, predict the validation codes and the remaining
    codes (labelled by the midpoint of the extreme scores). Predicting with a kernel SVM
    costs (support vectors x codes x D) and is exactly linear in the number of codes, so
    it is timed on ``remaining_sample`` of them and scaled to all.

    Returns (timings dict in wall s, SVC, validation accuracy, remaining accuracy on the sample).
    """
    def rank():
        order = np.argsort(scores)[::-1]
        return order, Z[order]

    times = {}
    (times["rank"], _), (order, codes) = timed(rank)
    k = int(fraction * len(scores))
    X = np.concatenate([codes[:k], codes[-k:]]).astype(np.float64)
    y = np.r_[np.ones(k), np.zeros(k)]
    train, val = reference_split(y, 0.3, seed)
    (times["fit"], _), svc = timed(lambda: SVC(kernel="linear", C=1.0).fit(X[train], y[train]))
    (times["predict val"], _), val_pred = timed(lambda: svc.predict(X[val]))
    middle = codes[k:-k]
    sorted_scores = scores[order]
    labels = sorted_scores[k:-k] >= (sorted_scores[0] + sorted_scores[-1]) / 2
    pick = np.random.default_rng(seed).choice(len(middle), min(remaining_sample, len(middle)), replace=False)
    (t, _), rem_pred = timed(lambda: svc.predict(middle[pick].astype(np.float64)))
    times["predict remaining"] = t * len(middle) / len(pick)
    return times, svc, float(np.mean(val_pred == y[val])), float(np.mean(rem_pred == labels[pick]))


def part1(args, normal):
    n_keep = 2 * int(args.fraction * args.pool)
    print(f"\n== Part 1: {args.pool:,} codes x {args.dim}, top/bottom {args.fraction:.0%} "
          f"(N = {n_keep:,}), 70/30 split ==")
    print(f"Timings: ours and LinearSVC are the median of {args.repeats} runs; SVC and the reference recipe one run.")
    SVC(kernel="linear").fit(np.eye(4), [0, 1, 0, 1])  # load libsvm before timing it
    for sigma in args.sigma:
        Z, scores = planted(args.pool, args.dim, sigma, seed=1, normal=normal)
        Zt, st = planted(args.pool, args.dim, sigma, seed=2, normal=normal)
        Xt, yt = extremes(Zt, st, args.fraction)
        del Zt, st

        print(f"\n-- sigma = {sigma:.2f}: the whole recipe (rank, split, fit, validation and remaining-set accuracy) --")
        t_ours, c_ours, ours = median_time(lambda: AttributeDirection(
            "svm", fraction=args.fraction, val_fraction=0.3, random_state=0).fit(Z, scores), args.repeats)
        if not args.skip_svc:
            times, svc, ref_val, ref_rem = reference_recipe(Z, scores, args.fraction, args.remaining_sample, seed=0)
            total = sum(times.values())
            parts = ", ".join(f"{name} {t:.2f}" for name, t in times.items())
            print(f"reference recipe (InterFaceGAN train_boundary, SVC): {total:8.2f} s wall  [{parts}; "
                  f"remaining-set prediction timed on {args.remaining_sample:,} codes and scaled]")
            print(f"   val acc {ref_val:.4f}, remaining acc {ref_rem:.4f} ({svc.n_support_.sum()} support vectors)")
        print(f"AttributeDirection('svm').fit(Z, scores):             {t_ours:8.2f} s wall, {c_ours:.2f} s CPU")
        print(f"   val acc {ours.val_accuracy_:.4f}, remaining acc {ours.accuracy_remaining_:.4f} "
              f"(remaining labelled at the median score), {ours.n_iter_} Newton steps")
        if not args.skip_svc:
            print(f"   speed-up over the reference recipe: {total / t_ours:.0f}x wall")

        print(f"-- sigma = {sigma:.2f}: the hyperplane fit alone, same training split, same validation split --")
        X, y = extremes(Z, scores, args.fraction)
        train, val = reference_split(y, 0.3, seed=0)
        Xtr, ytr = np.ascontiguousarray(X[train]), y[train]
        Xtr64 = Xtr.astype(np.float64)
        print(f"{'method':<40} {'wall s':>8} {'CPU s':>8} {'val acc':>8} {'test acc':>8} {'cos(n)':>7}")
        rows = []
        t, c, fit = median_time(lambda: AttributeDirection("svm", val_fraction=0).fit(Xtr, ytr), args.repeats)
        rows.append(("AttributeDirection('svm'), val_fraction=0", t, c, fit.direction_flat_, fit.intercept_))
        t, c, lsvc = median_time(lambda: LinearSVC(C=1.0, dual=False, tol=1e-4, max_iter=10_000).fit(Xtr64, ytr), args.repeats)
        rows.append(("LinearSVC(dual=False)", t, c, *unit_hyperplane(lsvc.coef_[0], lsvc.intercept_[0])))
        if not args.skip_svc:
            (t, c), svc = timed(lambda: SVC(kernel="linear", C=1.0).fit(Xtr64, ytr))
            rows.append(('SVC(kernel="linear")', t, c, *unit_hyperplane(svc.coef_[0], svc.intercept_[0])))
        accs = []
        for name, t, c, w, b in rows:
            accs.append(accuracy(w, b, X[val], y[val]))
            print(f"{name:<40} {t:>8.3f} {c:>8.3f} {accs[-1]:>8.4f} {accuracy(w, b, Xt, yt):>8.4f} {float(w @ normal):>7.4f}")
        if not args.skip_svc:
            print(f"   speed-up over SVC: {rows[-1][1] / rows[0][1]:.1f}x wall, {rows[-1][2] / rows[0][2]:.1f}x CPU; "
                  f"validation accuracy ours - SVC: {100 * (accs[0] - accs[-1]):+.2f} points")
        print(f"   speed-up over LinearSVC: {rows[1][1] / rows[0][1]:.1f}x wall")


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
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.5, 1.0, 2.0],
                        help="score noise level(s); SVC needs minutes from about 1.5 on")
    parser.add_argument("--big-n", type=int, default=1_000_000, help="size of part 2 (0 skips it)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--skip-svc", action="store_true", help="leave out the slow kernel-SVC baselines")
    parser.add_argument("--repeats", type=int, default=5, help="runs of the fast fits (median reported)")
    parser.add_argument("--remaining-sample", type=int, default=20_000,
                        help="remaining codes on which the reference recipe's SVC prediction is timed")
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
