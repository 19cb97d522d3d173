"""Defaults for every CONTENT_* setting, and the Pelican settings they decide."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from .problems import ContentProblem, stop

DEFAULTS: dict[str, Any] = {
    # docutils' `include`, `raw` and the :file:/:url: options of `raw` and `csv-table` read
    # files (or URLs) of the machine that builds: a post could publish its /etc/passwd.
    # True allows them, for a blog whose every author you trust with that machine.
    "CONTENT_ALLOW_FILE_INSERTION": False,
    # Drafts (`:status: draft`) are written under DRAFT_URL with `noindex`. publishconf.py
    # turns this off, so the published site has no drafts at all.
    "CONTENT_WRITE_DRAFTS": True,
}

# Docutils settings that follow CONTENT_ALLOW_FILE_INSERTION: set that instead.
FILE_INSERTION_KEYS = ("file_insertion_enabled", "raw_enabled")
# What a draft is written to; emptied when CONTENT_WRITE_DRAFTS is off (Pelican skips "").
DRAFT_SAVE_AS_KEYS = (
    "DRAFT_SAVE_AS",
    "DRAFT_LANG_SAVE_AS",
    "DRAFT_PAGE_SAVE_AS",
    "DRAFT_PAGE_LANG_SAVE_AS",
)


def apply(settings: MutableMapping[str, Any]) -> None:
    """Fill in CONTENT_* defaults and set the docutils and draft settings they decide."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
    for key in DEFAULTS:
        if not isinstance(settings[key], bool):
            stop(ContentProblem("settings", f"{key} = {settings[key]!r}", "use True or False"))
    docutils = dict(settings.get("DOCUTILS_SETTINGS") or {})
    for key in FILE_INSERTION_KEYS:
        if key in docutils:
            what = f"DOCUTILS_SETTINGS sets {key!r}"
            stop(ContentProblem("settings", what, "set CONTENT_ALLOW_FILE_INSERTION instead"))
    allowed = settings["CONTENT_ALLOW_FILE_INSERTION"]
    docutils.update(dict.fromkeys(FILE_INSERTION_KEYS, allowed))
    # MathML: formulas a browser lays out itself, without JavaScript or a stylesheet.
    docutils.setdefault("math_output", "MathML")
    # Editors on Windows start files with a byte order mark; docutils would read it as part
    # of the title.
    docutils.setdefault("input_encoding", "utf-8-sig")
    settings["DOCUTILS_SETTINGS"] = docutils
    if not settings["CONTENT_WRITE_DRAFTS"]:
        settings.update(dict.fromkeys(DRAFT_SAVE_AS_KEYS, ""))
