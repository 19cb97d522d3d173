"""Build progress on a terminal: files read, pages rendered, files compressed.

`pelican` (and `fab serve`) show a rich status spinner while a build runs, on a terminal
only; the counts replace its text. When stdout is not a terminal there is no spinner and
nothing is shown: a failed build's last line stays its one error line.
"""

from __future__ import annotations

import threading
import time

from pelican.log import console
from rich.live import Live
from rich.spinner import Spinner

# Steps in the order a build runs them, and how each count reads.
STEPS = {"read": "files read", "rendered": "pages rendered", "compressed": "files compressed"}
# Redraws at most this often (seconds), and always when a step completes.
REDRAW_INTERVAL = 0.1

_lock = threading.Lock()
_counts: dict[str, int] = {}
_totals: dict[str, int] = {}
_drawn_at = [0.0]


def start() -> None:
    """A new build: every count back to nothing."""
    with _lock:
        _counts.clear()
        _totals.clear()
        _drawn_at[0] = 0.0


def expect(step: str, total: int) -> None:
    """`step` will count to `total`."""
    with _lock:
        _totals[step] = total
        _counts.setdefault(step, 0)
    _draw(force=True)


def advance(step: str, count: int = 1) -> None:
    """`count` more done in `step`."""
    with _lock:
        _counts[step] = _counts.get(step, 0) + count
        complete = _counts[step] == _totals.get(step)
    _draw(force=complete)


def line() -> str:
    """The counts so far, e.g. `60/60 files read · 130 pages rendered`."""
    with _lock:
        parts = [
            f"{_counts[step]}/{_totals[step]} {words}"
            if step in _totals
            else f"{_counts[step]} {words}"
            for step, words in STEPS.items()
            if step in _counts
        ]
    return " · ".join(parts)


def _status() -> tuple[Live, Spinner] | None:
    """The status spinner running on the terminal, if any."""
    if not console.is_terminal:
        return None
    # rich keeps the running live displays on its console; the status is the innermost.
    lives = getattr(console, "_live_stack", None)
    if not lives:
        return None
    live = lives[-1]
    spinner = live.get_renderable()
    return (live, spinner) if isinstance(spinner, Spinner) else None


def _draw(*, force: bool) -> None:
    status = _status()
    if status is None:
        return
    now = time.monotonic()
    if not force and now - _drawn_at[0] < REDRAW_INTERVAL:
        return
    _drawn_at[0] = now
    live, spinner = status
    spinner.update(text=f"Generating… {line()}")
    live.refresh()
