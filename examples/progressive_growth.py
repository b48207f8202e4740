"""Progressive growing: smooth fades against abrupt growth (Karras et al. 2018).

Trains the bundled progressive GAN (``faces-progan-tiny`` with ``--quick``, 32 px;
``faces-progan`` otherwise, 64 px, meant for a GPU) twice on the same faces with the same
seed: once as bundled, each new resolution fading in (``transition = "fade"``: α rises
from 0 to 1 over ``fade_steps``), and once with ``transition = "abrupt"`` (the new layers
switched on at α = 1, the same phases otherwise). The lectures' claim is that the fade
avoids the shock of the new, untrained layers. Two measurements:

* the spike of the critic's loss when each resolution appears: its largest distance,
  over the ``window`` steps from the growth step, from its mean over the ``window``
  steps before (:func:`latentlab.models.progan.loss_spikes`);
* FID-domain, precision and recall of the final models
  (:func:`latentlab.metrics.evaluate_models`, in the features of a faces attribute
  classifier trained here).

The models are trained stage by stage (each stage resumed from the last checkpoint,
which continues exactly as one run would), so the growth figures show the same codes
drawn by the model at the end of each stage, at that stage's resolution.

    python examples/progressive_growth.py --quick --out progressive_growth   # 32 px, CPU, a few minutes
    python examples/progressive_growth.py --out progressive_growth           # 64 px, the GPU config

Writes ``growth_fade.png`` and ``growth_abrupt.png`` (rows: the stages), ``critic_loss.png``
(the critic's loss by step, growth steps marked) and ``results.csv`` into ``--out``.
"""

import time

import numpy as np
import torch

from latentlab.data import load
from latentlab.metrics import evaluate_models
from latentlab.models.progan import GrowthPhase, loss_spikes
from latentlab.plots import curve_figure, growth_figure, save_figure
from latentlab.training import load_config, train

from _common import data_options, example_parser, prepare, train_faces_classifier, write_rows

TRANSITIONS = ("fade", "abrupt")


def parse_args(argv):
    parser = example_parser(__doc__, "progressive_growth", "the tiny 32 px config (CPU, a few minutes)",
                            seed_help="training seed (sampling seeds are 0, 1, ...)")
    return parser.parse_args(argv)


def settings(args) -> dict:
    if args.smoke:  # one phase of two steps per stage: 4 px, then 8, 16, 32 px each fading in over 2 steps
        return dict(config="faces-progan-tiny", overrides=["model.fade_steps=2", "model.stable_steps=2",
                                                           "train.steps=14", "train.batch_size=16"],
                    data={"n": 256}, window=2, clf_steps=10, n=64, seeds=(0,))
    if args.quick:
        return dict(config="faces-progan-tiny", overrides=[], data={}, window=10, clf_steps=150, n=500, seeds=(0, 1))
    return dict(config="faces-progan", overrides=[], data={}, window=100, clf_steps=1500, n=2000, seeds=(0, 1, 2))


def grow(config: str, overrides: list, dataset, out, seed: int, device: str):
    """Train ``config`` stage by stage into ``out``; returns (model, per-step history, images of
    8 codes (drawn from the model's prior with ``seed``) at the end of each stage, at its resolution)."""
    cfg = load_config(config, overrides)
    model_cfg, total = cfg.model, cfg.train.steps
    first = train(config, out=out, force=True, dataset=dataset, device=device, progress=False,
                  overrides=[*overrides, f"train.steps={min(model_cfg.stable_steps, total)}"])
    gen, history = first.model, list(first.history)
    codes = gen.sample_latents(8, torch.Generator().manual_seed(seed))
    ends = [*gen.growth_starts(), total]
    stages = []
    for level, end in enumerate(ends):
        if level:
            result = train(None, out=out, resume=True, dataset=dataset, device=device, progress=False,
                           overrides=[f"train.steps={end}"])
            gen, history = result.model, history + result.history
        level = min(level, gen.n_levels - 1)
        stages.append(gen.decode_at(codes, GrowthPhase(level).resolution).cpu())
    return gen, history, stages


def main(argv=None):
    args = parse_args(argv)
    out = prepare(args)
    s = settings(args)
    options = data_options(s["config"], s["data"], args.seed)
    faces = load("faces", **options)
    models, losses, rows = {}, {}, []
    for transition in TRANSITIONS:
        overrides = [f"train.seed={args.seed}", "train.checkpoint_every=0", f"model.transition={transition}",
                     *s["overrides"]]
        t0 = time.perf_counter()
        gen, history, stages = grow(s["config"], overrides, faces, out / f"{transition}.pt", args.seed, args.device)
        seconds = time.perf_counter() - t0
        models[transition] = gen
        losses[transition] = np.array([h["loss_d"] for h in history])
        spikes = loss_spikes(history, gen.growth_starts(), "loss_d", s["window"])
        rows.append({"transition": transition, "steps": len(history), "train_seconds": round(seconds, 1),
                     **{f"spike_{r}px": spike for r, spike in zip(gen.resolutions[1:], spikes)},
                     "mean_spike": float(np.nanmean(spikes)) if spikes else float("nan")})
        fig = growth_figure(stages, title=f"{transition}: the same codes at the end of each stage")
        print("wrote", ", ".join(map(str, save_figure(fig, out / f"growth_{transition}.png", overwrite=True))))

    classifier, _ = train_faces_classifier(options, s["clf_steps"], args.seed, args.device)
    table = evaluate_models(models, faces, classifier=classifier, n=s["n"], seeds=s["seeds"], device=args.device)
    for row in rows:
        for metric in ("fid", "precision", "recall"):
            row[metric] = table.mean(row["transition"], metric)

    steps = np.arange(1, len(losses["fade"]) + 1)
    fig = curve_figure(steps, {t: losses[t] for t in TRANSITIONS}, xlabel="step", ylabel="critic loss",
                       title="growth: fade vs abrupt", width="two", aspect=0.35)
    for start in models["fade"].growth_starts():
        fig.axes[0].axvline(start + 1, color="0.6", lw=0.6, ls=":")
    print("wrote", ", ".join(map(str, save_figure(fig, out / "critic_loss.png", overwrite=True))))

    print(f"\n{table.info.get('fid_label', 'FID')}, precision, recall: {s['n']} samples x {len(s['seeds'])} seeds; "
          f"spikes: the critic loss's largest distance over {s['window']} steps after each growth from its "
          f"mean over the {s['window']} before")
    print(table)
    for row in rows:
        spikes = ", ".join(f"{k[6:]} {v:.3f}" for k, v in row.items() if k.startswith("spike_"))
        print(f"=> {row['transition']}: critic-loss spikes {spikes}  (mean {row['mean_spike']:.3f}); FID-domain {row['fid']:.2f}, "
              f"precision {row['precision']:.3f}, recall {row['recall']:.3f}")
    write_rows(rows, out / "results.csv")
    print("wrote", out / "results.csv")
    return rows


if __name__ == "__main__":
    main()
