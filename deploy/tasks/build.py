"""Build the site for a release: a release id, then Pelican with warnings fatal."""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import secrets
import subprocess
import sys
import time
from pathlib import Path

from deploy.errors import DeployError
from deploy.inventory import REPO, Inventory

log = logging.getLogger(__name__)

PELICAN = Path(sys.executable).parent / "pelican"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# Log lines as bare messages, one per line: a failed build ends with the one line that says
# which file is wrong and what to do (plugins/content_checks), not with wrapped columns.
PLAIN_LOG = ["--log-handler", "plain"]


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last line a failed `pelican` printed: its reason for stopping."""
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return lines[-1].strip() if lines else "no output"


def new_release_id(sources: list[Path]) -> str:
    """UTC time (sorts in publish order), a short hash of the sources, then a random part:
    two publishes of the same sources in the same second still get different ids.

    e.g. 20260101T120000Z-3fa2c1-9b04e7
    """
    digest = hashlib.sha256()
    for source in sources:
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            if path.exists():
                digest.update(str(path.relative_to(source.parent)).encode() + b"\0")
                digest.update(path.read_bytes())
    stamp = time.strftime(STAMP_FORMAT, time.gmtime())
    return f"{stamp}-{digest.hexdigest()[:6]}-{secrets.token_hex(3)}"


def release_time(release_id: str) -> int:
    """The Unix time a release id was made at (0 for ids not made by `new_release_id`)."""
    try:
        return calendar.timegm(time.strptime(release_id.split("-", 1)[0], STAMP_FORMAT))
    except ValueError:
        return 0


def build(inventory: Inventory, release_id: str) -> None:
    """Run Pelican with the inventory's settings and this release id, or raise DeployError."""
    argv = [str(PELICAN), "-s", str(inventory.settings_file), "--fatal", "warnings"]
    argv += [*PLAIN_LOG, "-e", f"RELEASE_ID={json.dumps(release_id)}"]
    log.debug("build: %s", argv)
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DeployError(
            "local", "build", f"pelican exit {result.returncode}: {failure_line(result)}"
        )
    health = inventory.output_path / "healthz.txt"
    if not health.is_file() or health.read_text(encoding="utf-8").strip() != release_id:
        raise DeployError("local", "build", f"{health} does not carry release {release_id}")
