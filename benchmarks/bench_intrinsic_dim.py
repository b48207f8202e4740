"""Benchmark: intrinsic-dimension accuracy on the 24-manifold suite, and TwoNN / MLE speed.

Part 1, accuracy. For each manifold of ``latentlab.id.datasets.BENCHMARK`` (Hein &
Audibert / Campadelli et al. suite; n = 2,500 points by default) print every estimator's
relative error |d_hat - d| / d, and the mean over the suite. Estimators: the plain
TwoNN (fit and MLE forms), MLE (k = 10..20, MacKay-Ghahramani), LocalPCA,
CorrelationDimension, GRIDE at the smallest scale, and CalibratedID around TwoNN and MLE.

Part 2, speed. TwoNN and MLE (k = 10..20) on N = 50,000 and 100,000 points of a
10-sphere randomly rotated into R^64, against named baselines in the same run, on the
same data (wall time, and CPU time of the process, which is the steadier figure on a
shared machine):

* "sklearn": ``sklearn.neighbors.NearestNeighbors`` (algorithm="auto") for the
  neighbours, then the same formula;
* "full-sort": ``torch.cdist`` of a block of queries against all points and a full
  ``torch.sort`` of each row (timed on 1,000 queries and extrapolated linearly to N);
* with ``--with-skdim``: scikit-dimension's ``TwoNN`` and ``MLE``, installed in a
  throwaway virtual environment in a temporary folder and run in a subprocess on the same
  data (never a dependency of latentlab). If that fails the reason is printed and the
  in-process baselines above still run.

Run:  python benchmarks/bench_intrinsic_dim.py [--n 2500] [--sizes 50000,100000]
      [--twonn-sizes 50000] [--mle-sizes 100000] [--skip-baselines] [--threads 2]
      [--skip-accuracy] [--skip-speed] [--with-skdim] [--device cuda]
      [--big]   (N = 1,000,000 in d = 512 through the neighbour engine; for a GPU)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from latentlab.id import MLE, CalibratedID, CorrelationDimension, LocalPCA, MultiscaleID, TwoNN, datasets, kneighbors
from latentlab.id.mle import log_distance_sums

MLE_K = (10, 20)


def timed(fn):
    """Wall seconds and the result of ``fn()``."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def timed_cpu(fn):
    """Wall seconds, CPU seconds of this process (all its threads) and the result.

    On a shared machine the wall time depends on the other users' load; the CPU time
    measures the work itself.
    """
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


# -- part 1: accuracy --------------------------------------------------------------------


def accuracy(n: int, seed: int) -> None:
    estimators = {
        "TwoNN": TwoNN(),
        "TwoNN-mle": TwoNN(method="mle"),
        "MLE": MLE(k=MLE_K),
        "LocalPCA": LocalPCA(),
        "CorrDim": CorrelationDimension(random_state=seed),
        "GRIDE": MultiscaleID(max_n1=8),
        "Cal-TwoNN": CalibratedID(TwoNN()),
        "Cal-MLE": CalibratedID(MLE(k=MLE_K)),
    }
    print(f"\n== Accuracy: relative error |d_hat - d| / d, n = {n}, seed {seed} ==")
    header = f"{'manifold':18s} {'d':>3s} {'D':>3s} " + " ".join(f"{k:>9s}" for k in estimators)
    print(header)
    errors = {k: [] for k in estimators}
    seconds = {k: 0.0 for k in estimators}
    for name, spec in datasets.BENCHMARK.items():
        X = datasets.make(name, n, random_state=seed)
        cells = []
        for key, est in estimators.items():
            t, fitted = timed(lambda: est.fit(X))
            seconds[key] += t
            err = abs(fitted.dimension_ - spec.intrinsic_dim) / spec.intrinsic_dim
            errors[key].append(err)
            cells.append(f"{err:9.3f}")
        print(f"{name:18s} {spec.intrinsic_dim:3d} {spec.ambient_dim:3d} " + " ".join(cells), flush=True)
    print(f"{'MEAN rel. error':26s} " + " ".join(f"{np.mean(v):9.3f}" for v in errors.values()))
    print(f"{'MEDIAN rel. error':26s} " + " ".join(f"{np.median(v):9.3f}" for v in errors.values()))
    print(f"{'total fit time [s]':26s} " + " ".join(f"{v:9.1f}" for v in seconds.values()))


# -- part 2: speed -------------------------------------------------------------------------


