"""The ``latentlab`` command line: a thin layer over the Python API.

Every command parses its options, calls a public library function and prints. Errors a
user can fix (bad option values, missing files, unknown names) are printed as one line
on stderr with exit code 2 — never a traceback. Set ``LATENTLAB_DEBUG=1`` to see the
traceback of such an error.
"""

from __future__ import annotations

import os
import sys
import warnings

import click

from latentlab import __version__
from latentlab.errors import InputWarning

# What a user can fix: shown as one line, exit code 2. Anything else (a KeyError, a
# TypeError, an AttributeError, ...) is a bug and shows its traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
               PermissionError)


def _one_line(exc: BaseException) -> str:
    msg = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    return " ".join(str(msg).split()) or type(exc).__name__


def _one_line_warnings(show):
    """``warnings.showwarning`` printing each distinct warning about the user's input once, as
    one line, and others with ``show`` (Python's own)."""
    shown = set()

    def show_warning(message, category, *args, **kwargs):
        if issubclass(category, InputWarning):
            if str(message) not in shown:
                shown.add(str(message))
                click.echo(f"latentlab: warning: {message}", err=True)
        else:
            show(message, category, *args, **kwargs)
    return show_warning


class _Group(click.Group):
    """A click group that prints every error as one line and exits with status 2."""

    def invoke(self, ctx):
        from latentlab._io import command_inputs

        try:
            with command_inputs(), warnings.catch_warnings():  # no output may replace a file it reads
                warnings.showwarning = _one_line_warnings(warnings.showwarning)
                warnings.simplefilter("always", InputWarning)
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except USER_ERRORS as exc:
            if os.environ.get("LATENTLAB_DEBUG"):
                raise
            raise click.ClickException(_one_line(exc)) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name or "latentlab", complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"latentlab: error: {_one_line(exc)}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"latentlab: error: {_one_line(exc)}", err=True)
            sys.exit(2)
        except (click.Abort, KeyboardInterrupt):
            click.echo("latentlab: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(name="latentlab", cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="latentlab")
def cli():
    """Analyse the latent spaces of deep generative models (VAE, GAN, DDPM).

    Train models on built-in or your own data, find attribute directions, map one
    model's latent space into another's, estimate intrinsic dimension and make figures.
    Run `latentlab COMMAND --help` for each command.
    """


# Imports are lazy in the whole CLI: this module and the command modules it registers
# import only click and latentlab.cli.options at the top, and each command imports the
# library (torch, scikit-learn, matplotlib, umap) inside its body. Registering every
# command therefore costs nothing, and `latentlab --help`, `latentlab COMMAND --help`
# and option errors answer in the interpreter's own start-up time (0.1 s of CPU, where
# importing those libraries takes 2.5-4 s; benchmarks/bench_cli_startup.py measures it,
# tests/test_cli_startup.py checks that help never imports them). A command module that
# imports the library at its top makes every command slow.
def _register() -> None:
    from latentlab.cli import classifier as classifier_cmds
    from latentlab.cli import clip as clip_cmds
    from latentlab.cli import data as data_cmds
    from latentlab.cli import directions as direction_cmds
    from latentlab.cli import evaluate as evaluate_cmds
    from latentlab.cli import intrinsic_dim as id_cmds
    from latentlab.cli import maps as map_cmds
    from latentlab.cli import models as model_cmds
    from latentlab.cli import plots as plot_cmds
    from latentlab.cli import quickstart as quickstart_cmds
    from latentlab.cli import translate as translate_cmds
    from latentlab.cli.prompt_edit import edit_prompt

    cli.add_command(data_cmds.data)
    cli.add_command(classifier_cmds.classifier)
    cli.add_command(clip_cmds.clip_group)
    cli.add_command(id_cmds.intrinsic_dim)
    cli.add_command(map_cmds.map_group)
    cli.add_command(quickstart_cmds.quickstart)
    cli.add_command(plot_cmds.plot)
    cli.add_command(evaluate_cmds.evaluate)
    for command in (direction_cmds.direction, direction_cmds.directions, direction_cmds.edit, direction_cmds.evaluate_edit):
        cli.add_command(command)
    cli.add_command(translate_cmds.translate)
    cli.add_command(edit_prompt)
    for command in (model_cmds.train, model_cmds.sample, model_cmds.encode, model_cmds.export):
        cli.add_command(command)


_register()


def main() -> None:
    """Entry point of the ``latentlab`` console script and ``python -m latentlab``."""
    cli(prog_name="latentlab")
