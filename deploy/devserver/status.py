"""The outcome of the last build, shared by the rebuild loop and the HTTP threads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """One finished build: its number, and the problem lines it logged (none: it is good)."""

    generation: int
    problems: tuple[str, ...]


class BuildStatus:
    """The last build's outcome; waiters wake when a newer build finishes or on close."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._outcome = Outcome(0, ())
        self.closed = False

    @property
    def outcome(self) -> Outcome:
        with self._changed:
            return self._outcome

    def finished(self, problems: tuple[str, ...]) -> Outcome:
        """Record a finished build and wake every waiter."""
        with self._changed:
            self._outcome = Outcome(self._outcome.generation + 1, problems)
            self._changed.notify_all()
            return self._outcome

    def close(self) -> None:
        """The server stops: wake every waiter for good."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_newer(self, generation: int, timeout: float) -> bool:
        """Whether a build newer than `generation` finished within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._outcome.generation <= generation and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return self._outcome.generation > generation
