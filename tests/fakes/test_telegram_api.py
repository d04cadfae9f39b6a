"""Tests of the fake Telegram Bot API, driven by a real ``telegram.Bot`` over loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import warnings
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes, filters
from telegram.ext import MessageHandler as PTBMessageHandler

from tests.fakes.telegram_api import BotMessage, FakeTelegram, parse_entities

TOKEN = "123456:TEST-token"

# PTB 22 warns inside RetryAfter.__init__ that retry_after will become a timedelta.
IGNORE_RETRY_AFTER_DEPRECATION = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as real_bot:
        yield real_bot


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def retry_after_seconds(err: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# --- basics -----------------------------------------------------------------------------------


async def test_get_me(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot is True
    assert me.username == "fake_test_bot"
    assert tg.stats.sent["getMe"] >= 1


async def test_wrong_token_and_unknown_method_use_telegram_envelopes(tg: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{tg.port}/bot999:nope/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.get(f"{tg.base_url}{TOKEN}/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # methods are case-insensitive, like Telegram
        async with http.post(f"{tg.base_url}{TOKEN}/getme") as resp:
            body = await resp.json()
            assert body["ok"] is True
            assert body["result"]["id"] == 123456

    with pytest.raises(InvalidToken):
        async with Bot("999:nope", base_url=tg.base_url):  # initialize() calls getMe
            pass


# --- sending ----------------------------------------------------------------------------------


async def test_send_message_with_html_and_inline_keyboard(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(first_name="Alice", language_code="fr")
    sent = await bot.send_message(
        alice.id,
        "Bonjour <b>Alice</b> &amp; bienvenue",
        parse_mode="HTML",
        reply_markup=keyboard([("J'accepte", "cgu:yes"), ("Non merci", "cgu:no")]),
    )
    assert sent.chat.id == alice.id
    assert sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "Bonjour Alice & bienvenue"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 8, 5)]
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][1].callback_data == "cgu:no"
    assert isinstance(sent.date, dtm.datetime)

    [reply] = await alice.wait_replies(n=1, timeout=1)
    assert isinstance(reply, BotMessage)
    assert reply.message_id == sent.message_id
    assert reply.text == "Bonjour <b>Alice</b> &amp; bienvenue"
    assert reply.plain_text == "Bonjour Alice & bienvenue"
    assert reply.parse_mode == "HTML"
    assert reply.buttons == [[("J'accepte", "cgu:yes"), ("Non merci", "cgu:no")]]
    assert reply.edited is False
    assert alice.last_bot_message == reply
    assert "bot #1: Bonjour Alice & bienvenue [J'accepte | Non merci]" in alice.transcript


async def test_html_validation_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: can't find end tag"):
        await bot.send_message(alice.id, "<b>oups", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "div"'):
        await bot.send_message(alice.id, "<div>x</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)unmatched end tag"):
        await bot.send_message(alice.id, "<b>x</i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(alice.id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(alice.id, "<b> </b>", parse_mode="HTML")
    # the limit applies after the tags are stripped
    long_html = "<b>" + "x" * 4096 + "</b>"
    sent = await bot.send_message(alice.id, long_html, parse_mode="HTML")
    assert len(sent.text) == 4096
    # the same text without parse_mode is sent verbatim; Telegram detects links by itself
    plain = await bot.send_message(alice.id, "a < b, see https://example.org")
    assert plain.text == "a < b, see https://example.org"
    assert [(e.type, e.offset) for e in plain.entities] == [("url", 11)]
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(alice.id, "[b]Fin[/b]", parse_mode="BBCode")
    assert tg.stats.errors[400] == 6


def test_parse_entities_reports_utf16_offsets() -> None:
    text, entities = parse_entities("😀 <i>é</i> <a href='https://ex.org'>lien</a>", "HTML")
    assert text == "😀 é lien"
    assert entities == [
        {"type": "italic", "offset": 3, "length": 1},
        {"type": "text_link", "offset": 5, "length": 4, "url": "https://ex.org"},
    ]


# Tricky UTF-16 counting (emoji with modifiers, flags, astral letters, accents, entities,
# nested tags): the entities expected are what the byte-by-byte parser gave before plain
# text was counted in runs, each with the text it covers cut by UTF-16 units.
HTML_UTF16_CASES = [
    (
        "😀 <b>é<i>👍🏽 ça</i> va</b> &lt;3 &amp; &#128512;<u>x</u>",
        "😀 é👍🏽 ça va <3 & 😀x",
        [("bold", 3, 11, "é👍🏽 ça va"), ("italic", 4, 7, "👍🏽 ça"), ("underline", 22, 1, "x")],
    ),
    (
        "<b>Aiguillage</b> — Café « Le Fil » : 🇫🇷 <i>tiers-lieu</i>\n"
        "<a href='https://ex.org/é'>lien 🔗</a> & fin",
        "Aiguillage — Café « Le Fil » : 🇫🇷 tiers-lieu\nlien 🔗 & fin",
        [
            ("bold", 0, 10, "Aiguillage"),
            ("italic", 36, 10, "tiers-lieu"),
            ("text_link", 47, 7, "lien 🔗"),
        ],
    ),
    (
        "&bogus; 🎉<s>𝒳𝒴</s>\u00a0<code>a&lt;b</code>"
        '<pre><code class="language-py">π = 3</code></pre>',
        "&bogus; 🎉𝒳𝒴\u00a0a<bπ = 3",
        [("strikethrough", 10, 4, "𝒳𝒴"), ("code", 15, 3, "a<b"), ("pre", 18, 5, "π = 3")],
    ),
    (
        "<blockquote expandable>ligne 1\nligne 2 ✅</blockquote><tg-spoiler>secret 🤫</tg-spoiler>",
        "ligne 1\nligne 2 ✅secret 🤫",
        [("expandable_blockquote", 0, 17, "ligne 1\nligne 2 ✅"), ("spoiler", 17, 9, "secret 🤫")],
    ),
]


@pytest.mark.parametrize(("source", "plain", "expected"), HTML_UTF16_CASES)
def test_html_entity_offsets_count_utf16_units(
    source: str, plain: str, expected: list[tuple[str, int, int, str]]
) -> None:
    text, entities = parse_entities(source, "HTML")
    assert text == plain
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        (kind, offset, length) for kind, offset, length, _ in expected
    ]
    units = text.encode("utf-16-le")
    for _, offset, length, covered in expected:
        assert units[2 * offset : 2 * (offset + length)].decode("utf-16-le") == covered


async def test_unknown_chat_and_blocked_user(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello?")
    bob = tg.user(first_name="Bob")
    tg.block(bob)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(bob.id, "still there?")
    tg.unblock(bob)
    await bot.send_message(bob.id, "welcome back")


async def test_invalid_callback_data_is_rejected(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(alice.id, "x", reply_markup=keyboard([("Trop long", "d" * 65)]))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(alice.id, "x", reply_markup=keyboard([("Accents", "é" * 33)]))
    ok = await bot.send_message(alice.id, "x", reply_markup=keyboard([("Juste", "d" * 64)]))
    assert ok.reply_markup is not None
    assert alice.messages[-1].buttons == [[("Juste", "d" * 64)]]


# --- updates ------------------------------------------------------------------------------------


async def test_get_updates_offset_confirms_and_ids_increase(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(first_name="Alice", language_code="fr")
    bob = tg.user(first_name="Bob")
    await alice.say("/start promo42")
    await bob.say("salut")
    await alice.say("ça va ?")

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)
    assert len({u.update_id for u in updates}) == 3
    first = updates[0]
    assert first.message is not None
    assert first.message.text == "/start promo42"
    assert first.message.entities[0].type == "bot_command"
    assert first.message.entities[0].length == len("/start")
    assert first.message.from_user is not None
    assert first.message.from_user.language_code == "fr"
    assert first.message.chat.id == alice.id
    assert updates[1].effective_user is not None and updates[1].effective_user.id == bob.id

    # without offset nothing is confirmed: same updates again
    assert [u.update_id for u in await bot.get_updates()] == [u.update_id for u in updates]
    # limit
    assert len(await bot.get_updates(limit=1)) == 1
    # offset confirms everything below it
    rest = await bot.get_updates(offset=updates[1].update_id)
    assert [u.update_id for u in rest] == [updates[1].update_id, updates[2].update_id]
    assert tg.pending_updates() == [updates[1].update_id, updates[2].update_id]
    assert await bot.get_updates(offset=updates[2].update_id + 1) == ()
    assert tg.pending_updates() == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await alice.say("coucou")
    updates = await asyncio.wait_for(poll, timeout=2)
    assert loop.time() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["coucou"]


async def test_a_second_poller_terminates_the_first_with_conflict(
    tg: FakeTelegram, bot: Bot
) -> None:
    # (PTB gives getUpdates a 1-connection pool: the rival must be another bot instance)
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    async with Bot(TOKEN, base_url=tg.base_url) as other_instance:
        assert await other_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=1)


async def test_allowed_updates_filter(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    await bot.send_message(alice.id, "choix", reply_markup=keyboard([("A", "a")]))
    await alice.say("texte")
    await alice.press("A")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]


async def test_redeliver(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    await alice.say("payer")
    [update] = await bot.get_updates()
    assert await bot.get_updates(offset=update.update_id + 1) == ()

    # a running poller gets the same update again
    tg.redeliver(update.update_id)
    [again] = await bot.get_updates(offset=update.update_id + 1)
    assert again.update_id == update.update_id
    assert again.message is not None and again.message.text == "payer"
    assert await bot.get_updates(offset=update.update_id + 1) == ()


async def test_webhook_is_stored_and_conflicts_with_polling(tg: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    assert tg.webhook == {"url": "https://example.org/hook", "secret_token": "s3cret"}
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://example.org/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://example.org/hook", secret_token="s3cret!")
    assert await bot.delete_webhook(drop_pending_updates=False)
    assert tg.webhook["url"] == ""
    assert await bot.get_updates() == ()


# --- callbacks & edits ------------------------------------------------------------------------


async def test_press_and_answer_callback_query(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(first_name="Alice")
    sent = await bot.send_message(
        alice.id, "CGU ?", reply_markup=keyboard([("J'accepte", "yes"), ("Je refuse", "no")])
    )
    query_id = await alice.press("accepte")  # unique, case-insensitive substring
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "yes"
    assert query.from_user.id == alice.id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert tg.unanswered_callbacks() == [query_id]

    assert await bot.answer_callback_query(query_id, text="Merci !")
    assert alice.callback_answers == ["Merci !"]
    assert alice.callback_answers[0].query_id == query_id
    assert tg.unanswered_callbacks() == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)

    with pytest.raises(AssertionError, match="ambiguous"):
        await alice.press("j")
    with pytest.raises(AssertionError, match="no button"):
        await alice.press("Peut-être")


async def test_edit_message_text_and_markup(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    markup = keyboard([("Ancien", "old")])
    sent = await bot.send_message(alice.id, "Étape 1", reply_markup=markup)
    first = await alice.wait_reply(timeout=1)

    edited = await bot.edit_message_text(
        "Étape <b>2</b>",
        chat_id=alice.id,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard([("Nouveau", "new")]),
    )
    assert isinstance(edited, type(sent))
    assert edited.text == "Étape 2"
    assert edited.edit_date is not None
    [update] = await alice.wait_replies(timeout=1)
    assert update.edited is True
    assert update.message_id == sent.message_id
    assert update.buttons == [[("Nouveau", "new")]]
    assert alice.messages[0].plain_text == "Étape 2"

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Étape <b>2</b>",
            chat_id=alice.id,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard([("Nouveau", "new")]),
        )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=alice.id,
            message_id=sent.message_id,
            reply_markup=keyboard([("Nouveau", "new")]),
        )
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=999)

    # a stale keyboard: the user presses a button they saw before the edit
    await alice.press("Ancien", message=first)
    [stale] = await bot.get_updates()
    assert stale.callback_query is not None and stale.callback_query.data == "old"

    # like Telegram, editing the text without reply_markup drops the keyboard
    await bot.edit_message_text("Étape 3", chat_id=alice.id, message_id=sent.message_id)
    last = await alice.wait_reply(timeout=1)
    assert last.buttons == []

    # the person deletes the message: the bot's next edit finds nothing to edit
    alice._messages[sent.message_id].deleted = True
    assert alice.messages == []
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("Étape 4", chat_id=alice.id, message_id=sent.message_id)


# --- commands ---------------------------------------------------------------------------------


async def test_my_commands_per_language(tg: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    assert await bot.set_my_commands(
        [BotCommand("start", "Démarrer"), BotCommand("aide", "Aide")], language_code="fr"
    )
    assert tg.commands("fr") == [("start", "Démarrer"), ("aide", "Aide")]
    assert tg.commands() == [("start", "Start"), ("help", "Help")]
    assert tg.commands("en") == []
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Not-Valid", "x")])
    with pytest.raises(BadRequest, match=r"(?i)invalid language code"):
        await bot.set_my_commands([BotCommand("start", "Start")], language_code="fra")


# --- faults & limits --------------------------------------------------------------------------


@IGNORE_RETRY_AFTER_DEPRECATION
async def test_fail_next_429_raises_retry_after(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    tg.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "hello")
    assert retry_after_seconds(caught.value) == 7
    assert alice.messages == []  # the failed call did nothing
    await bot.send_message(alice.id, "hello")  # only the next call failed
    assert tg.stats.rate_limited == 1
    assert tg.stats.sent["sendMessage"] == 1

    tg.fail_next("send_message", status=502, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(alice.id, "hello")
    await bot.send_message(alice.id, "hello")
    assert tg.stats.errors[502] == 2
    assert tg.stats.calls["sendMessage"] == 5


@IGNORE_RETRY_AFTER_DEPRECATION
async def test_rate_limits_answer_429(tg: FakeTelegram, bot: Bot) -> None:
    alice, bob, carol = tg.user(), tg.user(), tg.user()
    tg.set_limits(global_per_s=3, per_chat_per_s=1)
    await bot.send_message(alice.id, "1")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "2")
    assert retry_after_seconds(caught.value) == 1
    await bot.send_message(bob.id, "1")
    await bot.send_message(carol.id, "1")
    dave = tg.user()
    with pytest.raises(RetryAfter):
        await bot.send_message(dave.id, "1")  # global budget exhausted
    assert tg.stats.rate_limited == 2
    tg.set_limits()
    await bot.send_message(alice.id, "2")


# --- files ------------------------------------------------------------------------------------


async def test_send_document_roundtrip(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    payload = b"%PDF-1.4\n" + bytes(range(256))
    sent = await bot.send_document(
        alice.id, payload, filename="charte.pdf", caption="La <i>charte</i>", parse_mode="HTML"
    )
    assert sent.document is not None
    assert sent.document.file_name == "charte.pdf"
    assert sent.document.mime_type == "application/pdf"
    assert sent.document.file_size == len(payload)
    assert sent.caption == "La charte"

    reply = await alice.wait_reply(timeout=1)
    assert reply.kind == "document"
    assert reply.filename == "charte.pdf"
    assert reply.data == payload
    assert reply.text == "La <i>charte</i>"

    file = await bot.get_file(sent.document.file_id)
    assert await file.download_as_bytearray() == bytearray(payload)

    jpeg = b"\xff\xd8\xff fake jpeg"
    photo = await bot.send_photo(alice.id, jpeg, caption="vue")
    assert photo.photo and photo.photo[-1].file_size == len(jpeg)
    assert alice.last_bot_message is not None and alice.last_bot_message.kind == "photo"


async def test_user_document_downloaded_through_get_file(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    content = b"nom;ville\nLa Fabrique;Lyon\n"
    await alice.send_document("lieux.csv", content, caption="mes lieux")
    [update] = await bot.get_updates()
    assert update.message is not None
    document = update.message.document
    assert document is not None
    assert document.file_name == "lieux.csv"
    assert document.mime_type == "text/csv"
    assert update.message.caption == "mes lieux"
    file = await bot.get_file(document.file_id)
    assert file.file_path is not None and file.file_path.startswith(tg.base_file_url)
    assert bytes(await file.download_as_bytearray()) == content
    with pytest.raises(BadRequest, match=r"(?i)wrong file_id"):
        await bot.get_file("nope")


async def test_user_media_shapes_parse_in_ptb(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user()
    await alice.send_photo(caption="ma photo")
    await alice.send_voice(duration=3)
    await alice.send_sticker("🎉")
    await alice.share_location(45.76, 4.83)
    photo, voice, sticker, location = (u.message for u in await bot.get_updates())
    assert photo is not None and photo.photo and photo.caption == "ma photo"
    assert voice is not None and voice.voice is not None
    assert sticker is not None and sticker.sticker is not None and sticker.sticker.emoji == "🎉"
    assert location is not None and location.location is not None
    assert location.location.latitude == pytest.approx(45.76)
    assert [line.split(":")[0] for line in alice.transcript] == ["Alice"] * 4


async def test_wait_timeout_shows_transcript(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(first_name="Alice")
    await alice.say("allo ?")
    with pytest.raises(AssertionError, match=r"(?s)expected 1 new bot message.*Alice: allo \?"):
        await alice.wait_replies(n=1, timeout=0.1)
    await alice.expect_silence(0.01)


async def test_concurrent_users_get_their_own_replies(tg: FakeTelegram, bot: Bot) -> None:
    users = [tg.user(first_name=f"U{i}") for i in range(5)]

    async def converse(index: int) -> None:
        user = users[index]
        await user.say(f"hello {index}")
        replies = await user.wait_replies(n=2, timeout=2)
        assert [r.text for r in replies] == [f"echo {index}", f"bye {index}"]

    async def fake_bot() -> None:
        offset = 0
        answered = 0
        while answered < len(users):
            for update in await bot.get_updates(offset=offset, timeout=1):
                offset = update.update_id + 1
                assert update.message is not None and update.message.text is not None
                index = int(update.message.text.split()[1])
                await bot.send_message(update.message.chat.id, f"echo {index}")
                await bot.send_message(update.message.chat.id, f"bye {index}")
                answered += 1

    await asyncio.gather(fake_bot(), *(converse(i) for i in range(len(users))))


# --- a real Application -------------------------------------------------------------------------


async def test_application_polls_and_replies(tg: FakeTelegram) -> None:
    application: Application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        await update.message.reply_text(
            f"Bienvenue <b>{update.effective_user.first_name}</b>",
            parse_mode="HTML",
            reply_markup=keyboard([("J'accepte", "ok")]),
        )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text.upper())

    application.add_handler(CommandHandler("start", start))
    application.add_handler(PTBMessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0)
    try:
        alice = tg.user(first_name="Alice", language_code="fr")
        await alice.say("/start")
        [welcome] = await alice.wait_replies(timeout=3)
        assert welcome.plain_text == "Bienvenue Alice"
        assert welcome.buttons == [[("J'accepte", "ok")]]
        await alice.say("hello")
        [echoed] = await alice.wait_replies(timeout=3)
        assert echoed.text == "HELLO"
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert tg.pending_updates() == []  # the updater confirmed everything on stop
    assert tg.stats.sent["deleteWebhook"] == 1


# --- in memory (bench/intake.py) ---------------------------------------------------------------


async def test_in_memory_request_takes_the_same_path_without_sockets() -> None:
    """`InMemoryRequest` answers PTB from a fake that was never started: replies, buttons,
    button presses, errors and uploads work as over HTTP."""
    from tests.fakes.telegram_api import InMemoryRequest

    tg = FakeTelegram(token=TOKEN)
    app = Application.builder().token(TOKEN).request(InMemoryRequest(tg)).updater(None).build()

    async def hello(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        markup = keyboard([("Oui", "1:yes"), ("Non", "1:no")])
        chat = update.effective_chat.id
        await context.bot.send_message(
            chat, "<b>Bonjour</b>", parse_mode="HTML", reply_markup=markup
        )

    app.add_handler(CommandHandler("start", hello))
    await app.initialize()
    try:
        alice = tg.user(first_name="Alice")
        await alice.say("/start")
        [update] = tg.take_updates()
        assert tg.take_updates() == [] and tg.pending_updates() == []
        await app.process_update(Update.de_json(update, app.bot))
        reply = await alice.wait_reply()
        assert reply.raw["text"] == "Bonjour" and reply.callback_data == ["1:yes", "1:no"]
        assert await alice.press_data(lambda data: data.endswith(":no")) is not None
        [pressed] = tg.take_updates()
        assert pressed["callback_query"]["data"] == "1:no"
        assert await alice.press_data(lambda data: data == "nothing") is None
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await app.bot.send_message(999, "x")
        await app.bot.send_document(alice.id, b"%PDF-1.4", filename="a.pdf")
        [document] = await alice.wait_replies()
        assert document.data == b"%PDF-1.4"
        assert tg.stats.calls["sendMessage"] == 2 and tg.stats.errors[400] == 1
        tg.forget(alice)
        assert tg.users == []
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await app.bot.send_message(alice.id, "x")
    finally:
        await app.shutdown()
    wrong = Application.builder().token("1:WRONG").request(InMemoryRequest(tg)).build()
    with pytest.raises(InvalidToken):
        await wrong.initialize()
