"""A build's content objects where Pelican's generators keep them, and their source files
named as the author knows them. Shared by the plugins that check or read content."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

# Generator attributes holding content objects, written or not (a draft is not written in a
# publish build).
CONTENT_ATTRIBUTES = (
    "articles",
    "translations",
    "hidden_articles",
    "hidden_translations",
    "drafts",
    "drafts_translations",
    "pages",
    "hidden_pages",
    "draft_pages",
    "draft_translations",
)


def contents(generators: Iterable[Any], *, static: bool = False) -> Iterator[Any]:
    """Every content object of the build; with `static`, the static files too."""
    attributes = (*CONTENT_ATTRIBUTES, "staticfiles") if static else CONTENT_ATTRIBUTES
    for generator in generators:
        for attribute in attributes:
            yield from getattr(generator, attribute, ())


def source_name(path: str | Path, settings: Mapping[str, Any]) -> str:
    """`path` as the author knows it: relative to the folder that holds the content folder.

    Pelican names files relative to PATH ('./post.rst') or absolutely; both become
    'content/post.rst'.
    """
    content = Path(settings["PATH"]).resolve()
    full = Path(path) if Path(path).is_absolute() else content / path
    try:
        return full.resolve().relative_to(content.parent).as_posix()
    except ValueError:
        return str(path)
