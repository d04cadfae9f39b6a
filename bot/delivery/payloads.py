"""Replies rendered for the outbox: transport-neutral JSON that a sender turns
into one native call. Rendering happens before the commit, so what is sent is
exactly what was decided, even after a restart or a catalog change."""

from __future__ import annotations

from typing import Any

from dialogs.kernel.render import Rendered, render
from dialogs.kernel.replies import ClearButtons, Echo, Edit, Reply, Say, msg

# A transport's own wording in the catalogs (`terminal.<key>`, dialogs/kernel/render.py):
# a terminal has no buttons to touch and no position to share.
VARIANTS = {"console": "terminal"}
# Where typed answers to a question with buttons are echoed like numbered ones.
ECHOING = frozenset({"terminal"})


def variant_of(transport: str) -> str | None:
    return VARIANTS.get(transport)


def rendered_payload(kind: str, shown: Rendered, message: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "kind": kind,
        "html": shown.html,
        "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in shown.buttons],
    }
    if message is not None:
        payload["message"] = message
    return payload


def to_payload(
    reply: Reply, locale: str, source_message: str | None, variant: str | None = None
) -> dict[str, Any] | None:
    """None when the reply needs a source message and there is none (typed
    text), or is not for this transport (an echo in a chat app)."""
    match reply:
        case Say(lines=lines, buttons=buttons):
            return rendered_payload("send", render(locale, lines, buttons, variant))
        case Edit(lines=lines, buttons=buttons, prior=prior, message=message):
            shown = render(locale, lines, buttons, variant)
            target = message or source_message
            if target is None:
                return rendered_payload("send", shown)
            payload = rendered_payload("edit", shown, target)
            if prior is not None:
                # Which part of a long text the edited message holds
                # (bot/transports/telegram/transport.py).
                payload["prior_html"] = render(locale, prior, variant=variant).html
            if message is not None:
                # An earlier message (the summary): if it is gone, send it again.
                payload["or_send"] = True
            return payload
        case Echo(label=label):
            if variant not in ECHOING:
                return None
            return rendered_payload(
                "echo", render(locale, (msg("answer.chosen", label=label),), variant=variant)
            )
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
