"""The person's commands about their data (dialogs/privacy/steps.py), declared
with the kernel's grammar; the intake composes them with its own."""

from __future__ import annotations

from dialogs.kernel.commands import Domain, Role, Vocabulary, command

EXPORT = "mesdonnees"
FORGET = "oublier"

COMMANDS = Vocabulary(
    command(EXPORT, Domain.PERSON, en="mydata", role=Role.ANYONE, free=True),
    command(FORGET, Domain.PERSON, en="forget", role=Role.ANYONE, free=True),
)
