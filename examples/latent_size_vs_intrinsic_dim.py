"""Intrinsic dimension against latent size: train VAEs below, near and above the ID.

Estimates the intrinsic dimension of the built-in faces, then trains one VAE per latent
size and plots the held-out reconstruction error against the latent size, with the ID
marked. Error falls steeply until the latent size reaches the ID, then flattens.

    python examples/latent_size_vs_intrinsic_dim.py --quick --out id_vs_latent    # a few minutes on a CPU
    python examples/latent_size_vs_intrinsic_dim.py --out id_vs_latent

Writes ``latent_size_vs_id.png`` (with the data beside it) and ``results.csv`` into ``--out``.
"""

import argparse
import csv
from pathlib import Path

import numpy as np
import torch

import latentlab
from latentlab.data import load
from latentlab.plots import new_figure, save_figure
from latentlab.plots.style import attach_data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and steps (CPU, a few minutes)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # seconds; for the tests
    parser.add_argument("--out", default="id_vs_latent", help="folder for the figure and the results table")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.smoke:
        n_train, steps, sizes = 300, 5, [2, 8]
    elif args.quick:
        n_train, steps, sizes = 3000, 200, [2, 8, 16, 32]
    else:
        n_train, steps, sizes = 20000, 3000, [2, 4, 8, 12, 16, 24, 32, 64]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_set = load("faces", n=n_train, size=32, seed=args.seed)
    held_out = load("faces", n=100 if args.smoke else 500, size=32, seed=args.seed + 1)

    # (--smoke skips the calibration on synthetic manifolds, which takes a minute)
    est = latentlab.estimate_id(train_set.images[:3000].flatten(1).numpy(), method="twonn", calibrate=not args.smoke,
                                n_boot=2 if args.smoke else 20, random_state=args.seed)
    print(f"intrinsic dimension of faces: {est.dimension:.1f} (95% interval {est.ci[0]:.1f}-{est.ci[1]:.1f})")

    errors = []
    for d in sizes:
        config = {"model": {"kind": "vae", "latent_dim": d, "base_channels": 16, "sigma": 0.2},
                  "train": {"steps": steps, "batch_size": 64, "lr": 2e-3, "betas": [0.9, 0.999], "ema_decay": 0.99,
                            "seed": args.seed}}
        vae = latentlab.train(config, dataset=train_set, device=args.device, progress=False).model
        with torch.no_grad():
            recon = vae.decode(vae.encode(held_out.images))
        mse = float(((recon - held_out.images) ** 2).mean())
        errors.append(mse)
        print(f"latent size {d:3d}: held-out reconstruction MSE {mse:.4f}")

    fig, ax = new_figure("one", aspect=0.75)
    ax.plot(sizes, errors, "o-")
    ax.axvspan(est.ci[0], est.ci[1], color="0.85", label="intrinsic dimension (95%)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("latent size")
    ax.set_ylabel("held-out reconstruction MSE")
    ax.legend(frameon=False)
    attach_data(fig, latent_size=np.array(sizes), mse=np.array(errors))
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["latent_size", "heldout_mse", "id", "id_low", "id_high"])
        writer.writerows([d, e, est.dimension, est.ci[0], est.ci[1]] for d, e in zip(sizes, errors))
    written = save_figure(fig, out / "latent_size_vs_id.png", overwrite=True)
    print("wrote", ", ".join(map(str, [*written, out / "results.csv"])))
    return errors


if __name__ == "__main__":
    main()
