"""pelican-sitemap, with the newest post's date as `lastmod` of undated pages.

pelican-sitemap stamps the home page, tag, category and archive pages with the moment the
build ran. sitemap.xml then changed on every build: a changed file in every release to
recompress and ship, and a `lastmod` that told crawlers every index changed just now.

This plugin takes pelican-sitemap's place in PLUGINS: it runs the package's own
SitemapGenerator, subclassed so that its fallback date (`now`) is the newest post's date.
"""

from __future__ import annotations

from pelican import signals
from pelican.generators import ArticlesGenerator, Generator
from pelican.plugins.sitemap.sitemap import SitemapGenerator

from .robots import announce_sitemap


class StableDateSitemap(SitemapGenerator):
    """pelican-sitemap's generator; undated pages carry the newest post's date."""

    def stamp_undated_pages_with_newest_post(self, generators: list[Generator]) -> None:
        """Use the newest post's modified or publish date where a page has no date."""
        dates = [
            getattr(article, "modified", None) or article.date
            for generator in generators
            if isinstance(generator, ArticlesGenerator)
            for article in generator.articles
        ]
        if dates:
            self.now = max(dates)


# Receivers are weak references: the generator lives as long as the module.
sitemap = StableDateSitemap()


def register() -> None:
    """Connect what pelican-sitemap's register() connects, plus the date stamp, which runs
    after every generator has read its content and before `finalized` writes the file, and
    robots.txt's `Sitemap:` line once the sitemap is written."""
    signals.get_generators.connect(sitemap.init)
    signals.all_generators_finalized.connect(sitemap.stamp_undated_pages_with_newest_post)
    signals.content_written.connect(sitemap.queue_page)
    signals.finalized.connect(sitemap.finalize)
    signals.finalized.connect(announce_sitemap)
