"""Keep the message catalogues in step with the code (a maintainer's tool; needs Babel, the ``test`` extra).

``python -m linclass.catalogues`` extracts every ``_()`` / ``N_()`` message of
the package, updates ``locale/<lang>/LC_MESSAGES/linclass.po`` for each
language (new messages arrive untranslated, removed ones leave) and compiles
each ``.po`` to its ``.mo``, which are committed: an editable install and a
plain ``PYTHONPATH=src`` checkout read them as they are, with no build step.
``--check`` changes nothing and lists what is out of step (exit 1): a message
not in a catalogue, a translation missing or fuzzy, a ``{placeholder}`` that a
translation drops or adds, a ``.mo`` that differs from its ``.po``.
"""

from __future__ import annotations

import argparse
import gettext
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from .i18n import DOMAIN, LANGUAGES, LOCALE_DIR
from .persist import atomic_write

PACKAGE = Path(__file__).resolve().parent
HEADER = ("# linclass's messages in {lang}: `python -m linclass.catalogues` keeps this file in step with the code\n"
          "# and compiles it to linclass.mo beside it. Numbers and formulas are filled in after translation:\n"
          "# keep every {{placeholder}} and write no digits of your own.")
PLACEHOLDER = re.compile(r"\{[a-z_0-9]*\}")


def extract() -> Catalog:
    """Every message the package marks with ``_()`` or ``N_()``."""
    template = Catalog(domain=DOMAIN)
    for filename, lineno, message, _comments, _context in extract_from_dir(
            PACKAGE, method_map=[("**.py", "python")], keywords={"_": None, "N_": None}):
        template.add(message, locations=[(filename, lineno)])
    return template


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def translated(catalog: Catalog) -> dict[str, str]:
    """``{message: translation}`` of a catalogue's usable entries (translated, not fuzzy)."""
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def problems(template: Catalog, lang: str) -> list[str]:
    """What is out of step between the code, ``lang``'s ``.po`` and its ``.mo``."""
    catalog = read(lang)
    done = translated(catalog)
    found = [f"{lang}: not translated: {m.id!r}" for m in template if m.id and m.id not in done]
    found += [f"{lang}: no longer in the code: {key!r}" for key in done if key not in template]
    found += [f"{lang}: placeholders differ: {key!r}" for key, text in done.items()
              if sorted(PLACEHOLDER.findall(key)) != sorted(PLACEHOLDER.findall(text))]
    with open(po_path(lang).with_suffix(".mo"), "rb") as f:
        compiled = {k: v for k, v in gettext.GNUTranslations(f)._catalog.items() if k}
    if compiled != done:
        found.append(f"{lang}: {po_path(lang).with_suffix('.mo')} is stale: run python -m linclass.catalogues")
    return found


def update(template: Catalog, lang: str) -> None:
    """Bring ``lang``'s ``.po`` in step with ``template``, then compile its ``.mo``."""
    path = po_path(lang)
    catalog = read(lang) if path.exists() else Catalog(locale=lang, domain=DOMAIN)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.creation_date = created  # no date churn: the file changes only when its messages do
    catalog.project, catalog.version, catalog.fuzzy = "linclass", "", False
    catalog.header_comment = HEADER.format(lang=lang)
    atomic_write(path, lambda f: write_po(f, catalog, width=0, no_location=True, sort_output=True))
    atomic_write(path.with_suffix(".mo"), lambda f: write_mo(f, catalog))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linclass.catalogues", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; list what is out of step")
    args = parser.parse_args(argv)
    template = extract()
    if args.check:
        found = [p for lang in LANGUAGES if lang != "en" for p in problems(template, lang)]
        print("\n".join(found) or f"{len(template)} messages, all translated and compiled.")
        return 1 if found else 0
    for lang in LANGUAGES:
        if lang != "en":
            update(template, lang)
    print(f"{len(template)} messages; updated {', '.join(str(po_path(x)) for x in LANGUAGES if x != 'en')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
