"""Coordination commands, declared once: the same table parses ``/dossiers clos
bretagne`` on Telegram and ``!dossiers clos bretagne`` on Matrix, checks who may
type each command, and generates the French and English help.

A command may have sub-commands (``aiguilleur pause camille-durand``); each
declared row gives its arguments, its English aliases and the role it needs.
Help texts are catalog keys ``admin.help.<name>`` (dots for sub-commands).

Parsing never replies: it returns `Parsed`, `Misused` (the usage to show) or
None when the words are not a coordination command at all (then the person's
or the aiguilleur's own commands get a chance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from dialogs.assignment.commands import case_ref  # one spelling of a case's ref everywhere
from dialogs.coordination.access import Role, allowed
from dialogs.geo.places import region_codes, region_name
from dialogs.kernel.options import CASE_STATUSES, THEMES
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.textnorm import fold

MAX_TEXT = 3000
MAX_NAME = 120
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MATRIX_ID = re.compile(r"^@[^:\s]{1,200}:[^\s]{1,200}$")
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


class Arg(StrEnum):
    REF = "ref"  # AIG-0042 (also aig-42 or 42)
    SLUG = "slug"  # a catalog id: camille-durand, nextcloud
    IDENT = "ident"  # a Telegram user id (digits) or a Matrix id (@nom:serveur)
    NUMBER = "number"  # a whole number (capacity, inscription number)
    DURATION = "duration"  # 1h30, 90min, 45
    FUNDING = "funding"  # autofinancement | subvention | salarie | contributif
    FILTERS = "filters"  # optional status, theme, région and page, in any order
    PERIOD = "period"  # optional: from date, to date (AAAA-MM-JJ)
    REGIONS = "regions"  # optional list of régions
    NAME = "name"  # the rest of the line, required (a person's name)
    TEXT = "text"  # the rest of the line, required
    REASON = "reason"  # the rest of the line, optional


@dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    name: str  # canonical, French; sub-commands are "parent.sub"
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    role: Role = Role.COORDINATOR
    subs: tuple[Spec, ...] = ()
    # With sub-commands: the bare name is a command of its own (``inscription``).
    bare: bool = False

    @property
    def help_key(self) -> str:
        return f"admin.help.{self.name}"

    @property
    def words(self) -> str:
        """How it is typed: ``aiguilleur pause``."""
        return self.name.replace(".", " ")


def sub(
    parent: str, name: str, *args: Arg, aliases: tuple[str, ...] = (), role: Role = Role.COORDINATOR
) -> Spec:
    return Spec(name=f"{parent}.{name}", args=args, aliases=aliases, role=role)


COMMANDS: tuple[Spec, ...] = (
    Spec(name="dossiers", args=(Arg.FILTERS,), aliases=("cases",)),
    Spec(name="dossier", args=(Arg.REF,), aliases=("case",)),
    Spec(name="assigner", args=(Arg.REF, Arg.SLUG), aliases=("assign",)),
    Spec(name="reassigner", args=(Arg.REF, Arg.SLUG), aliases=("reassign", "réassigner")),
    Spec(name="clore", args=(Arg.REF, Arg.REASON), aliases=("close",)),
    Spec(name="rouvrir", args=(Arg.REF,), aliases=("reopen",)),
    Spec(name="repondre", args=(Arg.REF, Arg.TEXT), aliases=("reply", "répondre")),
    Spec(
        name="relances",
        args=(Arg.REF,),
        aliases=("nudges",),
        subs=(
            sub("relances", "reporter", Arg.REF, Arg.DURATION, aliases=("postpone",)),
            sub("relances", "annuler", Arg.REF, aliases=("cancel",)),
        ),
    ),
    Spec(name="aiguilleurs", args=(Arg.FILTERS,), aliases=("guides",)),
    Spec(
        name="aiguilleur",
        aliases=("guide",),
        subs=(
            sub("aiguilleur", "ajouter", Arg.IDENT, Arg.NAME, aliases=("add",)),
            sub("aiguilleur", "pause", Arg.SLUG),
            sub("aiguilleur", "reprendre", Arg.SLUG, aliases=("resume",)),
            sub("aiguilleur", "capacite", Arg.SLUG, Arg.NUMBER, aliases=("capacity", "capacité")),
            sub("aiguilleur", "formation", Arg.SLUG, aliases=("trained",)),
        ),
    ),
    Spec(name="ressources", args=(Arg.FILTERS,), aliases=("resources",)),
    Spec(
        name="ressource",
        aliases=("resource",),
        subs=(
            sub("ressource", "ajouter", Arg.TEXT, aliases=("add",)),
            sub("ressource", "retirer", Arg.SLUG, aliases=("remove",)),
        ),
    ),
    Spec(name="annonce", args=(Arg.TEXT,), aliases=("announce",)),
    Spec(name="stats"),
    Spec(name="rapport", args=(Arg.PERIOD,), aliases=("report",)),
    Spec(name="inscriptions", aliases=("signups",)),
    Spec(
        name="inscription",
        aliases=("signup",),
        role=Role.ANYONE,
        bare=True,
        subs=(
            sub("inscription", "valider", Arg.NUMBER, aliases=("approve",)),
            sub("inscription", "refuser", Arg.NUMBER, Arg.REASON, aliases=("reject",)),
        ),
    ),
    Spec(name="coordinateurs", aliases=("coordinators",)),
    Spec(
        name="coordinateur",
        aliases=("coordinator",),
        subs=(
            sub("coordinateur", "ajouter", Arg.IDENT, Arg.REGIONS, aliases=("add",)),
            sub("coordinateur", "retirer", Arg.IDENT, aliases=("remove",)),
        ),
    ),
    Spec(
        name="intervention",
        args=(Arg.REF, Arg.DURATION, Arg.FUNDING, Arg.REASON),
        role=Role.AIGUILLEUR,
    ),
    Spec(name="admin", aliases=("coordination",), role=Role.ANYONE),
)
BY_NAME: dict[str, Spec] = {
    fold(alias): spec for spec in COMMANDS for alias in (spec.name, *spec.aliases)
}
ALL_SPECS: dict[str, Spec] = {s.name: s for spec in COMMANDS for s in (spec, *spec.subs)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    status: str | None = None
    theme: str | None = None
    region: str | None = None
    page: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    spec: Spec
    ref: str | None = None
    slug: str | None = None
    # ("telegram", "12345") or ("matrix", "@nom:serveur")
    ident: tuple[str, str] | None = None
    number: int | None = None
    minutes: int | None = None
    funding: str | None = None
    filters: Filters = field(default_factory=Filters)
    period: tuple[date | None, date | None] = (None, None)
    regions: tuple[str, ...] = ()
    text: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Misused:
    """A known command typed wrong: `spec` says which, for its usage line."""

    spec: Spec
    word: str


# -- words ------------------------------------------------------------------------


def slug(word: str) -> str | None:
    lowered = word.strip().lower()
    return lowered if _SLUG.match(lowered) else None


def ident(word: str) -> tuple[str, str] | None:
    word = word.strip()
    if word.isdigit() and len(word) <= 20:
        return ("telegram", word)
    if _MATRIX_ID.match(word):
        return ("matrix", word)
    return None


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


# -- parsing ------------------------------------------------------------------------


def parse_text(text: str, prefix: str) -> Parsed | Misused | None:
    """``!dossiers clos`` (Matrix) or any text starting with `prefix`."""
    stripped = text.strip()
    if not stripped.startswith(prefix) or len(stripped) <= len(prefix):
        return None
    word, _, rest = stripped[len(prefix) :].partition(" ")
    return parse_command(word, rest)


def parse_command(name: str, args: str) -> Parsed | Misused | None:
    spec = BY_NAME.get(fold(name.split("@", 1)[0]))
    if spec is None:
        return None
    rest = " ".join(args.split()) if len(args) <= MAX_TEXT * 2 else args[: MAX_TEXT * 2]
    if spec.subs:
        head, _, tail = rest.partition(" ")
        chosen = _sub(spec, head)
        if chosen is not None:
            return _arguments(chosen, tail)
        # ``relances AIG-0042 reporter 7j``: the sub-command after the case.
        second, _, after = tail.partition(" ")
        chosen = _sub(spec, second) if head else None
        if chosen is not None:
            return _arguments(chosen, f"{head} {after}")
        if not spec.args and not (spec.bare and not rest):
            return Misused(spec=spec, word=spec.words)
    return _arguments(spec, rest)


def _sub(spec: Spec, word: str) -> Spec | None:
    folded = fold(word)
    for candidate in spec.subs:
        if folded in {fold(candidate.name.rsplit(".", 1)[1]), *map(fold, candidate.aliases)}:
            return candidate
    return None


def _arguments(spec: Spec, rest: str) -> Parsed | Misused:
    values: dict[str, object] = {}
    rest = rest.strip()
    misused = Misused(spec=spec, word=spec.words)
    for arg in spec.args:
        head, _, tail = rest.partition(" ")
        match arg:
            case Arg.REF:
                ref = case_ref(head)
                if ref is None:
                    return misused
                values["ref"], rest = ref, tail.strip()
            case Arg.SLUG:
                found = slug(head)
                if found is None:
                    return misused
                values["slug"], rest = found, tail.strip()
            case Arg.IDENT:
                who = ident(head)
                if who is None:
                    return misused
                values["ident"], rest = who, tail.strip()
            case Arg.NUMBER:
                if not head.isdigit() or len(head) > 6:
                    return misused
                values["number"], rest = int(head), tail.strip()
            case Arg.DURATION:
                amount = days(head) if spec.name == "relances.reporter" else minutes(head)
                if amount is None:
                    return misused
                values["minutes" if spec.name != "relances.reporter" else "number"] = amount
                rest = tail.strip()
            case Arg.FUNDING:
                funding = FUNDING_WORDS.get(fold(head))
                if funding is None:
                    return misused
                values["funding"], rest = funding, tail.strip()
            case Arg.FILTERS:
                filters = _filters(rest)
                if filters is None:
                    return misused
                values["filters"], rest = filters, ""
            case Arg.PERIOD:
                period = _period(rest)
                if period is None:
                    return misused
                values["period"], rest = period, ""
            case Arg.REGIONS:
                regions = _regions(rest)
                if regions is None:
                    return misused
                values["regions"], rest = regions, ""
            case Arg.NAME | Arg.TEXT:
                if not rest:
                    return misused
                limit = MAX_NAME if arg == Arg.NAME else MAX_TEXT
                values["text"], rest = rest[:limit], ""
            case Arg.REASON:
                values["text"], rest = (rest[:MAX_TEXT] or None), ""
    if rest:
        return misused
    return Parsed(spec=spec, **values)  # type: ignore[arg-type]  # `values` holds the fields the spec's arguments fill, by name


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


# -- help -----------------------------------------------------------------------------


def usage(spec: Spec, prefix: str) -> Msg:
    """``/aiguilleur capacite <identifiant> <nombre>``, from the declared arguments."""
    words = tuple(msg(f"admin.arg.{arg.value}") for arg in spec.args)
    numbered = {f"a{i}": word for i, word in enumerate(words)}
    name = msg(f"admin.cmd.{spec.name}")
    return msg(f"admin.usage.{len(words)}", prefix=prefix, name=name, **numbered)


def usages(spec: Spec, prefix: str) -> tuple[Msg, ...]:
    """The usage of a command and of each of its sub-commands."""
    rows = [s for s in (spec, *spec.subs) if s.args or s.bare or not s.subs]
    return tuple(usage(row, prefix) for row in rows)


def help_lines(role: Role, prefix: str) -> tuple[Msg, ...]:
    """Every command this role may type, with its usage; sub-commands indented."""
    lines: list[Msg] = [msg("admin.help.title")]
    for spec in COMMANDS:
        rows = [s for s in (spec, *spec.subs) if s.args or s.bare or not s.subs]
        for row in rows:
            if allowed(row, role):
                lines.append(
                    msg("admin.help.line", usage=usage(row, prefix), text=msg(row.help_key))
                )
    if role == Role.ANYONE:
        lines.append(msg("admin.help.anyone"))
    return tuple(lines)
