"""The commands aiguilleurs type in Matrix, declared with the kernel's grammar
(`dialogs.kernel.commands`): summaries are catalog keys ``desk.help.<name>``.
Each needs the aiguilleur role; the desk answers a stranger itself (it knows
who holds which case)."""

from __future__ import annotations

from typing import Any

from dialogs.kernel.commands import REASON, REF, SWITCH, TEXT, Arg, Domain, Role, Spec, Vocabulary
from dialogs.kernel.commands import command as declared

PREFIX = "!"


def command(name: str, *args: Arg[Any], **rest: Any) -> Spec:
    return declared(name, Domain.DESK, *args, role=Role.AIGUILLEUR, free=True, **rest)


COMMANDS = Vocabulary(
    command("accepter", REF, en="accept"),
    command("refuser", REF, REASON, en="decline"),
    command("mes-dossiers", en="mine", aliases=("dossiers",)),
    command("dossier", REF, en="case"),
    command("note", REF, TEXT),
    command("action", REF),
    command("clore", REF, en="close"),
    command("rendre", REF, en="handback"),
    command("dispo", SWITCH, en="available"),
    command("aide", en="help"),
)
