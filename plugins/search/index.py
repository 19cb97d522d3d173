"""Run Pagefind over the written site and keep only the files the search page loads.

Pagefind has no incremental mode: every run reads every page, which is why it runs once,
last. What it writes is content-addressed (one fragment per page, index chunks named by
their hash), so a publish ships only the fragments and chunks of what changed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from plugins import contract
from plugins.settings.errors import BuildError
from plugins.settings.search import SearchSettings

# Pagefind writes three ready-made interfaces; our search page uses its own script on top of
# pagefind.js, so these would only travel to every backend unread.
UNUSED_FILES = (
    "pagefind-ui.js",
    "pagefind-ui.css",
    "pagefind-modular-ui.js",
    "pagefind-modular-ui.css",
    "pagefind-component-ui.js",
    "pagefind-component-ui.css",
    "pagefind-highlight.js",
)
_INDEXED = re.compile(r"Indexed (\d+) pages?")


class SearchError(BuildError):
    """Pagefind could not index the site; the message says why in one line."""


@dataclass(frozen=True)
class IndexResult:
    """What one run of Pagefind did."""

    pages: int
    files: tuple[Path, ...]


def pagefind_executable() -> Path:
    """The binary the `pagefind[bin]` package installs (it downloads nothing at run time)."""
    try:
        import pagefind_bin
    except ImportError:
        raise SearchError(
            "search: Pagefind is not installed: pip install -r requirements.txt (pagefind[bin]),"
            " or set SEARCH_ENABLED = False"
        ) from None
    try:
        return pagefind_bin.get_executable()
    except FileNotFoundError as error:
        raise SearchError(f"search: the Pagefind binary is missing ({error})") from None


def pagefind_argv(executable: Path, settings: SearchSettings) -> list[str]:
    """The command that indexes settings.output into settings.bundle."""
    return [
        str(executable),
        "--site",
        str(settings.output),
        "--output-subdir",
        contract.SEARCH_BUNDLE,
    ]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def build_index(settings: SearchSettings) -> IndexResult:
    """Index the written site; returns how many pages went in and the bundle's files."""
    argv = pagefind_argv(pagefind_executable(), settings)
    # A bundle left by an earlier development build would keep fragments of deleted posts.
    shutil.rmtree(settings.bundle, ignore_errors=True)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=settings.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise SearchError(
            f"search: Pagefind took longer than SEARCH_TIMEOUT = {settings.timeout:g} s"
        ) from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SearchError(f"search: Pagefind failed (exit {done.returncode}): {_last_line(output)}")
    indexed = _INDEXED.search(output)
    if indexed is None or int(indexed[1]) == 0:
        raise SearchError(f"search: Pagefind indexed no page: {_last_line(output)}")
    for name in UNUSED_FILES:
        (settings.bundle / name).unlink(missing_ok=True)
    files = tuple(sorted(path for path in settings.bundle.rglob("*") if path.is_file()))
    return IndexResult(int(indexed[1]), files)
