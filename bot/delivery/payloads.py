"""Replies rendered for the outbox: transport-neutral JSON that a sender turns
into one native call. Rendering happens before the commit, so what is sent is
exactly what was decided, even after a restart or a catalog change."""

from __future__ import annotations

from typing import Any

from dialogs.kernel.render import Rendered, render
from dialogs.kernel.replies import ClearButtons, Edit, Reply, Say


def rendered_payload(kind: str, shown: Rendered, message: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "kind": kind,
        "html": shown.html,
        "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in shown.buttons],
    }
    if message is not None:
        payload["message"] = message
    return payload


def to_payload(reply: Reply, locale: str, source_message: str | None) -> dict[str, Any] | None:
    """None when the reply needs a source message and there is none (typed text)."""
    match reply:
        case Say(lines=lines, buttons=buttons):
            return rendered_payload("send", render(locale, lines, buttons))
        case Edit(lines=lines, buttons=buttons):
            shown = render(locale, lines, buttons)
            if source_message is None:
                return rendered_payload("send", shown)
            return rendered_payload("edit", shown, source_message)
        case ClearButtons():
            if source_message is None:
                return None
            return {"kind": "clear_buttons", "message": source_message}


def document_payload(
    filename: str, content: str, caption_html: str, mime: str = "application/json"
) -> dict[str, Any]:
    """A file made from text (the /mesdonnees export) with an HTML caption. The
    content lives in the outbox row like any message; keep it small (its
    producer caps it)."""
    return {
        "kind": "document",
        "filename": filename,
        "mime": mime,
        "content": content,
        "caption": caption_html,
    }
