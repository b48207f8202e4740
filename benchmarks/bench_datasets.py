"""Benchmark: how fast the built-in procedural datasets produce samples on one CPU core.

For every entry of ``DATASETS`` it times making the dataset and reading all of its
samples (``dataset.get(all indices)``: rendering, for lazily rendered data), best of
``--repeats`` runs, as samples per second of wall-clock time and per second of this
process's CPU time (on a shared machine the wall clock also counts time spent waiting
for the core; the verdict uses CPU time), and prints the rates next to two baselines
from the same run:

* the entry's target rate (faces: 20,000 images/s at 32 px on one core; at 64 px the
  same pixel rate, 5,000 images/s);
* the same dataset read one sample at a time (``dataset[i]``, as a ``DataLoader``
  without batching does), which shows what rendering in batches buys.

Torch is limited to one thread by default (``--threads``); the load average is printed
because on a shared machine other jobs slow every figure down.

Adding a dataset is one entry in ``DATASETS``.

Run:  python benchmarks/bench_datasets.py [--threads 1] [--repeats 3] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from latentlab.data import Dataset, load


@dataclass
class Case:
    name: str
    make: Callable[[int], Dataset]  # n -> dataset of n samples
    n: int  # samples read in the batched timing
    target: float  # samples/s on one core
    n_single: int = 200  # samples read one at a time for the baseline


DATASETS = [
    Case("faces 32 px", lambda n: load("faces", n=n, size=32, seed=0), n=4096, target=20_000),
    Case("faces 64 px", lambda n: load("faces", n=n, size=64, seed=0), n=2048, target=5_000),
]


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Shortest wall-clock and shortest CPU time (seconds) of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def batched(case: Case, n: int) -> None:
    dataset = case.make(n)
    dataset.get(np.arange(len(dataset)))


def one_at_a_time(case: Case, n: int) -> None:
    dataset = case.make(n)
    for i in range(len(dataset)):
        dataset[i]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure; the best is kept")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of samples timed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    load1, load5, _ = os.getloadavg()
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} cores, "
          f"load average {load1:.1f} (1 min) {load5:.1f} (5 min); best of {args.repeats} runs")
    header = (f"{'dataset':<14}{'n':>7}{'batched/s wall':>16}{'batched/s cpu':>15}{'one-by-one/s':>14}"
              f"{'target/s':>10}{'cpu vs target':>15}")
    print(header)
    print("-" * len(header))
    for case in DATASETS:
        n = max(1, round(case.n * args.scale))
        n_single = max(1, round(case.n_single * args.scale))
        batched(case, min(n, 64))  # warm-up: imports, first allocations
        wall, cpu = best_time(lambda: batched(case, n), args.repeats)
        single_wall, _ = best_time(lambda: one_at_a_time(case, n_single), args.repeats)
        verdict = "meets" if n / cpu >= case.target else "BELOW"
        print(f"{case.name:<14}{n:>7}{n / wall:>16,.0f}{n / cpu:>15,.0f}{n_single / single_wall:>14,.0f}"
              f"{case.target:>10,.0f}{n / cpu / case.target:>9.2f}x {verdict}")
    print("baselines: 'target/s' is the goal for one core; 'one-by-one/s' (wall) reads the same data a sample at a time")


if __name__ == "__main__":
    main()
