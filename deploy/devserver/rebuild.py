"""The development build, kept in this process between rebuilds.

Pelican's settings and plugins are loaded once (again only when a settings file changes),
fastbuild's state stays in memory (plugins/fastbuild/state.py), and the theme's templates
are compiled once: every build's Jinja environments share one in-memory bytecode cache (Jinja
checks each template's source, so an edited template is compiled again).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import jinja2
from pelican import Pelican, signals
from pelican.log import LimitFilter
from pelican.settings import read_settings

from plugins.fastbuild import (
    Summary,
    forget_last_build,
    forget_memoized_contents,
    keep_builds_in_memory,
    last_build,
    rebuild_bodies,
)

log = logging.getLogger(__name__)


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates by key (Jinja's key covers the template's name and source)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _MemoryBytecodeCache()


def _share_compiled_templates(generator: Any) -> None:
    """Give each generator's new Jinja environment the process's compiled templates."""
    generator.env.bytecode_cache = _COMPILED


class _Problems(logging.Handler):
    """The lines one build logs at WARNING or above: what it found wrong. Added after the
    terminal's handler, it sees each record as content_checks' filter there rewrote it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage().strip().splitlines()[0])


class Rebuilder:
    """Builds the site with one settings file, as `pelican content -s <file>` would."""

    def __init__(self, settings_file: Path) -> None:
        self.settings_file = settings_file
        self._pelican: Pelican | None = None
        signals.generator_init.connect(_share_compiled_templates)
        keep_builds_in_memory()

    @property
    def output(self) -> Path:
        """Where the site is written: OUTPUT_PATH, or Pelican's default while the settings
        do not load."""
        if self._pelican is None:
            return Path("output").resolve()
        return Path(self._pelican.settings["OUTPUT_PATH"])

    def summary(self) -> Summary | None:
        """What the last build read and wrote (None: it did not finish)."""
        return last_build()

    def settings_changed(self) -> None:
        """Read the settings again (and start the plugins again) on the next build."""
        self._pelican = None
        forget_last_build()

    def build(self, changed: Collection[Path] = ()) -> tuple[str, ...]:
        """Build once; the problem lines the build logged (none: the site is whole).

        `changed`: the files saved since the last build. When they are posts whose body alone
        changed, only the pages that show them are rendered again (plugins/fastbuild/bodies.py).
        """
        # Pelican drops a warning it logged before for the life of the process: the same
        # broken post must be reported on every build.
        LimitFilter._raised_messages.clear()
        LimitFilter._group_count.clear()
        forget_memoized_contents()
        problems = _Problems()
        root = logging.getLogger()
        root.addHandler(problems)
        try:
            if self._pelican is None:
                self._pelican = Pelican(read_settings(str(self.settings_file)))
            if not changed or rebuild_bodies(changed) is None:
                self._pelican.run()
        except SystemExit:
            pass  # plugins.settings.errors.stop(): its one line is logged already.
        except Exception as error:  # A dev server outlives any broken build.
            log.error("the build failed: %s: %s", type(error).__name__, error)
        finally:
            root.removeHandler(problems)
        if problems.lines:
            forget_last_build()  # The next save takes a whole build, which reports them.
        return tuple(problems.lines)
