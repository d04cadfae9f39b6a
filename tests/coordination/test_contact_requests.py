"""A contact request on a Telegram-only installation (no Matrix), end to end:
the person asks through the real python-telegram-bot Application, the coordinator
of `[coordinators] telegram_ids` receives it with buttons and assigns it, the
aiguilleur and the person are told (issue 14, item 6)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.catalog.service import load_starter_catalog
from storage.models.core import Case
from tests.coordination.support import Desk, command_log, plain
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser, _Callback
from tests.transports.telegram.harness import (
    bot_config,
    choose,
    full_intake,
    next_question,
    running_bot,
)


async def until_text(user: FakeUser, expected: str, timeout: float = 20.0) -> BotMessage:
    """Bot messages (new or edited), until one contains `expected` (plain spaces)."""
    seen: list[str] = []
    while True:
        try:
            reply = await user.wait_reply(timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"never saw {expected!r}; saw {seen}") from exc
        seen.append(plain(reply.plain_text))
        if expected in seen[-1] or any(expected in label for label in reply.labels):
            return reply


async def ask_for_contact(desk: Desk) -> FakeUser:
    await load_starter_catalog(desk.db, include_demo_aiguilleurs=False)
    alice = desk.tg.user("Alice", language_code="fr")
    await full_intake(alice)
    await alice.press("Confirmer")
    proposals = await until_text(alice, "Être mis·e en relation")
    assert "Souhaitez-vous être mis·e en relation" in plain(proposals.plain_text)
    await alice.press("Être mis·e en relation")
    told = await until_text(alice, "équipe de coordination")
    assert "AIG-0001" in plain(told.plain_text)
    return alice


async def test_the_coordinator_receives_the_request_and_assigns_it_by_button(desk: Desk) -> None:
    alice = await ask_for_contact(desk)
    request = await until_text(desk.coordinator, "Demande de mise en relation AIG-0001")
    text = plain(request.plain_text)
    assert "La Fabrique" in text and "Nos adhésions" in text  # the case sheet
    assert "Demandée par Alice" in text
    assert "Confier à Camille Durand" in request.labels
    assert "🙋 Je m'en occupe" in request.labels

    await desk.coordinator.press("Confier à Camille Durand")
    reach = await until_text(desk.coordinator, "Pour écrire à la personne")
    assert f"tg://user?id={alice.id}" in (reach.text or "")
    now = {m.message_id: m for m in desk.coordinator.messages}
    settled = now[request.message_id]
    assert "✅ Confiée à Camille Durand" in plain(settled.plain_text)
    assert settled.buttons == []  # no button left to press twice
    said = [plain(m.plain_text) for m in now.values()]
    assert any(
        "Dossier AIG-0001 confié à Camille Durand" in t and "prévenu·e sur Telegram" in t
        for t in said
    ), said

    to_aiguilleur = await until_text(desk.aiguilleur, "la coordination vous la confie")
    assert "AIG-0001" in plain(to_aiguilleur.plain_text)
    to_person = await until_text(alice, "est confiée à Camille Durand")
    assert "AIG-0001" in plain(to_person.plain_text)

    async with desk.db.unit() as uow:
        case = (await uow.session.scalars(select(Case))).one()
        held = await uow.assignments.open_for_case(case.id)
    assert case.status == "attribue"
    assert held is not None and held.aiguilleur_id == "camille-durand"
    assert ("coordinator", "assigner", "ok") in await command_log(desk.db)
    assert desk.tg.unanswered_callbacks() == []


async def test_the_coordinator_takes_the_request_and_the_person_is_told(desk: Desk) -> None:
    alice = await ask_for_contact(desk)
    await until_text(desk.coordinator, "Demande de mise en relation AIG-0001")
    await desk.coordinator.press("Je m'en occupe")
    reach = await until_text(desk.coordinator, "Pour écrire à la personne")
    assert f"tg://user?id={alice.id}" in (reach.text or "")
    told = await until_text(alice, "de l'équipe de coordination, suit votre demande")
    assert "Coralie" in plain(told.plain_text)
    async with desk.db.unit() as uow:
        case = (await uow.session.scalars(select(Case))).one()
        kinds = [e.kind for e in await uow.cases.timeline(case)]
    assert case.status == "attribue"
    assert "contact_sent_to_coordinators" in kinds and "taken" in kinds


async def test_someone_else_pressing_a_request_button_is_refused(desk: Desk) -> None:
    """The button data names the case: a stranger who forges it gets a refusal."""
    await ask_for_contact(desk)
    request = await until_text(desk.coordinator, "Demande de mise en relation AIG-0001")
    _, data = request.button("Je m'en occupe")
    welcome = await ask_start(desk.stranger)
    await forge_press(desk.tg, desk.stranger, welcome, data)
    refusal = await next_question(desk.stranger)
    assert "coordinat" in plain(refusal.plain_text)
    async with desk.db.unit() as uow:
        case = (await uow.session.scalars(select(Case))).one()
    assert case.status == "en_attente"
    assert ("anyone", "assigner", "refused") in await command_log(desk.db)


async def ask_start(user: FakeUser) -> BotMessage:
    await user.say("/start")
    return await next_question(user)


async def forge_press(tg: FakeTelegram, user: FakeUser, on: BotMessage, data: str) -> None:
    """A press on `user`'s own message whose callback data was copied from
    someone else's button (what a modified client can send)."""
    query_id = f"forged-{user.id}"
    tg._callbacks[query_id] = _Callback(query_id, user.id, on.message_id, data, tg.clock())
    tg._enqueue(
        {
            "callback_query": {
                "id": query_id,
                "from": user.user_json,
                "message": on.raw,
                "chat_instance": "forged",
                "data": data,
            }
        }
    )


