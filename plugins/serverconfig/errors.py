"""The one error the serverconfig plugin raises for anything a user wrote."""

from __future__ import annotations


class ServerConfigError(ValueError):
    """A setting or a post's metadata cannot be turned into a safe server config."""

    def __init__(self, where: str, value: object, allowed: str) -> None:
        self.where, self.value, self.allowed = where, value, allowed
        super().__init__(f"{where} = {value!r} is not allowed: expected {allowed}")
