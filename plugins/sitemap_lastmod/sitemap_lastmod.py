"""Sitemap `lastmod` of undated pages: the newest post's date, not the time of the build.

pelican-sitemap stamps the home page, tag, category and archive pages with the moment the
build ran. sitemap.xml then changed on every build: a changed file in every release to
recompress and ship, and a `lastmod` that told crawlers every index changed just now.
"""

from __future__ import annotations

from pelican import signals
from pelican.generators import ArticlesGenerator, Generator
from pelican.plugins.sitemap import sitemap


def stamp_undated_pages_with_newest_post(generators: list[Generator]) -> None:
    """Set pelican-sitemap's fallback date to the newest post's modified or publish date."""
    dates = [
        getattr(article, "modified", None) or article.date
        for generator in generators
        if isinstance(generator, ArticlesGenerator)
        for article in generator.articles
    ]
    if dates:
        sitemap.generator.now = max(dates)


def register() -> None:
    # Runs after every generator has read its content and before `finalized`, where
    # pelican-sitemap writes the file.
    signals.all_generators_finalized.connect(stamp_undated_pages_with_newest_post)
