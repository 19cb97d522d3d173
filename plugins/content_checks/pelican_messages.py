"""Pelican's own messages about content, turned into one line naming the file and the cure.

A filter on the root logger's handlers sees every record before it is printed. Records
Pelican logs about a post are rewritten into a ContentProblem; any record that `--fatal`
turns into an exception ends the build here, as one line, instead of as Pelican's
"RuntimeError: Warning or error encountered" and a traceback.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from docutils.utils import SystemMessage
from pelican.contents import Content

from plugins.sources import source_name

from .problems import ContentProblem, is_fatal, line_of, stop

FILE_INSERTION_FIX = (
    "file insertion and raw HTML are off; set CONTENT_ALLOW_FILE_INSERTION = True in "
    "pelicanconf.py to allow them"
)
# The cure for docutils' commonest complaints, by a phrase of the complaint.
DOCUTILS_FIXES = {
    "Unknown directive type": "check the directive's spelling against docutils' list, or remove it",
    "Unknown interpreted text role": "check the role's spelling against docutils' list",
    "underline too short": "make the underline at least as long as the title",
    "start-string without end-string": "close the markup, or put a backslash before the character",
    "Malformed table": "line the table's borders up, one column under another",
    "Inconsistent title style": "use one underline style per section level throughout the post",
}
# docutils' report: '<path>:<line>: (ERROR/3) <message>' (the line may be missing).
_DOCUTILS_REPORT = re.compile(r"^(?P<path>.*?):(?:(?P<line>\d+):)? \((?:\w+)/\d\) (?P<what>.*)$")

Translate = Callable[[tuple[Any, ...], Mapping[str, Any]], ContentProblem]


def _first_line(text: object) -> str:
    return str(text).strip().splitlines()[0].rstrip(".") if str(text).strip() else ""


def _docutils_problem(source: str, error: SystemMessage) -> ContentProblem:
    match = _DOCUTILS_REPORT.match(str(error).strip().splitlines()[0])
    if match is None:
        return ContentProblem(source, _first_line(error), "fix the reStructuredText")
    what = match["what"].rstrip(".")
    line = int(match["line"]) if match["line"] else None
    if "disabled" in what or "access deactivated" in what:
        return ContentProblem(source, what, FILE_INSERTION_FIX, line)
    fix = next((fix for start, fix in DOCUTILS_FIXES.items() if start in what), None)
    return ContentProblem(source, what, fix or "fix the reStructuredText there", line)


def _unreadable(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    """'Could not process %s': the reason is the exception being handled, which Pelican
    leaves out of the message unless DEBUG is on."""
    path = args[0]
    source = source_name(path, settings)
    error = sys.exc_info()[1]
    if isinstance(error, SystemMessage):
        return _docutils_problem(source, error)
    if isinstance(error, UnicodeDecodeError):
        line = error.object[: error.start].count(b"\n") + 1
        what = f"not UTF-8 (byte 0x{error.object[error.start]:02x} on line {line})"
        return ContentProblem(source, what, "save the file as UTF-8", line)
    if isinstance(error, ValueError) and "is not a valid date" in str(error):
        what = f"{_first_line(error)} (:date:)"
        fix = "write it as YYYY-MM-DD or YYYY-MM-DD HH:MM, e.g. :date: 2024-03-05 09:30"
        return ContentProblem(source, what, fix, line_of(path, settings, ":date:"))
    what = f"cannot be read ({type(error).__name__}: {_first_line(error)})"
    return ContentProblem(source, what, "fix the post; `pelican -D` shows the traceback")


def _missing_property(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    content, prop = args
    source = source_name(str(content), settings)
    if prop == "title":
        fix = "start the file with a title line underlined with ###, or add :title:"
        return ContentProblem(source, "has no title", fix)
    if prop == "date":
        return ContentProblem(source, "has no :date:", "add :date: YYYY-MM-DD HH:MM")
    return ContentProblem(source, f"has no {prop}", f"add :{prop}:")


def _outside_output(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    content, save_as = args
    what = f"would be written outside the site ({save_as})"
    return ContentProblem(source_name(str(content), settings), what, "fix its :slug: or :save_as:")


def _unknown_status(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    status, content, allowed = args
    source = source_name(str(content), settings)
    return ContentProblem(
        source,
        f"unknown :status: {status}",
        f"use one of {', '.join(allowed)}",
        line_of(str(content), settings, ":status:"),
    )


def _no_title(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    fix = "start the file with one title line underlined with ###, above the metadata"
    return ContentProblem(source_name(args[0], settings), "has no title section", fix)


def _content_being_rendered() -> Content | None:
    """The post whose links Pelican is replacing: the `self` of a Content method on the stack
    (Pelican's 'Unable to find' message does not name it)."""
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Content):
            return candidate
        frame = frame.f_back
    return None


