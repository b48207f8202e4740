"""Config sections as dataclasses, checked field by field.

Below ``latentlab.models`` (each model family's Config) and ``latentlab.training`` (the
run config), so that neither imports the other to validate a section. A field's range
lives in its metadata (``field(default=..., metadata=field_range(0, 1))``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Literal

from latentlab._validation import check_int

__all__ = ["field_range", "validate_section"]

# the largest float32: a larger setting (train.lr=1e39) overflows inside the optimizer
_FLOAT32_MAX = 3.4028234663852886e38


def field_range(lo=None, hi=None, *, lo_open=False) -> dict:
    """Metadata of a numeric field: ``lo <= value <= hi`` (``lo < value`` with ``lo_open``)."""
    return {"min": lo, "max": hi, "lo_open": lo_open}


def _check_value(section: str, f: dataclasses.Field, value, tp):
    where = f"{section}.{f.name}"
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ValueError(f"{where} = {value!r} is not allowed; choose one of: {', '.join(map(repr, allowed))}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _check_value(section, f, value, non_none[0])
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, not {value!r}")
        return value
    if tp is int:
        check_int(value, where)
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where} must be a number, not {value!r}")
        value = float(value)
        if not abs(value) <= _FLOAT32_MAX:  # also refuses nan and inf
            raise ValueError(f"{where} = {value!r} is not a number models can train with; it must be finite and "
                             f"at most {_FLOAT32_MAX:.3g} in size (float32)")
    elif tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, not {value!r}")
    elif tp in (list, tuple) or origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list, not {value!r}")
        value = list(value)
    elif tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a table of key = value pairs, not {value!r}")
    meta = f.metadata
    if meta and isinstance(value, (int, float)):
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
            bound = f"> {lo}" if meta.get("lo_open") else f">= {lo}"
            raise ValueError(f"{where} = {value!r} is out of range; it must be {bound}" + (f" and <= {hi}" if hi is not None else ""))
        if hi is not None and value > hi:
            raise ValueError(f"{where} = {value!r} is out of range; it must be <= {hi}")
    return value


def validate_section(cls, values: dict, section: str):
    """Build dataclass ``cls`` from ``values``, checking every field; unknown keys are errors."""
    if not isinstance(values, dict):
        raise ValueError(f"[{section}] must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in values if k not in fields]
    if unknown:
        raise ValueError(f"unknown field {section}.{unknown[0]}; [{section}] accepts: {', '.join(fields)}")
    checked = {k: _check_value(section, fields[k], v, hints[k]) for k, v in values.items()}
    obj = cls(**checked)
    check = getattr(obj, "validate", None)
    if check is not None:
        check()
    return obj
