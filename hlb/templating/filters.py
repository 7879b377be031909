"""hlb's own template filters: ``datetime``, ``duration``, ``bytes`` and ``percent``, added to Jinja's."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from hlb.compiler.durations import format_duration, parse_duration

_DISCORD_STYLES = frozenset("tTdDfFR")  # <t:epoch:STYLE> timestamp styles


def _number(value: Any, filter_name: str) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{filter_name}: {value!r} is not a number")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                return _to_datetime(datetime.fromisoformat(text))
            except ValueError:
                pass
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value / 1000 if abs(value) > 1e11 else value  # JavaScript-style milliseconds
        return datetime.fromtimestamp(seconds, UTC)
    raise ValueError(f"datetime: cannot read {value!r} as a time; pass a datetime, epoch seconds or ISO 8601")


def filter_datetime(value: Any, format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A time in UTC with ``strftime`` ``format``; a single Discord style letter
    (``t T d D f F R``) gives Discord's ``<t:epoch:R>`` markup, shown in each reader's zone."""
    moment = _to_datetime(value)
    if format in _DISCORD_STYLES:
        return f"<t:{int(moment.timestamp())}:{format}>"
    return moment.strftime(format)


def filter_duration(value: Any) -> str:
    """Seconds (or a duration string) as '1h30m'."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        seconds = parse_duration(value)
        if seconds is None:
            raise ValueError(f"duration: {value!r} is not a duration")
        return format_duration(seconds)
    return format_duration(_number(value, "duration"))


def filter_bytes(value: Any, binary: bool = True, digits: int = 1) -> str:
    """A size in bytes for people: 1536 -> '1.5 KiB' (``binary=false``: 1500 -> '1.5 kB')."""
    size = _number(value, "bytes")
    base = 1024.0 if binary else 1000.0
    units = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB") if binary else ("kB", "MB", "GB", "TB", "PB", "EB")
    if abs(size) < base:
        return f"{int(size)} B" if size.is_integer() else f"{size:.{digits}f} B"
    rank = 0
    size /= base
    while abs(size) >= base and rank < len(units) - 1:
        size /= base
        rank += 1
    return f"{size:.{digits}f} {units[rank]}"


def filter_percent(value: Any, total: Any = None, digits: int = 1) -> str:
    """A ratio as a percentage: 0.423 -> '42.3%'; with ``total``, ``value / total``."""
    ratio = _number(value, "percent")
    if total is not None:
        whole = _number(total, "percent")
        if whole == 0:
            raise ValueError("percent: total is 0")
        ratio /= whole
    return f"{ratio * 100:.{digits}f}%"


FILTERS = {
    "datetime": filter_datetime,
    "duration": filter_duration,
    "bytes": filter_bytes,
    "percent": filter_percent,
}
