"""Benchmark: DDPM training and sampling speed, DDIM against DDPM ancestral sampling.

Part 1 (CPU, always): the ``faces-ddpm-tiny`` network at 32 px.
  * training images/s (loss, backward, Adam step);
  * sampling images/s with DDIM-50, against the baseline DDPM-1000 (ancestral, Ho et
    al. 2020) in the same run, on a small batch;
  * with ``--checkpoint`` (a trained DDPM), the DDIM inversion -> decoding
    reconstruction error for several step counts.

Part 2 (CUDA only; skipped with a message elsewhere): the 35.7M-parameter
``cifar-size-ddpm`` network at 32 px, batch 128. Baseline: eager float32; then bf16
autocast + channels_last + fused AdamW, eager and under ``torch.compile``. FLOPs of one
training step (forward + backward) and of one network evaluation are counted with
``torch.utils.flop_counter.FlopCounterMode``; achieved TFLOP/s are reported against the
dense bf16 peak of the GPU (H100/H200 SXM: 989 TFLOP/s; A100: 312).

CPU threads are limited to one by default (``--threads``): on the shared two-core
machine this was written on, a second thread only adds contention.

Run:  python benchmarks/bench_ddpm.py [--threads 1] [--checkpoint model.pt]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from latentlab.models.ddpm import DDPM
from latentlab.training import load_config

# dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, TFLOP/s
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def build(config_name: str, size: int, device, **model_overrides) -> DDPM:
    cfg = load_config(config_name).model
    cfg = dataclasses.replace(cfg, sample_shape=[3, size, size], **model_overrides)
    with torch.random.fork_rng(devices=[]):  # seeded weights, global RNG untouched
        torch.manual_seed(0)
        model = DDPM(cfg)
    return model.to(device)


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeats: int) -> float:
    """Seconds per call of ``fn`` (after one warm-up call)."""
    fn()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / repeats


def train_step_fn(model: DDPM, opt, x, generator, autocast: bool):
    def step():
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if autocast else torch.autocast("cpu", enabled=False)
        with ctx:
            loss = model(x, generator=generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


# --------------------------------------------------------------------------------------
# part 1: the tiny network on the CPU
# --------------------------------------------------------------------------------------
def cpu_part(args) -> None:
    print(f"== Part 1: faces-ddpm-tiny (32 px) on the CPU, {torch.get_num_threads()} thread(s)")
    model = build("faces-ddpm-tiny", 32, "cpu")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"network: {n_params / 1e6:.2f}M parameters")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 3, 32, 32, generator=g) * 2 - 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    sec = timed(train_step_fn(model, opt, x, g, autocast=False), "cpu", args.train_steps)
    print(f"training: {args.batch / sec:8.1f} images/s  ({sec * 1e3:.0f} ms per step of {args.batch})")

    model.eval()
    n_ddim, n_ddpm = args.sample_batch, args.ddpm_batch
    model.sample(2, steps=2)  # warm-up
    t_ddim = _once(lambda: model.sample(n_ddim, generator=torch.Generator().manual_seed(1), steps=50))
    t_ddpm = _once(lambda: model.sample(n_ddpm, generator=torch.Generator().manual_seed(1), sampler="ddpm"))
    ddim_rate, ddpm_rate = n_ddim / t_ddim, n_ddpm / t_ddpm
    print(f"sampling DDIM-50   : {ddim_rate:8.2f} images/s  (batch {n_ddim}, {t_ddim:.2f} s)")
    print(f"sampling DDPM-1000 : {ddpm_rate:8.2f} images/s  (batch {n_ddpm}, {t_ddpm:.2f} s)   [baseline]")
    print(f"DDIM-50 is {ddim_rate / ddpm_rate:.1f}x faster per image than DDPM-1000 "
          f"(network evaluations: 50 vs 1000 per image, so batching accounts for the rest)")

    if args.checkpoint:
        reconstruction_part(args)


def _once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def reconstruction_part(args) -> None:
    import latentlab

    model = latentlab.load(args.checkpoint)
    from latentlab import data

    images = data.load_for_model("faces", model, n=args.recon_n, seed=12345).data
    print(f"-- DDIM inversion -> decoding of {len(images)} held-out faces ({args.checkpoint})")
    for iters in (0, 2):
        t0 = time.perf_counter()
        errors = model.reconstruction_error(images, steps=(10, 25, 50, 100), fixed_point_iters=iters)
        took = time.perf_counter() - t0
        row = "  ".join(f"{k:>3} steps: {v.mean().item():.2e}" for k, v in errors.items())
        print(f"fixed-point iterations {iters}: pixel MSE  {row}   ({took:.1f} s)")


# --------------------------------------------------------------------------------------
# part 2: the 35.7M network on CUDA
# --------------------------------------------------------------------------------------
def gpu_peak(name: str) -> tuple[str, float | None]:
    for key, peak in PEAK_BF16_TFLOPS.items():
        if key in name:
            return key, peak
    return name, None


def gpu_part(args, device="cuda") -> None:
    name = torch.cuda.get_device_name() if torch.device(device).type == "cuda" else "cpu (smoke test)"
    label, peak = gpu_peak(name)
    print(f"\n== Part 2: cifar-size-ddpm (35.7M, 32 px) on {name}, batch {args.gpu_batch}")
    size = 32
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(args.gpu_batch, 3, size, size, generator=g, device=device) * 2 - 1
    use_bf16 = torch.device(device).type == "cuda"

    rows = []
    for setting in ("fp32 eager", "bf16 channels_last eager", "bf16 channels_last compiled"):
        if setting.endswith("compiled") and args.no_compile:
            continue
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        model = build("cifar-size-ddpm", size, device, **args.model_overrides)
        bf16 = setting.startswith("bf16") and use_bf16
        xin = x
        if "channels_last" in setting:
            model = model.to(memory_format=torch.channels_last)
            xin = x.contiguous(memory_format=torch.channels_last)
        fused = torch.device(device).type == "cuda"
        opt = torch.optim.AdamW(model.parameters(), lr=2e-4, betas=(0.9, 0.999), fused=fused or None)
        model.train()
        step = train_step_fn(model, opt, xin, g, autocast=bf16)
        flops = count_flops(step)  # eager, before compiling
        if setting.endswith("compiled"):
            model.net = torch.compile(model.net)
            step = train_step_fn(model, opt, xin, g, autocast=bf16)
            for _ in range(3):  # compilation happens here, outside the timing
                step()
        sec = timed(step, device, args.gpu_steps)
        tflops = flops / sec / 1e12
        rows.append((setting, args.gpu_batch / sec, sec, tflops))
        del model, opt

    print(f"training FLOPs per step: {flops / 1e9:.1f} GFLOP (forward + backward, FlopCounterMode)")
    base = rows[0][1]
    for setting, rate, sec, tflops in rows:
        share = f"{100 * tflops / peak:5.1f} % of the {label} bf16 dense peak ({peak:.0f} TFLOP/s)" if peak else ""
        print(f"training {setting:<28}: {rate:8.0f} images/s  {sec * 1e3:7.1f} ms/step  {tflops:6.1f} TFLOP/s  "
              f"x{rate / base:.2f} vs fp32 eager  {share}")

    # sampling: DDIM-50 in bf16 with the fastest training setting's model layout
    model = build("cifar-size-ddpm", size, device, **args.model_overrides).to(memory_format=torch.channels_last).eval()
    n = args.gpu_sample_batch
    ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else (lambda: torch.autocast("cpu", enabled=False))
    with torch.no_grad(), ctx():
        z = torch.randn(n, 3, size, size, device=device)
        fwd = count_flops(lambda: model.denoise(z, torch.zeros(n, device=device)))
    if not args.no_compile:
        model.net = torch.compile(model.net)

    def sample():
        with ctx():
            model.sample(n, generator=torch.Generator().manual_seed(0), steps=args.gpu_sample_steps, batch_size=n)

    sample()  # compile
    sec = timed(sample, device, 1)
    tflops = fwd * args.gpu_sample_steps / sec / 1e12
    share = f"{100 * tflops / peak:.1f} % of peak" if peak else ""
    print(f"sampling DDIM-{args.gpu_sample_steps} bf16: {n / sec:8.0f} images/s  (batch {n}, {sec:.2f} s)  "
          f"{tflops:.1f} TFLOP/s {share}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="CPU threads for part 1")
    p.add_argument("--batch", type=int, default=32, help="training batch of part 1")
    p.add_argument("--train-steps", type=int, default=10)
    p.add_argument("--sample-batch", type=int, default=64, help="DDIM-50 batch of part 1")
    p.add_argument("--ddpm-batch", type=int, default=4, help="DDPM-1000 batch of part 1 (small: 1000 steps)")
    p.add_argument("--checkpoint", help="a trained DDPM: also report inversion -> decoding errors")
    p.add_argument("--recon-n", type=int, default=32)
    p.add_argument("--gpu-batch", type=int, default=128)
    p.add_argument("--gpu-steps", type=int, default=30)
    p.add_argument("--gpu-sample-batch", type=int, default=512)
    p.add_argument("--gpu-sample-steps", type=int, default=50)
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile in part 2")
    p.add_argument("--gpu-smoke-on-cpu", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.model_overrides = {}
    torch.set_num_threads(args.threads)

    if args.gpu_smoke_on_cpu:  # exercises part 2's code path cheaply on a machine without a GPU
        args.model_overrides = {"base_channels": 16, "norm_groups": 8}
        args.gpu_batch, args.gpu_steps, args.gpu_sample_batch, args.gpu_sample_steps = 4, 1, 4, 2
        gpu_part(args, device="cpu")
        return
    cpu_part(args)
    if torch.cuda.is_available():
        gpu_part(args)
    else:
        print("\n== Part 2 skipped: no CUDA GPU here (the 35.7M-parameter bf16 benchmark needs one)")


if __name__ == "__main__":
    main()
