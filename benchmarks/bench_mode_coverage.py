"""Benchmark: mode collapse of GAN losses on the 2-D ``rings`` (8 modes) and ``grid`` (25 modes).

Trains the six bundled configs — minimax, non-saturating and WGAN-GP losses on each
mixture (``pretrained_configs/{rings,grid}-{gan-minimax,gan-nonsat,wgan-gp}.toml``) —
and scores each trained generator (its EMA weights, what ``latentlab.load`` returns)
with :func:`latentlab.metrics.evaluate_mode_coverage`: 2500 samples per sampling seed,
modes covered (≥ 1 sample within 3σ), % high-quality samples (within 3σ of the nearest
mode) and the reverse KL of the mode histogram from uniform (VEEGAN / PacGAN protocol).
Each cell is the mean ± standard deviation over all (training seed, sampling seed)
pairs.

Baseline, in the same run: samples of the true mixture itself (fresh draws of the
dataset with other seeds), which cover every mode with ~98.9 % high-quality samples and
a reverse KL near 0 — the best any generator can score.

Threads: torch uses ``--threads`` CPU threads (default 1: on a 2-core machine shared
with other jobs, more threads stall on these small MLPs).

Run:  python benchmarks/bench_mode_coverage.py [--quick] [--train-seeds 0 1] [--data rings grid]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from latentlab.data import load
from latentlab.metrics import coverage_table, evaluate_mode_coverage, mode_coverage, summarize_coverage
from latentlab.training import load_config, train

LOSSES = ("gan-minimax", "gan-nonsat", "wgan-gp")


def true_mixture_baseline(data, n: int, sampling_seeds) -> dict:
    """Scores of ``n`` fresh samples of the same mixture per seed (the best attainable)."""
    options = {k: data.info[k] for k in ("n_modes", "radius", "n_per_side", "spacing", "sigma") if k in data.info}
    centres, sigma = np.asarray(data.info["centres"]), data.info["sigma"]
    runs = [mode_coverage(load(data.name, n=n, seed=10_000 + s, **options).data, centres, sigma) for s in sampling_seeds]
    return summarize_coverage(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train for a quarter of each config's steps")
    parser.add_argument("--data", nargs="+", default=["rings", "grid"], choices=["rings", "grid"])
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=list(LOSSES))
    parser.add_argument("--train-seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--sampling-seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--n", type=int, default=2500, help="samples per sampling seed")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    for name in args.data:
        results, notes = {}, []
        data = None
        for loss in args.losses:
            config = f"{name}-{loss}"
            cfg = load_config(config)
            steps = max(cfg.train.steps // 4, 1) if args.quick else cfg.train.steps
            if data is None:
                data = load(cfg.data.name, **cfg.data.options)
                results["true mixture (baseline)"] = true_mixture_baseline(data, args.n, args.sampling_seeds)
            runs, per_seed, seconds = [], [], []
            for seed in args.train_seeds:
                t0 = time.perf_counter()
                trained = train(config, overrides=[f"train.seed={seed}", f"train.steps={steps}"], dataset=data,
                                progress=False, device="cpu")
                seconds.append(time.perf_counter() - t0)
                res = evaluate_mode_coverage(trained.model, data, n=args.n, seeds=args.sampling_seeds)
                runs += res["runs"]
                per_seed.append(f"{res['modes_covered']['mean']:.1f}")
            results[config] = summarize_coverage(runs)
            notes.append(f"{config}: {steps} steps, {np.mean(seconds):.0f} s per training run; "
                         f"modes covered per training seed {args.train_seeds}: {', '.join(per_seed)}")
            print(f"  trained {config} ({len(args.train_seeds)} seeds)", flush=True)
        print(f"\n{name}: {len(data.info['centres'])} modes, sigma = {data.info['sigma']}; "
              f"{args.n} samples x {len(args.sampling_seeds)} sampling seeds x {len(args.train_seeds)} training seeds"
              + (" (quick)" if args.quick else ""))
        print(coverage_table(results))
        for note in notes:
            print("  " + note)
        print(flush=True)


if __name__ == "__main__":
    main()