def rotated_sphere(n: int, d: int, D: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((D, d + 1)))
    return (datasets.sphere(n, d, random_state=rng) @ basis.T).astype(np.float32)


def sklearn_neighbours(X: np.ndarray, k: int) -> np.ndarray:
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return dist[:, 1:].astype(np.float64)  # column 0 is the point itself


def full_sort_neighbours(X: np.ndarray, k: int, n_queries: int) -> tuple[float, float]:
    """Wall and CPU seconds for ``n_queries`` queries by cdist + full sort, extrapolated
    linearly to all N queries."""
    Xt = torch.from_numpy(X)

    def run():
        for s in range(0, n_queries, 500):
            torch.sort(torch.cdist(Xt[s : s + 500], Xt), dim=1).values[:, 1 : k + 1]

    wall, cpu, _ = timed_cpu(run)
    return wall * len(X) / n_queries, cpu * len(X) / n_queries


def formulas():
    """The estimators' own formulas, applied to neighbour distances from elsewhere."""
    twonn, mle = TwoNN(), MLE(k=MLE_K)

    def twonn_from(dist):
        return twonn._dimension_from_terms(np.log(dist[:, 1] / dist[:, 0]))

    def mle_from(dist):
        return mle._dimension_from_terms(log_distance_sums(dist, np.arange(MLE_K[0], MLE_K[1] + 1)))

    return twonn_from, mle_from


def speed(plan: dict[int, tuple[str, ...]], device: str, with_skdim: bool, pip_args: list[str], n_queries: int, baselines: bool, threads: int) -> None:
    """Time the estimators of ``plan[N]`` (a subset of ("TwoNN", "MLE")) on N points."""
    twonn_from, mle_from = formulas()
    print(f"\n== Speed: 10-sphere rotated into R^64, float32, device {device}, {torch.get_num_threads()} threads ==")
    print("   (MLE: k = 10..20 estimate; in brackets the k = 20 estimate, what scikit-dimension's MLE(n_neighbors=20) computes)")
    print(f"{'N':>8s} {'estimator':9s} {'method':38s} {'wall s':>8s} {'CPU s':>8s} {'dimension':>10s}")
    cases = {"TwoNN": (lambda: TwoNN(device=device), 2, twonn_from), "MLE": (lambda: MLE(k=MLE_K, device=device), MLE_K[1], mle_from)}
    for n, labels in plan.items():
        X = rotated_sphere(n, 10, 64, seed=n)
        ours = {}
        for label in labels:
            make, k, formula = cases[label]
            rows = []
            wall, cpu, fitted = timed_cpu(lambda: make().fit(X))
            extra = f" [{fitted.dimension_k_[-1]:.3f}]" if label == "MLE" else ""
            ours[label] = (wall, fitted.dimension_k_[-1] if label == "MLE" else fitted.dimension_)
            rows.append(("latentlab blockwise engine", wall, cpu, fitted.dimension_, extra))
            if baselines:
                wall, cpu, value = timed_cpu(lambda: formula(sklearn_neighbours(X, k)))
                rows.append(("sklearn NearestNeighbors + formula", wall, cpu, value, ""))
                n_q = min(n, n_queries)
                wall, cpu = full_sort_neighbours(X, k, n_q)
                rows.append((f"full-sort cdist+sort (extrap. {n_q} q)", wall, cpu, float("nan"), ""))
            for method, wall, cpu, value, extra in rows:
                print(f"{n:8d} {label:9s} {method:38s} {wall:8.2f} {cpu:8.2f} {value:10.3f}{extra}", flush=True)
        if with_skdim:
            skdim_timing(X, pip_args, labels, threads, ours)


