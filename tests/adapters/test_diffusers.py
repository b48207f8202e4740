"""diffusers model folders as Generators: agreement with diffusers' own DDIM pipeline."""

import dataclasses
import json

import numpy as np
import pytest
import torch

import latentlab
from latentlab.adapters.diffusers import DiffusersDDPM, diffusers_timesteps, load_diffusers

diffusers = pytest.importorskip("diffusers")

pytestmark = pytest.mark.usefixtures("one_thread")


def _unet(size=8, channels=3, seed=0):
    torch.manual_seed(seed)
    return diffusers.UNet2DModel(sample_size=size, in_channels=channels, out_channels=channels, layers_per_block=1,
                                 block_out_channels=(8, 16), down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                 up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=4)


def _save(folder, scheduler, pipeline=False, seed=0):
    unet = _unet(seed=seed)
    if pipeline:
        diffusers.DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(folder)
    else:
        unet.save_pretrained(folder)
        scheduler.save_config(folder)
    return unet


SCHEDULES = {
    "ddpm-leading-clip": dict(cls="DDPMScheduler", num_train_timesteps=100, clip_sample=True),
    "ddim-trailing-v": dict(cls="DDIMScheduler", num_train_timesteps=100, timestep_spacing="trailing",
                            prediction_type="v_prediction", beta_schedule="squaredcos_cap_v2", clip_sample=False),
    "ddim-linspace-final": dict(cls="DDIMScheduler", num_train_timesteps=120, timestep_spacing="linspace",
                                set_alpha_to_one=False, steps_offset=1, beta_schedule="scaled_linear"),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("pipeline", [False, True], ids=["model-folder", "pipeline-folder"])
def test_decode_matches_ddim_pipeline(tmp_path, name, pipeline):
    options = dict(SCHEDULES[name])
    scheduler = getattr(diffusers, options.pop("cls"))(**options)
    unet = _save(tmp_path / "model", scheduler, pipeline)
    model = latentlab.load(tmp_path / "model")
    assert isinstance(model, DiffusersDDPM) and model.latent_shape == (3, 8, 8)
    z = model.sample_latents(4, generator=torch.Generator().manual_seed(0))
    steps = 10 if "linspace" not in name else 7  # 7 does not divide T: the spacing rules differ
    ours = model.decode(z, steps)
    reference = diffusers.DDIMPipeline(unet=unet, scheduler=scheduler)
    reference.set_progress_bar_config(disable=True)
    theirs = reference(batch_size=4, generator=torch.Generator().manual_seed(0), num_inference_steps=steps,
                       eta=0.0, output_type="pt").images  # (N, C, H, W) in [0, 1], from the same noise z
    theirs = torch.as_tensor(theirs) * 2 - 1
    if theirs.shape[-1] == 3 and theirs.shape[1] != 3:
        theirs = theirs.permute(0, 3, 1, 2)
    assert ours.abs().max() > 0.05  # not a blank image: there is something to agree on
    torch.testing.assert_close(ours, theirs, atol=2e-5, rtol=0)


def test_encode_inverts_decode(tmp_path):
    _save(tmp_path / "model", diffusers.DDIMScheduler(num_train_timesteps=100, clip_sample=False))
    model = load_diffusers(tmp_path / "model")
    z = model.sample_latents(3, generator=torch.Generator().manual_seed(1))
    x = model.decode(z, 20)
    z_back = model.encode(x, 20, fixed_point_iters=5)
    assert torch.isfinite(z_back).all()
    # fixed-point inversion makes each step the inverse of the sampling step
    assert (model.decode(z_back, 20) - x).abs().max() < 1e-3
    plain = model.encode(x, 20)  # the usual approximation, one network call per step
    assert (model.decode(plain, 20) - x).abs().max() > (model.decode(z_back, 20) - x).abs().max()


@pytest.mark.parametrize("spacing, steps, offset", [("leading", 10, 1), ("trailing", 7, 0), ("linspace", 7, 0)])
def test_timesteps_follow_diffusers(spacing, steps, offset):
    reference = diffusers.DDIMScheduler(num_train_timesteps=100, timestep_spacing=spacing, steps_offset=offset)
    reference.set_timesteps(steps)
    timesteps, previous = diffusers_timesteps(spacing, 100, steps, offset)
    np.testing.assert_array_equal(timesteps, reference.timesteps.numpy())
    np.testing.assert_array_equal(previous, timesteps - 100 // steps)


def test_analyses_run_on_a_diffusers_model(tmp_path):
    from latentlab import AttributeDirection

    _save(tmp_path / "model", diffusers.DDIMScheduler(num_train_timesteps=50, clip_sample=False))
    model = latentlab.load(tmp_path / "model", expect="generator")
    z = model.sample_latents(40, generator=torch.Generator().manual_seed(2))
    x = model.decode(z, 5)
    labels = (x.mean(dim=(1, 2, 3)) > x.mean(dim=(1, 2, 3)).median()).long().numpy()  # brighter half
    found = AttributeDirection().fit(z.flatten(1).numpy(), labels)
    assert found.direction_.shape == (3 * 8 * 8,)


def test_folders_that_are_not_models(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is a folder, not a model"):
        latentlab.load(tmp_path / "empty")
    no_scheduler = tmp_path / "no-scheduler"
    _unet().save_pretrained(no_scheduler)
    with pytest.raises(ValueError, match="no noise scheduler config"):
        latentlab.load(no_scheduler)
    pickled = tmp_path / "pickled"
    _save(pickled, diffusers.DDPMScheduler(num_train_timesteps=10))
    (pickled / "diffusion_pytorch_model.safetensors").rename(pickled / "diffusion_pytorch_model.bin")
    with pytest.raises(ValueError, match="safetensors only"):
        latentlab.load(pickled)
    thresholded = tmp_path / "thresholded"
    _save(thresholded, diffusers.DDPMScheduler(num_train_timesteps=10, thresholding=True))
    with pytest.raises(ValueError, match="thresholding = True is not supported"):
        latentlab.load(thresholded)
    with pytest.raises(ValueError, match="needs an attribute classifier"):
        latentlab.load(tmp_path / "thresholded", expect="classifier")
    config = json.loads((no_scheduler / "config.json").read_text())
    config["_class_name"] = "UNet2DConditionModel"
    (no_scheduler / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="UNet2DConditionModel"):
        latentlab.load(no_scheduler)


def _faces_folder(tmp_path_factory, timesteps: int):
    """An untrained diffusers DDPM folder at the tiny faces' size (32 px): the commands need not care."""
    folder = tmp_path_factory.mktemp("diffusers") / "ddpm-faces"
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(sample_size=32, in_channels=3, out_channels=3, layers_per_block=1,
                                 block_out_channels=(8, 16), down_block_types=("DownBlock2D", "DownBlock2D"),
                                 up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=4)
    scheduler = diffusers.DDPMScheduler(num_train_timesteps=timesteps)
    diffusers.DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def faces_folder(tmp_path_factory):
    return _faces_folder(tmp_path_factory, timesteps=50)


def _cli(args):
    from click.testing import CliRunner

    from latentlab.cli import cli

    result = CliRunner().invoke(cli, args, catch_exceptions=False, prog_name="latentlab")
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_take_a_diffusers_folder(faces_folder, tiny_faces_models, tmp_path):
    out = _cli(["sample", str(faces_folder), "--n", "4", "--steps", "3", "--out", str(tmp_path / "s.png"), "--quiet"])
    assert (tmp_path / "s.png").is_file() and "wrote" in out
    _cli(["encode", str(faces_folder), "--data", "faces", "-o", "size=32", "--n", "6", "--out", str(tmp_path / "z.npz")])
    assert np.load(tmp_path / "z.npz")["z"].shape == (6, 3, 32, 32)
    # a map between the diffusers model and a latentlab VAE: support points located in both spaces
    _cli(["map", "--src", str(faces_folder), "--dst", str(tiny_faces_models["vae"]), "--data", "faces",
          "-o", "size=32", "--support", "24", "--test", "8", "--kind", "ridge", "--out", str(tmp_path / "m.npz"), "--quiet"])
    assert (tmp_path / "m.npz").is_file()


def _tiny_ddpm(prediction="eps", schedule="cosine"):
    from latentlab.models.ddpm import DDPM, DDPMConfig

    torch.manual_seed(0)
    return DDPM(DDPMConfig(sample_shape=(3, 16, 16), base_channels=8, channel_mults=(1, 2), num_res_blocks=1,
                           attention_resolutions=(), norm_groups=4, timesteps=40, decode_steps=10, schedule=schedule,
                           prediction=prediction)).eval()


@pytest.mark.parametrize("prediction, schedule", [("eps", "cosine"), ("v", "linear")])
def test_export_loads_in_diffusers_with_the_same_network_and_levels(tmp_path, prediction, schedule):
    from latentlab.adapters.diffusers import export_diffusers

    ddpm = _tiny_ddpm(prediction, schedule)
    export_diffusers(ddpm, tmp_path / "exported")
    pipe = diffusers.DDPMPipeline.from_pretrained(tmp_path / "exported")
    pipe.set_progress_bar_config(disable=True)
    # the scheduler's levels are the model's, the network's outputs are the model's at each timestep
    torch.testing.assert_close(pipe.scheduler.alphas_cumprod.double(), ddpm.alpha_bars.double(), atol=1e-6, rtol=0)
    assert pipe.scheduler.config.prediction_type == {"eps": "epsilon", "v": "v_prediction"}[prediction]
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for t in (0, 17, 39):
            torch.testing.assert_close(pipe.unet(x, t).sample, ddpm.denoise(x, ddpm.log_snr[[t, t]]), atol=0, rtol=0)
    images = pipe(batch_size=2, generator=torch.Generator().manual_seed(0), num_inference_steps=10,
                  output_type="np").images
    assert images.shape == (2, 16, 16, 3) and np.isfinite(images).all()
    # and back: latentlab reads its own export like any diffusers folder
    back = latentlab.load(tmp_path / "exported")
    assert isinstance(back, DiffusersDDPM) and back.latent_shape == (3, 16, 16)
    z = back.sample_latents(2, generator=torch.Generator().manual_seed(1))
    assert torch.isfinite(back.decode(z, 5)).all()


def test_export_refuses_what_it_cannot_write(tmp_path, tiny_faces_models):
    from latentlab.adapters.diffusers import export_diffusers

    export_diffusers(_tiny_ddpm(), tmp_path / "exported")
    with pytest.raises(FileExistsError):
        export_diffusers(_tiny_ddpm(), tmp_path / "exported")
    export_diffusers(_tiny_ddpm(), tmp_path / "exported", force=True)
    with pytest.raises(ValueError, match="only DDPMs export"):
        export_diffusers(tiny_faces_models["vae"], tmp_path / "vae-folder")


def test_export_command(tmp_path):
    from click.testing import CliRunner

    from latentlab.checkpoint import save_checkpoint
    from latentlab.cli import cli

    ddpm = _tiny_ddpm()
    save_checkpoint(tmp_path / "ddpm.pt", kind="ddpm", config={"model": dataclasses.asdict(ddpm.config)},
                    weights={"model": ddpm.state_dict(), "ema": None})
    runner = CliRunner()
    args = ["export", str(tmp_path / "ddpm.pt"), "--to", "diffusers", str(tmp_path / "out")]
    result = runner.invoke(cli, args, prog_name="latentlab")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "model_index.json").is_file()
    assert (tmp_path / "out" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    again = runner.invoke(cli, args, prog_name="latentlab")  # never overwritten without --force
    assert again.exit_code == 2 and "--force" in again.output and again.output.strip().count("\n") == 0
    assert runner.invoke(cli, [*args, "--force"], prog_name="latentlab").exit_code == 0


@pytest.fixture(scope="module")
def quick_faces_folder(tmp_path_factory):
    """10 noise levels: a whole DDIM run is 10 network calls."""
    return _faces_folder(tmp_path_factory, timesteps=10)


def test_direction_intrinsic_dim_and_evaluate_take_a_diffusers_folder(quick_faces_folder, tiny_faces_models, tmp_path):
    folder = str(quick_faces_folder)
    _cli(["direction", "--attr", "glasses", "--model", folder, "--labels-from", "data", "--data", "faces",
          "-o", "size=32", "--n", "40", "--out", str(tmp_path / "glasses.npz"), "--quiet"])
    assert np.load(tmp_path / "glasses.npz")["direction"].shape == (3, 32, 32)
    out = _cli(["intrinsic-dim", "--model", folder, "--data", "faces", "-o", "size=32", "--n", "30", "--quiet"])
    assert "samples" in out and "codes of faces" in out, out
    _cli(["evaluate", folder, "--data", "faces", "-o", "size=32", "--n", "40", "--classifier",
          str(tiny_faces_models["classifier"]), "--out", str(tmp_path / "table.csv"), "--quiet"])
    assert "ddpm-faces" in (tmp_path / "table.csv").read_text()
