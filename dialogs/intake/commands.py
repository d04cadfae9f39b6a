"""The person's commands, declared with the kernel's grammar: the intake's own
and those of dialogs/privacy. They work at any stage (dialogs/intake/engine.py);
the summaries (``menu.<name>``) are Telegram's command menu and the ``/aide``
lines, both generated from here. Words after a person's command are ignored,
never refused (``/aide merci``), except ``/langue en``, which reads them."""

from __future__ import annotations

from functools import cache
from typing import Any

from dialogs.coordination import commands as coordination
from dialogs.kernel.commands import Domain, Role, Spec, Vocabulary, help_lines
from dialogs.kernel.commands import command as declared
from dialogs.kernel.replies import Msg, msg
from dialogs.privacy import commands as privacy

PREFIX = "/"


def command(name: str, **rest: Any) -> Spec:
    return declared(name, Domain.PERSON, role=Role.ANYONE, free=True, **rest)


INTAKE = Vocabulary(
    command("start", listed=False),
    command("aide", en="help"),
    command("statut", en="status"),
    command("nouveau", en="new"),
    command("retour", en="back"),
    command("recommencer", en="restart"),
    command("annuler", en="cancel"),
    # Ends the exchange with an aiguilleur (dialogs/assignment/relay.py takes it first).
    command("fin", en="end"),
    command("langue", en="language"),
)
COMMANDS = Vocabulary(*INTAKE, *privacy.COMMANDS)
# Telegram's command menu (setMyCommands), in both languages: (name, summary key).
MENU: tuple[tuple[str, str], ...] = tuple((s.name, s.help_key) for s in COMMANDS if s.listed)
MENU_EN: dict[str, str] = {s.name: s.words_en for s in COMMANDS}
# Every word that names a person's command, and the command it names.
COMMAND_ALIASES: dict[str, str] = {
    typed: s.name for s in COMMANDS for typed in (s.name, s.words_en, *s.aliases)
}


@cache
def help_text() -> tuple[Msg, ...]:
    """``/aide``: what a person may type, generated from the specs — the
    intake's commands, those about their data, then the coordination's
    commands open to anyone (to become an aiguilleur; the help of those who are)."""
    return (
        msg("help.body"),
        *help_lines(Role.ANYONE, PREFIX, INTAKE),
        msg("help.privacy"),
        *help_lines(Role.ANYONE, PREFIX, privacy.COMMANDS),
        msg("help.admin"),
        *help_lines(Role.ANYONE, PREFIX, coordination.COMMANDS),
    )
