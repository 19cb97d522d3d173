"""How a deploy step stops: a step that failed on a host (bad settings: inventory.py)."""

from __future__ import annotations


class DeployError(Exception):
    """A step failed on one host; the message names the host and the step."""

    def __init__(self, host: str, step: str, detail: str) -> None:
        super().__init__(f"{host}: {step} failed: {detail}")
        self.host = host
        self.step = step
        self.detail = detail
