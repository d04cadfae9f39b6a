"""The one command grammar: how every command is declared, typed, refused and
listed, whoever types it — a person (``/aide`` on Telegram), an aiguilleur
(``!accepter`` in Matrix) or a coordinator (``/dossiers`` or ``!dossiers``).

The grammar is the kernel's, the vocabulary is each domain's: intake and privacy
declare the persons' commands, assignment the aiguilleurs', coordination the
coordinators'. A transport (or the desk) parses a message **once**, against the
vocabularies of the place it was typed in, in the order that place gives them;
the spec found says which domain runs it.

Parsing never replies: it returns `Parsed`, `Misused` (a known command typed
wrong, or with an absurdly long text: its usage is shown), `Unknown` (a prefixed
word no vocabulary of the place knows) or None (no command at all). Names are
read case- and accent-insensitively (``/Réassigner`` is ``reassigner``), and
Telegram's ``/cmd@botname`` is ``cmd``.

Texts: usages are ``command.usage.<n>`` with the placeholders ``command.arg.*``;
a command's summary is its domain's key (``menu.aide``, ``desk.help.accepter``,
``admin.help.dossiers``). A usage shows the name in the reader's language
(`Localized`): the names live in the specs only, never twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from dialogs.kernel.replies import Localized, Msg, msg
from dialogs.kernel.textnorm import fold

T = TypeVar("T")

# A command's free text (a note, an announcement, a reason); longer is refused,
# with its length, rather than cut without a word.
MAX_TEXT = 3000
MAX_NAME = 120
# Longer than any command name: the word is not read further (it is echoed, cut).
MAX_WORD = 32
_REF = re.compile(r"^(?:aig-?)?0*(\d{1,6})$", re.IGNORECASE)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MATRIX_ID = re.compile(r"^@[^:\s]{1,200}:[^\s]{1,200}$")
_HEAD = re.compile(r"\s+")


class Role(StrEnum):
    """Who types: ranked, each role may do what the roles below it may. `ANYONE`
    is a person (anyone who writes to the bot); the values are those of
    ``command_log.role``."""

    ANYONE = "anyone"
    AIGUILLEUR = "aiguilleur"
    COORDINATOR = "coordinator"


RANK = {Role.ANYONE: 0, Role.AIGUILLEUR: 1, Role.COORDINATOR: 2}


class Domain(StrEnum):
    """Whose command it is: the domain that runs it, and where its summary is."""

    PERSON = "person"  # dialogs/intake, dialogs/privacy: the person's conversation
    DESK = "desk"  # dialogs/assignment: the aiguilleurs' desk in Matrix
    COORDINATION = "coordination"  # dialogs/coordination: bot/coordination/router.py


HELP_PREFIX = {Domain.PERSON: "menu", Domain.DESK: "desk.help", Domain.COORDINATION: "admin.help"}


# -- arguments -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Arg(Generic[T]):
    """A typed argument: `read` takes it from the front of the rest of the line
    and returns it with what is left, or None when the words are not one.
    `label`: its placeholder in usages (``command.arg.<label>``); `key`: where
    `Parsed` keeps it."""

    label: str
    key: str
    read: Callable[[str], tuple[T, str] | None] = field(repr=False)

    def __repr__(self) -> str:
        return f"Arg({self.label})"


def word(rest: str) -> tuple[str, str]:
    """The first word of `rest`, and what follows it."""
    parts = _HEAD.split(rest.strip(), maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def one_word(convert: Callable[[str], T | None]) -> Callable[[str], tuple[T, str] | None]:
    """A reader for an argument of one word, converted (None: not one)."""

    def read(rest: str) -> tuple[T, str] | None:
        head, tail = word(rest)
        value = convert(head) if head else None
        return None if value is None else (value, tail)

    return read


def case_ref(text: str) -> str | None:
    """``AIG-0042``, ``aig-42``, ``42`` → ``AIG-0042``: one spelling of a case everywhere."""
    found = _REF.match(text.strip())
    return f"AIG-{int(found.group(1)):04d}" if found else None


def slug(text: str) -> str | None:
    lowered = text.strip().lower()
    return lowered if _SLUG.match(lowered) else None


def ident(text: str) -> tuple[str, str] | None:
    """("telegram", "12345") or ("matrix", "@nom:serveur")."""
    text = text.strip()
    if text.isdigit() and len(text) <= 20:
        return ("telegram", text)
    if _MATRIX_ID.match(text):
        return ("matrix", text)
    return None


def number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 6 else None


SWITCH_WORDS = {"on": True, "oui": True, "yes": True, "off": False, "non": False, "no": False}


class TooLong(Exception):
    """A free text over its limit: the command is refused with both lengths."""

    def __init__(self, length: int, maximum: int) -> None:
        super().__init__(f"{length} > {maximum}")
        self.length = length
        self.maximum = maximum


def _line(rest: str, maximum: int) -> str:
    text = rest.strip()
    if len(text) > maximum:
        raise TooLong(len(text), maximum)
    return text


def _required(maximum: int) -> Callable[[str], tuple[str, str] | None]:
    def read(rest: str) -> tuple[str, str] | None:
        text = _line(rest, maximum)
        return (text, "") if text else None

    return read


def _optional(rest: str) -> tuple[str | None, str]:
    return (_line(rest, MAX_TEXT) or None), ""


REF: Arg[str] = Arg("ref", "ref", one_word(case_ref))
SLUG: Arg[str] = Arg("slug", "slug", one_word(slug))
IDENT: Arg[tuple[str, str]] = Arg("ident", "ident", one_word(ident))
NUMBER: Arg[int] = Arg("number", "number", one_word(number))
SWITCH: Arg[bool] = Arg("switch", "switch", one_word(lambda w: SWITCH_WORDS.get(w.lower())))
# The rest of the line: required (a name, a text) or optional (a reason).
NAME: Arg[str] = Arg("name", "text", _required(MAX_NAME))
TEXT: Arg[str] = Arg("text", "text", _required(MAX_TEXT))
REASON: Arg[str | None] = Arg("reason", "text", _optional)


# -- specs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    """One command. `name` is canonical and French (``parent.sub`` for a
    sub-command), `en` its English name (same word when None), `aliases` other
    words accepted in either language. `role`: the least role that may type it.
    `bare`: with sub-commands, the name alone is a command too. `free`: trailing
    words are kept in `Parsed.rest` rather than refused (a person's ``/aide
    merci``, ``/langue en``). `listed`: in the help (and, for a person's
    command, Telegram's menu); ``/start`` is Telegram's own word, not listed."""

    name: str
    domain: Domain
    en: str | None = None
    aliases: tuple[str, ...] = ()
    role: Role = Role.COORDINATOR
    args: tuple[Arg[Any], ...] = ()
    subs: tuple[Spec, ...] = ()
    bare: bool = False
    free: bool = False
    listed: bool = True

    @property
    def help_key(self) -> str:
        return f"{HELP_PREFIX[self.domain]}.{self.name}"

    @property
    def words(self) -> str:
        """How it is typed in French: ``aiguilleur pause``."""
        return self.name.replace(".", " ")

    @property
    def words_en(self) -> str:
        return self.en or self.words

    @property
    def last_words(self) -> frozenset[str]:
        """Folded words naming it at its own level (a sub-command: after its parent)."""
        own = (self.name.rsplit(".", 1)[-1], self.words_en.rsplit(" ", 1)[-1], *self.aliases)
        return frozenset(fold(w) for w in own)

    @property
    def rows(self) -> tuple[Spec, ...]:
        """What is typed of it: itself (unless only its sub-commands are) and its subs."""
        alone = (self,) if self.args or self.bare or not self.subs else ()
        return (*alone, *self.subs)


def command(
    name: str,
    domain: Domain,
    *args: Arg[Any],
    en: str | None = None,
    aliases: tuple[str, ...] = (),
    role: Role = Role.COORDINATOR,
    subs: tuple[Spec, ...] = (),
    bare: bool = False,
    free: bool = False,
    listed: bool = True,
) -> Spec:
    """A command; its `subs` (made with `sub`) are renamed ``name.sub`` and given
    their full English words (``guide pause``)."""
    english = en or name
    named = tuple(
        Spec(
            name=f"{name}.{s.name}",
            domain=domain,
            en=f"{english} {s.en or s.name}",
            aliases=s.aliases,
            role=s.role,
            args=s.args,
        )
        for s in subs
    )
    return Spec(
        name=name,
        domain=domain,
        en=en,
        aliases=aliases,
        role=role,
        args=args,
        subs=named,
        bare=bare,
        free=free,
        listed=listed,
    )


def sub(
    name: str,
    *args: Arg[Any],
    en: str | None = None,
    aliases: tuple[str, ...] = (),
    role: Role = Role.COORDINATOR,
) -> Spec:
    """A sub-command, completed by `command` (its domain is the parent's)."""
    return Spec(name=name, domain=Domain.COORDINATION, en=en, aliases=aliases, role=role, args=args)


class Vocabulary:
    """A domain's commands, indexed by every folded word that names them."""

    def __init__(self, *specs: Spec) -> None:
        self.specs = specs
        self.by_word: dict[str, Spec] = {}
        for spec in specs:
            for typed in spec.last_words:
                other = self.by_word.setdefault(typed, spec)
                if other is not spec:
                    raise ValueError(f"{typed!r} names both {other.name} and {spec.name}")
        self.by_name: dict[str, Spec] = {s.name: s for spec in specs for s in (spec, *spec.subs)}

    def __iter__(self) -> Iterator[Spec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, name: str) -> Spec:
        return self.by_name[name]

    def find(self, typed: str) -> Spec | None:
        return self.by_word.get(fold(typed))


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """A command read: its spec and its arguments' values, by key."""

    spec: Spec
    values: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    rest: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def domain(self) -> Domain:
        return self.spec.domain

    def get(self, arg: Arg[T]) -> T:
        return cast(T, self.values[arg.key])

    @property
    def ref(self) -> str | None:
        return cast("str | None", self.values.get("ref"))

    @property
    def text(self) -> str | None:
        return cast("str | None", self.values.get("text"))

    @property
    def slug(self) -> str | None:
        return cast("str | None", self.values.get("slug"))

    @property
    def ident(self) -> tuple[str, str] | None:
        return cast("tuple[str, str] | None", self.values.get("ident"))

    @property
    def number(self) -> int | None:
        return cast("int | None", self.values.get("number"))


def parsed(spec: Spec, **values: object) -> Parsed:
    """A command as if typed (a 👍 on an offer is ``accepter``; tests)."""
    return Parsed(spec=spec, values=MappingProxyType(values))


@dataclass(frozen=True, slots=True, kw_only=True)
class Misused:
    """A known command typed wrong: its usage is shown. `length`/`maximum`: its
    text was too long (the only thing to change)."""

    spec: Spec
    word: str
    length: int | None = None
    maximum: int | None = None

    @property
    def domain(self) -> Domain:
        return self.spec.domain


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown:
    """A prefixed word that no vocabulary of the place knows (cut to `MAX_WORD`)."""

    word: str


Read = Parsed | Misused | Unknown


# -- parsing ---------------------------------------------------------------------------


def split(text: str, prefix: str) -> tuple[str, str] | None:
    """``!dossiers clos bretagne`` → (``dossiers``, ``clos bretagne``); None
    when the text does not start with `prefix` and a word."""
    stripped = text.strip()
    if not stripped.startswith(prefix) or len(stripped) <= len(prefix):
        return None
    body = stripped[len(prefix) :]
    if body[0].isspace():
        return None
    head, tail = word(body)
    return head, tail


def parse(text: str, prefix: str, *vocabularies: Vocabulary) -> Read | None:
    """A message: None when it is no command (no prefix, or a prefix alone)."""
    found = split(text, prefix)
    if found is None:
        return None
    return parse_command(found[0], found[1], *vocabularies)


def parse_command(name: str, args: str, *vocabularies: Vocabulary) -> Read:
    """A command already split by its transport (Telegram's entity). The first
    vocabulary that knows the name reads it: the place's order decides."""
    name = name.split("@", 1)[0]  # /cmd@botname
    if len(name) > MAX_WORD:
        return Unknown(word=name[:MAX_WORD])
    for vocabulary in vocabularies:
        spec = vocabulary.find(name)
        if spec is not None:
            return _command(spec, args)
    return Unknown(word=name)


def _command(spec: Spec, rest: str) -> Parsed | Misused:
    rest = rest.strip()
    if spec.subs:
        head, tail = word(rest)
        chosen = _sub(spec, head)
        if chosen is not None:
            return _arguments(chosen, tail)
        # ``relances AIG-0042 reporter 7j``: the sub-command after the first word.
        second, after = word(tail)
        chosen = _sub(spec, second) if head else None
        if chosen is not None:
            return _arguments(chosen, f"{head} {after}")
        if not spec.args and not (spec.bare and not rest):
            return Misused(spec=spec, word=spec.words)
    return _arguments(spec, rest)


def _sub(spec: Spec, typed: str) -> Spec | None:
    folded = fold(typed)
    return next((s for s in spec.subs if folded and folded in s.last_words), None)


def _arguments(spec: Spec, rest: str) -> Parsed | Misused:
    values: dict[str, object] = {}
    misused = Misused(spec=spec, word=spec.words)
    for arg in spec.args:
        try:
            found = arg.read(rest)
        except TooLong as long:
            return Misused(spec=spec, word=spec.words, length=long.length, maximum=long.maximum)
        if found is None:
            return misused
        values[arg.key], rest = found[0], found[1].strip()
    if rest and not spec.free:
        return misused
    return Parsed(spec=spec, values=MappingProxyType(values), rest=rest)


def allowed(spec: Spec, role: Role) -> bool:
    return RANK[role] >= RANK[spec.role]


# -- usage and help --------------------------------------------------------------------


def usage(spec: Spec, prefix: str) -> Msg:
    """``/aiguilleur capacite <identifiant> <nombre>`` from the declared arguments,
    with the name in the reader's language."""
    words = tuple(msg(f"command.arg.{arg.label}") for arg in spec.args)
    numbered = {f"a{i}": w for i, w in enumerate(words)}
    name = Localized(forms=(("fr", spec.words), ("en", spec.words_en)))
    return msg(f"command.usage.{len(words)}", prefix=prefix, name=name, **numbered)


def usages(spec: Spec, prefix: str) -> tuple[Msg, ...]:
    """The usage of a command and of each of its sub-commands."""
    return tuple(usage(row, prefix) for row in spec.rows)


def line(spec: Spec, prefix: str) -> Msg:
    return msg("command.line", usage=usage(spec, prefix), text=msg(spec.help_key))


def help_lines(
    role: Role, prefix: str, *vocabularies: Vocabulary, exact: bool = False
) -> tuple[Msg, ...]:
    """One line per command `role` may type from these vocabularies (the
    place's), sub-commands included, in their declared order: generated, so
    it never lists what is refused nor forgets what is allowed. `exact`: only
    the commands that need this very role (an aiguilleur's help leaves what
    anyone may do to the person's)."""
    return tuple(
        line(row, prefix)
        for vocabulary in vocabularies
        for spec in vocabulary
        for row in spec.rows
        if row.listed and (row.role == role if exact else allowed(row, role))
    )


def misused_lines(command: Misused, prefix: str) -> tuple[Msg, ...]:
    """What a misused command is answered, whoever typed it."""
    if command.length is not None:
        return (msg("command.too_long", length=command.length, maximum=command.maximum or 0),)
    return (msg("command.misused"), *usages(command.spec, prefix))
