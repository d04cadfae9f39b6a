"""Closed lists of answers offered as buttons. Ids are stored; labels and the
words a person may type instead live in the gettext catalogs
(``theme.<id>`` and ``words.theme.<id>``)."""

from __future__ import annotations

from dialogs.kernel.lifecycles import CaseStatus

THEMES = (
    "mobilite",
    "alimentation",
    "energie",
    "gouvernance",
    "gestion",
    "numerique",
    "financement",
    "documentation",
)
ROLES = ("salarie", "benevole", "gouvernance", "porteur", "usager")
HELP_KINDS = ("decouvrir", "relation", "accompagnement", "formation")
URGENCIES = ("faible", "mois", "semaine")
# The statuses of a case, in their order (dialogs/kernel/lifecycles.py has their moves).
CASE_STATUSES = tuple(status.value for status in CaseStatus)
