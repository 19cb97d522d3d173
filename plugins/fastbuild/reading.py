"""Reading reStructuredText fast, to the same bytes Pelican's RstReader gives.

- docutils' settings (an option parser over every component) are built once per process,
  not once per post;
- the posts a build will read are parsed ahead, on every core (fork workers);
- a post whose bytes are those of the last build is taken from the build state.

A parse that logs anything, or fails, is never taken from a worker or kept in the state: the
post is parsed again in the build's own process, so every message reaches the user exactly
as Pelican and content_checks word it, on every build.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import docutils.core
import docutils.io
from pelican.readers import RstReader

from plugins import progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parsed:
    """What docutils made of one source: the body, the docinfo fields before Pelican's
    metadata processors ran (dates and tags are objects tied to the settings), the title."""

    content: str | None
    fields: tuple[tuple[str, Any], ...]
    title: str | None


# docutils settings per (writer class, parameters), built once per process.
_DOCUTILS_SETTINGS: dict[tuple[type, str], Any] = {}


class FastRstReader(RstReader):
    """Pelican's RstReader, its output unchanged, reading through the build's `Reads`."""

    reads: Reads | None = None

    def _docutils_parameters(self) -> dict[str, Any]:
        # Pelican's RstReader._get_publisher builds these for every post.
        parameters: dict[str, Any] = {
            "initial_header_level": "2",
            "syntax_highlight": "short",
            "input_encoding": "utf-8",
            "language_code": self._language_code,
            "halt_level": 2,
            "traceback": True,
            "embed_stylesheet": False,
        }
        parameters.update(self.settings.get("DOCUTILS_SETTINGS") or {})
        return parameters

    def _publisher(self) -> docutils.core.Publisher:
        return docutils.core.Publisher(
            reader="standalone",
            parser="restructuredtext",
            writer=self.writer_class(),
            destination_class=docutils.io.StringOutput,
        )

    def _get_publisher(self, source_path: str) -> docutils.core.Publisher:
        parameters = self._docutils_parameters()
        key = (self.writer_class, repr(sorted(parameters.items())))
        settings = _DOCUTILS_SETTINGS.get(key)
        if settings is None:
            first = self._publisher()
            first.process_programmatic_settings(None, parameters, None)
            settings = _DOCUTILS_SETTINGS[key] = first.settings
        publisher = self._publisher()
        publisher.settings = copy.copy(settings)
        publisher.settings.warning_stream = StringIO()
        publisher.set_source(source_path=source_path)
        publisher.publish()
        return publisher

    def parse(self, source_path: str) -> Parsed:
        """docutils' reading of one post, its fields unprocessed."""
        publisher = self._get_publisher(source_path)
        parts = publisher.writer.parts
        fields = _UnprocessedFields(self.settings)._parse_metadata(publisher.document, source_path)
        return Parsed(parts.get("body"), tuple(fields.items()), parts.get("title"))

    def parse_counting_warnings(self, source_path: str) -> tuple[Parsed, int]:
        """`parse`, and how many warnings it logged."""
        with counting_warnings() as warnings:
            parsed = self.parse(source_path)
        return parsed, warnings[0]

    def read(self, source_path: str) -> tuple[str | None, dict[str, Any]]:
        """What RstReader.read returns, parsed ahead or kept from the last build if it can."""
        parsed = self.reads.get(self, source_path) if self.reads else self.parse(source_path)
        metadata = {name: self.process_metadata(name, value) for name, value in parsed.fields}
        metadata.setdefault("title", parsed.title)
        return parsed.content, metadata


@contextmanager
def counting_warnings() -> Iterator[list[int]]:
    """How many records at WARNING or above are logged in the block: `[count]`, final once
    the block ends.

    Counted as log records are made, not by a handler: a handler on the root logger would
    stop Python's last-resort handler (`--log-handler plain`) from seeing them, and with it
    the content checks' filter that turns them into one line.
    """
    count = [0]
    make_record = logging.getLogRecordFactory()

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        count[0] += record.levelno >= logging.WARNING
        return record

    logging.setLogRecordFactory(counting)
    try:
        yield count
    finally:
        logging.setLogRecordFactory(make_record)


def quiet_worker() -> None:
    """In a fork worker: log nothing (messages are the build process's to log: work that
    logs is done again there), not even through Python's last-resort handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.NullHandler())


class _UnprocessedFields(FastRstReader):
    """Collects docinfo fields as docutils gives them (processed later, in the build)."""

    def process_metadata(self, name: str, value: Any) -> Any:
        del name
        return value


def digest(path: str) -> str:
    """The sha256 of a source file's bytes."""
    with Path(path).open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


class Reads:
    """Every post one build reads: kept from the last build, parsed ahead, or parsed now.

    `kept` maps a source path to (sha256 of its bytes, Parsed) from the last build; `fresh`
    collects the same for this build, to be saved in the state.
    """

    def __init__(self, kept: Mapping[str, tuple[str, Parsed]], workers: int) -> None:
        self.kept = dict(kept)
        self.workers = workers
        self.fresh: dict[str, tuple[str, Parsed]] = {}
        self.ahead: dict[str, Parsed | None] = {}
        self.parsed_now = 0
        self._started = False

    def get(self, reader: FastRstReader, source_path: str) -> Parsed:
        """The parse of one post, the same as `reader.parse(source_path)` would give."""
        if not self._started:
            self._started = True
            self.parse_ahead(reader, _posts(reader.settings))
        path = str(Path(source_path).absolute())
        if path not in self.ahead:
            progress.advance("read")
        sha = digest(path)
        kept = self.kept.get(path)
        if kept is not None and kept[0] == sha:
            self.fresh[path] = kept
            return kept[1]
        parsed = self.ahead.pop(path, None)
        if parsed is None:
            parsed, warnings = reader.parse_counting_warnings(path)
            if warnings:
                return parsed
        self.parsed_now += 1
        self.fresh[path] = (sha, parsed)
        return parsed

    def parse_ahead(self, reader: FastRstReader, paths: Iterable[str]) -> None:
        """Parse every changed post on every core; one process when there are few."""
        paths = list(paths)
        progress.expect("read", len(paths))
        todo = [
            path
            for path in paths
            if (kept := self.kept.get(path)) is None or kept[0] != digest(path)
        ]
        if self.workers < 2 or len(todo) < 2 * self.workers:
            return
        _init_worker(reader)
        chunk = max(1, len(todo) // (self.workers * 4))
        # fork: the plugin is imported from PLUGIN_PATHS, which a fresh interpreter lacks.
        with ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(reader,),
        ) as pool:
            for path, parsed in zip(todo, pool.map(_parse_job, todo, chunksize=chunk), strict=True):
                self.ahead[path] = parsed
                progress.advance("read")


def _posts(settings: Mapping[str, Any]) -> list[str]:
    """Every reStructuredText file under PATH (any case of .rst), sorted."""
    root = Path(settings["PATH"])
    return sorted(
        str(Path(folder, name).absolute())
        for folder, _, names in os.walk(root, followlinks=True)
        for name in names
        if name.lower().endswith(".rst") and not name.startswith(".")
    )


# The reader of the build, in each worker process.
_READER: FastRstReader | None = None


def _init_worker(reader: FastRstReader) -> None:
    global _READER
    _READER = reader
    if multiprocessing.parent_process() is not None:
        quiet_worker()  # A post that logs is parsed again in the build process.


def _parse_job(path: str) -> Parsed | None:
    assert _READER is not None
    try:
        parsed, warnings = _READER.parse_counting_warnings(path)
    except Exception:
        return None
    return None if warnings else parsed
