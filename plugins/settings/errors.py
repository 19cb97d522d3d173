"""The errors a user can act on, and the one way they stop a build: one line, no traceback."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, NoReturn

log = logging.getLogger(__name__)

HIDDEN = "<hidden>"


class BuildError(Exception):
    """Something the user wrote (a setting, a post, a file) stops the build; the message is
    one line that names it and says what to do."""


class SettingsError(BuildError, ValueError):
    """A setting (or a post's metadata) has a value we cannot use.

    The message is one line: `WHERE = value is not allowed: expected ALLOWED`. `secret` hides
    the value (passwords never reach a log).
    """

    def __init__(self, where: str, value: object, allowed: str, *, secret: bool = False) -> None:
        self.where, self.allowed = where, allowed
        self.value = HIDDEN if secret else value
        shown = self.value if secret else repr(value)
        super().__init__(f"{where} = {shown} is not allowed: expected {allowed}")


def stop(message: object) -> NoReturn:
    """End the build with `message` as its last line and exit status 1.

    Pelican's main() logs any exception but SystemExit with its whole traceback, which buries
    the message; SystemExit passes through it.
    """
    log.critical("%s", message)
    raise SystemExit(1) from None


def stops_build(receiver: Callable[[Any], None]) -> Callable[[Any], None]:
    """Turn a BuildError in a Pelican signal receiver into `stop`."""

    @functools.wraps(receiver)
    def wrapper(sender: Any) -> None:
        try:
            receiver(sender)
        except BuildError as error:
            stop(error)

    return wrapper
