"""Adversarial autoencoders on digits: one petal per digit, and style transfer.

Two adversarial autoencoders (Makhzani et al. 2016) are trained on 1,400 of
scikit-learn's digits with the bundled configs; the other 397 are held out.

* ``digits-aae-flower``: 2-D codes shaped into a "flower" of 10 Gaussians, the
  discriminator on codes told each image's digit, so every digit must land in its own
  petal. The script prints the share of held-out digits whose code lies in their own
  petal (nearest component mean; chance is 10 %) and how closely the held-out codes
  match the prior (MMD² with an RBF kernel against as many prior draws, and the same
  for fresh prior draws, the floor that sample size allows), and draws the petals.
* ``digits-aae-style``: the digit goes into the decoder as a one-hot and the
  discriminator sees it too, so the 4-D code keeps only the style; each held-out
  digit's style is then drawn as every digit (rows: inputs; columns: digits 0-9).

    python examples/aae_flower.py --quick --out aae_flower    # CPU, a few minutes
    python examples/aae_flower.py --out aae_flower            # the configs' 3,000 steps each

Writes ``petals.png`` (data in ``petals.data.npz``), ``style_transfer.png`` (data in
``style_transfer.data.npz``) and ``results.csv`` into ``--out``.
"""

import numpy as np
import torch

from latentlab.data import load
from latentlab.metrics.prior_match import mmd_rbf
from latentlab.plots.aae import petal_figure, style_transfer_figure
from latentlab.plots.style import save_figure
from latentlab.training import load_config

from _common import example_parser, prepare, train_quietly, write_rows


def main(argv=None):
    parser = example_parser(__doc__, "aae_flower", "half the configs' steps (CPU, a few minutes)",
                            seed_help="training seed (also chooses the held-out digits)", threads_help="small networks")
    args = parser.parse_args(argv)
    out = prepare(args)
    if args.smoke:
        fraction, extra = 0.005, ["model.base_channels=4", "model.d_hidden=16", "train.batch_size=32"]
    else:
        fraction, extra = (0.5 if args.quick else 1.0), []

    digits = load("digits", size=28)
    order = np.random.default_rng(args.seed).permutation(len(digits))
    fit, held = digits.subset(order[:1400]), digits.subset(order[1400:])
    labels = torch.as_tensor(held.attrs["digit"])
    names = digits.attr_levels["digit"]
    rows = []

    config = "digits-aae-flower"
    steps = max(1, round(load_config(config).train.steps * fraction))
    flower = train_quietly(config, args.seed, [f"train.steps={steps}", *extra], fit, args.device).cpu()
    codes = flower.encode(held.data)
    accuracy = float((flower.petal_of(codes) == labels).float().mean())
    g = torch.Generator().manual_seed(args.seed)
    mmd = mmd_rbf(codes, flower.sample_latents(len(codes), g))
    floor = mmd_rbf(flower.sample_latents(len(codes), g), flower.sample_latents(len(codes), g))
    print(f"\nflower AAE ({steps} steps): {100 * accuracy:.1f} % of {len(held)} held-out digits lie in their own petal "
          f"(chance 10 %)")
    print(f"  held-out codes vs the prior: MMD^2 {mmd:.4f} (prior vs prior: {floor:.4f})")
    fig = petal_figure(codes, labels, flower.sample_latents(5000, torch.Generator().manual_seed(0)),
                       means=flower.prior.means, level_names=names, attribute="digit",
                       title=f"held-out digits: {100 * accuracy:.0f} % in their own petal")
    print("wrote", ", ".join(map(str, save_figure(fig, out / "petals.png", overwrite=True))))
    rows.append({"model": config, "steps": steps, "heldout_petal_accuracy": round(accuracy, 4),
                 "mmd2_to_prior": round(mmd, 5), "mmd2_prior_floor": round(floor, 5)})

    config = "digits-aae-style"
    steps = max(1, round(load_config(config).train.steps * fraction))
    style = train_quietly(config, args.seed, [f"train.steps={steps}", *extra], fit, args.device).cpu()
    inputs = held.data[:8]
    grid = torch.stack([style.style_transfer(inputs, k) for k in range(len(names))], dim=1)
    mse = float(((style.decode(style.encode(held.data), labels) - held.data) ** 2).mean())
    print(f"\nsupervised AAE ({steps} steps): held-out reconstruction MSE {mse:.4f} with the true digit")
    fig = style_transfer_figure(inputs, grid, class_names=names, title="style kept, digit changed")
    print("wrote", ", ".join(map(str, save_figure(fig, out / "style_transfer.png", overwrite=True))))
    rows.append({"model": config, "steps": steps, "heldout_reconstruction_mse": round(mse, 5)})

    print(f"=> {100 * accuracy:.0f} % of held-out digits in their own petal; style transfer grid in {out / 'style_transfer.png'}")
    table = [{k: r.get(k, "") for k in ("model", "steps", "heldout_petal_accuracy", "mmd2_to_prior", "mmd2_prior_floor",
                                        "heldout_reconstruction_mse")} for r in rows]
    write_rows(table, out / "results.csv")
    print("wrote", out / "results.csv")
    return {"petal_accuracy": accuracy, "mmd2": mmd, "mmd2_floor": floor, "reconstruction_mse": mse}


if __name__ == "__main__":
    main()
