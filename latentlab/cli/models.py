"""``latentlab train``, ``sample`` and ``encode``: the same commands for every model family."""

from __future__ import annotations

import inspect
from pathlib import Path

import click

from latentlab.cli.options import (
    AS_TRAINED, TRAINED_ON, check_figure_out, data_option, device_option, force_option, InputPath,
    loader_options, parse_data_options, quiet_option, seed_option,
)


@click.command()
@click.argument("config", type=InputPath(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to write (default: CONFIG's name with .pt, in this folder).")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.FIELD=VALUE",
              help="Override a config field, repeatable (e.g. --set train.steps=2000).")
@click.option("--resume", is_flag=True, help="Continue the run saved in --out exactly where it stopped.")
@click.option("--tensorboard", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also log losses, learning rates and sample grids to TensorBoard in DIR "
                   '(pip install "latentlab[tensorboard]").')
@device_option
@force_option
@quiet_option
def train(config, out, overrides, resume, tensorboard, device, force, quiet):
    """Train a model from CONFIG (a TOML file, or the name of a bundled config such as faces-vae).

    The metrics log (OUT.metrics.jsonl) and sample grids (OUT.samples/) are written beside
    the checkpoint. Ctrl-C stops at the end of the current step and saves a checkpoint;
    continue with --resume, which may change train.* fields (--set train.lr=1e-4). While a
    run lives it holds OUT.lock: a second run on the same --out is refused. Multi-GPU:
    torchrun --nproc_per_node=N -m latentlab train CONFIG.
    """
    from latentlab.training import TrainingDiverged, TrainingInterrupted
    from latentlab.training import train as run

    out = Path(out) if out else Path(Path(config).stem + ".pt")
    try:
        result = run(config, out=out, overrides=overrides, resume=resume, force=force, device=device, progress=not quiet,
                     log=lambda line: click.echo(f"latentlab: {line}", err=True), tensorboard=tensorboard)
    except TrainingDiverged as exc:
        raise click.ClickException(str(exc)) from None
    except TrainingInterrupted as exc:
        click.echo(f"latentlab: {exc}", err=True)
        raise SystemExit(130) from None
    last = result.history[-1] if result.history else {}
    summary = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "step")
    click.echo(f"trained {result.step} steps; wrote {out}" + (f" ({summary})" if summary else ""))


def _config_decode_steps(name: str) -> int | None:
    """``model.decode_steps`` of a bundled config, read from its TOML (no torch), or None."""
    import tomllib
    from importlib import resources

    try:
        text = (resources.files("latentlab.pretrained_configs") / f"{name}.toml").read_text()
        return tomllib.loads(text).get("model", {}).get("decode_steps")
    except (OSError, tomllib.TOMLDecodeError):
        return None


def _sampling_help() -> dict[str, str]:
    """Help of sample's diffusion options, with the defaults read from where they are defined."""
    from latentlab.models import DEFAULT_DECODE_STEPS, DEFAULT_SAMPLER, DEFAULT_TIMESTEPS

    tiny = _config_decode_steps("faces-ddpm-tiny")
    steps = f"its config's decode_steps ({DEFAULT_DECODE_STEPS} unless the config sets it" + (
        f"; {tiny} for faces-ddpm-tiny)" if tiny is not None else ")")
    return {
        "sampler": f"Diffusion models: sampler. Default: {DEFAULT_SAMPLER}, deterministic DDIM with {steps}.",
        "steps": f"Diffusion models: sampling steps. Default: for DDIM {steps}; for --sampler ddpm all of "
                 f"the model's timesteps ({DEFAULT_TIMESTEPS} unless its config sets model.timesteps).",
        "eta": "DDIM: 0 deterministic, >0 stochastic. Default: 0.",
        "prompt": "Text-conditioned diffusion models: what to draw, in words of the training captions "
                  "(e.g. 'an old man with glasses'). Default: no prompt (the unconditional model).",
        "like": "Image-conditioned diffusion models (the unCLIP decoder, model.condition = 'image'): draw "
                "variations of the first min(8, --n) images of DATA (a built-in dataset name, drawn with --seed, "
                "or a path to your images), an equal share of --n each (rounded up), one row per image.",
        "guidance": "Conditional diffusion models: classifier-free guidance weight w (0 = unconditional, "
                    "1 = conditional, >1 follows the prompt more closely). Default: the config's guidance_scale.",
    }


_SAMPLING_HELP = _sampling_help()


@click.command()
@click.argument("model", type=InputPath())
@click.option("--n", type=click.IntRange(1, 4096), default=64, show_default=True, help="Number of samples.")
@click.option("--out", type=click.Path(dir_okay=False), default="samples.png", show_default=True,
              help="Output figure (.png/.pdf/.svg); the samples are saved beside it as NAME.data.npz.")
@click.option("--sampler", type=click.Choice(["ddim", "ddpm"]), default=None, help=_SAMPLING_HELP["sampler"])
@click.option("--steps", type=click.IntRange(1), default=None, help=_SAMPLING_HELP["steps"])
@click.option("--eta", type=click.FloatRange(0), default=None, help=_SAMPLING_HELP["eta"])
@click.option("--prompt", default=None, help=_SAMPLING_HELP["prompt"])
@click.option("--like", "like", type=InputPath(), default=None, metavar="DATA", help=_SAMPLING_HELP["like"])
@click.option("--guidance", type=click.FloatRange(0), default=None, help=_SAMPLING_HELP["guidance"])
@seed_option
@device_option
@force_option
@quiet_option
def sample(model, n, out, sampler, steps, eta, prompt, like, guidance, seed, device, force, quiet):
    """Draw samples from a trained MODEL checkpoint and save them as an image grid.

    A diffusion model runs its network once per step for every sample: by default DDIM
    with its config's decode_steps, or --sampler ddpm with all of its timesteps, which
    is 20-40 times slower; a progress bar shows each batch's steps.
    """
    import torch

    import latentlab
    from latentlab.plots import image_grid, save_figure

    check_figure_out(out, force)
    gen = latentlab.load(model, device=device, expect="generator")
    extra = {k: v for k, v in {"sampler": sampler, "steps": steps, "eta": eta, "prompts": prompt,
                                "guidance_scale": guidance}.items() if v is not None}
    accepted = inspect.signature(gen.sample).parameters
    unsupported = [k for k in extra if k not in accepted]
    if unsupported:
        option = {"prompts": "prompt", "guidance_scale": "guidance"}.get(unsupported[0], unsupported[0])
        raise ValueError(f"--{option} applies to diffusion models only; {model} is a {type(gen).__name__}")
    if prompt is not None and not getattr(gen, "text_conditional", False):
        raise ValueError(f"--prompt needs a text-conditioned diffusion model (model.condition = 'text'); {model} "
                         "was not trained on captions (try: latentlab train faces-ddpm-text-tiny)")
    if "progress" in accepted:
        extra["progress"] = not quiet
    nrow = None
    if like is not None:
        if not getattr(gen, "image_conditional", False):
            raise ValueError(f"--like needs a diffusion model conditioned on CLIP image embeddings (model.condition = "
                             f"'image'); {model} is not (try: latentlab train faces-ddpm-image-tiny)")
        x, nrow = _variations(gen, like, n, seed, extra)
    else:
        x = gen.sample(n, generator=torch.Generator().manual_seed(seed), **extra)
    if not torch.isfinite(x).all():
        raise ValueError(f"{model} drew samples holding NaN or infinite values (its weights are finite but too large); "
                         f"nothing was written")
    if x.ndim == 4:
        what = f"{n} samples of {prompt!r}, guidance {guidance if guidance is not None else gen.config.guidance_scale:g}" \
            if prompt is not None else f"{n} samples"
        if like is not None:
            what = f"variations of {len(x) // nrow} images of {like} (first column)"
        fig = image_grid(x, nrow=nrow, title=f"{Path(model).name}: {what} (seed {seed})")
    else:
        from latentlab.plots import new_figure
        from latentlab.plots.style import attach_data

        fig, ax = new_figure("one", aspect=1.0)
        pts = x.cpu().numpy()
        ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.5)
        ax.set_aspect("equal")
        attach_data(fig, x=pts[:, 0], y=pts[:, 1])
    written = save_figure(fig, out, overwrite=force)
    click.echo(f"wrote {', '.join(str(p) for p in written)}")


