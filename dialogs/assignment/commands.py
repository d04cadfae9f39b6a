"""Commands aiguilleurs type in Matrix, declared once: each row gives the parser,
the usage line and the help text (catalog keys ``desk.help.<name>``).

Parsing never replies: it returns a `Parsed` command, a `Misused` one (with the
usage to show), or None when the text is no command at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from dialogs.kernel.replies import Msg, msg

PREFIX = "!"
MAX_TEXT = 3000
_REF = re.compile(r"^(?:aig-?)?0*(\d{1,6})$", re.IGNORECASE)


class Arg(StrEnum):
    REF = "ref"  # AIG-0042 (also aig-42 or 42)
    TEXT = "text"  # the rest of the line, required
    REASON = "reason"  # the rest of the line, optional
    SWITCH = "switch"  # on | off


@dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    name: str
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def help_key(self) -> str:
        return f"desk.help.{self.name}"


COMMANDS: tuple[Spec, ...] = (
    Spec(name="accepter", args=(Arg.REF,), aliases=("accept",)),
    Spec(name="refuser", args=(Arg.REF, Arg.REASON), aliases=("decline",)),
    Spec(name="mes-dossiers", aliases=("mine", "dossiers")),
    Spec(name="dossier", args=(Arg.REF,), aliases=("case",)),
    Spec(name="note", args=(Arg.REF, Arg.TEXT)),
    Spec(name="action", args=(Arg.REF,)),
    Spec(name="clore", args=(Arg.REF,), aliases=("close",)),
    Spec(name="rendre", args=(Arg.REF,), aliases=("handback",)),
    Spec(name="dispo", args=(Arg.SWITCH,), aliases=("available",)),
    Spec(name="aide", aliases=("help",)),
)
BY_NAME: dict[str, Spec] = {
    alias: spec for spec in COMMANDS for alias in (spec.name, *spec.aliases)
}
SWITCH_WORDS = {"on": True, "oui": True, "yes": True, "off": False, "non": False, "no": False}


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    name: str  # the canonical (French) name
    ref: str | None = None
    text: str | None = None
    switch: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Misused:
    """A known command with wrong arguments; `usage` says how to type it, or
    an unknown command (`spec` None): the help lists them all."""

    spec: Spec | None
    word: str


def case_ref(word: str) -> str | None:
    found = _REF.match(word.strip())
    return f"AIG-{int(found.group(1)):04d}" if found else None


def parse(text: str) -> Parsed | Misused | None:
    stripped = text.strip()
    if not stripped.startswith(PREFIX) or len(stripped) < 2:
        return None
    word, _, rest = stripped[1:].partition(" ")
    spec = BY_NAME.get(word.lower())
    if spec is None:
        return Misused(spec=None, word=word[:32])
    values: dict[str, object] = {}
    rest = rest.strip()
    for arg in spec.args:
        head, _, tail = rest.partition(" ")
        match arg:
            case Arg.REF:
                ref = case_ref(head)
                if ref is None:
                    return Misused(spec=spec, word=word[:32])
                values["ref"], rest = ref, tail.strip()
            case Arg.SWITCH:
                switch = SWITCH_WORDS.get(head.lower())
                if switch is None:
                    return Misused(spec=spec, word=word[:32])
                values["switch"], rest = switch, tail.strip()
            case Arg.TEXT | Arg.REASON:
                if not rest and arg == Arg.TEXT:
                    return Misused(spec=spec, word=word[:32])
                values["text"], rest = (rest[:MAX_TEXT] or None), ""
    return Parsed(name=spec.name, **values)  # type: ignore[arg-type]  # `values` holds the fields the spec's arguments fill, by name


def usage(spec: Spec) -> Msg:
    """``!refuser AIG-0042 [raison]``, from the declared arguments."""
    words = tuple(msg(f"desk.arg.{arg.value}") for arg in spec.args)
    numbered = {f"a{i}": word for i, word in enumerate(words)}
    return msg(f"desk.usage.{len(words)}", name=spec.name, **numbered)


def help_lines() -> tuple[Msg, ...]:
    return (
        msg("desk.help.title"),
        *(msg("desk.help.line", usage=usage(spec), text=msg(spec.help_key)) for spec in COMMANDS),
        msg("desk.help.react"),
    )
