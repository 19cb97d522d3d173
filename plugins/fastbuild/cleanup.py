"""Remove what no longer belongs to the site, so an incremental build ends with exactly the
files a build into an empty folder would have written."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def remove_stale(output: Path, started_ns: int, kept: set[str], retained: Iterable[str]) -> int:
    """Delete every file under `output` changed before the build started (`started_ns`, a
    ctime: copies keep their source's mtime) that this build did not keep (`kept`: absolute
    paths); then the folders left empty. OUTPUT_RETENTION names (`retained`) stay."""
    removed = 0
    folders = []
    keep_top = set(retained)
    for folder, dirs, names in os.walk(output):
        if folder == str(output):
            dirs[:] = [d for d in dirs if d not in keep_top]
            names = [n for n in names if n not in keep_top]
        folders.append(Path(folder))
        for name in names:
            path = Path(folder, name)
            if str(path) in kept or path.lstat().st_ctime_ns >= started_ns:
                continue
            path.unlink()
            removed += 1
    for folder in reversed(folders[1:]):
        if not any(folder.iterdir()):
            folder.rmdir()
    return removed


def contains(outer: Path, inner: Path) -> bool:
    """Whether `inner` is `outer` or inside it."""
    outer, inner = outer.resolve(), inner.resolve()
    return outer == inner or outer in inner.parents


def prune_raw(raw: Path, wanted: set[str]) -> None:
    """Drop the rendered pages (named by fingerprint) that the state no longer names."""
    for path in raw.iterdir():
        if path.name not in wanted:
            path.unlink()
