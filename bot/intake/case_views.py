"""A stored case seen the way the dialogs show it: its sheet answers in the
intake's shape, for `dialogs.intake.sheet.sheet_lines` (the aiguilleurs' offers and
the coordinators' ``dossier`` show the same sheet), and the place part of it that a
person's next request may reuse (``/nouveau``)."""

from __future__ import annotations

from typing import Any

from dialogs.kernel.flow import LIEU_FIELDS
from storage.models.core import Case


def place_of(case: Case) -> dict[str, Any]:
    """The case's place, in the shape of the intake's ``place`` answer."""
    return {
        "departement": case.departement,
        "region": case.region,
        "commune": case.commune,
        "postal_code": case.postal_code,
    }


def answers_of(case: Case) -> dict[str, Any]:
    """The case's sheet in the intake's shape, for `dialogs.intake.sheet.sheet_lines`."""
    values: dict[str, Any] = {
        "lieu_name": case.lieu_name,
        "place": place_of(case) if case.departement else None,
        "role": case.role,
        "themes": list(case.themes or []),
        "problem": case.problem,
        "tried": case.tried,
        "goal": case.goal,
        "constraints": case.constraints,
        "help": list(case.help or []),
        "urgency": case.urgency,
    }
    return {k: v for k, v in values.items() if v is not None}


def lieu_of(case: Case) -> dict[str, object]:
    """The answers about the place (`LIEU_FIELDS`) that a new request may reuse."""
    values: dict[str, object] = {
        "lieu_name": case.lieu_name,
        "place": place_of(case),
        "region": case.region,
        "role": case.role,
    }
    return {k: v for k, v in values.items() if k in LIEU_FIELDS and v is not None}
