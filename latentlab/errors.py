"""Exceptions of latentlab beyond Python's own.

latentlab reports a user's mistake with Python's exception types (``ValueError``,
``TypeError``, ``FileNotFoundError``, ...). The command line prints those that a user can
fix as one line (``latentlab.cli.USER_ERRORS``); a ``TypeError`` is not among them,
because in Python code it usually marks a bug. :class:`OptionError` is for the case in
between: an option that the user named, which can come from the command line.
"""

from __future__ import annotations

__all__ = ["OptionError", "MissingExtra", "InputWarning"]


class OptionError(TypeError, ValueError):
    """An option with an unknown name, or a value of the wrong type.

    A ``TypeError`` to Python code, as for any unexpected keyword argument; also a
    ``ValueError``, so that an option given on the command line (``-o KEY=VALUE``,
    ``--width``) is reported as the user's mistake, in one line.
    """


class InputWarning(UserWarning):
    """Something the user gave works but is likely not what was meant (e.g. a prompt with
    words the model never read). The command line prints it as one line,
    ``latentlab: warning: ...``."""


class MissingExtra(ImportError, ValueError):
    """An optional dependency that a feature needs is not installed; the message says how
    to install it. Also a ``ValueError``, so the command line reports it in one line."""
