"""Benchmark: progressive growing with fades vs abrupt growth, and ProGAN vs DCGAN at equal time (32 px faces, CPU).

Part 1, the fade's ablation. The bundled ``faces-progan-tiny`` (4 -> 8 -> 16 -> 32 px) is
trained twice on the same faces with the same seed: as bundled (``transition = "fade"``,
each new resolution blended in over ``fade_steps``) and with ``transition = "abrupt"``
(the new layers switched on at α = 1; the same phases and steps otherwise) — the
**baseline** the fade is measured against. Measured:

* the spike of the critic's loss at each growth: its mean over the ``--window`` steps from
  the growth step minus its mean over the ``--window`` steps before
  (:func:`latentlab.models.progan.loss_spikes`), and the same for the generator's
  gradient norm;
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

Run:  python benchmarks/bench_progan.py [--short] [--steps-fraction 1] [--samples 1000] [--seeds 2]
      [--data 8000] [--window 10] [--threads 1]
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
    trained, seconds, spikes = {}, {}, {}
    for transition in ("fade", "abrupt"):
        overrides = [*scaled(PROGAN, fraction), f"model.transition={transition}"]
        result, seconds[transition] = timed_train(PROGAN, overrides, faces)
        gen = result.model
        starts = gen.growth_starts()
        spikes[transition] = {key: loss_spikes(result.history, starts, key, window) for key in ("loss_d", "g_grad_norm")}
        trained[f"ProGAN {transition}"] = gen
        print(f"  trained {PROGAN} ({transition}): {result.step} steps in {seconds[transition]:.0f} s; growth at steps "
              f"{', '.join(str(s) for s in starts)} ({', '.join(f'{r} px' for r in gen.resolutions[1:])})", flush=True)

    # -- part 2 ---------------------------------------------------------------------------
    # seconds per step from two short runs, so building the model and loading the data cancel out
    short, longer = (timed_train(DCGAN, [f"train.steps={k}", "train.checkpoint_every=0"], faces)[1] for k in (10, 40))
    steps = max(1, round(seconds["fade"] / max((longer - short) / 30, 1e-6)))
    result, dc_seconds = timed_train(DCGAN, [f"train.steps={steps}", "train.checkpoint_every=0"], faces)
    trained["DCGAN (baseline, equal time)"] = result.model
    print(f"  trained {DCGAN}: {steps} steps in {dc_seconds:.0f} s (ProGAN fade: {seconds['fade']:.0f} s; bundled "
          f"config: {load_config(DCGAN).train.steps} steps)", flush=True)

    classifier = domain_feature_network(faces, n=args.data, steps=300, seed=0)
    rows = {"real faces (best attainable)": ImagePool(load("faces", n=samples, size=32, seed=12345).images), **trained}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = evaluate_models(rows, faces, classifier=classifier, n=samples, seeds=seeds)

    print(f"\nPart 1: spikes at each growth (mean of {window} steps after minus {window} before; the abrupt run is "
          "the baseline)")
    res = trained["ProGAN fade"].resolutions[1:]
    print(f"{'':<24}" + "".join(f"{f'{r} px':>10}" for r in res) + f"{'mean':>10}")
    for key, name in (("loss_d", "critic loss"), ("g_grad_norm", "G grad norm")):
        for transition in ("fade", "abrupt"):
            v = spikes[transition][key]
            print(f"{f'{name}, {transition}':<24}" + "".join(f"{x:>+10.3f}" for x in v) + f"{np.nanmean(np.abs(v)):>10.3f}")
    print("(mean: of the absolute spikes)")
    print(f"\nPart 1 and 2: {samples} samples x {len(seeds)} seed(s); ProGAN fade {seconds['fade']:.0f} s, "
          f"abrupt {seconds['abrupt']:.0f} s, DCGAN {dc_seconds:.0f} s of training\n")
    print(table)
    fade, abrupt, dcgan = "ProGAN fade", "ProGAN abrupt", "DCGAN (baseline, equal time)"
    print(f"\n=> fade vs abrupt: mean |critic-loss spike| {np.nanmean(np.abs(spikes['fade']['loss_d'])):.3f} vs "
          f"{np.nanmean(np.abs(spikes['abrupt']['loss_d'])):.3f}; FID-domain {table.mean(fade, 'fid'):.2f} vs "
          f"{table.mean(abrupt, 'fid'):.2f}")
    print(f"=> ProGAN (fade) vs DCGAN at equal time: FID-domain {table.mean(fade, 'fid'):.2f} vs "
          f"{table.mean(dcgan, 'fid'):.2f}, precision {table.mean(fade, 'precision'):.3f} vs "
          f"{table.mean(dcgan, 'precision'):.3f}, recall {table.mean(fade, 'recall'):.3f} vs "
          f"{table.mean(dcgan, 'recall'):.3f}")


if __name__ == "__main__":
    main()
