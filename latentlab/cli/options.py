"""Options shared by several commands, defined once and stacked as decorators."""

from __future__ import annotations

import click


class InputPath(click.Path):
    """A path the command reads: a file, or (for data options) a dataset name or a folder.

    It is recorded as an input of the command as soon as it is parsed, so the output
    checks refuse to write over it before any work is done
    (:func:`latentlab._io.command_inputs`).
    """

    def convert(self, value, param, ctx):
        from latentlab._io import note_input

        value = super().convert(value, param, ctx)
        note_input(value)
        return value


def check_figure_out(out, force: bool, others=()) -> None:
    """Refuse a figure's path before slow work, and the data file saved beside it.

    :func:`~latentlab.plots.style.save_figure` writes ``out`` and the figure's data
    (:func:`~latentlab._io.figure_data_paths`): each must be writable, none may replace an
    input of the command, and none may be one of ``others`` (the command's other outputs).
    """
    from pathlib import Path

    from latentlab._io import check_can_write, figure_data_paths, is_input

    out = check_can_write(out, force)
    taken = {Path(p).resolve() for p in others if p}
    for data in [out, *figure_data_paths(out)]:
        if data.resolve() in taken:
            raise click.UsageError(f"{out} would write {data}, which is another output of this command; "
                                   "give the outputs different names")
        if data != out and is_input(data):
            raise ValueError(f"{out} would save the figure's data as {data}, which is an input of this command; "
                             "an output never replaces an input, even with --force: choose another name")
        if data != out and data.exists():
            check_can_write(data, force)


force_option = click.option("--force", is_flag=True,
                            help="Overwrite output files that already exist (never a file the command reads).")
quiet_option = click.option("--quiet", is_flag=True, help="No progress bars.")


def data_option(help: str, default: str | None = None):
    """``--data`` (a built-in dataset name or a path, recorded as an input of the command)."""
    return click.option("--data", "data_name", type=InputPath(), default=default, show_default=default is not None,
                        help=help)


def loader_options(help: str = "Data loader option, repeatable (e.g. -o size=64)."):
    """``--option/-o KEY=VALUE``, repeatable: options of the data loader (see :func:`parse_data_options`)."""
    return click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE", help=help)


#: ``--data`` and ``-o`` of a command given a model: by default the data it was trained on.
TRAINED_ON = "(default: the data the model was trained on, with its options)"
AS_TRAINED = "Data loader option, repeatable (for the model's training data the others stay as trained)."
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
device_option = click.option(
    "--device", default="auto", show_default=True,
    help="Where to compute: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.",
)


def stack(*options):
    """One decorator applying ``options`` in the order given (as if stacked top to bottom)."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


#: The options of a traversal grid (``edit``, ``plot traversal``): which direction of a
#: file, how many codes, the range of steps and how many columns.
traversal_options = stack(
    click.option("--component", type=click.IntRange(0), default=0, show_default=True,
                 help="Which principal direction, for a file from `directions pca`."),
    click.option("--n", type=click.IntRange(1, 64), default=8, show_default=True, help="Codes (rows) to edit."),
    click.option("--range", "span", type=(float, float), default=(-3.0, 3.0), show_default=True, metavar="LO HI",
                 help="Steps from LO to HI, in latent units."),
    click.option("--steps", type=click.IntRange(2, 21), default=7, show_default=True, help="Columns."),
)


def parse_data_options(pairs) -> dict:
    """``("size=32", "n=100")`` -> ``{"size": 32, "n": 100}`` (ints, floats, booleans, strings)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--option")
        out[key.strip()] = _literal(value.strip())
    return out


def _literal(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text
