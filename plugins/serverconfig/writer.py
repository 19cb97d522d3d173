"""Writing rendered files under DEPLOY_BUILD_PATH, with their manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# Subdirectories this plugin owns outright: stale files in them (a renamed backend) go.
OWNED_DIRS = ("nginx", "haproxy")
MANIFEST = "manifest.json"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(tmp).chmod(0o644)
    Path(tmp).replace(path)


def manifest(release: str, files: Mapping[str, str]) -> str:
    """{"release": …, "files": {path: sha256}}, sorted, newline-terminated."""
    digests = {
        path: hashlib.sha256(text.encode("utf-8")).hexdigest()
        for path, text in sorted(files.items())
    }
    return json.dumps({"release": release, "files": digests}, indent=2, sort_keys=True) + "\n"


def write(root: Path, release: str, files: Mapping[str, str]) -> None:
    """Replace our part of `root` with `files` and write manifest.json beside them."""
    for owned in OWNED_DIRS:
        directory = root / owned
        if directory.is_dir():
            shutil.rmtree(directory)
    for relative, text in sorted(files.items()):
        _atomic_write(root / relative, text)
    _atomic_write(root / MANIFEST, manifest(release, files))
    log.info("serverconfig: wrote %d files and %s under %s", len(files), MANIFEST, root)
