"""Durations: parse '30s', '5m', '1h30m', '2d' or plain seconds, and format seconds back for people.

Specs write periods and timeouts as durations; the normalized model stores
integer seconds. ``parse_duration`` returns ``None`` for anything it cannot
read, so a caller reports the problem (E505) instead of catching an exception.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

# Units in the only order they may appear ("1h30m", never "30m1h"), in milliseconds.
_UNITS: tuple[tuple[str, int], ...] = (
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
)
_UNIT_MS = dict(_UNITS)
_UNIT_RANK = {unit: rank for rank, (unit, _) in enumerate(_UNITS)}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MAX_SECONDS = 10 * 366 * 86_400  # ten years: anything longer is a typo, not a period

UNITS_HELP = "use a number of seconds or a duration such as 30s, 5m, 1h30m or 2d"


def parse_duration(value: str | int | float) -> int | None:
    """Seconds in ``value``, rounded up to a whole second; ``None`` if it is not a duration.

    Accepts a non-negative number of seconds (``30``, ``"30"``) or a sequence of
    ``<number><unit>`` parts with units ``w d h m s ms`` in decreasing order,
    each at most once (``"1h30m"``, ``"250ms"`` -> 1, ``"1.5h"`` -> 5400).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= _MAX_SECONDS else None
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            return None
        return _bounded(math.ceil(value))
    if not isinstance(value, str):
        return None
    return _parse_text(value)


@functools.lru_cache(maxsize=1024)
def _parse_text(value: str) -> int | None:
    """``parse_duration`` of a string: specs repeat a few ("30s", "5m") thousands of times."""
    text = value.strip().lower()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return _bounded(math.ceil(Fraction(text)))
    total_ms = Fraction(0)
    last_rank = -1
    pos = 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            return None
        number, unit = match.groups()
        rank = _UNIT_RANK[unit]
        if rank <= last_rank:
            return None  # units repeated or out of order: "30m1h", "1m1m"
        last_rank = rank
        total_ms += Fraction(number) * _UNIT_MS[unit]
        pos = match.end()
    return _bounded(math.ceil(total_ms / 1000))


def _bounded(seconds: int) -> int | None:
    return seconds if 0 <= seconds <= _MAX_SECONDS else None


def format_duration(seconds: int | float) -> str:
    """Seconds as a compact duration: 0 -> '0s', 90 -> '1m30s', 5400 -> '1h30m', 93784 -> '1d2h3m4s'.

    Floats are rounded to the nearest second; negative values get a leading '-'.
    ``parse_duration(format_duration(n)) == n`` for every int ``n`` from 0 to ten years.
    """
    total = round(seconds)
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    rest = abs(total)
    parts: list[str] = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
