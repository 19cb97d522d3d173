"""A reproducible order for content that sorts equal.

Pelican collects source files in a set, so posts with the same date (or pages with the same
PAGE_ORDER_BY value) come out in an order that changes with Python's hash seed, from one
run to the next: their neighbours and pagination move, and with them hundreds of pages an
incremental build would otherwise keep. Sorting by source path first, then again by the
configured order (Python's sort is stable), breaks every tie the same way on every run.
"""

from __future__ import annotations

from typing import Any

from pelican.contents import Content
from pelican.utils import order_content


def _reorder(items: list[Content], order_by: Any) -> None:
    items.sort(key=lambda content: content.source_path or "")
    items[:] = order_content(items, order_by)


def articles(generator: Any) -> None:
    """At article_generator_pretaxonomy: before tags, categories and archives are made."""
    order_by = generator.settings["ARTICLE_ORDER_BY"]
    for items in (generator.articles, generator.hidden_articles, generator.drafts):
        _reorder(items, order_by)


def pages(generator: Any) -> None:
    """At page_generator_finalized (the lists are the ones in the context)."""
    order_by = generator.settings["PAGE_ORDER_BY"]
    for items in (generator.pages, generator.hidden_pages, generator.draft_pages):
        _reorder(items, order_by)
