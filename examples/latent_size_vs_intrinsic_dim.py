"""Intrinsic dimension against latent size: train VAEs below, near and above the ID.

Estimates the intrinsic dimension of the built-in faces, then trains one VAE per latent
size and plots the held-out reconstruction error against the latent size, with the ID
marked. Error falls steeply until the latent size reaches the ID, then flattens.

    python examples/latent_size_vs_intrinsic_dim.py --quick      # a few minutes on a CPU
    python examples/latent_size_vs_intrinsic_dim.py --out id_vs_latent.png
"""

import argparse

import numpy as np
import torch

import latentlab
from latentlab.data import load
from latentlab.plots import new_figure, save_figure
from latentlab.plots.style import attach_data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and steps (CPU, a few minutes)")
    parser.add_argument("--out", default="latent_size_vs_id.png")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    n_train, steps, sizes = (3000, 200, [2, 8, 16, 32]) if args.quick else (20000, 3000, [2, 4, 8, 12, 16, 24, 32, 64])
    train_set = load("faces", n=n_train, size=32, seed=0)
    held_out = load("faces", n=500, size=32, seed=1)

    est = latentlab.estimate_id(train_set.images[:3000].flatten(1).numpy(), method="twonn", calibrate=True,
                                n_boot=20, random_state=0)
    print(f"intrinsic dimension of faces: {est.dimension:.1f} (95% interval {est.ci[0]:.1f}-{est.ci[1]:.1f})")

    errors = []
    for d in sizes:
        config = {"model": {"kind": "vae", "latent_dim": d, "base_channels": 16, "sigma": 0.2},
                  "train": {"steps": steps, "batch_size": 64, "lr": 2e-3, "betas": [0.9, 0.999], "ema_decay": 0.99}}
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
    print("wrote", ", ".join(map(str, save_figure(fig, args.out, overwrite=True))))


if __name__ == "__main__":
    main()
