"""The two ways a deploy stops: bad settings, or a step that failed on a host."""

from __future__ import annotations


class InventoryError(Exception):
    """A setting the deploy needs is missing or wrong; the message names it."""


class DeployError(Exception):
    """A step failed on one host; the message names the host and the step."""

    def __init__(self, host: str, step: str, detail: str) -> None:
        super().__init__(f"{host}: {step} failed: {detail}")
        self.host = host
        self.step = step
        self.detail = detail
