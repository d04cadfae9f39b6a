"""The nudge worker on SQLite with a fake clock: schedule, buttons, snooze, quiet
hours, catch-up, escalation, restarts, duplicates, cancellation, blocked users."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.config.followup import FollowupConfig, PolicyStep
from bot.delivery.outbox import Dispatcher
from bot.delivery.pacing import NoPacing
from bot.followup.executor import FollowupRuntime
from bot.followup.nudges import NudgeScheduler
from dialogs.kernel.dates import PARIS
from dialogs.kernel.state import Stage
from storage.db import Database
from tests.followup.support import COORDINATOR, POLICY, START, World, build_world, buttons

DAY = timedelta(days=1)


@pytest.fixture
def db(database: Database) -> Database:
    """Every test runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return database


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)


async def test_case_creation_schedules_the_policy(world: World) -> None:
    case = await world.make_case()
    rows = await world.nudges(case)
    assert [(r.kind, r.state) for r in rows] == [
        ("ouverture", "pending"),
        ("demarrage", "pending"),
        ("impact", "pending"),
    ]
    assert [r.due_at for r in rows] == [START + step.after for step in POLICY]


async def test_nothing_before_due_then_one_question_with_buttons(world: World) -> None:
    case = await world.make_case()
    assert await world.tick(3 * DAY - timedelta(minutes=1)) == 0
    assert world.sender.sent == []
    assert await world.tick(timedelta(minutes=1)) == 1
    [payload] = world.sender.to(1001)
    assert "AIG-0001" in payload["html"] and "avancer sur votre demande" in payload["html"]
    first = (await world.nudges(case))[0]
    choices = ("lance", "cours", "pas", "aide", "plus")
    assert buttons(payload) == [f"f:{first.id}:{c}" for c in choices]
    assert first.state == "sent" and first.attempts == 1
    assert [e.kind for e in await world.timeline(case)] == ["nudge_sent"]
    assert await world.tick() == 0  # asked once


async def test_cest_lance_verifies_then_the_impact_nudge_asks_what_changed(world: World) -> None:
    case = await world.make_case()
    await world.tick(3 * DAY)
    first = (await world.nudges(case))[0]
    await world.press(1001, f"f:{first.id}:lance")
    await world.dispatcher.deliver_due()
    assert (await world.case(case)).status == "action_verifiee"
    # No impact question yet: only thanks, and the impact nudge stays planned.
    assert "Je reviendrai vers vous" in world.sender.to(1001)[-1]["html"]
    rows = await world.nudges(case)
    assert [(r.kind, r.state) for r in rows] == [
        ("ouverture", "answered"),
        ("demarrage", "cancelled"),
        ("impact", "pending"),
    ]
    assert rows[0].impact_step is None
    assert await world.tick(14 * DAY) == 0  # nothing about starting any more
    assert await world.tick(28 * DAY) == 1  # day 45: what changed
    asked = world.sender.to(1001)[-1]
    impact = rows[2]
    assert "ressources libres" in asked["html"] and "AIG-0001" in asked["html"]
    assert buttons(asked) == [f"f:{impact.id}:i:ressources:skip"]
    await world.say(1001, "Dolibarr remplace notre tableur d'adhésions")
    await world.press(1001, f"f:{impact.id}:i:heures:5-10")
    await world.say(1001, "3 nouveaux contacts : la ressourcerie et deux fablabs")
    rows = await world.nudges(case)
    assert [(r.state, r.answer, r.impact_step) for r in rows][2] == ("answered", "impact", None)
    events = [(e.kind, e.data) for e in await world.timeline(case)]
    kinds = [k for k, _ in events]
    assert kinds == [
        "nudge_sent",
        "nudge_answer",
        "action_verified",
        "nudge_sent",
        "impact",
        "impact",
        "impact",
        "nudge_answer",
    ]
    recorded = [d for k, d in events if k == "impact"]
    assert recorded[0]["field"] == "ressources" and "Dolibarr" in recorded[0]["text"]
    assert recorded[1] == {"nudge": impact.id, "field": "heures", "range": "5-10"}
    assert recorded[2]["field"] == "contacts" and recorded[2]["value"] == 3
    # The policy is over: nothing more, ever, and no silence alert.
    assert await world.tick(60 * DAY) == 0
    assert world.sender.to(COORDINATOR) == []


