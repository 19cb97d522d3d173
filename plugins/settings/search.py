"""Defaults and validation for every SEARCH_* setting (the Pagefind index of the site)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins import contract

from . import rules

DEFAULTS: dict[str, Any] = {
    # Index the site with Pagefind after every build and write the search page. The
    # project's pelicanconf.py turns it off for development (Pagefind has no incremental
    # mode); publishconf.py turns it back on.
    "SEARCH_ENABLED": True,
    # Seconds Pagefind may take before the build stops: a hung index must not hang a publish.
    "SEARCH_TIMEOUT": 300,
}

PREFIX = "SEARCH_"
# Set by the plugin for Pelican and the theme (the search page is a direct template).
_SET_BY_PLUGIN = ("SEARCH_URL", "SEARCH_SAVE_AS", "SEARCH_BUNDLE")


@dataclass(frozen=True)
class SearchSettings:
    """Validated settings for one build."""

    enabled: bool
    timeout: float
    output: Path
    bundle: Path


def search_from_settings(settings: Mapping[str, Any], base: Path | None = None) -> SearchSettings:
    """Merge defaults into `settings`, check every SEARCH_* value, return the typed result."""
    merged = {
        **DEFAULTS,
        **{k: v for k, v in settings.items() if k.startswith(PREFIX) and k not in _SET_BY_PLUGIN},
    }
    rules.known_keys("a setting of search", merged, DEFAULTS)
    output = ((base or Path.cwd()) / settings["OUTPUT_PATH"]).resolve()
    return SearchSettings(
        enabled=rules.boolean("SEARCH_ENABLED", merged["SEARCH_ENABLED"]),
        timeout=rules.seconds("SEARCH_TIMEOUT", merged["SEARCH_TIMEOUT"]),
        output=output,
        bundle=output / contract.SEARCH_BUNDLE,
    )
