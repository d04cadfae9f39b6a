"""Property tests: the dialog engine and Telegram update parsing never break,
whatever a person (or a forger) sends.

The engine is fed random event sequences from no state at all; after every
step the state must be storable (JSON round trip), every button must fit
Telegram's 64-byte callback data, and every reply must render in both
languages with user text escaped. Update parsing is fed random Bot API JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Bot, Update

from bot.runtime.core import Incoming
from bot.transports.telegram.updates import incoming_from
from dialogs.intake.commands import COMMAND_ALIASES
from dialogs.intake.engine import step
from dialogs.kernel.context import CaseSummary, Context
from dialogs.kernel.effects import SubmitCase
from dialogs.kernel.events import (
    Attachment,
    AttachmentKind,
    CaseCreated,
    Choice,
    Command,
    Event,
    Location,
    Suggestion,
    Text,
)
from dialogs.kernel.render import render, render_msg
from dialogs.kernel.replies import Button, ClearButtons, Echo, Edit, Msg, Reply, Say, msg
from dialogs.kernel.state import Stage, State

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# User text carries this marker; rendered HTML must only ever hold it escaped.
MARKER = "<x>"
LOCALES = ("fr", "en")

# -- engine: event strategies --------------------------------------------------

# Free text in every shape the intake meets: answers, yes/no words, postal
# codes, digits, arbitrary unicode (control chars, surrogate-free), huge texts.
_plain_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", " ", "oui", "non", "Oui !", "NON", "yes", "no", "1", "2", "0"]),
    st.from_regex(r"\A[0-9]{5}\Z"),  # postal-code-like
    st.from_regex(r"\A(29200|75011|13001|69003|2A004|97411|00000|99999)\Z"),
    st.sampled_from(["Brest", "Saint-Denis", "Paris", "Valence", "La Fabrique du Coin"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.text(min_size=1000, max_size=5000, alphabet=st.characters(codec="utf-8")),
)
texts = st.one_of(
    _plain_text,
    _plain_text.map(lambda t: f"{t} {MARKER} &amp; <b>gras</b>"),
)

_known_commands = sorted(COMMAND_ALIASES) + [name.upper() for name in COMMAND_ALIASES]
commands = st.builds(
    Command,
    name=st.one_of(
        st.sampled_from(_known_commands),
        st.text(min_size=0, max_size=80),
        st.text(min_size=1, max_size=20).map(lambda t: t + MARKER),
    ),
    args=st.text(max_size=100),
)

attachments = st.builds(Attachment, kind=st.sampled_from(list(AttachmentKind)))

_coords = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=41.0, max_value=51.5),  # metropolitan France
    st.sampled_from([0.0, -0.0, 90.0, -90.0, 180.0, -180.0, 1e308, -1e308]),
)
locations = st.builds(Location, lat=_coords, lon=_coords)

# Forged callback data: arbitrary strings, decoded bytes, and plausible
# "<version>:<action>" shapes with wrong versions or unknown actions.
forged = st.builds(
    Choice,
    data=st.one_of(
        st.text(max_size=64),
        st.binary(max_size=64).map(lambda b: b.decode("utf-8", "replace")),
        # Language buttons (not versioned): known, unknown and empty codes.
        st.sampled_from(["lang:en", "lang:fr", "lang:", "lang:de", "lang:en:x"]),
        st.builds(
            lambda v, a: f"{v}:{a}",
            st.integers(min_value=-3, max_value=60),
            st.one_of(
                st.sampled_from(["yes", "no", "done", "none", "more", "contact", "like:0"]),
                st.text(max_size=20),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class PressValid:
    """Press the n-th button (modulo their count) of the latest reply with buttons."""

    index: int


@dataclass(frozen=True)
class FreshStale:
    """Press a valid button of an earlier reply (stale, or double tap)."""

    index: int


@dataclass(frozen=True)
class Advance:
    """Answer the current question sensibly (typed text where one is asked,
    else a button, preferring the ones that move on), so runs go deep."""

    index: int
    move_on: bool


# Typed answers that each free-text stage accepts; MARKER checks their escaping.
SENSIBLE = {
    Stage.LIEU_NAME: f"La Fabrique {MARKER}",
    Stage.PLACE: "29200",
    Stage.PROBLEM: f"Nos adhésions sont dans un tableur que plus personne ne comprend {MARKER}.",
    Stage.TRIED: f"Un tableur partagé {MARKER}",
    Stage.GOAL: f"Un outil simple pour les bénévoles {MARKER}",
    Stage.CONSTRAINTS: f"Pas de budget {MARKER}",
}
MOVING_ON = ("yes", "done", "confirm", "none")

Action = Event | PressValid | FreshStale | Advance

actions: st.SearchStrategy[Action] = st.one_of(
    texts.map(lambda t: Text(text=t)),
    st.integers(min_value=0, max_value=30).map(PressValid),
    st.integers(min_value=0, max_value=30).map(PressValid),  # twice: drive the flow deeper
    st.integers(min_value=0, max_value=30).map(FreshStale),
    forged,
    commands,
    attachments,
    locations,
)

suggestions = st.builds(
    Suggestion,
    id=st.text(min_size=1, max_size=40),
    name=texts,
    url=st.one_of(st.just(""), st.just("https://exemple.org/?a=1&b=<2>")),
    summary=texts,
    why=st.lists(
        st.builds(lambda v: msg("why.theme", theme=v), st.text(max_size=20)), max_size=2
    ).map(tuple),
)


# -- engine: checks -------------------------------------------------------------


def event_of(
    action: Action, state: State | None, latest: list[Button], seen: list[Button]
) -> Event | None:
    """The event a scripted action stands for at this point of the run (`latest`: the
    buttons of the last reply that had some, `seen`: all so far); None when it cannot
    be played yet (no button to press)."""
    if isinstance(action, PressValid):
        if not latest:
            return None
        return Choice(data=latest[action.index % len(latest)].data)
    if isinstance(action, Advance):
        typed = SENSIBLE.get(state.stage) if state is not None else None
        if typed is not None and (not latest or not action.move_on):
            return Text(text=typed)
        if latest:
            onward = [b for b in latest if b.data.partition(":")[2] in MOVING_ON]
            pool = onward if action.move_on and onward else latest
            return Choice(data=pool[action.index % len(pool)].data)
        return Text(text="bonjour")
    if isinstance(action, FreshStale):
        if not seen:
            return None
        return Choice(data=seen[action.index % len(seen)].data)
    return action


def buttons_of(replies: tuple[Reply, ...]) -> list[Button]:
    for reply in reversed(replies):
        if isinstance(reply, Say | Edit) and reply.buttons:
            return [b for row in reply.buttons for b in row]
    return []


def check_state(state: State | None) -> None:
    if state is None:
        return
    assert isinstance(state, State)
    assert isinstance(state.stage, Stage)
    dumped = json.dumps(state.to_json())
    back = State.from_json(json.loads(dumped))
    assert back == state, (back, state)


def check_rendered(html_text: str) -> None:
    # The marker is only ever in user text; a raw one means a missing escape.
    assert MARKER not in html_text, html_text[:500]


def check_replies(replies: tuple[Reply, ...], toast: Msg | None) -> None:
    for reply in replies:
        assert isinstance(reply, Say | Edit | ClearButtons | Echo)
        if isinstance(reply, ClearButtons):
            continue
        if isinstance(reply, Echo):
            for locale in LOCALES:
                check_rendered(render(locale, (msg("answer.chosen", label=reply.label),)).html)
            continue
        for row in reply.buttons:
            for b in row:
                size = len(b.data.encode("utf-8"))
                assert 1 <= size <= 64, (b.data, size)
        for locale in LOCALES:
            shown = render(locale, reply.lines, reply.buttons)
            check_rendered(shown.html)
    if toast is not None:
        for locale in LOCALES:
            check_rendered(render_msg(locale, toast))


def run_sequence(
    script: list[Action],
    locale_hint: str | None,
    found: list[tuple[Suggestion, ...]],
) -> None:
    ctx = Context(now=NOW, locale_hint=locale_hint)
    state: State | None = None
    latest: list[Button] = []
    seen: list[Button] = []
    cases = 0
    for action in script:
        event = event_of(action, state, latest, seen)
        if event is None:
            continue
        outcome = step(state, event, ctx)
        check_state(outcome.state)
        check_replies(outcome.replies, outcome.toast)
        state = outcome.state
        replies = outcome.replies
        if any(isinstance(e, SubmitCase) for e in outcome.effects):
            # What the runtime does once the case is stored: feed CaseCreated.
            cases += 1
            ref = f"AIG-{cases:04d}"
            resources = found[cases % len(found)] if found else ()
            summary = CaseSummary(ref=ref, status="nouveau", created_at=NOW, lieu_name=MARKER)
            ctx = replace(ctx, cases=(summary, *ctx.cases), last_lieu={"lieu_name": MARKER})
            fed = step(state, CaseCreated(ref=ref, resources=resources), ctx)
            check_state(fed.state)
            check_replies(fed.replies, fed.toast)
            state = fed.state
            replies = (*replies, *fed.replies)
        pressed = buttons_of(replies)
        if pressed:
            latest = pressed
            seen.extend(pressed)


@settings(
    max_examples=250,
    deadline=None,
    # Long random scripts with huge texts are slow to generate by design.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    script=st.lists(actions, min_size=1, max_size=40),
    locale_hint=st.sampled_from([None, "fr", "en", "en-GB", "de", "", "zz-ZZ"]),
    found=st.lists(st.lists(suggestions, max_size=5).map(tuple), max_size=2),
)
def test_engine_never_breaks(
    script: list[Action], locale_hint: str | None, found: list[tuple[Suggestion, ...]]
) -> None:
    run_sequence(script, locale_hint, found)


# A guided walk: mostly valid presses and plausible answers, so that random runs
# reach the summary, the case and the proposals rather than dying at WELCOME.
_advance = st.builds(Advance, index=st.integers(min_value=0, max_value=30), move_on=st.booleans())
disruptions: st.SearchStrategy[Action] = st.one_of(
    st.integers(min_value=0, max_value=30).map(PressValid),
    st.integers(min_value=0, max_value=30).map(FreshStale),
    texts.map(lambda t: Text(text=t)),
    st.sampled_from(["nouveau", "retour", "statut", "aide", "annuler", "recommencer", "start"]).map(
        lambda n: Command(name=n)
    ),
    attachments,
    locations,
)


@st.composite
def guided_scripts(draw: st.DrawFn) -> list[Action]:
    """Mostly sensible answers with a few disruptions at random places: random
    scripts alone rarely get past the first questions."""
    script: list[Action] = draw(st.lists(_advance, min_size=20, max_size=36))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(script)))
        script.insert(at, draw(disruptions))
    return script


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=guided_scripts(),
    found=st.lists(st.lists(suggestions, min_size=1, max_size=5).map(tuple), max_size=2),
)
def test_engine_guided_walks(script: list[Action], found: list[tuple[Suggestion, ...]]) -> None:
    run_sequence([Text(text="bonjour"), *script], "fr", found)


def test_guided_walk_reaches_a_case() -> None:
    """The guided strategy is only useful if such paths exist: a fixed walk
    through the generic checks ends with a case created."""
    from tests.kernel.transcript import Transcript, full_intake

    t = full_intake(Transcript())
    assert t.stage == Stage.SUMMARY
    t.press("confirm")
    assert t.cases == 1


# -- update parsing ---------------------------------------------------------------

BOT = Bot("123456:PROPERTY-test")  # never initialized: de_json needs no network
ids = st.integers(min_value=-(2**52), max_value=2**52)
_ENTITY_TYPES = ["bot_command", "mention", "url", "bold", "hashtag", "unknown_kind"]


def user_json() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": ids, "is_bot": st.booleans(), "first_name": st.text(max_size=30)},
        optional={
            "last_name": st.text(max_size=30),
            "language_code": st.one_of(st.sampled_from(["fr", "en", "de"]), st.text(max_size=8)),
            "username": st.text(max_size=20),
        },
    )


chat_json = st.fixed_dictionaries(
    {
        "id": ids,
        "type": st.sampled_from(["private", "private", "group", "supergroup", "channel"]),
    },
    optional={"title": st.text(max_size=20), "first_name": st.text(max_size=20)},
)

entity_json = st.fixed_dictionaries(
    {
        "type": st.sampled_from(_ENTITY_TYPES),
        "offset": st.integers(min_value=0, max_value=50),
        "length": st.integers(min_value=0, max_value=50),
    }
)

photo_json = st.lists(
    st.fixed_dictionaries(
        {
            "file_id": st.text(min_size=1, max_size=10),
            "file_unique_id": st.text(min_size=1, max_size=10),
            "width": st.integers(0, 5000),
            "height": st.integers(0, 5000),
        }
    ),
    max_size=3,
)
_file = {"file_id": st.just("f"), "file_unique_id": st.just("u")}
content_json = st.one_of(
    st.fixed_dictionaries(
        {"text": st.one_of(texts, st.just("/start"), st.just("/aide@bot x"))},
        optional={"entities": st.lists(entity_json, max_size=3)},
    ),
    st.fixed_dictionaries({"photo": photo_json}, optional={"caption": st.text(max_size=20)}),
    st.fixed_dictionaries(
        {
            "sticker": st.fixed_dictionaries(
                {
                    **_file,
                    "width": st.just(512),
                    "height": st.just(512),
                    "is_animated": st.booleans(),
                    "is_video": st.booleans(),
                    "type": st.sampled_from(["regular", "mask", "custom_emoji"]),
                }
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "location": st.fixed_dictionaries(
                {"latitude": st.floats(-1e3, 1e3), "longitude": st.floats(-1e3, 1e3)}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "contact": st.fixed_dictionaries(
                {"phone_number": st.text(max_size=15), "first_name": st.text(max_size=15)}
            )
        }
    ),
    st.fixed_dictionaries({"voice": st.fixed_dictionaries({**_file, "duration": st.just(3)})}),
    st.fixed_dictionaries({"document": st.fixed_dictionaries(_file)}),
    st.fixed_dictionaries(
        {
            "video_note": st.fixed_dictionaries(
                {**_file, "length": st.just(240), "duration": st.just(3)}
            )
        }
    ),
    st.just({"dice": {"emoji": "🎲", "value": 3}}),  # a kind we have no mapping for
    st.just({}),  # service message with no content we know
)


@st.composite
def message_json(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": draw(st.integers(min_value=1, max_value=2**31)),
        "date": draw(st.integers(min_value=1, max_value=2**31)),
        "chat": draw(chat_json),
        **draw(content_json),
    }
    if draw(st.booleans()) or data["chat"]["type"] == "private":
        data["from"] = draw(user_json())
    return data


@st.composite
def callback_json(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": draw(st.text(min_size=1, max_size=10)),
        "from": draw(user_json()),
        "chat_instance": draw(st.text(max_size=10)),
    }
    if draw(st.booleans()):
        data["data"] = draw(
            st.one_of(
                st.text(max_size=64), st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
            )
        )
    which = draw(st.sampled_from(["message", "inaccessible", "none", "inline"]))
    if which == "message":
        data["message"] = draw(message_json())
    elif which == "inaccessible":
        # Telegram sends date 0 for messages too old to be accessible.
        data["message"] = {"message_id": 7, "date": 0, "chat": draw(chat_json)}
    elif which == "inline":
        data["inline_message_id"] = "inline-1"
    if draw(st.booleans()):
        data["game_short_name"] = "jeu"
    return data


update_json = (
    st.builds(
        lambda uid, kind, body: {"update_id": uid, kind: body},
        st.integers(min_value=0, max_value=2**31),
        st.sampled_from(["message", "message", "edited_message", "channel_post"]),
        message_json(),
    )
    | st.builds(
        lambda uid, body: {"update_id": uid, "callback_query": body},
        st.integers(min_value=0, max_value=2**31),
        callback_json(),
    )
    | st.builds(
        lambda uid, kind, body: {"update_id": uid, kind: body},
        st.integers(min_value=0, max_value=2**31),
        st.sampled_from(["future_kind", "poll_answer_v9", "business_whatever"]),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    )
)

EVENT_TYPES = (Text, Choice, Command, Attachment, Location)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=update_json)
def test_update_parsing_never_breaks(data: dict[str, Any]) -> None:
    """The transport reads the update's JSON itself; python-telegram-bot's reading of
    the same JSON is the oracle for the fields it takes."""
    incoming = incoming_from(json.loads(json.dumps(data)))
    update = Update.de_json(json.loads(json.dumps(data)), BOT)
    assert update is not None
    query, message = update.callback_query, update.message
    if incoming is None:
        # Nothing a person sent in their private chat is dropped.
        if query is None:
            assert message is None or message.chat.type != "private" or message.from_user is None
        else:
            assert query.message is not None and (
                query.message.chat.type != "private" or query.message.chat.id != query.from_user.id
            )
        return
    assert isinstance(incoming, Incoming)
    assert isinstance(incoming.event, EVENT_TYPES), incoming.event
    assert incoming.update_key == str(update.update_id)
    if query is None:
        # Only private chats hold intakes: a group's message must never reach the runtime.
        assert message is not None and message.chat.type == "private"
        assert message.from_user is not None
        assert incoming.address == str(message.chat.id)
        assert incoming.sender_id == str(message.from_user.id)
        assert incoming.sender_name == (message.from_user.full_name or "")
        assert incoming.locale_hint == message.from_user.language_code
        if message.text is not None:
            assert isinstance(incoming.event, Text | Command)
        if isinstance(incoming.event, Text):
            assert incoming.event.text == message.text
            assert incoming.event.sent_at == message.date
        if isinstance(incoming.event, Location):
            assert message.location is not None
            assert incoming.event.lat == message.location.latitude
    else:
        assert isinstance(incoming.event, Choice)
        assert incoming.event.data == (query.data or "")
        assert incoming.sender_id == str(query.from_user.id)
        assert incoming.sender_name == (query.from_user.full_name or "")
        if query.message is not None:
            assert query.message.chat.type == "private"
            assert incoming.address == str(query.message.chat.id)
            assert incoming.source_message == str(query.message.message_id)
        else:
            assert incoming.address == str(query.from_user.id)