async def test_each_simple_answer_is_recorded_and_the_policy_goes_on(world: World) -> None:
    for chat in (1001, 1002):
        await world.make_case(chat=chat)
    await world.tick(3 * DAY)
    rows = await world.nudges()
    by_chat = {r.address: r for r in rows if r.kind == "ouverture"}
    await world.press(1001, f"f:{by_chat['1001'].id}:cours")
    await world.press(1002, f"f:{by_chat['1002'].id}:pas")
    rows = await world.nudges()
    assert {r.answer for r in rows if r.kind == "ouverture"} == {"cours", "pas"}
    assert await world.tick(11 * DAY) == 2  # the 14-day nudges come anyway


async def test_second_press_gets_a_toast_and_changes_nothing(world: World) -> None:
    case = await world.make_case()
    await world.tick(3 * DAY)
    first = (await world.nudges(case))[0]
    await world.press(1001, f"f:{first.id}:cours")
    toast = await world.press(1001, f"f:{first.id}:lance")
    assert toast is not None and "déjà répondu" in toast
    assert (await world.case(case)).status == "nouveau"


async def test_someone_elses_nudge_button_is_stale(world: World) -> None:
    case = await world.make_case(chat=1001)
    await world.make_case(chat=1002)
    await world.tick(3 * DAY)
    first = (await world.nudges(case))[0]
    toast = await world.press(1002, f"f:{first.id}:lance")
    assert toast == "Ce bouton n'est plus actif."
    assert (await world.case(case)).status == "nouveau"


async def test_snooze_asks_again_later_and_moves_the_rest(world: World) -> None:
    case = await world.make_case()
    await world.tick(3 * DAY)
    first = (await world.nudges(case))[0]
    await world.press(1001, f"f:{first.id}:plus")
    await world.press(1001, f"f:{first.id}:plus:14")
    rows = await world.nudges(case)
    # Listed by due date: the question asked again comes before those it pushed back.
    assert [(r.kind, r.state) for r in rows] == [
        ("ouverture", "answered"),
        ("ouverture", "pending"),
        ("demarrage", "pending"),
        ("impact", "pending"),
    ]
    again = rows[1]
    assert again.due_at == START + 3 * DAY + 14 * DAY
    assert rows[2].due_at is not None
    assert rows[2].due_at - (START + 14 * DAY) == 14 * DAY  # moved as much
    assert await world.tick(14 * DAY - timedelta(minutes=1)) == 0
    assert await world.tick(timedelta(minutes=1)) == 1
    assert "avancer sur votre demande" in world.sender.to(1001)[-1]["html"]


async def test_quiet_hours_move_a_nudge_to_the_next_allowed_moment(db: Database) -> None:
    world = build_world(db)
    world.clock.set(datetime(2026, 3, 4, 21, 30, tzinfo=PARIS))  # Wednesday evening
    case = await world.make_case()
    [row, *_] = await world.nudges(case)
    # Saturday 21:30 would be quiet: planned for Monday 09:00 (not Sunday).
    assert row.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=PARIS)
    # A coordinator moves it into quiet hours anyway: the worker waits.
    saturday_night = datetime(2026, 3, 7, 21, 30, tzinfo=PARIS)
    async with db.unit() as uow:
        await uow.nudges.postpone(row.id, until=saturday_night, now=world.clock.now())
    world.clock.set(saturday_night)
    assert await world.tick() == 1  # handled: postponed
    assert world.sender.sent == []
    [row, *_] = await world.nudges(case)
    assert row.state == "pending"
    assert row.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=PARIS)
    world.clock.set(datetime(2026, 3, 9, 8, 59, tzinfo=PARIS))
    assert await world.tick() == 0
    assert await world.tick(timedelta(minutes=1)) == 1
    assert len(world.sender.to(1001)) == 1