def _variations(gen, like: str, n: int, seed: int, options: dict):
    """``(images, nrow)`` for ``sample --like``: each source image, then its variations, one row each."""
    import math

    import numpy as np
    import torch

    from latentlab import data

    opts = {"seed": seed} if like in data.available() and "seed" in data.builtin_options(like) else {}
    dataset = data.load_for_model(like, gen, **opts)
    k = min(8, n, len(dataset))
    sources = dataset.get(np.arange(k))
    per = math.ceil(n / k)
    x = gen.variations(sources, per, torch.Generator().manual_seed(seed), **options)
    return torch.cat([sources[:, None].to(x), x], dim=1).flatten(0, 1), per + 1


@click.command()
@click.argument("model", type=InputPath())
@data_option(f"Built-in dataset name or a path to your data {TRAINED_ON}.")
@click.option("--n", "--samples", "n", type=click.IntRange(1), default=2000, show_default=True,
              help="Samples to encode (generated for built-in data, a random subset of files otherwise); "
                   "--samples under torchrun, whose own options --n would abbreviate.")
@click.option("--out", type=click.Path(dir_okay=False), default="codes.npz", show_default=True,
              help="Output .npz: codes z plus the data's attributes and factors.")
@loader_options(AS_TRAINED)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@seed_option
@click.option("--resume", is_flag=True, help="Continue an encoding that stopped, from the batches in OUT.parts/.")
@device_option
@force_option
@quiet_option
def encode(model, data_name, n, out, options, batch_size, seed, resume, device, force, quiet):
    """Locate images in MODEL's latent space (VAE posterior mean, GAN inversion, DDIM inversion).

    The images are those of --data, by default fresh samples of the data MODEL was trained on.
    Finished batches are kept in OUT.parts/ until OUT is written, so an encoding stopped by
    a crash or Ctrl-C continues with --resume. Several processes (GPUs) share the batches
    when launched with torchrun --nproc_per_node=N -m latentlab encode ...; OUT holds the
    codes in the data's order, as one process writes them.
    """
    import shutil

    import torch.distributed as dist

    import latentlab
    from latentlab import data
    from latentlab._distributed import join_process_group, rank_and_world
    from latentlab._io import check_can_write
    from latentlab.codes import encode_dataset, prepare_parts
    from latentlab.data.spec import choose_data
    from latentlab.data.stats import random_subset

    joined = join_process_group(device)
    try:
        rank, _ = rank_and_world()
        say = click.echo if rank == 0 else (lambda *a, **k: None)
        check_can_write(out, force)
        gen = latentlab.load(model, device=device, expect="generator")
        choice = choose_data(data_name, parse_data_options(options), {str(model): gen})
        data_name, opts = choice.data, dict(choice.options)
        if data_name in data.available():
            opts.setdefault("seed", seed)
            if "n" in data.builtin_options(data_name):
                opts.setdefault("n", n)
        dataset = random_subset(data.load_for_model(data_name, gen, **opts), n, seed=seed)
        manifest = {"model": str(Path(model).resolve()), "data": str(data_name), "options": opts, "n": len(dataset),
                    "batch_size": batch_size, "seed": seed}
        parts = prepare_parts(Path(str(out) + ".parts"), manifest, resume=resume)
        say(choice.note)
        codes = encode_dataset(gen, dataset, batch_size=batch_size, progress=not quiet, parts=parts)
        codes.info.update({"model": str(model), "data": str(data_name)})
        if dist.is_initialized():
            dist.barrier()  # every process has its codes before the parts go
        if rank == 0:
            codes.save(out, overwrite=True)
            shutil.rmtree(parts)
        say(f"encoded {len(codes)} samples into codes of shape {tuple(codes.z.shape[1:])}; wrote {out}"
            f" (attributes: {', '.join(codes.attribute_names) or 'none'})")
    finally:
        if joined:
            dist.destroy_process_group()


@click.command()
@click.argument("model", type=InputPath(dir_okay=False))
@click.option("--to", "target", type=click.Choice(["diffusers"]), required=True,
              help="diffusers: a DDPMPipeline folder (pip install \"latentlab[diffusers]\").")
@click.argument("out", type=click.Path(file_okay=False))
@force_option
def export(model, target, out, force):
    """Write the DDPM checkpoint MODEL as a folder OUT in another library's format.

    --to diffusers writes a DDPMPipeline folder (safetensors) that
    DDPMPipeline.from_pretrained(OUT) samples from, with latentlab installed.
    """
    from latentlab.adapters.diffusers import export_diffusers

    path = export_diffusers(model, out, force=force)
    click.echo(f"wrote {path}: a diffusers DDPMPipeline folder")
