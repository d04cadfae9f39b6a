"""The gettext catalogs: complete in both languages, every key the code uses exists,
every translation keeps the parameters of its French original."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dialogs.geo.places import region_codes
from dialogs.kernel.i18n import catalog_keys
from dialogs.kernel.options import CASE_STATUSES, HELP_KINDS, ROLES, THEMES, URGENCIES

ROOT = Path(__file__).resolve().parents[2]
PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
LITERAL_KEY = re.compile(r"""\bmsg\(\s*["']([a-z_.0-9]+)["']""")


@pytest.fixture(scope="module")
def french() -> dict[str, str]:
    return catalog_keys("fr")


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return catalog_keys("en")


def test_both_catalogs_have_the_same_keys(french: dict[str, str], english: dict[str, str]) -> None:
    assert set(french) == set(english)


def test_no_empty_translation(french: dict[str, str], english: dict[str, str]) -> None:
    assert [k for k, v in french.items() if not v.strip()] == []
    assert [k for k, v in english.items() if not v.strip()] == []


def test_translations_keep_parameters(french: dict[str, str], english: dict[str, str]) -> None:
    for key, text in french.items():
        assert set(PARAM.findall(text)) == set(PARAM.findall(english[key])), key


def test_every_literal_key_in_code_exists(french: dict[str, str]) -> None:
    missing: list[str] = []
    for package in ("dialogs", "bot", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            for key in LITERAL_KEY.findall(path.read_text(encoding="utf-8")):
                if key not in french:
                    missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


@pytest.mark.parametrize(
    ("prefix", "ids"),
    [
        ("theme", THEMES),
        ("words.theme", THEMES),
        ("role", ROLES),
        ("words.role", ROLES),
        ("help", HELP_KINDS),
        ("words.help", HELP_KINDS),
        ("urgency", URGENCIES),
        ("words.urgency", URGENCIES),
        ("status", CASE_STATUSES),
        ("region", region_codes()),
    ],
)
def test_option_families_are_complete(
    french: dict[str, str], prefix: str, ids: tuple[str, ...]
) -> None:
    assert [i for i in ids if f"{prefix}.{i}" not in french] == []


def test_french_typography(french: dict[str, str]) -> None:
    """A no-break space before high punctuation, as French readers expect."""
    offenders = [
        key
        for key, text in french.items()
        if not key.startswith("words.") and re.search(r" [:;!?](\s|$)", text)
    ]
    assert offenders == []
