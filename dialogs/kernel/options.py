"""Closed lists of answers offered as buttons. Ids are stored; labels and the
words a person may type instead live in the gettext catalogs
(``theme.<id>`` and ``words.theme.<id>``)."""

from __future__ import annotations

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
CASE_STATUSES = ("nouveau", "en_attente", "propose", "attribue", "action_verifiee", "clos")
