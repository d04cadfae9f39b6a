"""What a dialog says back: message keys with parameters, never rendered text.

Rendering (gettext lookup, HTML escaping of every parameter) happens once, in
`dialogs.render`, so the engine stays language-free and testable by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Union

_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Msg:
    """A catalog key and its parameters. Parameters that are `str` are treated as
    user text and escaped; nested `Msg` are rendered from the catalog."""

    key: str
    params: Mapping[str, Param] = field(default_factory=lambda: _EMPTY)


Param = Union[str, int, Msg, tuple["Param", ...]]  # noqa: UP007 - recursive alias


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
    """Replace the text and buttons of the message the current event came from."""

    lines: tuple[Msg, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearButtons:
    """Remove the buttons of the message the current event came from."""


Reply = Say | Edit | ClearButtons


def say(*lines: Msg, buttons: tuple[tuple[Button, ...], ...] = ()) -> Say:
    return Say(lines=tuple(lines), buttons=buttons)
