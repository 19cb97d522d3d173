"""Posts with odd file names: read `Post.RST`; name every file under the content folders
that no generator reads or copies, instead of dropping it without a word."""

from __future__ import annotations

import fnmatch
import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pelican.readers import Readers

from plugins.sources import source_name

from .problems import ContentProblem, report


def case_variants(extension: str) -> set[str]:
    """Every upper/lower-case spelling of `extension` ('rst' → 'RST', 'Rst', ...)."""
    return {
        "".join(letters)
        for letters in itertools.product(*((c.lower(), c.upper()) for c in extension))
    }


def read_any_case(readers: Readers) -> None:
    """Let the reStructuredText reader take `.RST`, `.Rst`...: Pelican matches extensions
    case-sensitively and skips those files silently."""
    rst = readers.reader_classes.get("rst")
    if rst is None:
        return
    for variant in case_variants("rst") - {"rst"}:
        readers.reader_classes.setdefault(variant, rst)


# Editors' droppings (swap files, backups) sit beside posts while they are edited: never posts.
EDITOR_FILES = [".*", "*~", "#*#"]


def _files(root: Path, settings: Mapping[str, Any]) -> Iterator[Path]:
    ignores = [*settings["IGNORE_FILES"], *EDITOR_FILES]
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [d for d in dirs if not any(fnmatch.fnmatch(d, i) for i in ignores)]
        for name in files:
            if not any(fnmatch.fnmatch(name, i) for i in ignores):
                yield Path(folder) / name


def unread_files(settings: Mapping[str, Any], known: Iterable[str]) -> list[Path]:
    """Files under PATH that are neither content, nor static, nor failed content.

    `known`: source paths relative to PATH, as Pelican's context keys them.
    """
    content = Path(settings["PATH"])
    taken = {os.path.normpath(path) for path in known}
    return sorted(
        path
        for path in _files(content, settings)
        if os.path.normpath(path.relative_to(content).as_posix()) not in taken
    )


def warn_unread(settings: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    """One warning per file the build leaves out (fatal in a publish build)."""
    known = [*context.get("generated_content", {}), *context.get("static_content", {})]
    for path in unread_files(settings, known):
        name = path.name
        if ".rst" in name.lower():
            fix = "rename it to end in .rst"
        else:
            fix = "name posts *.rst, move other files under STATIC_PATHS, or delete it"
        what = "is not read: it is neither a post (*.rst) nor a static file"
        report(ContentProblem(source_name(path, settings), what, fix), logging.WARNING)
