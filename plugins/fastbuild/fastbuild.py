"""Signal wiring for the fastbuild plugin (settings: BUILD_* in plugins/settings/build.py).

get_generators, generator_init: start the build's session (state, fingerprints), once per run;
article_generator_pretaxonomy, page_generator_finalized: a reproducible order (order.py);
readers_init: read reStructuredText with FastRstReader (parallel, docutils set up once);
all_generators_finalized: remember the context (static files are kept, not removed);
get_writer: the IncrementalWriter, when BUILD_INCREMENTAL;
finalized: remove stale files, save the state. Listed before plugins.webperf in PLUGINS, so
  webperf works on exactly the files a build into an empty folder would have.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from pelican import Pelican, signals
from pelican.readers import Readers, RstReader

from plugins import progress
from plugins.settings.errors import stops_build

from . import bodies, order
from .bodies import LastBuild
from .reading import FastRstReader
from .session import Session, Summary
from .writer import IncrementalWriter

_current: list[Session] = []
_last: list[Summary] = []
_in_memory: list[LastBuild] = []
# Set by a process that builds again and again (`fab serve`): see keep_builds_in_memory.
_keep_in_memory: list[bool] = []


def start(pelican: Pelican) -> None:
    """A new run: no session yet (an earlier run that failed left its own behind)."""
    del pelican
    progress.start()
    _current.clear()
    _last.clear()
    _in_memory.clear()


@stops_build
def begin(generator: Any) -> None:
    """The run's session, at its first generator: Pelican's readers have then adjusted the
    settings they normalise in place (MARKDOWN), so every run of one process (`fab serve`)
    takes the site fingerprint from the same settings."""
    if not _current:
        _current.append(Session(generator.settings, in_memory=bool(_keep_in_memory)))


def use_fast_reader(readers: Readers) -> None:
    """Read every extension Pelican's RstReader reads (content_checks adds .RST...) with
    FastRstReader."""
    for extension, reader in list(readers.reader_classes.items()):
        if reader is RstReader:
            readers.reader_classes[extension] = FastRstReader


def remember_context(generators: list[Any]) -> None:
    """The shared context, for the static files the build keeps."""
    if _current and generators:
        _current[0].context = generators[0].context


def incremental_writer(pelican: Pelican) -> type[IncrementalWriter] | None:
    """The writer that skips unchanged files, bound to this run's session."""
    del pelican
    if not _current or not _current[0].incremental:
        return None
    return type("SessionWriter", (IncrementalWriter,), {"session": _current[0]})


@stops_build
def finalized(pelican: Pelican) -> None:
    """Remove what no longer belongs to the site and save the state."""
    del pelican
    if _current:
        session = _current.pop()
        _last[:] = [session.finish()]
        _in_memory[:] = [build] if (build := session.last_build()) else []


def last_build() -> Summary | None:
    """What the last build of this process read and wrote (None: none finished)."""
    return _last[0] if _last else None


def rebuild_bodies(changed: Collection[Path]) -> Summary | None:
    """Posts of `changed` whose body alone changed, rebuilt from the last build in memory
    (bodies.py); what it read and wrote, or None when a whole build is needed."""
    if not _in_memory:
        return None
    progress.start()
    done = bodies.rebuild(_in_memory[0], changed)
    if done is None:
        return None
    posts, written = done
    _last[:] = [Summary(posts, 0, written, len(_in_memory[0].pages) - written, 0)]
    return _last[0]


def keep_builds_in_memory() -> None:
    """This process builds again after edits: keep each build's pages and their contexts
    for rebuild_bodies (a one-off `pelican content` frees them as it goes)."""
    _keep_in_memory[:] = [True]


def forget_last_build() -> None:
    """No body edit from the last build (it reported problems, or the settings changed)."""
    _in_memory.clear()


def register() -> None:
    """Connect the plugin's receivers."""
    signals.get_generators.connect(start)
    signals.generator_init.connect(begin)
    signals.readers_init.connect(use_fast_reader)
    signals.article_generator_pretaxonomy.connect(order.articles)
    signals.page_generator_finalized.connect(order.pages)
    signals.all_generators_finalized.connect(remember_context)
    signals.get_writer.connect(incremental_writer)
    signals.finalized.connect(finalized)
