"""Look at a report as a person would: render it in headless Chromium and screenshot it.

Chromium is not a dependency; :func:`find_chromium` says whether one is installed
(Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "screenshot"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``$LATENTLAB_CHROMIUM`` first), or None."""
    given = os.environ.get("LATENTLAB_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    return next((p for p in map(shutil.which, _NAMES) if p), None)


def screenshot(page: str | os.PathLike, out: str | os.PathLike, *, width: int = 1280, height: int = 4000,
               timeout: float = 120.0) -> Path:
    """Render ``page`` (an HTML file) headless and save a PNG of ``width`` x ``height`` pixels.

    Raises
    ------
    FileNotFoundError
        When the page or a Chromium executable is missing.
    RuntimeError
        When Chromium fails or writes no image.
    """
    page, out = Path(page).resolve(), Path(out)
    if not page.is_file():
        raise FileNotFoundError(f"no page at {page}")
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium found: install it (Debian: apt-get install chromium) "
                                "or set LATENTLAB_CHROMIUM to its path")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--allow-file-access-from-files", f"--window-size={width},{height}", f"--screenshot={out.resolve()}",
               page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"chromium could not render {page} (exit {proc.returncode}): {' | '.join(tail)}")
    return out
