"""Gettext catalogs: every user-facing text lives in `dialogs/kernel/locale/*/aiguillage.po`.

Message ids are stable keys (``intake.lieu_name.ask``), so French and English
are both translations and the code holds no sentence in either language. The
.po files are compiled in memory at first use (Babel), which spares operators a
build step and keeps the .po the single source.
"""

from __future__ import annotations

import gettext
import io
from functools import cache, lru_cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from dialogs.kernel.textnorm import fold

DOMAIN = "aiguillage"
LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"


@cache
def translations(locale: str) -> gettext.GNUTranslations:
    path = resources.files("dialogs.kernel") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def supported(locale: str | None) -> str:
    """Map a client language code (``en-GB``, ``fr``, None) to a catalog we have."""
    if locale:
        short = locale.split("-")[0].split("_")[0].lower()
        if short in LOCALES:
            return short
    return DEFAULT_LOCALE


# The catalogs never change once loaded (`translations` is cached), so neither do
# their answers; a rendered reply asks for a dozen of them.
@lru_cache(maxsize=8192)
def translate(locale: str, key: str) -> str:
    text = translations(supported(locale)).gettext(key)
    if text == key and locale != DEFAULT_LOCALE:
        text = translations(DEFAULT_LOCALE).gettext(key)
    return text


@cache
def words(key: str) -> frozenset[str]:
    """Folded words or phrases a person may type for an option, in any language we
    speak: the catalog entry ``words.*`` is a comma-separated list."""
    found: set[str] = set()
    for locale in LOCALES:
        text = translations(locale).gettext(key)
        if text != key:
            found.update(w for w in (fold(part) for part in text.split(",")) if w)
    return frozenset(found)


def catalog_keys(locale: str) -> dict[str, str]:
    path = resources.files("dialogs.kernel") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    return {str(m.id): str(m.string) for m in catalog if m.id}
