"""One content problem, in the one format a user sees: `<file>[:<line>]: <what>; <what to do>`.

Every check in this plugin and every Pelican message it translates ends here, so a problem
reads the same through `pelican`, `fab build` and `fab publish`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pelican.log import FatalLogger

from plugins.settings import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContentProblem:
    """What is wrong with one source file, where, and what the author can do about it."""

    source: str
    what: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.what}; {self.fix}"


def stop(problem: ContentProblem | str) -> NoReturn:
    """End the build with `problem` as its one last line (the settings' error path)."""
    errors.stop(problem)


def is_fatal(level: int) -> bool:
    """Whether `pelican --fatal` makes a record of this level end the build."""
    return level >= FatalLogger.fatal_lvl


def report(problem: ContentProblem, level: int = logging.WARNING) -> None:
    """Log `problem` at `level`, or stop the build when `--fatal` covers that level."""
    if is_fatal(level):
        stop(problem)
    log.log(level, "%s", problem)


def line_of(path: str | Path, settings: Mapping[str, Any], needle: str) -> int | None:
    """The first line of the source file holding `needle`, if it can be read and has one."""
    content = Path(settings["PATH"])
    full = Path(path) if Path(path).is_absolute() else content / path
    try:
        text = full.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None
