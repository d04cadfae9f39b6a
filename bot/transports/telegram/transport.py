"""Telegram transport: native updates → `Incoming`, outbox payloads → Bot API calls.

It runs python-telegram-bot's `Application` for the Bot and its request layer,
but fetches updates with its own loop and hands each one to `process`, as the
webhook does: an update is confirmed to Telegram (next `getUpdates` offset)
only after its unit of work has committed. PTB's `Updater` confirms as soon as
an update is queued, so a crash between fetch and commit would lose what the
person typed. Sends are paced by the outbox's `Pacer` (bot/delivery/pacing.py)
alone: PTB's AIORateLimiter on top of it paced the same calls a second time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any, assert_never

from telegram import BotCommand, BotCommandScopeDefault, InputFile
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.config.load import TelegramConfig
from bot.delivery import payloads, results
from bot.delivery.payloads import (
    Buttons,
    Document,
    EchoLine,
    EditMessage,
    Payload,
    Photo,
    RemoveButtons,
)
from bot.delivery.results import Blocked, Failed, Scope, SendResult, Sent
from bot.runtime.core import Handled, Incoming, Runtime
from bot.transports.telegram.updates import TRANSPORT as TRANSPORT
from bot.transports.telegram.updates import (
    callback_id,
    foreign_callback,
    incoming_from,
    integer,
    locale_of,
    obj,
    private_chat,
    string,
    update_id,
)
from dialogs.intake.commands import MENU, MENU_EN
from dialogs.kernel.events import Attachment
from dialogs.kernel.i18n import translate
from storage.errors import is_unavailable
from storage.repos.outbox import backoff

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# Telegram counts the limit after entity parsing; the HTML source is longer,
# so splitting the source at this size is always safe.
MAX_TEXT = 4000
ALLOWED_UPDATES = ["message", "callback_query"]
# Catalog files a coordinator may send (bot/coordination/handlers/catalog.py) are
# fetched before the update is handled: `message_event` cannot download.
CATALOG_SUFFIXES = (".yaml", ".yml", ".csv")
MAX_CATALOG_BYTES = 1024 * 1024


def retry_seconds(exc: RetryAfter) -> float:
    """PTB 22 warns that `retry_after` becomes a timedelta; accept both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split on line boundaries; each line of our templates closes its own tags."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def markup(buttons: Buttons) -> JSON | None:
    """An inline keyboard as the Bot API's JSON."""
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in buttons
        ]
    }


# Texts go out through `Bot.do_api_request`, which hands back the raw JSON
# answer: the typed methods parse every answer into a `Message` the outbox
# never looks at, and that parse cost more than the rest of a send. Updates
# come in the same way (bot/transports/telegram/updates.py). PTB warns that
# typed methods exist for these endpoints; we know.
RAW_ENDPOINTS = (
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "getUpdates",
)
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.(" + "|".join(RAW_ENDPOINTS) + r")' instead",
    category=PTBUserWarning,
)
NO_PREVIEW = {"is_disabled": True}


