"""Benchmark: does the tiny CycleGAN put glasses on held-out faces, and take them off?

Trains ``faces-cyclegan-glasses-tiny`` (300 steps, 32 px centred faces) and an attribute
classifier on the same faces, for each seed given, and scores on held-out faces (another
seed of the renderer), with :func:`latentlab.analysis.score_image_edits`:

* A -> B on faces without glasses: glasses flip rate, off-target change, SSIM, cycle L1;
* B -> A on faces with glasses: the share whose glasses the classifier no longer sees;
* the baseline in the same run: the identity (every input returned unchanged), which
  flips nothing by construction and keeps SSIM 1; a translator that has learnt nothing
  scores like it.

Also prints the training time per seed (one CPU thread by default).

Run:  python benchmarks/bench_cyclegan.py [--seeds 0 1 2] [--threads 1] [--n 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from latentlab.analysis import score_image_edits
from latentlab.data import load
from latentlab.training import train_classifier
from latentlab.training import load_config, train

CONFIG = "faces-cyclegan-glasses-tiny"


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=300, help="held-out faces per direction")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the config's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    options = dict(load_config(CONFIG).data.options)
    rows = []
    for seed in args.seeds:
        faces = load("faces", **{**options, "seed": seed})
        t0 = time.perf_counter()
        overrides = [f"train.seed={seed}", "train.checkpoint_every=0"]
        if args.steps:
            overrides.append(f"train.steps={args.steps}")
        model = train(CONFIG, overrides=overrides, dataset=faces, progress=False).model
        seconds = time.perf_counter() - t0
        clf, _ = train_classifier("faces", n=options["n"], steps=150, seed=seed, progress=False,
                                  data_options={k: v for k, v in options.items() if k != "n"})
        held = load("faces", **{**options, "n": 4 * args.n, "seed": seed + 5000})
        a = held.get(np.flatnonzero(held.attrs["glasses"] == 0)[: args.n])
        b = held.get(np.flatnonzero(held.attrs["glasses"] == 1)[: args.n])
        there, back = model.round_trip(a, "a2b")
        a2b = score_image_edits(clf, a, there, target="glasses", returned=back, name="CycleGAN a2b")
        identity = score_image_edits(clf, a, a, target="glasses", returned=a, name="identity")
        off = clf.predict_proba(model.translate(b, "b2a"))["glasses"]
        had = clf.predict_proba(b)["glasses"] >= 0.5
        removed = float((off[had] < 0.5).mean())
        rows.append({"seed": seed, "train_s": seconds, "flip": a2b.flip_rate, "identity_flip": identity.flip_rate,
                     "off_target": a2b.off_target, "ssim": a2b.ssim, "cycle_l1": a2b.cycle_error, "removed": removed})
    print(f"{CONFIG}: {len(args.seeds)} seed(s), {args.n} held-out faces per direction, {args.threads} thread(s)")
    print(f"{'seed':>4} {'train s':>8} {'a2b flip':>9} {'identity':>9} {'off-tgt':>8} {'SSIM':>6} {'cycle L1':>9}"
          f" {'b2a removed':>12}")
    for r in rows:
        print(f"{r['seed']:>4} {r['train_s']:>8.1f} {r['flip']:>9.3f} {r['identity_flip']:>9.3f} {r['off_target']:>8.3f}"
              f" {r['ssim']:>6.3f} {r['cycle_l1']:>9.3f} {r['removed']:>12.3f}")
    return rows


if __name__ == "__main__":
    main()
