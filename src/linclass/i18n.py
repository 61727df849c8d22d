"""The learners' languages: English, Russian, Vietnamese and Chinese, through the standard ``gettext``.

The teaching displays (``explain``, ``exercise``, the demo page) write every
sentence as ``_("... {name} ...").format(name=value)``: the English text is the
message id, the catalogues ``locale/<lang>/LC_MESSAGES/linclass.po`` hold the
translations, and numbers and formulas are filled in after translation, so they
are the same in every language. The compiled ``.mo`` files are committed beside
their ``.po`` sources; ``python -m linclass.catalogues`` re-extracts the
messages, updates the ``.po`` files and compiles them (tests/test_i18n.py fails
while a ``.mo`` is stale or a message lacks a translation).

The library speaks English unless told otherwise; a command that has ``--lang``
resolves it with :func:`resolve` (the flag, else ``$LINCLASS_LANG``, else the
locale's ``LANGUAGE`` / ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``, else English)
and runs inside :func:`language`.
"""

from __future__ import annotations

import gettext
import os
from contextlib import contextmanager
from pathlib import Path

from .errors import ParameterError

LANGUAGES = ("en", "ru", "vi", "zh")
"""English (the messages as written), Russian, Vietnamese, Chinese."""
DOMAIN = "linclass"
LOCALE_DIR = Path(__file__).with_name("locale")
ENV = "LINCLASS_LANG"
LOCALE_ENV = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
"""Where gettext itself looks for the user's language, in its order."""

_current: gettext.NullTranslations = gettext.NullTranslations()
_current_code = "en"


def _code(name: str) -> str:
    """``"ru_RU.UTF-8"`` → ``"ru"``, ``"zh-CN"`` → ``"zh"``."""
    return name.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()


def resolve(lang: str | None = None) -> str:
    """The language to speak: ``lang``, else ``$LINCLASS_LANG``, else the locale's first known one, else ``"en"``."""
    if lang:
        return _checked(lang, "--lang")
    if os.environ.get(ENV):
        return _checked(os.environ[ENV], ENV)
    for variable in LOCALE_ENV:
        for name in os.environ.get(variable, "").split(":"):
            if _code(name) in LANGUAGES:
                return _code(name)
    return "en"


def _checked(name: str, source: str) -> str:
    code = _code(name)
    if code not in LANGUAGES:
        raise ParameterError(f"{source} must be one of {', '.join(LANGUAGES)}, got {name!r}.")
    return code


def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English: none, the messages are English)."""
    if lang == "en":
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    except OSError:
        raise ParameterError(f"the {lang} catalogue is missing from {LOCALE_DIR}; reinstall linclass, or "
                             "use --lang en.") from None


@contextmanager
def language(lang: str | None):
    """Speak ``lang`` (resolved by :func:`resolve`) inside the block, then the language before."""
    global _current, _current_code
    code = resolve(lang)
    before = _current, _current_code
    _current, _current_code = translations(code), code
    try:
        yield
    finally:
        _current, _current_code = before


def current() -> str:
    """The language spoken now (``"en"`` outside :func:`language`)."""
    return _current_code


def _(message: str) -> str:
    """``message`` in the current language."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues without translating it yet (a constant, translated where used)."""
    return message