class TelegramSender:
    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.bot = application.bot

    async def send(self, address: str, payload: Payload) -> SendResult:
        try:
            return await self._send(int(address), payload)
        except RetryAfter as exc:
            # Telegram does not say whose limit it was: the whole transport waits.
            return results.RetryAfter(
                seconds=retry_seconds(exc), reason="429 retry_after", scope=Scope.TRANSPORT
            )
        except Forbidden as exc:
            return Blocked(reason=f"forbidden: {exc.message}")
        except BadRequest as exc:
            if "message is not modified" in exc.message.lower():
                return Sent()
            if isinstance(payload, EditMessage) and payload.or_send:
                # The message to update is gone (the person deleted it): send it anew.
                return await self.send(
                    address, payloads.Message(html=payload.html, buttons=payload.buttons)
                )
            return Failed(reason=f"bad request: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            return results.RetryAfter(seconds=backoff(0).total_seconds(), reason=str(exc)[:200])

    async def _send(self, chat_id: int, payload: Payload) -> SendResult:
        match payload:
            case payloads.Message(html=html, buttons=buttons):
                keyboard = markup(buttons)
                chunks = split_text(html)
                sent: Any = None
                for index, chunk in enumerate(chunks):
                    params: JSON = {
                        "chat_id": chat_id,
                        "text": chunk,
                        "parse_mode": ParseMode.HTML.value,
                        "link_preview_options": NO_PREVIEW,
                    }
                    if keyboard is not None and index == len(chunks) - 1:
                        params["reply_markup"] = keyboard
                    sent = await self.bot.do_api_request("sendMessage", params)
                message_id = sent.get("message_id") if isinstance(sent, dict) else None
                return Sent(external_id=str(message_id) if message_id is not None else None)
            case EditMessage():
                return await self._edit(chat_id, payload)
            case RemoveButtons(message=message):
                # No reply_markup: Telegram removes the keyboard.
                await self.bot.do_api_request(
                    "editMessageReplyMarkup", {"chat_id": chat_id, "message_id": int(message)}
                )
                return Sent(external_id=message)
            case EchoLine():
                # A terminal's echo of a typed answer: a chat app shows the answer itself.
                return Sent()
            case Document(filename=filename, content=content, caption_html=caption):
                # The MIME type is guessed from the file name.
                document = await self.bot.send_document(
                    chat_id=chat_id,
                    document=InputFile(content, filename=filename),
                    caption=caption or None,
                    parse_mode=ParseMode.HTML,
                )
                return Sent(external_id=str(document.message_id))
            case Photo(filename=filename, data=data, caption_html=caption):
                # A picture made by the bot (the report's chart, AdminCall.file).
                photo = await self.bot.send_photo(
                    chat_id=chat_id,
                    photo=InputFile(data, filename=filename),
                    caption=caption or None,
                    parse_mode=ParseMode.HTML,
                )
                return Sent(external_id=str(photo.message_id))
            case _:
                assert_never(payload)

    async def _edit(self, chat_id: int, payload: EditMessage) -> Sent:
        """Edit the message in place; a long text's earlier parts stay as they
        are (they are other messages), the edited one gets its own part."""
        keyboard = markup(payload.buttons)
        index, chunks = edit_plan(payload.html, payload.prior_html)
        last = len(chunks) - 1
        params: JSON = {
            "chat_id": chat_id,
            "message_id": int(payload.message),
            "text": chunks[index],
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": NO_PREVIEW,
        }
        if keyboard is not None and index == last:
            params["reply_markup"] = keyboard
        await self.bot.do_api_request("editMessageText", params)
        for number in range(index + 1, len(chunks)):
            extra: JSON = {
                "chat_id": chat_id,
                "text": chunks[number],
                "parse_mode": ParseMode.HTML.value,
                "link_preview_options": NO_PREVIEW,
            }
            if keyboard is not None and number == last:
                extra["reply_markup"] = keyboard
            await self.bot.do_api_request("sendMessage", extra)
        return Sent(external_id=payload.message)


def edit_plan(html: str, prior_html: str | None) -> tuple[int, list[str]]:
    """A text too long for one message went out in parts, its buttons on the
    last: the edited message is that last part. Returns which part of the new
    text it holds, and the parts; the parts after it are sent as new messages
    (an answer line that no longer fits). Without the prior text, the edited
    message is taken to hold the new text's last part."""
    chunks = split_text(html)
    before = len(split_text(prior_html)) if prior_html is not None else len(chunks)
    return min(before, len(chunks)) - 1, chunks


def build_application(
    config: TelegramConfig,
    token: str,
    requests: tuple[BaseRequest, BaseRequest] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """python-telegram-bot's `Application`, built before the transport: its
    sender goes to the outbox, which the transport then wakes. `requests`
    (calls, getUpdates) replaces HTTP, e.g. for an in-memory benchmark."""
    builder = (
        Application.builder()
        .token(token)
        .base_url(config.api_base_url)
        .base_file_url(config.file_base_url)
        .updater(None)
    )
    if requests is not None:
        builder = builder.request(requests[0]).get_updates_request(requests[1])
    return builder.build()


class TelegramTransport:
    def __init__(
        self,
        config: TelegramConfig,
        application: Application[Any, Any, Any, Any, Any, Any],
        runtime: Runtime,
        kick: Callable[[], None],
    ) -> None:
        """`kick` wakes the outbox after each update."""
        self.config = config
        self.application = application
        self.runtime = runtime
        self.kick = kick

    async def process(self, update: JSON) -> bool:
        """Handle one update (the Bot API's JSON, bot/transports/telegram/updates.py).
        False: it must come again (the database was away, nothing committed; the
        webhook answers 500). True: committed, or failed for good and apologised
        for (retrying would fail the same way)."""
        incoming = incoming_from(update)
        if incoming is not None:
            incoming = await self.with_catalog_file(update, incoming)
        toast: str | None = None
        if foreign_callback(update):
            log.warning("update %s: a button of another chat, ignored", update_id(update))
            toast = translate(locale_of(update), "button.stale")
        settled = True
        try:
            if incoming is not None:
                handled = await self.handle_with_retries(incoming)
                toast = handled.toast
        except Exception as exc:
            if is_unavailable(exc):
                settled = False
                # Not lost and not apologised for: `poll` fetches it again, the
                # webhook's 500 makes Telegram resend it; answered once it is back.
                log.warning("database unavailable; update %s kept for later", update_id(update))
            else:
                log.exception("update %s could not be handled", update_id(update))
                await self.apologise(update)
        finally:
            query = callback_id(update)
            if query is not None:
                await self.answer_callback(query, toast)
            self.kick()
        return settled

    async def with_catalog_file(self, update: JSON, incoming: Incoming) -> Incoming:
        """The bytes of a small YAML or CSV document, for a coordinator's catalog
        import; anything else, or a failed download, goes on without them."""
        document = obj(obj(update.get("message")).get("document"))
        file_id = string(document.get("file_id"))
        event = incoming.event
        if file_id is None or not isinstance(event, Attachment):
            return incoming
        name = (string(document.get("file_name")) or "").lower()
        size = integer(document.get("file_size")) or 0
        if not name.endswith(CATALOG_SUFFIXES) or size > MAX_CATALOG_BYTES:
            return incoming
        try:
            file = await self.application.bot.get_file(file_id)
            content = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            log.warning("catalog file could not be downloaded: %s", exc.message)
            return incoming
        if len(content) > MAX_CATALOG_BYTES:
            return incoming
        return dataclasses.replace(incoming, event=dataclasses.replace(event, content=content))

    async def handle_with_retries(self, incoming: Incoming) -> Handled:
        """A locked SQLite file or a PostgreSQL failover is usually brief: tried
        again twice. Any other error would come back the same: raised at once."""
        for attempt in range(3):
            try:
                return await self.runtime.handle(incoming)
            except Exception as exc:
                if attempt == 2 or not is_unavailable(exc):
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    async def answer_callback(self, query: str, toast: str | None) -> None:
        params: JSON = {"callback_query_id": query}
        if toast is not None:
            params["text"] = toast
        try:
            await self.application.bot.do_api_request("answerCallbackQuery", params)
        except TelegramError as exc:
            # Too old to answer (over ~15 min) or already answered: nothing to do.
            log.info("callback answer failed: %s", exc.message)

    async def apologise(self, update: JSON) -> None:
        chat = private_chat(update)
        if chat is None:
            return
        try:
            await self.application.bot.send_message(
                chat_id=chat, text=translate(locale_of(update), "error.technical")
            )
        except TelegramError:
            log.warning("apology could not be sent either")

    async def register_commands(self) -> None:
        bot = self.application.bot
        french = [BotCommand(name, translate("fr", key)) for name, key in MENU]
        english = [BotCommand(MENU_EN[name], translate("en", key)) for name, key in MENU]
        try:
            await bot.set_my_commands(french, scope=BotCommandScopeDefault())
            await bot.set_my_commands(french, scope=BotCommandScopeDefault(), language_code="fr")
            await bot.set_my_commands(english, scope=BotCommandScopeDefault(), language_code="en")
        except TelegramError as exc:
            log.warning("setMyCommands failed: %s", exc.message)

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        await self.register_commands()

    async def stop(self) -> None:
        await self.application.stop()
        await self.application.shutdown()

    async def leave_webhook(self) -> None:
        """getUpdates answers 409 while a webhook is set (a switch from webhook
        mode); pending updates are kept."""
        try:
            await self.application.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            log.warning("deleteWebhook failed: %s", exc.message)

    async def poll(self, held: Callable[[], bool] | None = None) -> None:
        """Fetch, handle, then confirm by asking for the next offset. `held`
        (several processes, bot/runtime/roles.py): asked before each
        `getUpdates`; False ends the loop, another process may be polling."""
        bot = self.application.bot
        offset: int | None = None
        delay = 1.0
        pause = 1.0  # while the database is away
        timeout = self.config.poll_timeout
        await self.leave_webhook()
        while held is None or held():
            try:
                # Raw JSON, read by bot/transports/telegram/updates.py.
                updates = await bot.do_api_request(
                    "getUpdates",
                    {"offset": offset, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES},
                    read_timeout=timeout + 10,
                )
                delay = 1.0
            except InvalidToken:
                raise
            except Conflict:
                log.error("another process is polling this bot token; retrying in 10 s")
                await asyncio.sleep(10)
                continue
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except TimedOut:
                continue
            except NetworkError as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc.message, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            for update in updates:
                if not await self.process(update):
                    # Neither this update nor the rest of the batch is confirmed:
                    # the next getUpdates (same offset) brings them back, in order.
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 30.0)
                    break
                offset = (update_id(update) or 0) + 1
                pause = 1.0
