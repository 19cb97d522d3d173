"""A content-addressed cache on disk, shared by the worker processes of a build.

Entries live at <root>/<namespace>/<first two hex>/<key>. The namespace names everything
besides the input bytes that decides the result (algorithm, level, library version), so
changing a setting never returns a stale entry.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

# A hit refreshes an entry's age only once it is this old: ages are counted in days, and
# touching every entry on every build is thousands of metadata writes for nothing.
_REFRESH_AFTER = 3600
# Pruning walks every entry; do it at most this often.
_PRUNE_EVERY = 86400
_PRUNE_STAMP = ".last-prune"


def entry_path(root: Path, namespace: str, key: str) -> Path:
    """Where the entry for `key` lives."""
    return root / namespace / key[:2] / key


def load(path: Path) -> bytes | None:
    """The cached bytes, or None on a miss. A hit refreshes the entry's age for pruning."""
    try:
        with path.open("rb") as handle:
            data = handle.read()
            age = time.time() - os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return None
    if age > _REFRESH_AFTER:
        os.utime(path)
    return data


def store(path: Path, data: bytes) -> None:
    """Write an entry atomically: concurrent builds and workers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prune(root: Path, max_age_days: int) -> int:
    """Delete entries unused for `max_age_days`; returns how many went."""
    if not root.is_dir():
        return 0
    cutoff = time.time() - max_age_days * 86400
    removed = 0
    for path in root.glob("*/*/*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("webperf: pruned %s cache entries unused for %s days", removed, max_age_days)
    return removed


def prune_when_due(root: Path, max_age_days: int) -> int:
    """`prune`, unless this cache was pruned less than a day ago; returns how many went."""
    stamp = root / _PRUNE_STAMP
    try:
        if time.time() - stamp.stat().st_mtime < _PRUNE_EVERY:
            return 0
    except FileNotFoundError:
        pass
    removed = prune(root, max_age_days)
    root.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    return removed
