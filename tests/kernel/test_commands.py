"""The one command grammar (dialogs/kernel/commands.py) with the three
vocabularies declared on it: names in both languages for every role, the
place's order, refusals, absurd lengths, and the help each role reads —
generated from the specs, so exactly what that role may type."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dialogs.assignment.commands import COMMANDS as DESK
from dialogs.assignment.desk import aiguilleur_help
from dialogs.coordination.commands import COMMANDS as COORDINATION
from dialogs.coordination.commands import DAYS, FILTERS, Filters
from dialogs.coordination.commands import help_text as coordination_help
from dialogs.intake.commands import COMMANDS as PERSON
from dialogs.intake.commands import INTAKE
from dialogs.intake.commands import help_text as person_help
from dialogs.kernel.commands import (
    MAX_TEXT,
    MAX_WORD,
    Domain,
    Misused,
    Parsed,
    Role,
    Spec,
    Unknown,
    Vocabulary,
    allowed,
    command,
    line,
    misused_lines,
    parse,
    parse_command,
    usage,
)
from dialogs.kernel.render import render_msg
from dialogs.privacy.commands import COMMANDS as PRIVACY

# Each role's own vocabulary and prefix, and a command of theirs typed in French
# and in English (with what it needs).
ROLES = [
    ("person", PERSON, "/", "mesdonnees", "mydata", ""),
    ("aiguilleur", DESK, "!", "accepter", "accept", " AIG-0042"),
    ("coordinator", COORDINATION, "/", "dossiers", "cases", " clos bretagne"),
    ("coordinator", COORDINATION, "!", "aiguilleur pause", "guide pause", " camille-durand"),
]


@pytest.mark.parametrize(("role", "vocabulary", "prefix", "fr", "en", "args"), ROLES)
def test_a_command_in_each_language_for_each_role(
    role: str, vocabulary: Vocabulary, prefix: str, fr: str, en: str, args: str
) -> None:
    french = parse(f"{prefix}{fr}{args}", prefix, vocabulary)
    english = parse(f"{prefix}{en}{args}", prefix, vocabulary)
    assert isinstance(french, Parsed), role
    assert english == french
    assert french.spec.words == fr and french.spec.words_en == en


def test_names_are_read_without_case_accents_or_bot_name() -> None:
    assert parse_command("Réassigner", "42 camille", COORDINATION) == parse_command(
        "REASSIGNER", "AIG-0042 camille", COORDINATION
    )
    aide = parse_command("aide@aiguillage_bot", "", PERSON)
    assert isinstance(aide, Parsed) and aide.name == "aide"
    assert parse("!ACCEPTER aig-42", "!", DESK) == parse("!accepter 42", "!", DESK)
    capacity = parse("!aiguilleur capacité camille 3", "!", COORDINATION)
    assert isinstance(capacity, Parsed) and capacity.name == "aiguilleur.capacite"
    assert capacity.slug == "camille" and capacity.number == 3


def test_the_place_gives_the_order() -> None:
    """``dossier`` is the desk's in an aiguilleur's room, the coordination's in theirs."""
    desk_first = parse("!dossier 42", "!", DESK, COORDINATION)
    coordination_first = parse("!dossier 42", "!", COORDINATION, DESK)
    assert isinstance(desk_first, Parsed) and desk_first.domain == Domain.DESK
    assert isinstance(coordination_first, Parsed)
    assert coordination_first.domain == Domain.COORDINATION
    # ``aide`` is the desk's help in an aiguilleur's room, the coordination's elsewhere.
    assert parse("!aide", "!", DESK, COORDINATION) == parse("!help", "!", DESK)
    help_first = parse("!aide", "!", COORDINATION, DESK)
    assert isinstance(help_first, Parsed) and help_first.name == "admin"
    # ``/admin aide`` is the coordination's help too.
    admin_aide = parse_command("admin", "aide", PERSON, COORDINATION)
    assert isinstance(admin_aide, Parsed) and admin_aide.name == "admin"


def test_not_a_command_unknown_and_misused() -> None:
    assert parse("bonjour !accepter", "!", DESK) is None
    assert parse("!", "!", DESK) is None
    assert parse("! accepter", "!", DESK) is None
    assert parse("!licorne", "!", DESK, COORDINATION) == Unknown(word="licorne")
    assert parse("!accepter", "!", DESK) == Misused(spec=DESK["accepter"], word="accepter")
    assert parse("/aiguilleur", "/", COORDINATION) == Misused(
        spec=COORDINATION["aiguilleur"], word="aiguilleur"
    )
    # A sub-command after the case, its own argument type (days).
    later = parse("/relances AIG-0042 reporter 2sem", "/", COORDINATION)
    assert isinstance(later, Parsed) and later.get(DAYS) == 14 and later.ref == "AIG-0042"
    listing = parse("/dossiers attribue gestion BRE page 2", "/", COORDINATION)
    assert isinstance(listing, Parsed)
    assert listing.get(FILTERS) == Filters(status="attribue", theme="gestion", region="BRE", page=2)
    # A person's trailing words are theirs to ignore, not refused.
    assert isinstance(parse_command("aide", "merci beaucoup", PERSON), Parsed)