async def test_catch_up_after_downtime_is_spread_and_one_per_case(db: Database) -> None:
    config = FollowupConfig(policy=POLICY, grace=timedelta(days=30), catch_up_per_minute=60)
    world = build_world(db, config)
    for chat in range(1001, 1011):
        await world.make_case(chat=chat)
    # Down for 20 days: each case has its 3-day and 14-day nudges overdue.
    world.clock.advance(20 * DAY)  # Sunday 22 March, 10:00: quiet all day
    await world.tick()
    assert world.sender.sent == []
    rows = [r for r in await world.nudges() if r.state == "pending"]
    opening = datetime(2026, 3, 23, 9, 0, tzinfo=PARIS)
    firsts = sorted(r.due_at for r in rows if r.kind == "ouverture")
    assert firsts == [opening + timedelta(seconds=n) for n in range(10)]
    seconds = sorted(r.due_at for r in rows if r.kind == "demarrage")
    assert seconds[0] - opening == 11 * DAY  # keeps its distance to the first
    world.clock.set(opening)
    await world.tick()
    assert len(world.sender.sent) == 1
    await world.tick(timedelta(seconds=4))
    assert len(world.sender.sent) == 5
    assert all(len(world.sender.to(c)) <= 1 for c in range(1001, 1011))


async def test_silence_is_escalated_once_to_the_coordinators(world: World) -> None:
    case = await world.make_case()
    await world.tick(3 * DAY)
    assert await world.tick(2 * DAY - timedelta(minutes=1)) == 0
    assert await world.tick(timedelta(minutes=1)) == 1
    [alert] = world.sender.to(COORDINATOR)
    assert "AIG-0001" in alert["html"] and "pas de réponse" in alert["html"]
    first = (await world.nudges(case))[0]
    assert first.state == "escalated" and first.escalated_at is not None
    assert await world.tick(DAY) == 0
    assert len(world.sender.to(COORDINATOR)) == 1
    # Still answerable after the alert.
    await world.press(1001, f"f:{first.id}:cours")
    assert (await world.nudges(case))[0].answer == "cours"
    assert "escalated" in [e.kind for e in await world.timeline(case)]


async def test_help_button_alerts_the_coordinators(world: World) -> None:
    case = await world.make_case()
    await world.tick(3 * DAY)
    first = (await world.nudges(case))[0]
    await world.press(1001, f"f:{first.id}:aide")
    await world.dispatcher.deliver_due()
    [alert] = world.sender.to(COORDINATOR)
    assert "demande de l'aide" in alert["html"]
    assert await world.tick(3 * DAY) == 0  # answered: no silence alert


async def test_restart_between_due_time_and_send(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db)
    await world.make_case()
    world.clock.advance(3 * DAY)

    # The process dies inside the unit of work: nothing is committed.
    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(FollowupRuntime, "execute", crash)
        with pytest.raises(RuntimeError):
            await world.worker.run_due()
    assert (await world.nudges())[0].state == "pending"
    assert await world.outbox() == []
    # The process dies after the commit, before sending: the outbox keeps it.
    assert await world.worker.run_due() == 1
    restarted = Dispatcher(db, world.clock, {"telegram": world.sender}, pacer=NoPacing())
    assert await restarted.deliver_due() == 1
    assert await restarted.deliver_due() == 0
    assert len(world.sender.to(1001)) == 1


async def test_two_workers_never_ask_twice(world: World) -> None:
    for chat in range(2001, 2041):
        await world.make_case(chat=chat)
    world.clock.advance(3 * DAY)
    other = world.another_worker()
    handled = await asyncio.gather(world.worker.run_due(), other.run_due())
    assert sum(handled) == 40
    await world.dispatcher.deliver_due()
    assert sorted(a for a, _ in world.sender.sent) == [str(c) for c in range(2001, 2041)]


async def test_closing_a_case_cancels_its_follow_up(world: World) -> None:
    case = await world.make_case()
    async with world.db.unit() as uow:
        fresh = await uow.cases.by_ref(case.ref)
        assert fresh is not None
        fresh.status = "clos"
    assert await world.tick(3 * DAY) == 1
    assert world.sender.sent == []
    assert {r.state for r in await world.nudges(case)} == {"cancelled"}
    assert await world.tick(60 * DAY) == 0


async def test_coordinator_tools_list_postpone_cancel(world: World) -> None:
    case = await world.make_case()
    async with world.db.unit() as uow:
        pending = list(await uow.nudges.list_pending())
        assert [n.kind for n in pending] == ["ouverture", "demarrage", "impact"]
        later = START + 10 * DAY
        assert await uow.nudges.postpone(pending[0].id, until=later, now=START)
        assert await uow.nudges.cancel(pending[2].id, reason="coordinator", now=START)
        assert not await uow.nudges.cancel(pending[2].id, reason="again", now=START)
        assert await uow.nudges.count("pending") == 2
    assert await world.tick(3 * DAY) == 0
    assert await world.tick(7 * DAY) == 1
    rows = await world.nudges(case)
    assert [r.state for r in rows] == ["sent", "pending", "cancelled"]


