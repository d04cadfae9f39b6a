"""The one configuration error: a translatable message that names the TOML key
(``[telegram] token``) and the problem. Every section's parser raises it; the
command line prints it as one line and exits with status 2."""

from __future__ import annotations

from dialogs.kernel.replies import Msg


class ConfigError(Exception):
    """A configuration problem, as a translatable message."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message
