"""Signal wiring for the webperf plugin."""

from __future__ import annotations

import logging

from pelican import Pelican, signals

from .settings import DEFAULTS

log = logging.getLogger(__name__)


def initialized(pelican: Pelican) -> None:
    """Fill in defaults for the WEBPERF_* settings."""
    for key, value in DEFAULTS.items():
        pelican.settings.setdefault(key, value)


def finalized(pelican: Pelican) -> None:
    """Optimise the written site once everything is in OUTPUT_PATH."""
    if not pelican.settings["WEBPERF_ENABLED"]:
        return
    log.debug("webperf: nothing to do yet")


def register() -> None:
    """Connect the plugin's receivers."""
    signals.initialized.connect(initialized)
    signals.finalized.connect(finalized)
