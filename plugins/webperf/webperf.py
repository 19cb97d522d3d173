"""Signal wiring for the webperf plugin: validate at start, optimise once all is written."""

from __future__ import annotations

import logging
import time

from pelican import Pelican, signals

from .pipeline import run
from .settings import get_settings

log = logging.getLogger(__name__)


def initialized(pelican: Pelican) -> None:
    """Check every WEBPERF_* setting now, so a bad value stops the build before it starts."""
    get_settings(pelican.settings)


def finalized(pelican: Pelican) -> None:
    """Minify, fingerprint, size images and precompress the written site."""
    settings = get_settings(pelican.settings)
    if not settings.enabled:
        return
    started = time.perf_counter()
    stats = run(settings)
    log.info(
        "webperf: %s pages, %s assets fingerprinted, %s precompressed (%s encodings cached,"
        " %s computed) in %.1f s",
        stats.pages,
        stats.fingerprinted,
        stats.precompressed_files,
        stats.compressed_from_cache,
        stats.compressed_now,
        time.perf_counter() - started,
    )


def register() -> None:
    """Connect the plugin's receivers."""
    signals.initialized.connect(initialized)
    signals.finalized.connect(finalized)
