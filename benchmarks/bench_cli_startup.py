"""Benchmark: how long a ``latentlab`` command takes before it does anything.

Each case runs as a fresh ``python`` process, best of ``--repeats`` runs, timed on the
wall clock and as the process's CPU time (user + system; on a shared machine the wall
clock also counts waiting for a core, so the verdict uses CPU time). Baselines from the
same run:

* ``python -c pass`` — the interpreter alone, the floor of any command;
* "before" — what every command paid when the command modules imported the library at
  the top: the CLI plus torch, scikit-learn, matplotlib and umap.

The cases after them are what a user types: the top-level help, one command's help and
an option error, which import none of those (see the comment in latentlab/cli/__init__.py).

Run:  python benchmarks/bench_cli_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

EAGER = "import latentlab.cli, torch, sklearn.svm, matplotlib.pyplot, umap"

CASES = [
    ("python -c pass (baseline)", ["-c", "pass"]),
    ("before: CLI + torch, sklearn, matplotlib, umap", ["-c", EAGER]),
    ("latentlab --help", ["-m", "latentlab", "--help"]),
    ("latentlab intrinsic-dim --help", ["-m", "latentlab", "intrinsic-dim", "--help"]),
    ("latentlab sample x.pt --n 0 (option error)", ["-m", "latentlab", "sample", "x.pt", "--n", "0"]),
]


def run_once(args: list[str]) -> tuple[float, float]:
    """``(wall seconds, CPU seconds)`` of one ``python ARGS`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; best of {args.repeats} runs")
    print(f"{'case':<48}{'wall s':>8}{'CPU s':>8}{'CPU over baseline':>19}")
    base = None
    for name, argv in CASES:
        runs = [run_once(argv) for _ in range(args.repeats)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        base = cpu if base is None else base
        print(f"{name:<48}{wall:8.2f}{cpu:8.2f}{cpu - base:+19.2f}")


if __name__ == "__main__":
    main()
