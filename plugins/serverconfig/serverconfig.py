"""Signal wiring for the serverconfig plugin."""

from __future__ import annotations

import logging
from pathlib import Path

from pelican import Pelican, signals

log = logging.getLogger(__name__)


def finalized(pelican: Pelican) -> None:
    """Write the health file carrying the release id into the web root."""
    release = str(pelican.settings.get("RELEASE_ID", "dev"))
    health = Path(pelican.settings["OUTPUT_PATH"]) / "healthz.txt"
    health.write_text(release + "\n", encoding="utf-8")
    log.debug("serverconfig: wrote %s", health)


def register() -> None:
    """Connect the plugin's receivers."""
    signals.finalized.connect(finalized)
