"""The Pelican settings that the CONTENT_* settings decide (validated by plugins.settings)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from plugins.settings.content import FILE_INSERTION_KEYS, content_from_settings

# What a draft is written to; emptied when CONTENT_WRITE_DRAFTS is off (Pelican skips "").
DRAFT_SAVE_AS_KEYS = (
    "DRAFT_SAVE_AS",
    "DRAFT_LANG_SAVE_AS",
    "DRAFT_PAGE_SAVE_AS",
    "DRAFT_PAGE_LANG_SAVE_AS",
)


def apply(settings: MutableMapping[str, Any]) -> None:
    """Set the docutils and draft settings that CONTENT_* decide; a bad value raises
    SettingsError."""
    content = content_from_settings(settings)
    docutils = dict(settings.get("DOCUTILS_SETTINGS") or {})
    docutils.update(dict.fromkeys(FILE_INSERTION_KEYS, content.allow_file_insertion))
    # MathML: formulas a browser lays out itself, without JavaScript or a stylesheet.
    docutils.setdefault("math_output", "MathML")
    # Editors on Windows start files with a byte order mark; docutils would read it as part
    # of the title.
    docutils.setdefault("input_encoding", "utf-8-sig")
    settings["DOCUTILS_SETTINGS"] = docutils
    if not content.write_drafts:
        settings.update(dict.fromkeys(DRAFT_SAVE_AS_KEYS, ""))
