"""`fab serve`: the development build in one long-lived process, served on localhost,
rebuilt on every save, the open tab reloaded (deploy/devserver/)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import watchfiles
from pelican.log import DEFAULT_LOG_HANDLER, console
from pelican.log import init as init_logging

from deploy.devserver.rebuild import Rebuilder
from deploy.devserver.server import DevServer
from deploy.devserver.status import BuildStatus
from deploy.errors import DeployError

# How long the watcher waits for an editor's burst of writes to end (ms), and how often it
# looks at the settings files, which it stats rather than watches (editors replace them).
QUIET_AFTER_SAVE_MS = 30
SETTINGS_CHECK_MS = 500


def serve(project: Path, settings_file: Path, port: int, say: Callable[[str], None]) -> None:
    """Build the site with `settings_file`, serve it on 127.0.0.1:`port` and rebuild on
    every change to the content, the theme or the settings, until Ctrl-C."""
    os.chdir(project)  # Pelican and the plugins take relative settings from here.
    # On a terminal Pelican's own rich log and spinner; piped, bare lines. A handler either
    # way: content_checks rewrites Pelican's messages in a filter on the root's handlers.
    plain = logging.StreamHandler()
    init_logging(logging.WARNING, handler=DEFAULT_LOG_HANDLER if console.is_terminal else plain)
    rebuilder = Rebuilder(settings_file)
    status = BuildStatus()
    _build(rebuilder, status, say)
    try:
        server = DevServer(rebuilder.output, port, status)
    except OSError as error:
        raise DeployError("local", "serve", f"127.0.0.1:{port}: {error.strerror}") from None
    server.start()
    say(f"Serving {server.url} (rebuilt and reloaded on every save); Ctrl-C stops")
    try:
        for settings_changed, files in _changes(
            project / "content", project / "theme", [settings_file]
        ):
            if settings_changed:
                rebuilder.settings_changed()
            _build(rebuilder, status, say, () if settings_changed else files)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    say("Stopped.")


def _changes(
    content: Path, theme: Path, settings_files: list[Path]
) -> Iterable[tuple[bool, set[Path]]]:
    """One item per change worth a rebuild: whether the settings files changed, and the
    files under `content` and `theme` that did."""
    stamps = _stamps(settings_files)
    watched = [str(path) for path in (content, theme) if path.is_dir()]
    for changes in watchfiles.watch(
        *watched,
        step=QUIET_AFTER_SAVE_MS,
        rust_timeout=SETTINGS_CHECK_MS,
        yield_on_timeout=True,
    ):
        now = _stamps(settings_files)
        if now != stamps or changes:
            yield now != stamps, {Path(path) for _, path in changes}
            stamps = now


def _stamps(files: list[Path]) -> list[tuple[int, int] | None]:
    stamps: list[tuple[int, int] | None] = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            stamps.append(None)
            continue
        stamps.append((stat.st_size, stat.st_mtime_ns))
    return stamps


def _build(
    rebuilder: Rebuilder,
    status: BuildStatus,
    say: Callable[[str], None],
    changed: Collection[Path] = (),
) -> None:
    started = time.perf_counter()
    spinner: AbstractContextManager[object] = (
        console.status("Generating…") if console.is_terminal else nullcontext()
    )
    with spinner:
        problems = rebuilder.build(changed)
    outcome = status.finished(problems)
    took = time.perf_counter() - started
    if problems:
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        say(f"Build {outcome.generation}: {count} (shown in the browser too): {problems[0]}")
    else:
        summary = rebuilder.summary()
        done = f": {summary}" if summary else ""
        say(f"Build {outcome.generation}: done in {took:.2f} s{done}")
