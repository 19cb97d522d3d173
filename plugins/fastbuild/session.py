"""One build: its state, what it reads, which files it writes or keeps, and its cleanup."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from plugins import contract, progress, untouched
from plugins.settings import load

from . import cleanup, rendering, state
from .bodies import LastBuild, posts_by_source
from .fingerprint import Digests, site_fingerprint
from .reading import FastRstReader, Reads
from .rendering import RenderedPage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    """What one build read and wrote."""

    parsed: int
    parsed_before: int
    written: int
    unchanged: int
    removed: int

    def __str__(self) -> str:
        return (
            f"{self.parsed} sources parsed, {self.parsed_before} unchanged; {self.written} files"
            f" written, {self.unchanged} unchanged, {self.removed} removed"
        )


class Session:
    """The build in progress (Pelican runs one at a time per process)."""

    def __init__(self, settings: Mapping[str, Any], *, in_memory: bool = False) -> None:
        """`in_memory`: keep what a body edit needs for the next build of this process."""
        model = load(settings)
        self.started = time.perf_counter()
        self.settings = settings
        self.output = Path(settings["OUTPUT_PATH"]).resolve()
        self.incremental = model.build.incremental
        # webperf rewrites pages in place: each page's rendering is kept (plugins/untouched.py).
        self.keeps_raw = model.webperf.enabled
        site = site_fingerprint(settings) if self.incremental else ""
        self.state_file, self.raw, marker = state.paths(model.build.state, self.output)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        self.started_ns = marker.stat().st_ctime_ns
        self.previous = state.load(self.state_file, site) if self.incremental else state.State()
        self.state = state.State(site)
        self.reads = Reads(self.previous.reads, model.build.workers)
        self.digests = Digests()
        self.kept: set[str] = set()
        self.written = self.unchanged_count = 0
        self.context: dict[str, Any] | None = None
        # What a body edit rebuilt in memory needs (bodies.py), when the site allows it.
        self.pages: list[RenderedPage] = []
        # Pages to render at the end, on every core (rendering.py), with their fingerprints.
        self.workers = model.build.workers
        self.deferred: list[tuple[RenderedPage, str]] = []
        self.wrote_feeds = False
        reads_whole_site = model.webperf.enabled or model.search.enabled
        self.in_memory = in_memory and self.incremental and not reads_whole_site
        FastRstReader.reads = self.reads
        untouched.reset()

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.output)

    def fingerprint(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        """The fingerprint of the page `template` renders with `context`."""
        return self.digests.page(self.state.site, template, context)

    def unchanged(self, path: str, fingerprint: str) -> bool:
        """Whether `path` (absolute) already holds what its render would write."""
        before = self.previous.written.get(self._relative(path))
        if before is None or before.fingerprint != fingerprint:
            return False
        if self.keeps_raw:
            return (self.raw / fingerprint).is_file()
        try:
            stat = Path(path).stat()
        except FileNotFoundError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == (before.size, before.mtime_ns)

    def rendered(self, page: RenderedPage | None, path: str) -> None:
        """`page` is what `path` was rendered from (or would be, for a kept file)."""
        if self.in_memory and page is not None and str(page.path) == path:
            self.pages.append(page)

    def last_build(self) -> LastBuild | None:
        """What a body edit needs of this build; None when the site reads more than pages
        (feeds, webperf, search) or the build is not incremental."""
        if not self.in_memory or self.wrote_feeds or not self.context:
            return None
        return LastBuild(
            self.settings,
            self.context,
            posts_by_source(self.context),
            dict(self.reads.fresh),
            self.pages,
        )

    def defer(self, page: RenderedPage, fingerprint: str) -> None:
        """`page` is to be rendered and written when the generators are done."""
        self.deferred.append((page, fingerprint))

    def render_deferred(self) -> None:
        """Render and write the deferred pages, on every core when they are many."""
        if not self.deferred:
            return
        fingerprints = {id(page): fingerprint for page, fingerprint in self.deferred}
        pages = [page for page, _ in self.deferred]
        self.deferred = []
        assert self.context is not None, "the generators have not run"
        progress.expect("rendered", len(pages))
        for page in rendering.render_all(self.context, pages, self.workers):
            self.wrote(str(page.path), fingerprints[id(page)])
            progress.advance("rendered")

    def keep(self, path: str) -> None:
        """`path` stays as the last build left it: in a publish build, as webperf finished
        it, with its precompressed siblings (webperf decides whether they still hold)."""
        relative = self._relative(path)
        self.state.written[relative] = self.previous.written[relative]
        self.kept.add(path)
        self.unchanged_count += 1
        if self.keeps_raw:
            self.kept.update(path + suffix for suffix in contract.COMPRESSED_SUFFIXES)
            stored = self.raw / self.state.written[relative].fingerprint
            untouched.add(self.output / relative, stored)

    def wrote(self, path: str, fingerprint: str | None) -> None:
        """`path` was written now; `fingerprint`: of its render (None: not tracked)."""
        self.kept.add(path)
        self.written += 1
        if fingerprint is None or not self.incremental:
            return
        relative = self._relative(path)
        stat = Path(path).stat()
        self.state.written[relative] = state.Written(fingerprint, stat.st_size, stat.st_mtime_ns)
        if self.keeps_raw:
            # Named by fingerprint: a build that fails half way never leaves a page under the
            # name of inputs it was not rendered from.
            self.raw.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.raw / fingerprint)

    def finish(self) -> Summary:
        """Render the deferred pages; remove what no longer belongs to the site; save the
        state; what the build did."""
        self.render_deferred()
        removed = 0
        if not cleanup.contains(self.output, Path(self.settings["PATH"])):
            static = self.context.get("staticfiles", []) if self.context else []
            kept = self.kept | {str(self.output / item.save_as) for item in static}
            retained = self.settings.get("OUTPUT_RETENTION") or []
            removed = cleanup.remove_stale(self.output, self.started_ns, kept, retained)
        if self.incremental:
            self.state.reads = self.reads.fresh
            state.save(self.state_file, self.state)
            if self.raw.is_dir():
                cleanup.prune_raw(self.raw, {w.fingerprint for w in self.state.written.values()})
        summary = Summary(
            self.reads.parsed_now,
            len(self.reads.fresh) - self.reads.parsed_now,
            self.written,
            self.unchanged_count,
            removed,
        )
        log.info("fastbuild: %s in %.1f s", summary, time.perf_counter() - self.started)
        return summary