SKDIM_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import skdim
    X = np.load(sys.argv[1]).astype(np.float64)
    out = {"version": skdim.__version__}
    if "TwoNN" in sys.argv[2:]:
        t = time.perf_counter(); d = skdim.id.TwoNN().fit(X).dimension_; out["TwoNN"] = [time.perf_counter() - t, float(d)]
    if "MLE" in sys.argv[2:]:
        t = time.perf_counter(); d = skdim.id.MLE().fit(X, n_neighbors=20).dimension_; out["MLE"] = [time.perf_counter() - t, float(d)]
    print(json.dumps(out))
    """
)

_SKDIM_ENV: list[Path] = []


def skdim_env(tmp: Path, pip_args: list[str]) -> Path:
    """A throwaway virtual environment with scikit-dimension; returns its python."""
    if _SKDIM_ENV:
        return _SKDIM_ENV[0]
    env = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / ("Scripts" if os.name == "nt" else "bin") / "python"
    cmd = [str(python), "-m", "pip", "install", "--quiet", *pip_args, "scikit-dimension"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"pip install scikit-dimension failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    _SKDIM_ENV.append(python)
    return python


_TMP = tempfile.TemporaryDirectory(prefix="latentlab-skdim-")


def skdim_timing(X: np.ndarray, pip_args: list[str], labels, threads: int, ours: dict) -> None:
    """Time scikit-dimension's estimators ``labels`` on ``X`` in a subprocess limited to
    ``threads`` BLAS/OpenMP threads, and print the speed-up of ours (``ours[label]`` =
    (wall seconds, comparable estimate)) over it."""
    tmp = Path(_TMP.name)
    try:
        python = skdim_env(tmp, pip_args)
        np.save(tmp / "X.npy", X)
        (tmp / "run.py").write_text(SKDIM_SCRIPT)
        env = dict(os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
        done = subprocess.run([str(python), str(tmp / "run.py"), str(tmp / "X.npy"), *labels], capture_output=True, text=True, timeout=3600, env=env)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except Exception as exc:  # report and fall back on the in-process baselines
        print(f"{len(X):8d} scikit-dimension baseline unavailable ({type(exc).__name__}: {exc}); the sklearn and full-sort baselines above stand")
        return
    for label in labels:
        t, value = out[label]
        print(f"{len(X):8d} {label:9s} {'scikit-dimension ' + out['version'] + ' (subprocess)':38s} {t:8.2f} {'':>8s} {value:10.3f}", flush=True)
        wall, ours_value = ours[label]
        print(f"{len(X):8d} {label:9s} {'  -> speed-up of latentlab (wall)':38s} {t / wall:7.1f}x {'':>8s} {'rel. diff':>10s} {abs(ours_value - value) / value:.2%}", flush=True)


def big(device: str) -> None:
    """1,000,000 points in d = 512 through the neighbour engine (k = 2 and k = 20)."""
    n, D = 1_000_000, 512
    X = rotated_sphere(n, 10, D, seed=0)
    print(f"\n== Big: N = {n:,}, D = {D}, device {device} ==")
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    for k in (2, 20):
        t, (dist, _) = timed(lambda: kneighbors(X, k, device=device))
        peak = f", peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device.startswith("cuda") else ""
        print(f"k = {k:2d}: {t:8.1f} s{peak}; median r_k = {np.median(dist[:, -1]):.4f}", flush=True)


def speed_plan(args) -> dict[int, tuple[str, ...]]:
    """N -> the estimators to time on N points, from --sizes, --twonn-sizes, --mle-sizes."""

    def sizes(text):
        return [int(s) for s in (args.sizes if text is None else text).split(",") if s]

    twonn, mle = sizes(args.twonn_sizes), sizes(args.mle_sizes)
    return {n: tuple(label for label, ns in (("TwoNN", twonn), ("MLE", mle)) if n in ns) for n in sorted(set(twonn) | set(mle))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2500, help="points per manifold in the accuracy suite")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", default="50000,100000", help="comma-separated N for the speed part")
    parser.add_argument("--twonn-sizes", default=None, help="comma-separated N for TwoNN only (default: --sizes)")
    parser.add_argument("--mle-sizes", default=None, help="comma-separated N for MLE only (default: --sizes)")
    parser.add_argument("--skip-baselines", action="store_true", help="leave out the in-process sklearn and full-sort baselines")
    parser.add_argument("--threads", type=int, default=2, help="torch and BLAS threads")
    parser.add_argument("--full-sort-queries", type=int, default=1000, help="queries timed for the full-sort baseline")
    parser.add_argument("--device", default="cpu", help="device of latentlab's neighbour engine")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--with-skdim", action="store_true", help="also time scikit-dimension, installed in a throwaway venv")
    parser.add_argument("--pip-args", default="", help="extra arguments for that pip install (e.g. an index URL)")
    parser.add_argument("--big", action="store_true", help="also run N = 1,000,000, D = 512 (meant for a GPU)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", UserWarning)  # duplicate-point notices on coarse data
    with threadpool_limits(args.threads):
        if not args.skip_accuracy:
            accuracy(args.n, args.seed)
        if not args.skip_speed:
            speed(speed_plan(args), args.device, args.with_skdim, args.pip_args.split(), args.full_sort_queries, not args.skip_baselines, args.threads)
        if args.big:
            big(args.device)
    print(f"\npython {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
