"""Benchmark: training throughput (images/s) of the VAE, the GAN (and the DDPM when present).

Every model family is trained through the one public entry point,
``latentlab.training.train(config, dataset=..., device=..., progress=False)``, at 32 px
with each family's default model config (``{"model": {"kind": ...}}``) and a batch of
64, on:

* the CPU (fp32) — the baseline every other row is compared with;
* CUDA in fp32 (``train.amp = false``) and with bf16 autocast (``train.amp = true``),
  when a GPU is present (otherwise a note says they were skipped).

Timing: a run of ``warmup`` steps and a run of ``warmup + steps`` steps are timed end to
end and the difference is taken, so model building, moving the data to the device,
cuDNN autotuning and the first slow iterations cancel out:
``throughput = steps * batch_size / (t(warmup + steps) - t(warmup))``.
EMA updates and the loop's logging are part of what is timed, as in real training.

Data: ``latentlab.data.load("faces", n=2048, size=32)``; if the faces dataset cannot
be loaded, random tensors of the same shape (3, 32, 32) in [-1, 1] are used (the
throughput does not depend on the pixel values) and the table says so.

Threads: torch uses ``--threads`` CPU threads (default 2).

Run:  python benchmarks/bench_training.py [--steps 10] [--cuda-steps 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from latentlab.data import Dataset
from latentlab.models import MODEL_KINDS
from latentlab.training import train


def image_data(n: int, size: int) -> tuple[Dataset, str]:
    """The faces dataset, or random images of the same shape if it cannot be loaded."""
    try:
        from latentlab.data import load

        data = load("faces", n=n, size=size)
        data.data  # render once here, outside every timed run
        return data, f"faces (n={n}, {size} px)"
    except Exception as exc:  # the faces generator is optional for this benchmark
        g = torch.Generator().manual_seed(0)
        x = torch.rand(n, 3, size, size, generator=g) * 2 - 1
        return Dataset(x, name="random"), f"random tensors (n={n}, {size} px; faces unavailable: {type(exc).__name__}: {exc})"


def timed_train(kind: str, data: Dataset, device: str, amp: bool, steps: int, batch_size: int) -> float:
    """Seconds for one complete ``train`` call of ``steps`` steps."""
    config = {
        "model": {"kind": kind},
        "train": {"steps": steps, "batch_size": batch_size, "amp": amp, "log_every": max(steps, 1),
                  "checkpoint_every": 0, "seed": 0},
    }
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train(config, dataset=data, device=device, progress=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def throughput(kind: str, data: Dataset, device: str, amp: bool, warmup: int, steps: int, batch_size: int) -> float:
    """Images per second of steady-state training (see the module docstring)."""
    short = timed_train(kind, data, device, amp, warmup, batch_size)
    long = timed_train(kind, data, device, amp, warmup + steps, batch_size)
    return steps * batch_size / max(long - short, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run on the CPU")
    parser.add_argument("--cuda-steps", type=int, default=50, help="timed steps per run on CUDA")
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n", type=int, default=2048, help="images in the dataset")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--kinds", nargs="+", default=None, help="model kinds (default: vae gan, and ddpm when available)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU rows (and the CPU baseline)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    kinds = args.kinds or [k for k in ("vae", "gan", "ddpm") if k in MODEL_KINDS]
    unknown = [k for k in kinds if k not in MODEL_KINDS]
    if unknown:
        parser.error(f"unknown model kind(s) {', '.join(unknown)}; this latentlab knows: {', '.join(sorted(MODEL_KINDS))}")
    data, what = image_data(args.n, args.size)
    print(f"data: {what}; batch {args.batch_size}; warm-up {args.warmup} steps; torch {torch.__version__}, "
          f"{args.threads} CPU threads")

    settings = [] if args.no_cpu else [("cpu", "fp32", "cpu", False, args.steps)]
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        settings += [("cuda", "fp32", "cuda", False, args.cuda_steps), ("cuda", "bf16 autocast", "cuda", True, args.cuda_steps)]
        print(f"GPU: {name}")
    else:
        print("note: no CUDA GPU here; the CUDA fp32 and bf16 rows are skipped")

    rows = []
    for kind in kinds:
        base = None
        for device_name, precision, device, amp, steps in settings:
            rate = throughput(kind, data, device, amp, args.warmup, steps, args.batch_size)
            if device == "cpu":
                base = rate
            fp32 = next((r[3] for r in rows if r[0] == kind and r[1] == device_name and r[2] == "fp32"), None)
            rows.append((kind, device_name, precision, rate,
                         f"{rate / base:.1f}x" if base else "-",
                         f"{rate / fp32:.2f}x" if fp32 and amp else "-"))
            print(f"  {kind:5s} {device_name:4s} {precision:14s} {rate:10.1f} images/s", flush=True)

    header = ("model", "device", "precision", "images/s", "vs CPU fp32", "vs same-device fp32")
    table = [header, *[(k, d, p, f"{r:.1f}", s1, s2) for k, d, p, r, s1, s2 in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
