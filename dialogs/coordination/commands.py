"""The coordinators' commands, declared with the kernel's grammar
(`dialogs.kernel.commands`): the same table reads ``/dossiers clos bretagne`` on
Telegram and ``!dossiers clos bretagne`` on Matrix, says who may type each
command, and gives the French and English help.

A command may have sub-commands (``aiguilleur pause camille-durand``); each row
gives its arguments, its English name and aliases, and the least role it needs.
Summaries are catalog keys ``admin.help.<name>`` (dots for sub-commands). The
arguments only coordination reads (filters, period, régions, duration,
funding) are declared here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from dialogs.geo.places import region_codes, region_name
from dialogs.kernel.commands import (
    IDENT,
    NAME,
    NUMBER,
    REASON,
    REF,
    SLUG,
    TEXT,
    Arg,
    Domain,
    Role,
    Spec,
    Vocabulary,
    help_lines,
    one_word,
    sub,
)
from dialogs.kernel.commands import command as declared
from dialogs.kernel.options import CASE_STATUSES, THEMES
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.textnorm import fold

T = TypeVar("T")
_DURATION = re.compile(r"^(?:(\d{1,3})(?:[.,](\d{1,2}))?\s*h)?\s*(?:(\d{1,4})\s*(?:min|mn|m)?)?$")
_PAGE = re.compile(r"^(?:p|page)?(\d{1,4})$")

FUNDINGS = ("autofinancement", "subvention", "salarie", "contributif")
FUNDING_WORDS = {
    "autofinancement": "autofinancement",
    "auto": "autofinancement",
    "self": "autofinancement",
    "subvention": "subvention",
    "grant": "subvention",
    "salarie": "salarie",
    "temps-salarie": "salarie",
    "salaried": "salarie",
    "contributif": "contributif",
    "budget-contributif": "contributif",
    "contributive": "contributif",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    status: str | None = None
    theme: str | None = None
    region: str | None = None
    page: int = 1


def minutes(word: str) -> int | None:
    """``1h30`` → 90, ``1,5h`` → 90, ``90min`` → 90, ``45`` → 45; at most 24 h."""
    found = _DURATION.match(fold(word).replace(" ", ""))
    if not found or not any(found.groups()):
        return None
    hours, fraction, mins = found.groups()
    total = 0
    if hours is not None:
        total += int(hours) * 60
        if fraction is not None:
            total += round(int(fraction) * 60 / (10 ** len(fraction)))
    if mins is not None:
        total += int(mins)
    return total if 0 < total <= 24 * 60 else None


def days(word: str) -> int | None:
    """Postponement in days: ``7``, ``7j``, ``7d``, ``2sem``, ``2w``."""
    found = re.match(r"^(\d{1,3})\s*(j|d|jours?|days?|sem|w|semaines?|weeks?)?$", fold(word))
    if not found:
        return None
    count = int(found.group(1))
    unit = found.group(2) or "j"
    total = count * 7 if unit[0] in "sw" else count
    return total if 0 < total <= 365 else None


def status_of(word: str) -> str | None:
    folded = fold(word).replace("-", "_").replace(" ", "_")
    if folded in CASE_STATUSES:
        return folded
    aliases = {"attente": "en_attente", "ouvert": "nouveau", "verifie": "action_verifiee"}
    return aliases.get(folded)


def theme_of(word: str) -> str | None:
    folded = fold(word)
    return folded if folded in THEMES else None


def _region_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for code in region_codes():
        keys[fold(code)] = code
        keys[fold(region_name(code)).replace(" ", "-")] = code
    keys["idf"] = "IDF"
    keys["paca"] = "PAC"
    return keys


_REGIONS: dict[str, str] = {}


def region_of(word: str) -> str | None:
    if not _REGIONS:
        _REGIONS.update(_region_keys())
    return _REGIONS.get(fold(word).replace(" ", "-"))


def iso_date(word: str) -> date | None:
    try:
        return date.fromisoformat(word.strip())
    except ValueError:
        return None


# -- arguments -------------------------------------------------------------------


def _filters(rest: str) -> Filters | None:
    found: dict[str, object] = {}
    words = rest.split()
    index = 0
    while index < len(words):
        word = words[index]
        if fold(word) == "page" and index + 1 < len(words) and words[index + 1].isdigit():
            word = "p" + words[index + 1]
            index += 1
        index += 1
        page = _PAGE.match(fold(word))
        if page and "page" not in found:
            found["page"] = max(1, int(page.group(1)))
            continue
        for key, reader in (("status", status_of), ("theme", theme_of), ("region", region_of)):
            value = reader(word)
            if value is not None and key not in found:
                found[key] = value
                break
        else:
            return None
    return Filters(**found)  # type: ignore[arg-type]  # `found`: each filter read, by field name


def _period(rest: str) -> tuple[date | None, date | None] | None:
    words = rest.split()
    if len(words) > 2:
        return None
    dates = [iso_date(w) for w in words]
    if any(d is None for d in dates):
        return None
    start = dates[0] if dates else None
    end = dates[1] if len(dates) > 1 else None
    if start is not None and end is not None and end < start:
        return None
    return (start, end)


def _regions(rest: str) -> tuple[str, ...] | None:
    codes: list[str] = []
    for word in rest.replace(",", " ").split():
        code = region_of(word)
        if code is None:
            return None
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _whole(read: Callable[[str], T | None]) -> Callable[[str], tuple[T, str] | None]:
    """A reader of the whole rest of the line (filters, a period, régions)."""

    def whole(rest: str) -> tuple[T, str] | None:
        value = read(rest)
        return None if value is None else (value, "")

    return whole


FILTERS: Arg[Filters] = Arg("filters", "filters", _whole(_filters))
PERIOD: Arg[tuple[date | None, date | None]] = Arg("period", "period", _whole(_period))
REGIONS: Arg[tuple[str, ...]] = Arg("regions", "regions", _whole(_regions))
DURATION: Arg[int] = Arg("duration", "minutes", one_word(minutes))
# Postponement of nudges, in days (``7j``, ``2sem``): shown as a duration.
DAYS: Arg[int] = Arg("duration", "days", one_word(days))
FUNDING: Arg[str] = Arg("funding", "funding", one_word(lambda w: FUNDING_WORDS.get(fold(w))))


def command(name: str, *args: Arg[Any], **rest: Any) -> Spec:
    return declared(name, Domain.COORDINATION, *args, **rest)


COMMANDS = Vocabulary(
    command("dossiers", FILTERS, en="cases"),
    command("dossier", REF, en="case"),
    command("assigner", REF, SLUG, en="assign"),
    command("reassigner", REF, SLUG, en="reassign", aliases=("réassigner",)),
    command("clore", REF, REASON, en="close"),
    command("rouvrir", REF, en="reopen"),
    command("repondre", REF, TEXT, en="reply", aliases=("répondre",)),
    command(
        "relances",
        REF,
        en="nudges",
        subs=(sub("reporter", REF, DAYS, en="postpone"), sub("annuler", REF, en="cancel")),
    ),
    command("aiguilleurs", FILTERS, en="guides"),
    command(
        "aiguilleur",
        en="guide",
        subs=(
            sub("ajouter", IDENT, NAME, en="add"),
            sub("pause", SLUG),
            sub("reprendre", SLUG, en="resume"),
            sub("capacite", SLUG, NUMBER, en="capacity", aliases=("capacité",)),
            sub("formation", SLUG, en="trained"),
        ),
    ),
    command("ressources", FILTERS, en="resources"),
    command(
        "ressource",
        en="resource",
        subs=(sub("ajouter", TEXT, en="add"), sub("retirer", SLUG, en="remove")),
    ),
    command("annonce", TEXT, en="announce"),
    command("stats"),
    command("rapport", PERIOD, en="report"),
    command("inscriptions", en="signups"),
    command(
        "inscription",
        en="signup",
        role=Role.ANYONE,
        bare=True,
        subs=(sub("valider", NUMBER, en="approve"), sub("refuser", NUMBER, REASON, en="reject")),
    ),
    command("coordinateurs", en="coordinators"),
    command(
        "coordinateur",
        en="coordinator",
        subs=(sub("ajouter", IDENT, REGIONS, en="add"), sub("retirer", IDENT, en="remove")),
    ),
    command("intervention", REF, DURATION, FUNDING, REASON, role=Role.AIGUILLEUR),
    # The coordination's help; ``aide`` names it where coordination comes first
    # (the coordinators' room, a coordinator who is no aiguilleur). Words after
    # it change nothing: ``/admin aide`` is the same help.
    command("admin", aliases=("coordination", "aide", "help"), role=Role.ANYONE, free=True),
)
ALL_SPECS: dict[str, Spec] = COMMANDS.by_name


def help_text(role: Role, prefix: str) -> tuple[Msg, ...]:
    """``/admin``, ``!admin``: every coordination command `role` may type."""
    lines = (msg("admin.help.title"), *help_lines(role, prefix, COMMANDS))
    return (*lines, msg("admin.help.anyone")) if role == Role.ANYONE else lines
