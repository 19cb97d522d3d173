"""Two things the build would write to one file: a content problem named by both sources.

Pelican warns about posts that share a slug (even on different dates, so different URLs)
and crashes, naming only the output file, when a page takes a built-in page's place.
What matters is the file written: `save_as`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from plugins.contract import HEALTH_FILE
from plugins.sources import contents, source_name

from .problems import ContentProblem, line_of, stop

# Generator attributes holding (url wrapper, articles) pairs: category, tag, author pages.
LISTING_ATTRIBUTES = {"categories": "category", "tags": "tag", "authors": "author"}
# Files the site writes outside Pelican's content: (setting or name, what it is).
FIXED_FILES = {HEALTH_FILE: "the release's health check", "sitemap.xml": "the sitemap"}


def _built_in(settings: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(save_as, description) of every page the site writes that no source file makes."""
    for name in settings["DIRECT_TEMPLATES"]:
        key = f"{name.upper()}_SAVE_AS"
        yield settings.get(key, f"{name}.html"), f"the {name} page ({key})"
    for template, save_as in settings.get("TEMPLATE_PAGES", {}).items():
        yield save_as, f"the template page {template}"
    for key in ("FEED_ALL_ATOM", "FEED_ALL_RSS", "FEED_ATOM", "FEED_RSS"):
        if settings.get(key):
            yield settings[key], f"the feed {key}"
    for save_as, what in FIXED_FILES.items():
        yield save_as, what


def _listings(generators: Iterable[Any]) -> Iterator[tuple[str, str]]:
    for generator in generators:
        for attribute, kind in LISTING_ATTRIBUTES.items():
            entries = getattr(generator, attribute, ())
            for wrapper, _ in entries.items() if isinstance(entries, dict) else entries:
                yield wrapper.save_as, f"the {kind} page of {wrapper}"


def check(generators: list[Any], settings: Mapping[str, Any]) -> None:
    """Stop the build, naming both sources, if two of them would write the same file."""
    owners: dict[str, str] = {}
    for save_as, what in [*_built_in(settings), *_listings(generators)]:
        if save_as:
            owners.setdefault(os.path.normpath(save_as), what)
    written = [c for c in contents(generators, static=True) if getattr(c, "save_as", "")]
    sources: dict[str, Any] = {}
    # By file name, so the same content names the same pair on every build.
    for content in sorted(written, key=lambda c: str(c.source_path)):
        key = os.path.normpath(content.save_as)
        if key in owners or key in sources:
            _stop(content, key, owners.get(key) or sources[key], settings)
        sources[key] = content


def _stop(content: Any, save_as: str, other: Any, settings: Mapping[str, Any]) -> None:
    source = source_name(content.source_path, settings)
    if isinstance(other, str):
        what = f"would be written to {save_as}, which is {other}"
        fix = "give it another :slug: (or :save_as:)"
    else:
        what = f"would be written to {save_as}, like {source_name(other.source_path, settings)}"
        fix = "give one of them another :slug: (or :date:); their URLs must differ"
    stop(ContentProblem(source, what, fix, line_of(content.source_path, settings, ":slug:")))
