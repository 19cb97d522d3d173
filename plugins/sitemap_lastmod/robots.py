"""robots.txt names the sitemap, by the absolute URL crawlers require.

content/extra/robots.txt is copied as it is; its `Sitemap:` line depends on SITEURL, which
differs between development and publish builds, so it is added here after the copy.
"""

from __future__ import annotations

from pathlib import Path

from pelican import Pelican

ROBOTS = "robots.txt"
SITEMAP = "sitemap.xml"


def with_sitemap_line(robots: str, siteurl: str) -> str:
    """`robots` with a `Sitemap:` line naming siteurl's sitemap, unless it has one."""
    if any(line.lower().startswith("sitemap:") for line in robots.splitlines()):
        return robots
    return robots.rstrip("\n") + f"\n\nSitemap: {siteurl.rstrip('/')}/{SITEMAP}\n"


def announce_sitemap(pelican: Pelican) -> None:
    """Add the `Sitemap:` line to the written robots.txt (before webperf compresses it)."""
    path = Path(pelican.output_path) / ROBOTS
    if not path.is_file() or not (Path(pelican.output_path) / SITEMAP).is_file():
        return
    text = path.read_text(encoding="utf-8")
    updated = with_sitemap_line(text, pelican.settings["SITEURL"])
    if updated != text:
        path.write_text(updated, encoding="utf-8")
