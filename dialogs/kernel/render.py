"""Turn replies (keys + parameters) into text for a transport.

Output is a small HTML subset (<b>, <i>, <a href>) that Telegram and Matrix both
understand; every `str` parameter is escaped here, once, because parameters
are where user text travels. Transports that show plain text strip the tags.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from dialogs.kernel.i18n import translate
from dialogs.kernel.replies import Button, Localized, Msg, Param

_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedButton:
    label: str  # plain text: button labels carry no markup
    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    html: str
    buttons: tuple[tuple[RenderedButton, ...], ...] = ()

    @property
    def plain(self) -> str:
        return html_to_plain(self.html)


def html_to_plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


def template(locale: str, key: str, variant: str | None = None) -> str:
    """The catalog text of `key`; a transport's own wording (`<variant>.<key>`,
    e.g. `terminal.intake.place.ask`: no buttons to touch in a terminal) first."""
    if variant is not None:
        special = f"{variant}.{key}"
        text = translate(locale, special)
        if text != special:
            return text
    return translate(locale, key)


def render_param(locale: str, value: Param, variant: str | None = None) -> str | int:
    match value:
        case Msg():
            return render_msg(locale, value, variant)
        case tuple():
            separator = translate(locale, "list.separator")
            return separator.join(str(render_param(locale, item, variant)) for item in value)
        case Localized():
            return html.escape(value.text(locale), quote=False)
        case bool():
            return str(value)
        case int():
            return value
        case _:
            return html.escape(str(value), quote=False)


def render_msg(locale: str, message: Msg, variant: str | None = None) -> str:
    text = template(locale, message.key, variant)
    if not message.params:
        return text
    params = {name: render_param(locale, value, variant) for name, value in message.params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        # A translation that names a parameter we did not pass must not break the
        # conversation; the catalog test catches it before release.
        return text


def render_lines(locale: str, lines: tuple[Msg, ...], variant: str | None = None) -> str:
    return "\n".join(render_msg(locale, line, variant) for line in lines)


def render_buttons(
    locale: str, rows: tuple[tuple[Button, ...], ...], variant: str | None = None
) -> tuple[tuple[RenderedButton, ...], ...]:
    return tuple(
        tuple(
            RenderedButton(label=html_to_plain(render_msg(locale, b.label, variant)), data=b.data)
            for b in row
        )
        for row in rows
    )


def render(
    locale: str,
    lines: tuple[Msg, ...],
    buttons: tuple[tuple[Button, ...], ...] = (),
    variant: str | None = None,
) -> Rendered:
    return Rendered(
        html=render_lines(locale, lines, variant),
        buttons=render_buttons(locale, buttons, variant),
    )
