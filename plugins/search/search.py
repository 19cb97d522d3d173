"""Signal wiring for the search plugin: the search page, then the index of the final site.

Listed after plugins.webperf in PLUGINS, so its `finalized` receiver runs after the page-speed
pass: Pagefind reads the pages as they ship (minified, asset names fingerprinted), and the
scripts it writes are precompressed here, through the same content-hash cache.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pelican import Pelican, signals

from plugins import contract
from plugins.settings import load
from plugins.settings.errors import stops_build
from plugins.settings.webperf import WebperfSettings
from plugins.webperf import compress

from .index import build_index

log = logging.getLogger(__name__)


@stops_build
def initialized(pelican: Pelican) -> None:
    """Add the search page (a direct template) where the server config expects it."""
    if not load(pelican.settings).search.enabled:
        return
    settings = pelican.settings
    settings["DIRECT_TEMPLATES"] = [*settings["DIRECT_TEMPLATES"], "search"]
    settings["SEARCH_URL"] = contract.SEARCH_URL
    settings["SEARCH_SAVE_AS"] = contract.SEARCH_PAGE
    settings["SEARCH_BUNDLE"] = contract.SEARCH_BUNDLE


def precompress(files: tuple[Path, ...], webperf: WebperfSettings) -> int:
    """Write .gz/.br siblings of the bundle's text files as webperf does; returns how many."""
    count = 0
    for path in files:
        if path.suffix.lower().lstrip(".") in webperf.precompress_extensions:
            job = compress.Job(path, webperf.cache, webperf.gzip_level, webperf.brotli_quality)
            compress.precompress(job)
            count += 1
    return count


@stops_build
def finalized(pelican: Pelican) -> None:
    """Index the written site with Pagefind."""
    model = load(pelican.settings)
    if not model.search.enabled:
        return
    started = time.perf_counter()
    result = build_index(model.search)
    compressed = 0
    if model.webperf.enabled and model.webperf.precompress:
        compressed = precompress(result.files, model.webperf)
    log.info(
        "search: %s pages indexed, %s files, %s precompressed in %.2f s",
        result.pages,
        len(result.files),
        compressed,
        time.perf_counter() - started,
    )


def register() -> None:
    """Connect the plugin's receivers."""
    signals.initialized.connect(initialized)
    signals.finalized.connect(finalized)
