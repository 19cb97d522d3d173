"""Pelican's Writer, rendering and writing only the files whose fingerprint changed.

Pelican's write_file paginates, builds each page's context and calls template.render(); the
template is handed in wrapped, so the fingerprint is taken from exactly the context Pelican
renders with. A page whose fingerprint is the last build's is not rendered: the file stays
(its bytes and mtime), and content_written is still sent (the sitemap lists every page).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import jinja2
from pelican.utils import sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from .rendering import RenderedPage
from .session import Session


class IncrementalWriter(Writer):
    """Writes a file only when what it is rendered from changed."""

    session: Session

    def __init__(self, output_path: str, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(output_path, settings=settings)
        self._unchanged: str | None = None
        self._fingerprint: tuple[str, str] | None = None
        self._rendering: RenderedPage | None = None

    def write_file(self, name: str, template: jinja2.Template, *args: Any, **kwargs: Any) -> None:
        """Pelican's write_file, through the fingerprinting template."""
        super().write_file(name, _Fingerprinted(template, self), *args, **kwargs)

    def render(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        """Render, or return "" and mark the file unchanged."""
        path = sanitised_join(self.output_path, context["output_file"])
        fingerprint = self.session.fingerprint(template, context)
        self._rendering = RenderedPage(Path(path), template, context)
        if self.session.unchanged(path, fingerprint):
            self._unchanged = path
            return ""
        self._fingerprint = (path, fingerprint)
        return ""  # Rendered with the others once the generators are done (rendering.py).

    def write_feed(self, *args: Any, **kwargs: Any) -> Any:
        """Pelican's write_feed; the session learns that this site has feeds."""
        self.session.wrote_feeds = True
        return super().write_feed(*args, **kwargs)

    @contextmanager
    def _open_w(self, filename: str, encoding: str, override: bool = False) -> Iterator[IO[str]]:
        unchanged, self._unchanged = self._unchanged == filename, None
        fingerprinted, self._fingerprint = self._fingerprint, None
        rendering, self._rendering = self._rendering, None
        deferred = fingerprinted is not None and fingerprinted[0] == filename
        if not (unchanged or deferred):
            # Not a page (Pelican writes feeds through here too): written now, untracked.
            with super()._open_w(filename, encoding, override) as stream:
                yield stream
            if filename not in self._overridden_files or override:
                self.session.wrote(filename, None)
            return
        if self._claim(filename, override):
            self.session.rendered(rendering, filename)
            if unchanged:
                self.session.keep(filename)
            elif rendering is not None and fingerprinted is not None:
                self.session.defer(rendering, fingerprinted[1])
        with Path(os.devnull).open("w", encoding=encoding) as sink:
            yield sink

    def _claim(self, filename: str, override: bool) -> bool:
        """Pelican's own bookkeeping (Writer._open_w): no two writes share a file, bar one
        that overrides; False when an earlier override stands (Pelican skips the write)."""
        if filename in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{filename}" a second time (was previously overwritten)'
                )
            return False
        if filename in self._written_files and not override:
            raise FileOverwriteFailedError(
                f'Failed to overwrite "{filename}" as Pelican has already written to it'
                " previously (set `override=True` if intended)"
            )
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        return True


class _Fingerprinted:
    """A template whose render() asks the writer first."""

    def __init__(self, template: jinja2.Template, writer: IncrementalWriter) -> None:
        self.template = template
        self.writer = writer

    def render(self, context: Mapping[str, Any]) -> str:
        return self.writer.render(self.template, context)
