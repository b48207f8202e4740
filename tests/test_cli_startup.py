"""The CLI starts without importing the library: help and option errors never load torch."""

import json
import subprocess
import sys

# Runs ``python -m latentlab ARGS`` for the help of every command and subcommand and for
# two option errors, in one interpreter, then reports which heavy libraries got imported.
RUNNER = r"""
import json, runpy, sys
import click

def run(args):
    sys.argv = ["latentlab", *args]
    try:
        runpy.run_module("latentlab", run_name="__main__")
    except SystemExit as exc:
        return exc.code
    return None

from latentlab.cli import cli

def paths(group, prefix=()):
    for name, command in group.commands.items():
        yield [*prefix, name]
        if isinstance(command, click.Group):
            yield from paths(command, (*prefix, name))

commands = list(paths(cli))
codes = {"--help": run(["--help"])}
codes.update({" ".join(p): run([*p, "--help"]) for p in commands})
errors = {"sample --n 0": run(["sample", "model.pt", "--n", "0"]),
          "intrinsic-dim --method": run(["intrinsic-dim", "--method", "nope"])}
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "numpy", "scipy", "sklearn", "matplotlib", "umap"})
print(json.dumps({"codes": codes, "errors": errors, "heavy": heavy}))
"""


def test_help_and_option_errors_do_not_import_torch():
    proc = subprocess.run([sys.executable, "-c", RUNNER], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report["codes"]) > 15  # every command and subcommand was asked for its help
    assert set(report["codes"].values()) == {0}, report["codes"]
    assert set(report["errors"].values()) == {2}, report["errors"]
    assert report["heavy"] == []
