"""A small, dependency-free HTML report: sections of text, tables and figures.

The page is one self-standing ``index.html`` that links its figures by relative path, so
the report folder can be zipped, moved or served as it is. Figures are saved with
:func:`latentlab.plots.save_figure` (PNG for the page, PDF for a paper, the data beside
them) by :meth:`HTMLReport.add_figure`.
"""

from __future__ import annotations

import datetime
import html
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from latentlab._io import atomic_path, check_can_write
from latentlab.plots import save_figure

__all__ = ["HTMLReport", "format_number"]

#: Decimals of every real number in a report unless a table column asks for others.
DECIMALS = 3


def format_number(value, decimals: int = DECIMALS, *, sign: bool = False) -> str:
    """A number as the report prints it: the one formatting rule for tables and text.

    Real numbers get ``decimals`` fixed decimals (``1.000`` beside ``0.892``, never
    ``1`` beside ``0.8917``); anything that rounds to zero is ``0.000``, without a sign
    (``-3.5e-17`` and ``-0.0`` print as ``0.000``). Integers (counts, sizes) print as
    integers. NaN prints as an en dash, infinities as ``∞`` and ``-∞``.

    Parameters
    ----------
    value : int or float (Python or NumPy)
    decimals : int
        Digits after the point for real numbers.
    sign : bool
        Write ``+`` before positive numbers (for changes).

    Returns
    -------
    str
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"format_number takes a real number, not {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return f"{int(value):+d}" if sign and value > 0 else str(int(value))
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return ("+∞" if sign else "∞") if value > 0 else "-∞"
    text = f"{value:.{int(decimals)}f}"
    if float(text) == 0.0:  # no negative zero
        return f"{0.0:.{int(decimals)}f}"
    return f"+{text}" if sign and value > 0 else text

_SCREEN_DPI = 125  # figures are sized in inches for paper; a bit larger on screen reads well

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1.5em; background: #fff; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #666; margin-top: 0; }
nav a { margin-right: 1em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.92em; }
figcaption a { color: #0072B2; margin-left: 0.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.25em 0.8em; text-align: right; }
th { background: #f6f6f6; }
td:first-child, th:first-child { text-align: left; }
pre, code { background: #f6f6f6; font-size: 0.9em; }
pre { padding: 0.7em 1em; overflow-x: auto; }
.row { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.row figure { min-width: 240px; }
"""


@dataclass
class _Section:
    title: str
    anchor: str
    parts: list = field(default_factory=list)


class HTMLReport:
    """Build a report page section by section, then :meth:`write` it.

    Parameters
    ----------
    folder : path
        Where ``index.html`` and ``figures/`` go (created if missing).
    title : str
        Page title.
    overwrite : bool
        Replace existing figures and page; otherwise an existing file is an error.
    """

    def __init__(self, folder: str | os.PathLike, title: str, *, overwrite: bool = False):
        self.folder = Path(folder)
        self.title = title
        self.overwrite = overwrite
        self.sections: list[_Section] = []
        self.intro: list[str] = []
        self.figure_dir = self.folder / "figures"
        self.figure_dir.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []

    @property
    def page(self) -> Path:
        return self.folder / "index.html"

    def _current(self) -> _Section:
        if not self.sections:
            raise ValueError("start a section before adding to the report")
        return self.sections[-1]

    def section(self, title: str) -> "HTMLReport":
        anchor = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
        self.sections.append(_Section(title, anchor))
        return self

    def text(self, paragraph: str) -> "HTMLReport":
        """A paragraph; ``paragraph`` is plain text (escaped), with `code` in backticks."""
        escaped = html.escape(paragraph)
        pieces = escaped.split("`")
        body = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
        self._current().parts.append(f"<p>{body}</p>")
        return self

    def code(self, text: str) -> "HTMLReport":
        self._current().parts.append(f"<pre>{html.escape(text)}</pre>")
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence], *, caption: str | None = None,
              decimals: int | Sequence[int | None] = DECIMALS) -> "HTMLReport":
        """A table; numbers are written by :func:`format_number`.

        ``decimals`` is one number of decimals for every column, or one per column
        (``None``: the default); every real number of a column has the same decimals.
        """
        per_column = [decimals] * len(header) if isinstance(decimals, numbers.Integral) else list(decimals)
        if len(per_column) != len(header):
            raise ValueError(f"decimals has {len(per_column)} entries for {len(header)} columns")
        per_column = [DECIMALS if d is None else int(d) for d in per_column]

        def cell(v, d):
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                return html.escape(format_number(v, d))
            return html.escape(str(v))

        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{cell(v, per_column[i] if i < len(per_column) else DECIMALS)}</td>"
                                        for i, v in enumerate(row)) + "</tr>" for row in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._current().parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def add_figure(self, fig, name: str, caption: str, *, row: bool = False) -> list[Path]:
        """Save ``fig`` as ``figures/<name>.png`` and ``.pdf`` (plus its data) and show it.

        Every figure is shown at its printed size (its 300 dpi PNG at
        :data:`_SCREEN_DPI`), not shrunk to fit more figures on a row, so its fonts read as in print (a 7 pt tick
        label is about 12 px). Consecutive figures added with ``row=True`` share a row
        as far as the page width allows (two one-column figures; a full-width figure
        takes its own line) and wrap otherwise.
        """

        written = save_figure(fig, self.figure_dir / f"{name}.png", formats=("pdf",), overwrite=self.overwrite)
        self.files += written
        links = " ".join(
            f'<a href="{html.escape(p.relative_to(self.folder).as_posix())}">{p.suffix.lstrip(".").upper()}</a>'
            for p in written if p.suffix != ".png"
        )
        png_path = self.figure_dir / f"{name}.png"
        png = png_path.relative_to(self.folder).as_posix()
        from PIL import Image

        with Image.open(png_path) as im:  # 300 dpi: show at about the printed size on a screen
            shown = round(im.width * _SCREEN_DPI / 300)
        size = f"flex: 0 1 {shown}px; max-width: {shown}px" if row else f"max-width: {shown}px"
        item = (f'<figure id="fig-{html.escape(name)}" style="{size}"><img src="{html.escape(png)}" '
                f'alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)} {links}</figcaption></figure>")
        parts = self._current().parts
        if row and parts and isinstance(parts[-1], list):
            parts[-1].append(item)
        elif row:
            parts.append([item])
        else:
            parts.append(item)
        return written

    def render(self) -> str:
        nav = " ".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in self.sections)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        from latentlab import __version__

        out = [
            "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
            f'<p class="meta">latentlab {html.escape(__version__)} · {stamp}</p>',
            *self.intro,
            f"<nav>{nav}</nav>",
        ]
        for s in self.sections:
            out.append(f'<h2 id="{s.anchor}">{html.escape(s.title)}</h2>')
            for part in s.parts:
                if isinstance(part, list):  # figures side by side at their own sizes, wrapping
                    out.append(f'<div class="row">{"".join(part)}</div>')
                else:
                    out.append(part)
        out.append("</body></html>")
        return "\n".join(out)

    def write(self) -> Path:
        """Write ``index.html``; returns its path."""
        check_can_write(self.page, self.overwrite)
        with atomic_path(self.page, overwrite=self.overwrite) as tmp:
            Path(tmp).write_text(self.render(), encoding="utf-8")
        self.files.append(self.page)
        return self.page
