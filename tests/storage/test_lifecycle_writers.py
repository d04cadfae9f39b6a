"""One writer per lifecycle: `CasesRepo.move` for a case's status, `AssignmentsRepo.offer`
and `.move` for an assignment's state. They check the table, record the move, and refuse
an unknown one; and no other module writes a status or a state (read from the source)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialogs.kernel.lifecycles import AssignmentState, CaseStatus, ForbiddenMove
from storage.db import Database

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "dialogs", "storage")

# (file, function) → what it may write. Everything else must go through the writers.
STATUS_WRITERS = {("storage/repos/cases.py", "move")}
STATE_WRITERS = {
    ("storage/repos/assignments.py", "move"),
    # Not assignments: the inscription forms' state, nudges (a person who blocked the
    # bot) and the demo's nudges.
    ("storage/repos/nudges.py", "mark_blocked"),
    ("storage/repos/inscriptions.py", "approve"),
    ("storage/repos/inscriptions.py", "reject"),
    ("bot/cli/demo_data.py", "nudges"),
}
CONSTRUCTORS = {  # model → (its lifecycle column, the one function that creates rows)
    "Case": ("status", ("storage/repos/cases.py", "create")),
    "Assignment": ("state", ("storage/repos/assignments.py", "offer")),
}


async def test_the_case_writer_moves_records_and_refuses(database: Database) -> None:
    async with database.unit() as uow:
        case = await uow.cases.create(person_id=None, locale="fr", sheet={}, now=NOW)
        assert case.status == CaseStatus.NEW
        later = NOW + timedelta(hours=1)
        await uow.cases.move(
            case, CaseStatus.CLOSED, actor="coord", kind="case_closed", data={"n": 1}, now=later
        )
        with pytest.raises(ForbiddenMove):
            await uow.cases.move(case, CaseStatus.VERIFIED, actor="x", kind="y", now=later)
        ref = case.ref
    async with database.unit() as uow:
        loaded = await uow.cases.by_ref(ref)
        assert loaded is not None
        assert loaded.status == "clos" and loaded.updated_at == NOW + timedelta(hours=1)
        timeline = [(e.actor, e.kind, e.data) for e in await uow.cases.timeline(loaded)]
        assert timeline == [("coord", "case_closed", {"n": 1})]


async def test_the_assignment_writer_moves_and_refuses(database: Database) -> None:
    async with database.unit() as uow:
        case = await uow.cases.create(person_id=None, locale="fr", sheet={}, now=NOW)
        row = await uow.assignments.offer(
            case=case, aiguilleur_id="alix", room_id="!r:x", deadline=NOW, now=NOW
        )
        await uow.assignments.move(row, AssignmentState.ACCEPTED, now=NOW)
        with pytest.raises(ForbiddenMove):
            await uow.assignments.move(row, AssignmentState.EXPIRED, now=NOW)
        assignment_id = row.id
    async with database.unit() as uow:
        loaded = await uow.assignments.get(assignment_id)
        assert loaded is not None
        assert loaded.state == "accepted" and loaded.decided_at == NOW
        assert loaded.deadline is None


def functions_of(tree: ast.Module) -> dict[ast.AST, str]:
    """Each node → the name of the innermost function holding it."""
    owner: dict[ast.AST, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else name
            )
            owner[child] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return owner


def targets(node: ast.AST) -> list[ast.expr]:
    match node:
        case ast.Assign(targets=found):
            out: list[ast.expr] = []
            for target in found:
                out.extend(target.elts if isinstance(target, ast.Tuple) else [target])
            return out
        case ast.AugAssign(target=target) | ast.AnnAssign(target=target):
            return [target]
    return []


def updated_model(call: ast.Call) -> str | None:
    """`update(Model)....values(...)`: the model's name."""
    node: ast.expr = call.func
    while True:
        match node:
            case ast.Call(func=ast.Name(id="update"), args=[ast.Name(id=model), *_]):
                return model
            case ast.Call(func=inner) | ast.Attribute(value=inner):
                node = inner
            case _:
                return None


def lifecycle_writes() -> list[str]:
    found: list[str] = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            owner = functions_of(tree)
            for node in ast.walk(tree):
                where = (relative, owner.get(node, "<module>"))
                place = f"{relative}:{getattr(node, 'lineno', '?')} in {where[1]}"
                for target in targets(node):
                    if isinstance(target, ast.Attribute):
                        if target.attr == "status" and where not in STATUS_WRITERS:
                            found.append(f"{place}: .status =")
                        if target.attr == "state" and where not in STATE_WRITERS:
                            found.append(f"{place}: .state =")
                if not isinstance(node, ast.Call):
                    continue
                keywords = {k.arg for k in node.keywords}
                if isinstance(node.func, ast.Name) and node.func.id in CONSTRUCTORS:
                    column, creator = CONSTRUCTORS[node.func.id]
                    if column in keywords and where != creator:
                        found.append(f"{place}: {node.func.id}({column}=…)")
                if isinstance(node.func, ast.Attribute) and node.func.attr == "values":
                    model = updated_model(node)
                    if model in CONSTRUCTORS and CONSTRUCTORS[model][0] in keywords:
                        found.append(f"{place}: update({model}).values({CONSTRUCTORS[model][0]}=…)")
                if isinstance(node.func, ast.Name) and node.func.id == "setattr":
                    name = node.args[1] if len(node.args) > 1 else None
                    if isinstance(name, ast.Constant) and name.value in ("status", "state"):
                        found.append(f"{place}: setattr(…, {name.value!r})")
    return found


def test_no_module_writes_a_status_or_a_state_but_the_writers() -> None:
    assert lifecycle_writes() == []


def test_the_scan_sees_a_write_when_there_is_one() -> None:
    """The scan itself is checked on the writers it allows: they are found."""
    seen = {(f, fn) for f, fn in STATUS_WRITERS | STATE_WRITERS}
    for relative, function in seen:
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        owner = functions_of(tree)
        writes = [
            t
            for node in ast.walk(tree)
            if owner.get(node) == function
            for t in targets(node)
            if isinstance(t, ast.Attribute) and t.attr in ("status", "state")
        ]
        assert writes, (relative, function)
