"""Signal wiring for the webperf plugin: optimise the site once all of it is written.

(The settings plugin has validated every WEBPERF_* setting at `initialized`.)
"""

from __future__ import annotations

import logging
import time

from pelican import Pelican, signals

from plugins.settings import load
from plugins.settings.errors import stops_build

from .pipeline import run

log = logging.getLogger(__name__)


@stops_build
def finalized(pelican: Pelican) -> None:
    """Minify, fingerprint, size images and precompress the written site."""
    settings = load(pelican.settings).webperf
    if not settings.enabled:
        return
    started = time.perf_counter()
    stats = run(settings)
    log.info(
        "webperf: %s pages (%s kept as finished), %s assets fingerprinted, %s precompressed"
        " (%s encodings cached, %s computed) in %.1f s",
        stats.pages + stats.pages_kept,
        stats.pages_kept,
        stats.fingerprinted,
        stats.precompressed_files,
        stats.compressed_from_cache,
        stats.compressed_now,
        time.perf_counter() - started,
    )


def register() -> None:
    """Connect the plugin's receivers."""
    signals.finalized.connect(finalized)
