"""How the answers of a sheet are shown: one labelled line per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialogs.geo.places import Place, departement
from dialogs.kernel.flow import FIELDS
from dialogs.kernel.options import HELP_KINDS, ROLES, THEMES, URGENCIES
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.state import State


def place_label(place: Mapping[str, Any]) -> Msg:
    dep = departement(str(place.get("departement", "")))
    dep_name = dep.name if dep else str(place.get("departement", ""))
    region = Msg(key=f"region.{place.get('region', '')}")
    if place.get("commune"):
        return msg(
            "place.with_commune",
            commune=str(place["commune"]),
            dep_code=str(place.get("departement", "")),
            dep_name=dep_name,
            region=region,
        )
    return msg(
        "place.without_commune",
        dep_code=str(place.get("departement", "")),
        dep_name=dep_name,
        region=region,
    )


def display(answers: Mapping[str, Any], field: str) -> Msg | str | tuple[Msg, ...]:
    value = answers.get(field)
    match field:
        case "place":
            return place_label(value) if isinstance(value, Mapping) else msg("sheet.missing")
        case "role":
            if value in ROLES:
                return msg(f"role.{value}")
            return str(value) if value else msg("sheet.missing")
        case "themes":
            if not value:
                return msg("theme.unknown")
            return tuple(msg(f"theme.{t}") for t in value if t in THEMES)
        case "help":
            return tuple(msg(f"help.{h}") for h in value or () if h in HELP_KINDS) or msg(
                "sheet.missing"
            )
        case "urgency":
            return msg(f"urgency.{value}") if value in URGENCIES else msg("sheet.missing")
        case "tried" | "constraints":
            if field in answers and value is None:
                return msg(f"{field}.none")
            return str(value) if value else msg("sheet.missing")
        case _:
            return str(value) if value else msg("sheet.missing")


# Labels that speak to the person who filled in the sheet (« Votre rôle »), and
# how aiguilleurs and coordinators read them instead.
THIRD_PERSON = {"role": "field.role.theirs"}


def sheet_lines(answers: Mapping[str, Any], *, third_person: bool = False) -> tuple[Msg, ...]:
    """`third_person`: shown to someone else than its author (an aiguilleur, a
    coordinator)."""
    return tuple(
        msg(
            "sheet.line",
            label=msg(
                THIRD_PERSON.get(field, f"field.{field}") if third_person else f"field.{field}"
            ),
            value=display(answers, field),
        )
        for field, _ in FIELDS
    )


def place_to_json(place: Place) -> dict[str, Any]:
    return {
        "departement": place.departement.code,
        "region": place.departement.region,
        "commune": place.commune,
        "postal_code": place.postal_code,
    }


def current_answer(state: State, field: str) -> tuple[Msg, ...]:
    """Remind the current answer when a question is asked again (/retour, edit)."""
    if field not in state.answers:
        return ()
    return (msg("intake.current_answer", value=display(state.answers, field)),)