def _broken_link(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    target = args[0]
    content = _content_being_rendered()
    path = content.source_path if content is not None else settings["PATH"]
    source = source_name(path, settings) if content is not None else "content"
    fix = "fix the path: relative to this file, or to content/ when it starts with /"
    what = f"links to {target}, which is not in the content"
    return ContentProblem(source, what, fix, line_of(path, settings, Path(target).name))


def _empty_alt(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    image, path = args
    what = f"image {image} has no alt text"
    fix = "add :alt: with what the image shows (screen readers and search engines read it)"
    return ContentProblem(source_name(path, settings), what, fix, line_of(path, settings, image))


def _static_via_filename(args: tuple[Any, ...], settings: Mapping[str, Any]) -> ContentProblem:
    target, post = args
    fix = "write {static} instead of {filename} for images and other files"
    what = f"links to the static file {target} with {{filename}}"
    return ContentProblem(source_name(post, settings), what, fix, line_of(post, settings, target))


# Pelican's message templates (record.msg), as in pelican 4.12.
TRANSLATIONS: dict[str, Translate] = {
    "Could not process %s": _unreadable,
    "Skipping %s: could not find information about '%s'": _missing_property,
    "Skipping %s: file %r would be written outside output path": _outside_output,
    "Unknown status '%s' for file %s, skipping it. (Not in %s)": _unknown_status,
    "Document title missing in file %s: Ensure exactly one top level section": _no_title,
    "Unable to find '%s', skipping url replacement.": _broken_link,
    "Empty alt attribute for image %s in %s": _empty_alt,
    "{filename} used for linking to static content %s in %s. Use {static} instead": (
        _static_via_filename
    ),
}

# Pelican's messages that arrive formatted already (f-strings), by pattern.
_MARKDOWN_DISABLED = re.compile(r"^(?P<path>.+): Could not import 'markdown\.Markdown'")


def _formatted(message: str, settings: Mapping[str, Any]) -> ContentProblem | None:
    match = _MARKDOWN_DISABLED.match(message)
    if match is None:
        return None
    what = "is Markdown, which this blog does not read"
    return ContentProblem(source_name(match["path"], settings), what, "write it as a .rst post")


FATAL_FIX = "this build stops at warnings (--fatal warnings); fix what it names"


class PelicanMessages(logging.Filter):
    """Rewrites Pelican's content messages into one line, and ends the build on fatal ones."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        if not logging.WARNING <= record.levelno < logging.CRITICAL:
            return True
        translate = TRANSLATIONS.get(str(record.msg))
        formatted = _formatted(str(record.msg), self.settings) if not record.args else None
        if translate is not None and isinstance(record.args, tuple):
            text = str(translate(record.args, self.settings))
        elif formatted is not None:
            text = str(formatted)
        elif is_fatal(record.levelno):
            text = " ".join(record.getMessage().split()) + f"; {FATAL_FIX}"
        else:
            return True
        if is_fatal(record.levelno):
            stop(text)
        record.msg, record.args, record.exc_info, record.exc_text = text, (), None, None
        return True


def install(settings: Mapping[str, Any]) -> None:
    """Put a PelicanMessages filter (for this build's settings) on every root handler.

    `pelican --log-handler plain` leaves the root logger without handlers, so Python's
    last-resort handler prints: it gets the filter then.
    """
    for handler in logging.getLogger().handlers or [logging.lastResort]:
        if handler is None:
            continue
        for old in [f for f in handler.filters if isinstance(f, PelicanMessages)]:
            handler.removeFilter(old)
        handler.addFilter(PelicanMessages(settings))
