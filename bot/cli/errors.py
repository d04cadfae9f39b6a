"""French (or English) for what the command line gets in English from below it:
argparse's own errors and help titles, the system's `No such file or directory`,
and PostgreSQL's refusals, each turned into a line that says what to do."""

from __future__ import annotations

import argparse
import errno
import getpass
from collections.abc import Mapping

from dialogs.kernel.i18n import translate
from dialogs.kernel.replies import Msg, msg

# argparse's message ids (Python 3.11) → our catalog's keys. argparse looks its
# module-level `_` up at each call, so replacing it translates every message.
ARGPARSE_KEYS: Mapping[str, str] = {
    "usage: ": "argparse.usage",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "the following arguments are required: %s": "argparse.required",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "expected one argument": "argparse.expected_one",
    "expected at most one argument": "argparse.expected_at_most_one",
    "expected at least one argument": "argparse.expected_at_least_one",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
    "not allowed with argument %s": "argparse.not_allowed_with",
    "one of the arguments %s is required": "argparse.one_required",
    "ignored explicit argument %r": "argparse.ignored_argument",
    "unexpected option string: %s": "argparse.unexpected_option",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "show this help message and exit": "argparse.help",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "can't open '%(filename)s': %(error)s": "argparse.cant_open",
}


class Refused(Exception):
    """A command that cannot go on (a backup, a restore, a start), as one
    translatable line; defined here so that the command line catches it without
    importing the database layer."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message


def speak_argparse(locale: str) -> None:
    """argparse's messages in `locale` from now on (this process)."""

    def gettext(text: str) -> str:
        key = ARGPARSE_KEYS.get(text)
        return translate(locale, key) if key else text

    # argparse translates through its module-level `_` (not declared in its stubs).
    argparse._ = gettext  # type: ignore[attr-defined]  # see above


OS_ERRORS: Mapping[int, str] = {
    errno.ENOENT: "os.not_found",
    errno.EACCES: "os.permission",
    errno.EPERM: "os.permission",
    errno.EEXIST: "os.exists",
    errno.EISDIR: "os.is_a_directory",
    errno.ENOTDIR: "os.not_a_directory",
    errno.ENOSPC: "os.no_space",
    errno.EROFS: "os.read_only",
    errno.ENOTEMPTY: "os.not_empty",
}


def os_error_msg(exc: OSError) -> Msg:
    """The system's reason in the reader's language (never `No such file…`)."""
    key = OS_ERRORS.get(exc.errno or 0)
    if key is not None:
        return msg(key)
    return msg("os.other", detail=(exc.strerror or str(exc))[:120])


def system_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container's bare uid)
        return "?"


def database_error_msg(text: str) -> Msg | None:
    """A PostgreSQL refusal a sysadmin meets on a first install, with its fix."""
    lowered = text.lower()
    if "peer authentication failed" in lowered:
        return msg("cli.database_peer", user=system_user())
    if "password authentication failed" in lowered:
        return msg("cli.database_password")
    if "does not exist" in lowered and "database" in lowered:
        return msg("cli.database_missing", detail=text.splitlines()[0][:160])
    if "role" in lowered and "does not exist" in lowered:
        return msg("cli.database_role_missing", detail=text.splitlines()[0][:160])
    return None
