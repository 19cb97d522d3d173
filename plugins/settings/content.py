"""Defaults and validation for every CONTENT_* setting: what posts may do at build time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pelican.settings import DEFAULT_CONFIG

from . import rules
from .errors import SettingsError

DEFAULTS: dict[str, Any] = {
    # docutils' `include`, `raw` and the :file:/:url: options of `raw` and `csv-table` read
    # files (or URLs) of the machine that builds: a post could publish its /etc/passwd.
    # True allows them, for a blog whose every author you trust with that machine.
    "CONTENT_ALLOW_FILE_INSERTION": False,
    # Drafts (`:status: draft`) are written under DRAFT_URL with `noindex`. publishconf.py
    # turns this off, so the published site has no drafts at all.
    "CONTENT_WRITE_DRAFTS": True,
}
PREFIX = "CONTENT_"
# Docutils settings that CONTENT_ALLOW_FILE_INSERTION decides: set that instead.
FILE_INSERTION_KEYS = ("file_insertion_enabled", "raw_enabled")


@dataclass(frozen=True)
class ContentSettings:
    """What the build lets posts do."""

    allow_file_insertion: bool
    write_drafts: bool


def content_from_settings(settings: Mapping[str, Any]) -> ContentSettings:
    """Check every CONTENT_* value (and that DOCUTILS_SETTINGS does not go around them)."""
    # Pelican has a CONTENT_ setting of its own (CONTENT_CACHING_LAYER).
    ours = {k: v for k, v in settings.items() if k.startswith(PREFIX) and k not in DEFAULT_CONFIG}
    rules.known_keys("a setting of the content checks", ours, DEFAULTS)
    merged = {**DEFAULTS, **ours}
    allowed = rules.boolean("CONTENT_ALLOW_FILE_INSERTION", merged["CONTENT_ALLOW_FILE_INSERTION"])
    docutils = settings.get("DOCUTILS_SETTINGS") or {}
    for key in FILE_INSERTION_KEYS:
        # The content checks write CONTENT_ALLOW_FILE_INSERTION's value there; any other
        # value is a way around it.
        if key in docutils and docutils[key] is not allowed:
            raise SettingsError(
                f"DOCUTILS_SETTINGS[{key!r}]",
                docutils[key],
                f"no such key: CONTENT_ALLOW_FILE_INSERTION (now {allowed}) decides it",
            )
    return ContentSettings(
        allow_file_insertion=allowed,
        write_drafts=rules.boolean("CONTENT_WRITE_DRAFTS", merged["CONTENT_WRITE_DRAFTS"]),
    )
