"""The one number formatter of the teaching displays (``explain``, ``exercise``).

Every number the lecture's worked examples print goes through here, so they all
look alike: a typographic minus ``−`` (U+2212) everywhere, exponents included
(``3.4e−48``, never ``4.2e-08``), no negative zero (``−0.000`` prints ``0.000``),
and scientific notation beyond :data:`SCIENTIFIC_FROM` (``1e6``, ``−1e308``),
never a 309-digit integer.
"""

from __future__ import annotations

import math
import re

MINUS = "−"
SCIENTIFIC_FROM = 1e6
"""Magnitudes from here on are written ``m e k`` (``2.5e6``)."""
_EXPONENT = re.compile(r"e([+-])0*(\d)")


def _clean(text: str) -> str:
    """Typographic minus, ``e+06`` → ``e6``, ``e-08`` → ``e−8``, and no minus before a zero."""
    text = _EXPONENT.sub(lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)
    mantissa = text.split("e")[0]
    if text.startswith("-") and not any(c in "123456789" for c in mantissa):
        text = text[1:]
    return text.replace("-", MINUS)


def _special(x: float) -> str | None:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else f"{MINUS}∞"
    return None


def sci(x: float, significant: int = 2) -> str:
    """``x`` with ``significant`` digits in scientific notation, trailing zeros dropped: ``3.4e−48``, ``1e6``."""
    x = float(x)
    if (text := _special(x)) is not None:
        return text
    mantissa, exponent = f"{x:.{max(significant, 1) - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return _clean(f"{mantissa}e{exponent}")


def num(x: float, digits: int = 2) -> str:
    """A number as the slides write it: rounded to ``digits`` decimals, no trailing zeros (``2.9``, ``−1.7``)."""
    x = float(x)
    if (text := _special(x)) is not None:
        return text
    if abs(x) >= SCIENTIFIC_FROM:
        return sci(x, digits + 1)
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _clean(text)


def score(x: float, digits: int = 2) -> str:
    """A score as the slides write it: at least one decimal (``2.0``, ``−1.7``; ``1e6`` when huge)."""
    text = num(x, digits)
    return text if "." in text or "e" in text or not text[-1].isdigit() else f"{text}.0"


def small(x: float, digits: int = 2) -> str:
    """``digits`` decimals, or two significant digits for values too small to show that way (``3.4e−48``)."""
    x = float(x)
    return num(x, digits) if x == 0 or not math.isfinite(x) or abs(x) >= 0.5 * 10 ** -digits else sci(x, 2)


def general(x: float, significant: int = 3, *, sign: bool = False) -> str:
    """``x`` with ``significant`` digits, fixed or scientific as fits (``0.00092``, ``4.2e−8``); ``sign``: ``+`` too."""
    x = float(x)
    if (text := _special(x)) is not None:
        return text
    return _clean(format(x, f"{'+' if sign else ''}.{significant}g"))


def fixed(x: float, spec: str) -> str:
    """``format(x, spec)`` (any width, precision, ``e``/``f``/``g``) with the typographic minus and no ``−0``."""
    x = float(x)
    special = _special(x)
    if special is not None:
        width = re.match(r"[<>^]?(\d*)", spec.lstrip("+")).group(1)
        return special.rjust(int(width) if width else 0)
    text = format(x, spec)
    body = text.strip()
    cleaned = text.replace(body, _clean(body))
    if text.startswith(" "):
        return cleaned.rjust(len(text))
    return cleaned.ljust(len(text)) if text.endswith(" ") else cleaned


def vector(values, digits: int = 2) -> str:
    """``[1, −0.5, 2.1]``: a list written with :func:`num`."""
    return "[" + ", ".join(num(v, digits) for v in values) + "]"
