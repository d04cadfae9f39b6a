"""/mesdonnees and /oublier: what a person can do with what the bot keeps (RGPD).

Rules of this flow:
- /mesdonnees (/mydata) works at any stage: the runtime sends everything stored
  about the person as a JSON file (`ExportPersonalData`), then the current
  question is asked again; between requests, the file is the whole answer.
- /oublier (/forget) asks first, with Oui/Non buttons like /annuler. "Yes"
  erases (`ErasePersonalData`) and forgets the conversation: the next message is
  a first contact. "No" (or /retour) goes back where the person was.
- Without a conversation nothing is stored, and both commands say so.
"""

from __future__ import annotations

from dialogs.kernel.effects import ErasePersonalData, ExportPersonalData
from dialogs.kernel.flow import Leave, Result
from dialogs.kernel.outcome import Outcome
from dialogs.kernel.replies import Say, msg
from dialogs.kernel.state import Stage, State

# Confirmation questions: a second one keeps the first one's way back.
CONFIRMING = frozenset({Stage.CONFIRM_CANCEL, Stage.CONFIRM_RESTART, Stage.CONFIRM_FORGET})


def export_effect(state: State) -> ExportPersonalData:
    return ExportPersonalData(locale=state.locale, caption=msg("privacy.export.caption"))


def nothing_stored() -> Outcome:
    """/mesdonnees or /oublier from someone the bot has no conversation with."""
    return Outcome(state=None, replies=(Say(lines=(msg("privacy.nothing_stored"),)),))


def forgotten(state: State) -> Result:
    """The person confirmed /oublier: erase, say goodbye, forget the state."""
    return Leave(farewell=msg("forget.done"), effects=(ErasePersonalData(),))