async def test_without_any_coordinator_the_person_is_told_nobody_can_be_reached(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """No Matrix, no coordinator: contact is not offered on the proposals, and a
    person who chose it as the help wanted is told the truth."""
    async with running_bot(bot_config(tg, tmp_path)) as bot:
        await load_starter_catalog(bot.db, include_demo_aiguilleurs=False)
        alice = tg.user("Alice", language_code="fr")
        await full_intake(alice)
        await alice.press("Modifier")
        await next_question(alice)
        await choose(alice, "Aide souhaitée")
        await alice.press("Être mis·e en relation")
        await alice.wait_reply()
        await choose(alice, "Valider")
        sheet = next(m for m in alice.messages if "Votre fiche" in plain(m.plain_text))
        assert "Être mis·e en relation" in plain(sheet.plain_text)
        await alice.press("Confirmer et envoyer")
        told = await until_text(alice, "Je ne peux pas vous mettre en relation")
        assert "personne de l'équipe n'est joignable" in plain(told.plain_text)
        offered = [label for m in alice.messages for label in m.labels]
        assert "🤝 Être mis·e en relation" not in offered
        async with bot.db.unit() as uow:
            case = (await uow.session.scalars(select(Case))).one()
        assert case.contact_requested  # the wish is kept for when someone can read it


async def test_contact_chosen_as_the_help_wanted_is_sent_and_not_asked_again(desk: Desk) -> None:
    """Issue 14, item 9: "Être mis·e en relation" chosen in the intake is the
    request; the proposals do not ask for it a second time."""
    await load_starter_catalog(desk.db, include_demo_aiguilleurs=False)
    alice = desk.tg.user("Alice", language_code="fr")
    await full_intake(alice)
    await alice.press("Modifier une réponse")
    await next_question(alice)
    await choose(alice, "Aide souhaitée")
    await alice.press("Être mis·e en relation")
    await alice.wait_reply()
    await choose(alice, "Valider")
    await alice.press("Confirmer et envoyer")
    told = await until_text(alice, "équipe de coordination")
    assert "AIG-0001" in plain(told.plain_text)
    labels = [label for m in alice.messages for label in m.labels]
    assert "🤝 Être mis·e en relation" not in labels
    texts = " ".join(plain(m.plain_text) for m in alice.messages)
    assert "Souhaitez-vous être mis·e en relation" not in texts
    await until_text(desk.coordinator, "Demande de mise en relation AIG-0001")
    async with desk.db.unit() as uow:
        case = (await uow.session.scalars(select(Case))).one()
    assert case.contact_requested


async def test_a_request_closed_meanwhile_cannot_be_taken(desk: Desk) -> None:
    await ask_for_contact(desk)
    request = await until_text(desk.coordinator, "Demande de mise en relation AIG-0001")
    await desk.coordinator.say("/clore AIG-0001")
    await until_text(desk.coordinator, "AIG-0001")
    await desk.coordinator.press("Je m'en occupe", message=request.message_id)
    refusal = await until_text(desk.coordinator, "déjà clos")
    assert "AIG-0001" in plain(refusal.plain_text)
    async with desk.db.unit() as uow:
        case = (await uow.session.scalars(select(Case))).one()
    assert case.status == "clos"


async def test_a_typed_assigner_without_matrix_tells_the_person_too(desk: Desk) -> None:
    alice = await ask_for_contact(desk)
    await until_text(desk.coordinator, "Demande de mise en relation AIG-0001")
    await desk.coordinator.say("/assigner AIG-0001 camille-durand")
    await until_text(desk.coordinator, "Dossier AIG-0001 confié à Camille Durand")
    told = await until_text(alice, "est confiée à Camille Durand")
    assert "L'équipe de coordination vous met en relation" in plain(told.plain_text)
    await until_text(desk.aiguilleur, "la coordination vous la confie")
