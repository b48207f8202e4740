"""Analyse your own generator through the Generator interface.

latentlab's analyses only need ``latent_shape`` and ``decode`` (and ``encode`` where a
model can locate images). Here a tiny hand-made generator draws a disc whose position
follows two latent coordinates; latentlab finds the "disc is on the right" direction,
checks that it is the planted coordinate, and measures the decoder's local dimension.

    python examples/own_generator.py                      # seconds on a CPU
    python examples/own_generator.py --out own_generator  # also writes results.csv there
"""

import argparse
import csv
from pathlib import Path

import numpy as np
import torch

import latentlab
from latentlab.analysis.intrinsic_dim import decoder_local_dimension


class DiscGenerator(latentlab.Generator):
    """z[0] moves a disc left-right, z[1] up-down; z[2:] are ignored by the image."""

    latent_shape = (6,)

    def decode(self, z):
        z = torch.as_tensor(z, dtype=torch.float32)
        grid = torch.linspace(-1, 1, 32)
        yy, xx = torch.meshgrid(grid, grid, indexing="ij")
        cx, cy = torch.tanh(z[:, 0:1, None]) * 0.6, torch.tanh(z[:, 1:2, None]) * 0.6
        disc = torch.sigmoid((0.3**2 - (xx - cx) ** 2 - (yy - cy) ** 2) * 60)
        return (disc * 2 - 1).unsqueeze(1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry with the other examples: "
                        "this one always takes seconds")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # fewer codes; for the tests
    parser.add_argument("--out", help="folder for the results table (default: print only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    gen = DiscGenerator()
    z = gen.sample_latents(500 if args.smoke else 4000, generator=torch.Generator().manual_seed(args.seed))
    images = gen.decode(z)
    # label: is the disc's centre of mass on the right half?
    mass = (images[:, 0] + 1).sum(dim=1)  # column profile, (N, 32)
    right = (mass[:, 16:].sum(1) > mass[:, :16].sum(1)).numpy().astype(int)
    direction = latentlab.AttributeDirection(random_state=args.seed).fit(z.numpy(), right)
    print(f"validation accuracy {direction.val_accuracy_:.3f}")
    print("direction:", np.round(direction.direction_, 3), "(planted: the first coordinate)")
    ranks = decoder_local_dimension(gen, n=8)
    print(f"decoder local dimension: {int(np.median(ranks))} (latent size {gen.latent_dim}; two coordinates matter)")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "results.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["coordinate", "direction"])
            writer.writerows(enumerate(direction.direction_.tolist()))
        print("wrote", out / "results.csv")
    return direction


if __name__ == "__main__":
    main()
