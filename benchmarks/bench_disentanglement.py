"""Benchmark: time of each disentanglement metric on 10,000 samples on CPU.

Data are planted, shaped like ``shapes``: five independent categorical factors with
3, 6, 40, 32 and 32 levels (dSprites' grid) and a 10-d code whose first five
coordinates are the standardised factors mixed by a mild random rotation (a partially
disentangled code) plus noise, and five pure-noise coordinates.

Baselines, in the same run, where a straightforward version of the same metric exists:

* MIG and modularity — the disentanglement_lib recipe: one
  ``sklearn.metrics.mutual_info_score`` per (code dimension, factor) pair in a Python
  loop, against our single one-hot matrix product. The scores agree to 1e-9 (a note is
  printed if a code value on a bin edge falls the other way).
* SAP — disentanglement_lib's classifier, ``LinearSVC(C=0.01, class_weight="balanced")``
  per pair with plain accuracy, against our threshold classifier (a decision tree on one
  dimension with one leaf per level, balanced accuracy). These are different score
  matrices by design (a one-vs-rest linear SVM on one dimension cannot single out a
  middle level, so it under-scores many-level factors); both numbers are printed.
* DCI — the default gradient-boosted trees (disentanglement_lib) against random forests
  and L1 logistic regression. GBT is slow with many classes (one tree per class per
  round): about 12 minutes here on a shared 2-core machine (forest 1.4 min, lasso 14 s),
  so ``--dci`` can leave it out.
* BetaVAE and FactorVAE scores — 10,000 training and 5,000 evaluation points (votes),
  64 observations per point, on a synthetic oracle whose "observation" is the code
  itself (so the time is the metric's own, not rendering or encoding), against a
  per-point loop that draws, renders and represents one point at a time (the
  disentanglement_lib loop).

Run:  python benchmarks/bench_disentanglement.py [--n 10000] [--dci gbt forest lasso] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import special_ortho_group
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from latentlab.metrics.disentanglement import (
    FunctionOracle,
    betavae_score,
    dci,
    factorvae_score,
    mig,
    modularity,
    sap,
)

LEVELS = (3, 6, 40, 32, 32)


def planted(n: int, seed: int):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, k, n) for k in LEVELS], axis=1)
    rotation = _mild_rotation(seed)
    code = np.concatenate([_standardise(factors) @ rotation.T, np.zeros((n, 5))], axis=1)
    return code + 0.1 * rng.standard_normal(code.shape), factors, rotation


def _standardise(f):
    levels = np.asarray(LEVELS, dtype=float)
    return (f - (levels - 1) / 2) / np.sqrt((levels**2 - 1) / 12)


def _mild_rotation(seed: int) -> np.ndarray:
    # halfway between the identity and a random rotation, re-orthonormalised
    q, _ = np.linalg.qr(np.eye(5) + 0.5 * special_ortho_group.rvs(5, random_state=seed))
    return q * np.sign(np.diag(q))


# ----------------------------------------------------------------------------------
# baselines: the straightforward loops
# ----------------------------------------------------------------------------------
def _dl_discretise(codes, n_bins=20):
    return np.stack([np.digitize(c, np.histogram(c, n_bins)[1][:-1]) for c in codes.T], axis=1)


def _loop_mi(codes, factors):
    binned = _dl_discretise(codes)
    return np.array([[mutual_info_score(factors[:, k], binned[:, d]) for k in range(factors.shape[1])]
                     for d in range(codes.shape[1])])


def loop_mig(codes, factors):
    mi = _loop_mi(codes, factors)
    entropy = np.array([mutual_info_score(f, f) for f in factors.T])
    top = np.sort(mi, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / entropy))


def loop_modularity(codes, factors):
    mi2 = _loop_mi(codes, factors) ** 2
    best = mi2.max(axis=1)
    score = 1 - (mi2.sum(axis=1) - best) / (best * (factors.shape[1] - 1))
    return float(np.mean(np.where(best > 0, score, 0.0)))


def linear_svc_sap(codes, factors, seed=0):
    order = np.random.default_rng(seed).permutation(len(codes))
    test, train = order[: len(codes) // 3], order[len(codes) // 3 :]
    scores = np.zeros((codes.shape[1], factors.shape[1]))
    for d in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            svc = LinearSVC(C=0.01, class_weight="balanced").fit(codes[train, d : d + 1], factors[train, k])
            scores[d, k] = np.mean(svc.predict(codes[test, d : d + 1]) == factors[test, k])
    top = np.sort(scores, axis=0)[::-1]
    return float(np.mean(top[0] - top[1]))


def loop_betavae(represent, oracle, n_train, n_eval, batch_size=64, seed=0):
    rng = np.random.default_rng(seed)

    def points(n):
        x, y = [], []
        for _ in range(n):
            j = rng.integers(oracle.n_factors)
            a, b = oracle.sample_factors(batch_size, rng), oracle.sample_factors(batch_size, rng)
            b[:, j] = a[:, j]
            x.append(np.abs(represent(oracle.render(a, rng)) - represent(oracle.render(b, rng))).mean(axis=0))
            y.append(j)
        return np.array(x), np.array(y)

    x_train, y_train = points(n_train)
    x_eval, y_eval = points(n_eval)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    model = LogisticRegression(max_iter=1000).fit((x_train - mean) / std, y_train)
    return float(np.mean(model.predict((x_eval - mean) / std) == y_eval))


def loop_factorvae(represent, oracle, n_train, n_eval, n_variance, batch_size=64, seed=0):
    rng = np.random.default_rng(seed)
    scale = represent(oracle.render(oracle.sample_factors(n_variance, rng), rng)).std(axis=0, ddof=1)
    active = np.flatnonzero(scale > 0.05 * scale.max())

    def votes(n):
        v = np.zeros((oracle.n_factors, len(scale)), dtype=np.int64)
        for _ in range(n):
            j = rng.integers(oracle.n_factors)
            f = oracle.sample_factors(batch_size, rng)
            f[:, j] = f[0, j]
            z = represent(oracle.render(f, rng))
            v[j, active[np.argmin(z[:, active].var(axis=0, ddof=1) / scale[active] ** 2)]] += 1
        return v

    classifier = np.argmax(votes(n_train), axis=0)
    ev = votes(n_eval)
    return float(ev[classifier, np.arange(len(scale))].sum() / ev.sum())


# ----------------------------------------------------------------------------------
def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="samples (array metrics) and training points (interventional)")
    parser.add_argument("--dci", nargs="+", default=["gbt", "forest", "lasso"], choices=["gbt", "forest", "lasso"])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    codes, factors, rotation = planted(args.n, args.seed)
    rows = []  # (metric, implementation, score, seconds)
    with threadpool_limits(args.threads):
        for name, ours, baseline in (("mig", mig, loop_mig), ("modularity", modularity, loop_modularity)):
            value, t = timed(ours, codes, factors)
            ref, t_ref = timed(baseline, codes, factors)
            if abs(value - ref) > 1e-9:
                print(f"note: {name} differs from the loop by {abs(value - ref):.2e} (a code value on a bin edge)")
            rows += [(name, "latentlab (one-hot matmul)", value, t), (name, "baseline: mutual_info_score loop", ref, t_ref)]
        value, t = timed(sap, codes, factors, random_state=args.seed)
        ref, t_ref = timed(linear_svc_sap, codes, factors, seed=args.seed)
        rows += [("sap", "latentlab (threshold trees, balanced acc.)", value, t),
                 ("sap", "baseline: LinearSVC loop (disentanglement_lib)", ref, t_ref)]
        for estimator in args.dci:
            value, t = timed(dci, codes, factors, estimator=estimator, random_state=args.seed)
            label = f"latentlab estimator={estimator}" + (" (default)" if estimator == "gbt" else "")
            rows.append(("dci", label, "D %.3f C %.3f I %.3f" % tuple(value.values()), t))

        mean, std = (np.asarray(LEVELS) - 1) / 2, np.sqrt((np.asarray(LEVELS, float) ** 2 - 1) / 12)
        noise = np.random.default_rng(args.seed + 1)

        def render(f):
            z = ((f - mean) / std) @ rotation.T
            return np.concatenate([z, np.zeros((len(f), 5))], axis=1) + 0.1 * noise.standard_normal((len(f), 10))

        oracle = FunctionOracle(LEVELS, render)
        n_eval = args.n // 2

        def identity(x):
            return x

        value, t = timed(betavae_score, identity, oracle, n_train=args.n, n_eval=n_eval, seed=args.seed)
        ref, t_ref = timed(loop_betavae, identity, oracle, args.n, n_eval, seed=args.seed)
        rows += [("betavae", "latentlab (4096 observations per call)", value, t), ("betavae", "baseline: per-point loop", ref, t_ref)]
        value, t = timed(factorvae_score, identity, oracle, n_train=args.n, n_eval=n_eval, n_variance=args.n, seed=args.seed)
        ref, t_ref = timed(loop_factorvae, identity, oracle, args.n, n_eval, args.n, seed=args.seed)
        rows += [("factorvae", "latentlab (4096 observations per call)", value, t), ("factorvae", "baseline: per-point loop", ref, t_ref)]

    print(f"\n{args.n} samples, factors with {LEVELS} levels, 10-d code; {args.threads} BLAS thread(s)")
    print(f"{'metric':<11} {'implementation':<48} {'score':>24} {'seconds':>9}")
    for metric, impl, score, seconds in rows:
        shown = score if isinstance(score, str) else f"{score:.4f}"
        print(f"{metric:<11} {impl:<48} {shown:>24} {seconds:9.2f}")
    print("\nBetaVAE/FactorVAE times exclude rendering and encoding: with a real encoder those cost "
          "2*64*(n + n/2) and 64*(n + n/2) + n observations.")


if __name__ == "__main__":
    main()
