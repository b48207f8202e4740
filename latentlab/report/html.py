"""A small, dependency-free HTML report: sections of text, tables and figures.

The page is one self-standing ``index.html`` that links its figures by relative path, so
the report folder can be zipped, moved or served as it is. Figures are saved with
:func:`latentlab.plots.save_figure` (PNG for the page, PDF for a paper, the data beside
them) by :meth:`HTMLReport.add_figure`.
"""

from __future__ import annotations

import datetime
import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from latentlab._io import atomic_path, check_can_write

__all__ = ["HTMLReport"]

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

    def table(self, header: Sequence[str], rows: Sequence[Sequence], *, caption: str | None = None) -> "HTMLReport":
        """A table; floats are shown with 4 significant digits."""
        def cell(v):
            if isinstance(v, float):
                return "–" if v != v else f"{v:.4g}"
            return html.escape(str(v))

        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._current().parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def add_figure(self, fig, name: str, caption: str, *, row: bool = False) -> list[Path]:
        """Save ``fig`` as ``figures/<name>.png`` and ``.pdf`` (plus its data) and show it.

        Consecutive figures added with ``row=True`` are laid out side by side.
        """
        from latentlab.plots import save_figure

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
        item = (f'<figure id="fig-{html.escape(name)}" style="max-width: {shown}px"><img src="{html.escape(png)}" '
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
                if isinstance(part, list):  # up to three figures side by side, all of one width
                    basis = f"calc({100 / min(3, len(part)):.3f}% - 1em)"
                    items = "".join(p.replace('style="', f'style="flex: 0 1 {basis}; ', 1) for p in part)
                    out.append(f'<div class="row">{items}</div>')
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
