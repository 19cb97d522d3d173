"""Progress lines per host and phase, safe to print from the staging threads."""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    """Prints `[  1.2s] host      phase     message` lines as a deploy goes."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._lock = threading.Lock()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, host: str, phase: str, message: str = "") -> None:
        line = f"[{self.elapsed:6.1f}s] {host:<10} {phase:<9} {message}".rstrip()
        with self._lock:
            print(line, flush=True)

    def error(self, message: str) -> None:
        with self._lock:
            print(message, file=sys.stderr, flush=True)