async def test_blocked_person_flags_the_case_and_tells_coordinators_once(world: World) -> None:
    case = await world.make_case()
    world.sender.blocked.add("1001")
    await world.tick(3 * DAY)
    assert world.sender.to(1001) == []
    await world.dispatcher.deliver_due()  # the coordinators' alert
    [alert] = world.sender.to(COORDINATOR)
    assert "bloqué" in alert["html"] and "AIG-0001" in alert["html"]
    # The refused question is not "sent": it is recorded as blocked.
    assert [r.state for r in await world.nudges(case)] == ["blocked", "cancelled", "cancelled"]
    async with world.db.unit() as uow:
        assert await uow.nudges.flags_of(case.id) == {"contact_blocked"}
    assert "contact_blocked" in [e.kind for e in await world.timeline(case)]
    # No retry storm: nothing more is tried, nobody is told twice.
    await world.blocked.contact_failed("telegram", "1001", "forbidden: again")
    assert await world.tick(60 * DAY) == 0
    sends = [r for r in await world.outbox() if r.address == "1001"]
    assert [r.attempts for r in sends] == [1]
    assert len(world.sender.to(COORDINATOR)) == 1


async def test_nudge_waits_for_an_intake_in_progress(world: World) -> None:
    case = await world.make_case(stage=Stage.PROBLEM)
    assert await world.tick(3 * DAY) == 1
    assert world.sender.sent == []
    row = (await world.nudges(case))[0]
    assert row.state == "pending" and row.deferrals == 1
    assert row.due_at == START + 3 * DAY + timedelta(hours=1)


async def test_free_text_answers_the_nudge(world: World) -> None:
    case = await world.make_case()
    await world.tick(3 * DAY)
    await world.say(1001, "On a commencé, doucement.")
    row = (await world.nudges(case))[0]
    assert row.answer == "texte" and row.answer_text == "On a commencé, doucement."
    assert await world.tick(3 * DAY) == 0  # no silence alert


async def test_no_policy_schedules_nothing(db: Database) -> None:
    world = build_world(db, FollowupConfig(policy=()))
    await world.make_case()
    assert await world.nudges() == []


async def test_a_seconds_policy_for_demos(db: Database) -> None:
    policy = (PolicyStep(kind="ouverture", after=timedelta(seconds=90)),)
    world = build_world(db, FollowupConfig(policy=policy))
    await world.make_case()
    assert await world.tick(timedelta(seconds=89)) == 0
    assert await world.tick(timedelta(seconds=1)) == 1


async def test_scheduler_arms_a_date_job_at_the_next_due_time(world: World) -> None:
    await world.make_case()
    scheduler = NudgeScheduler(world.worker, world.clock, timedelta(seconds=60))
    scheduler.start()
    try:
        task = asyncio.create_task(scheduler.run())
        for _ in range(50):
            await asyncio.sleep(0.01)
            if scheduler.scheduler.get_job("nudges-next") is not None:
                break
        job = scheduler.scheduler.get_job("nudges-next")
        assert job is not None and scheduler.scheduler.get_job("nudges-interval") is not None
        delay = job.next_run_time - datetime.now(UTC)
        assert timedelta(days=2, hours=23) < delay <= timedelta(days=3)
        task.cancel()
    finally:
        scheduler.shutdown()


def test_followup_runtime_disabled_has_no_policy() -> None:
    assert FollowupRuntime.disabled().config.policy == ()


async def test_blocked_person_with_several_cases_alert_lists_them_in_order(world: World) -> None:
    first = await world.make_case()
    for _ in range(5):  # more requests from the same chat
        async with world.db.unit() as uow:
            case = await uow.cases.create(
                person_id=first.person_id, locale="fr", sheet={}, now=world.clock.now()
            )
            await world.followup.schedule(uow, case, "telegram", "1001", world.clock.now())
    await world.blocked.contact_failed("telegram", "1001", "forbidden: bot was blocked")
    await world.dispatcher.deliver_due()
    [alert] = world.sender.to(COORDINATOR)
    refs = [f"AIG-{n:04d}" for n in range(1, 7)]
    positions = [alert["html"].index(ref) for ref in refs]
    assert positions == sorted(positions), alert["html"]
