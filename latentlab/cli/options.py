"""Options shared by several commands, defined once and stacked as decorators."""

from __future__ import annotations

import click

force_option = click.option("--force", is_flag=True, help="Overwrite output files that already exist.")
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
device_option = click.option(
    "--device", default="auto", show_default=True,
    help="Where to compute: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.",
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