def test_absurd_lengths_are_refused_politely() -> None:
    long_name = parse("!" + "x" * 10_000, "!", DESK, COORDINATION)
    assert long_name == Unknown(word="x" * MAX_WORD)
    note = parse(f"!note AIG-0042 {'mot ' * 2000}", "!", DESK)
    assert isinstance(note, Misused) and note.length == len(("mot " * 2000).strip())
    assert note.maximum == MAX_TEXT
    announce = parse_command("annonce", "x" * (MAX_TEXT + 1), COORDINATION)
    assert isinstance(announce, Misused) and announce.length == MAX_TEXT + 1
    fits = parse_command("annonce", "x" * MAX_TEXT, COORDINATION)
    assert isinstance(fits, Parsed) and fits.text == "x" * MAX_TEXT
    for locale in ("fr", "en"):
        said = render_msg(locale, misused_lines(note, "!")[0])
        assert str(MAX_TEXT) in said and str(note.length) in said


def test_one_word_names_one_command_per_vocabulary() -> None:
    spec = command("un", Domain.DESK, en="one")
    with pytest.raises(ValueError, match="names both"):
        Vocabulary(spec, command("deux", Domain.DESK, aliases=("one",)))


def typed_rows(vocabulary: Vocabulary, keep: Callable[[Spec], bool]) -> list[Spec]:
    return [row for spec in vocabulary for row in spec.rows if row.listed and keep(row)]


def test_person_help_lists_exactly_what_anyone_may_type() -> None:
    lines = [m for m in person_help() if m.key == "command.line"]
    expected = [
        *typed_rows(INTAKE, lambda s: True),
        *typed_rows(PRIVACY, lambda s: True),
        *typed_rows(COORDINATION, lambda s: allowed(s, Role.ANYONE)),
    ]
    assert lines == [line(spec, "/") for spec in expected]
    assert [s.name for s in expected[-2:]] == ["inscription", "admin"]
    for locale, words in (
        ("fr", ("/aide", "/mesdonnees", "/inscription")),
        ("en", ("/help", "/mydata", "/signup")),
    ):
        text = "\n".join(render_msg(locale, m) for m in person_help())
        assert all(w in text for w in words), locale
        assert "/start" not in text and "!accepter" not in text and "/dossiers" not in text


def test_aiguilleur_help_lists_exactly_the_aiguilleurs_commands() -> None:
    lines = [m for m in aiguilleur_help() if m.key == "command.line"]
    expected = [*DESK, COORDINATION["intervention"]]
    assert lines == [line(spec, "!") for spec in expected]
    text = "\n".join(render_msg("en", m) for m in aiguilleur_help())
    assert "!accept AIG-0042" in text and "!intervention AIG-0042" in text
    assert "!cases" not in text and "!assign" not in text


@pytest.mark.parametrize("role", list(Role))
def test_coordination_help_lists_exactly_what_the_role_may_type(role: Role) -> None:
    lines = [m for m in coordination_help(role, "!") if m.key == "command.line"]
    expected = typed_rows(COORDINATION, lambda s: allowed(s, role))
    assert lines == [line(spec, "!") for spec in expected]
    names = {s.name for s in expected}
    if role == Role.COORDINATOR:
        assert names == {row.name for spec in COORDINATION for row in spec.rows}
        assert {"dossiers", "aiguilleur.pause", "intervention", "inscription.valider"} <= names
    elif role == Role.AIGUILLEUR:
        assert names == {"intervention", "inscription", "admin"}
    else:
        assert names == {"inscription", "admin"}


def test_usage_shows_the_name_in_the_readers_language() -> None:
    spec = COORDINATION["aiguilleur.capacite"]
    assert render_msg("fr", usage(spec, "/")) == (
        "<code>/aiguilleur capacite &lt;identifiant&gt; &lt;nombre&gt;</code>"
    )
    assert (
        render_msg("en", usage(spec, "/"))
        == "<code>/guide capacity &lt;id&gt; &lt;number&gt;</code>"
    )
    # Every English name shown is one the parser reads.
    for vocabulary, prefix in ((PERSON, "/"), (DESK, "!"), (COORDINATION, "/")):
        for spec in vocabulary:
            for row in spec.rows:
                found = parse(f"{prefix}{row.words_en}", prefix, vocabulary)
                assert isinstance(found, Parsed | Misused) and found.spec is row, row.name
