"""A stored case seen the way the dialogs show it: its sheet answers in the
intake's shape, for `dialogs.intake.sheet.sheet_lines` (the aiguilleurs' offers and
the coordinators' ``dossier`` show the same sheet)."""

from __future__ import annotations

from typing import Any

from storage.models.core import Case


def answers_of(case: Case) -> dict[str, Any]:
    """The case's sheet in the intake's shape, for `dialogs.intake.sheet.sheet_lines`."""
    place = None
    if case.departement:
        place = {
            "departement": case.departement,
            "region": case.region,
            "commune": case.commune,
            "postal_code": case.postal_code,
        }
    values: dict[str, Any] = {
        "lieu_name": case.lieu_name,
        "place": place,
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
