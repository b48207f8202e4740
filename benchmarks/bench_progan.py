"""Benchmark: progressive growing with fades vs abrupt growth, and ProGAN vs DCGAN at equal time (32 px faces, CPU).

Part 1, the fade's ablation. The bundled ``faces-progan-tiny`` (4 -> 8 -> 16 -> 32 px) is
trained twice on the same faces with the same seed: as bundled (``transition = "fade"``,
each new resolution blended in over ``fade_steps``) and with ``transition = "abrupt"``
(the new layers switched on at α = 1; the same phases and steps otherwise) — the
**baseline** the fade is measured against. Measured:

* the spike of the critic's loss at each growth: its largest distance, over the
  ``--window`` steps from the growth step, from its mean over the ``--window`` steps
  before (:func:`latentlab.models.progan.loss_spikes`), and the same for the
  generator's gradient norm;
* FID-domain, precision and recall at the end (:func:`latentlab.metrics.evaluate_models`,
  in the features of a faces attribute classifier trained here, seed 0), mean ± sd over
  sampling seeds, with fresh real faces (another render seed) as the best attainable row.

Part 2, ProGAN against the DCGAN (``faces-gan-tiny``, the **baseline**) at equal
training time: the DCGAN's seconds per step are measured (a 40-step run minus a 10-step
run), and it is then
trained for as many steps as fit in the wall-clock time the fading ProGAN of part 1 took
(both on the same faces, threads and machine; the table gives the seconds each used).
Both are scored in the same table as part 1.

``--short`` scales every schedule (ProGAN phases and steps) by 0.5 and evaluates 300
samples with one seed: a few minutes on 2 free CPU cores. The default runs the configs
as bundled (about twice as long).

``--train-seeds N`` trains the fade/abrupt pair with N training seeds (one row each; the
summary lines average over them).

Run:  python benchmarks/bench_progan.py [--short] [--steps-fraction 1] [--samples 1000] [--seeds 2]
      [--train-seeds 1] [--data 8000] [--window 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from latentlab.data import load
from latentlab.metrics import evaluate_models
from latentlab.metrics.features import domain_feature_network
from latentlab.models.base import ImagePool
from latentlab.models.progan import loss_spikes
from latentlab.training import load_config, train

PROGAN, DCGAN = "faces-progan-tiny", "faces-gan-tiny"


def scaled(config: str, fraction: float) -> list[str]:
    """Overrides scaling a config's training steps (and a ProGAN's phases) by ``fraction``."""
    cfg = load_config(config)
    out = [f"train.steps={max(1, round(cfg.train.steps * fraction))}", "train.checkpoint_every=0"]
    if cfg.model.kind == "progan":
        out += [f"model.fade_steps={round(cfg.model.fade_steps * fraction)}",
                f"model.stable_steps={max(1, round(cfg.model.stable_steps * fraction))}"]
    return out


def timed_train(config: str, overrides: list[str], faces):
    t0 = time.perf_counter()
    result = train(config, overrides=overrides, dataset=faces, device="cpu", progress=False)
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="half the schedules, 300 samples, one seed")
    parser.add_argument("--steps-fraction", type=float, default=None, help="scale of the schedules (default 1; 0.5 with --short)")
    parser.add_argument("--samples", type=int, default=None, help="samples per model and seed (default 1000; 300 with --short)")
    parser.add_argument("--seeds", type=int, default=None, help="sampling seeds (default 2; 1 with --short)")
    parser.add_argument("--data", type=int, default=8000, help="training faces (32 px, seed 0)")
    parser.add_argument("--window", type=int, default=None, help="steps on each side of a growth (default: 10 x fraction)")
    parser.add_argument("--train-seeds", type=int, default=1, help="training seeds of the fade/abrupt pair (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a shared 2-core machine stalls with more)")
    args = parser.parse_args()
    fraction = args.steps_fraction or (0.5 if args.short else 1.0)
    samples = args.samples or (300 if args.short else 1000)
    seeds = range(args.seeds or (1 if args.short else 2))
    window = args.window or max(2, round(10 * fraction))
    torch.set_num_threads(args.threads)

    faces = load("faces", n=args.data, size=32, seed=0)
    print(f"faces: {args.data} at 32 px (seed 0); schedules x {fraction:g}; {args.threads} thread(s)", flush=True)

    # -- part 1 ---------------------------------------------------------------------------
    train_seeds = range(args.train_seeds)
    trained, seconds, spikes = {}, {}, {}  # keyed by (transition, training seed)
    for seed in train_seeds:
        for transition in ("fade", "abrupt"):
            key = (transition, seed)
            overrides = [*scaled(PROGAN, fraction), f"model.transition={transition}", f"train.seed={seed}"]
            result, seconds[key] = timed_train(PROGAN, overrides, faces)
            gen = result.model
            starts = gen.growth_starts()
            spikes[key] = {k: loss_spikes(result.history, starts, k, window) for k in ("loss_d", "g_grad_norm")}
            trained[key] = gen
            print(f"  trained {PROGAN} ({transition}, seed {seed}): {result.step} steps in {seconds[key]:.0f} s; growth "
                  f"at steps {', '.join(str(s) for s in starts)} ({', '.join(f'{r} px' for r in gen.resolutions[1:])})",
                  flush=True)

    # -- part 2 ---------------------------------------------------------------------------
    # seconds per step from two short runs, so building the model and loading the data cancel out
    budget = float(np.mean([seconds[("fade", seed)] for seed in train_seeds]))
    short, longer = (timed_train(DCGAN, [f"train.steps={k}", "train.checkpoint_every=0"], faces)[1] for k in (10, 40))
    steps = max(1, round(budget / max((longer - short) / 30, 1e-6)))
    result, dc_seconds = timed_train(DCGAN, [f"train.steps={steps}", "train.checkpoint_every=0"], faces)
    print(f"  trained {DCGAN}: {steps} steps in {dc_seconds:.0f} s (ProGAN fade: {budget:.0f} s; bundled "
          f"config: {load_config(DCGAN).train.steps} steps)", flush=True)

    def row_name(key) -> str:
        return f"ProGAN {key[0]}" + (f" (train seed {key[1]})" if args.train_seeds > 1 else "")

    dcgan = "DCGAN (baseline, equal time)"
    classifier = domain_feature_network(faces, n=args.data, steps=300, seed=0)
    rows = {"real faces (best attainable)": ImagePool(load("faces", n=samples, size=32, seed=12345).images),
            **{row_name(key): gen for key, gen in trained.items()}, dcgan: result.model}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = evaluate_models(rows, faces, classifier=classifier, n=samples, seeds=seeds)

    print(f"\nPart 1: spikes at each growth (largest distance over {window} steps after it from the mean of the "
          f"{window} before; the abrupt run is the baseline)")
    res = trained[("fade", 0)].resolutions[1:]
    print(f"{'':<34}" + "".join(f"{f'{r} px':>10}" for r in res) + f"{'mean':>10}")
    for k, name in (("loss_d", "critic loss"), ("g_grad_norm", "G grad norm")):
        for key in trained:
            v = spikes[key][k]
            label = f"{name}, {key[0]}" + (f", seed {key[1]}" if args.train_seeds > 1 else "")
            print(f"{label:<34}" + "".join(f"{x:>10.3f}" for x in v) + f"{np.nanmean(v):>10.3f}")
    print(f"\nPart 1 and 2: {samples} samples x {len(seeds)} seed(s); training seconds: "
          + ", ".join(f"{row_name(key)} {t:.0f}" for key, t in seconds.items()) + f", DCGAN {dc_seconds:.0f}\n")
    print(table)

    def mean_over_seeds(transition: str, metric: str) -> float:
        return float(np.mean([table.mean(row_name((transition, seed)), metric) for seed in train_seeds]))

    def mean_spike(transition: str) -> float:
        return float(np.mean([np.nanmean(spikes[(transition, seed)]["loss_d"]) for seed in train_seeds]))

    over = f" (means over {args.train_seeds} training seeds)" if args.train_seeds > 1 else ""
    print(f"\n=> fade vs abrupt{over}: mean critic-loss spike {mean_spike('fade'):.3f} vs {mean_spike('abrupt'):.3f}; "
          f"FID-domain {mean_over_seeds('fade', 'fid'):.2f} vs {mean_over_seeds('abrupt', 'fid'):.2f}")
    print(f"=> ProGAN (fade) vs DCGAN at equal time{over}: FID-domain {mean_over_seeds('fade', 'fid'):.2f} vs "
          f"{table.mean(dcgan, 'fid'):.2f}, precision {mean_over_seeds('fade', 'precision'):.3f} vs "
          f"{table.mean(dcgan, 'precision'):.3f}, recall {mean_over_seeds('fade', 'recall'):.3f} vs "
          f"{table.mean(dcgan, 'recall'):.3f}")


if __name__ == "__main__":
    main()
