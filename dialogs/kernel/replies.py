"""What a dialog says back: message keys with parameters, never rendered text.

Rendering (gettext lookup, HTML escaping of every parameter) happens once, in
`dialogs.kernel.render`, so the engine stays language-free and testable by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Union

_EMPTY: Mapping[str, Param] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Msg:
    """A catalog key and its parameters. Parameters that are `str` are treated as
    user text and escaped; nested `Msg` are rendered from the catalog."""

    key: str
    params: Mapping[str, Param] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Localized:
    """A text with a form per language that is no catalog entry: a command's
    name, declared once in its spec (dialogs/kernel/commands.py). The first form
    stands in for a language it lacks. Escaped like user text."""

    forms: tuple[tuple[str, str], ...]  # (locale, text), the default language first

    def text(self, locale: str) -> str:
        return next((text for code, text in self.forms if code == locale), self.forms[0][1])


Param = Union[str, int, Msg, Localized, tuple["Param", ...]]  # noqa: UP007 - recursive alias


def msg(key: str, /, **params: Param) -> Msg:
    return Msg(key=key, params=MappingProxyType(dict(params)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Button:
    label: Msg
    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Say:
    """A new message. `lines` are joined with newlines."""

    lines: tuple[Msg, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """Replace the text and buttons of the message the current event came from,
    or of `message` (an id a button press told the dialog earlier).
    `prior`: the text that message was sent with, when known. A text too long
    for one message was sent in parts, the buttons on the last: the transport
    then knows which part the edited message holds."""

    lines: tuple[Msg, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    prior: tuple[Msg, ...] | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearButtons:
    """Remove the buttons of the message the current event came from."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """The answer a person typed to a question with buttons, as it was understood
    (`answer.chosen`). A chat app already shows what they typed: only a
    transport that echoes pressed choices (the terminal) shows it."""

    label: Msg | tuple[Msg, ...] | str


Reply = Say | Edit | ClearButtons | Echo


def say(*lines: Msg, buttons: tuple[tuple[Button, ...], ...] = ()) -> Say:
    return Say(lines=tuple(lines), buttons=buttons)


def msg_to_json(message: Msg) -> dict[str, object]:
    """Messages kept in a conversation's draft (proposal reasons) go through JSON."""

    def param(value: Param) -> object:
        match value:
            case Msg():
                return {"msg": msg_to_json(value)}
            case tuple():
                return {"list": [param(item) for item in value]}
            case Localized(forms=forms):
                return {"localized": [list(form) for form in forms]}
            case _:
                return value

    return {"key": message.key, "params": {k: param(v) for k, v in message.params.items()}}


def msg_from_json(data: Mapping[str, object]) -> Msg:
    def param(value: object) -> Param:
        if isinstance(value, Mapping) and "msg" in value:
            return msg_from_json(value["msg"])
        if isinstance(value, Mapping) and "list" in value:
            return tuple(param(item) for item in value["list"])
        if isinstance(value, Mapping) and "localized" in value:
            return Localized(forms=tuple((str(c), str(t)) for c, t in value["localized"]))
        if isinstance(value, int | str):
            return value
        return str(value)

    params = data.get("params") or {}
    assert isinstance(params, Mapping)
    return msg(str(data.get("key", "")), **{str(k): param(v) for k, v in params.items()})
