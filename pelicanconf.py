"""Development build: relative URLs, no minification. publishconf.py builds for production.

Plugin settings (NGINX_*, HAPROXY_*, ACME_*, WEBPERF_*, DEPLOY_*, CONTENT_*, SEARCH_*, BUILD_*,
BACKENDS, BALANCER) have their defaults in one place per family (plugins/settings/); only what
differs is set here.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Our `plugins` package, importable already here: Pelican checks a few settings itself before
# any plugin loads, and a bad one (a SITEURL that is no string) must still end in one line.
sys.path.insert(0, str(HERE))
from plugins.settings import pelican_errors  # noqa: E402

pelican_errors.install()

AUTHOR = "Kura"
SITENAME = "Notes from the Blackhole"
SITESUBTITLE = "nginx, haproxy, Python and the odd mail server"
# Development serves on `pelican --listen`; the server config derives its names from this.
SITEURL = "http://localhost:8000"
RELATIVE_URLS = True

PATH = "content"
THEME = "theme"
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"
# Pelican stops reading a post at docutils' first warning; plugins/content_checks reports it
# as one line naming the file and line. File insertion and raw HTML (`include`, `raw`,
# `csv-table :file:`) are off: CONTENT_ALLOW_FILE_INSERTION = True turns them on.
DOCUTILS_SETTINGS: dict[str, object] = {}
# One language: posts may share a slug (recurring titles) as long as their URLs differ;
# content_checks stops the build when two sources would write the same file.
ARTICLE_TRANSLATION_ID = None
PAGE_TRANSLATION_ID = None

# Our plugins are the `plugins` package in this folder, loaded by the same full names that
# deploy/, bench/ and the tests import (one module object per file). plugins.settings comes
# first: it checks every setting before the others run. plugins.fastbuild (parallel reading,
# incremental writing) writes its pages at `finalized`, so it comes before every plugin that
# reads them there: plugins.serverconfig (no redirect may shadow a page) and plugins.webperf
# (which rewrites them).
PLUGIN_PATHS = [str(HERE)]
PLUGINS = [
    "plugins.settings",
    "plugins.content_checks",
    "plugins.sitemap_lastmod",
    "neighbors",
    "plugins.fastbuild",
    "plugins.serverconfig",
    "plugins.webperf",
    # After webperf: Pagefind indexes the pages as they ship (see plugins/search/search.py).
    "plugins.search",
]

# URLs are part of the public contract: /{year}/{month}/{day}/{slug}/ for posts.
ARTICLE_URL = "{date:%Y}/{date:%m}/{date:%d}/{slug}/"
ARTICLE_SAVE_AS = ARTICLE_URL + "index.html"
DRAFT_URL = "drafts/{slug}/"
DRAFT_SAVE_AS = DRAFT_URL + "index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = PAGE_URL + "index.html"
CATEGORY_URL = "category/{slug}/"
CATEGORY_SAVE_AS = CATEGORY_URL + "index.html"
TAG_URL = "tag/{slug}/"
TAG_SAVE_AS = TAG_URL + "index.html"
AUTHOR_URL = "author/{slug}/"
AUTHOR_SAVE_AS = AUTHOR_URL + "index.html"
ARCHIVES_URL = "archives/"
ARCHIVES_SAVE_AS = ARCHIVES_URL + "index.html"
CATEGORIES_URL = "categories/"
CATEGORIES_SAVE_AS = CATEGORIES_URL + "index.html"
TAGS_URL = "tags/"
TAGS_SAVE_AS = TAGS_URL + "index.html"
AUTHORS_SAVE_AS = ""
YEAR_ARCHIVE_SAVE_AS = ""
MONTH_ARCHIVE_SAVE_AS = ""

# The index is the home page: its first page lives at the site root.
INDEX_URL = ""
DEFAULT_PAGINATION = 4
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)

# Theme variables (theme/templates): Open Graph locale of every page.
OG_LOCALE = "en_GB"

STATIC_PATHS = ["images", "extra"]
EXTRA_PATH_METADATA = {
    "extra/robots.txt": {"path": "robots.txt"},
    "extra/favicon.ico": {"path": "favicon.ico"},
}

# Feeds are a production concern; development builds stay fast and quiet.
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

SITEMAP = {
    "format": "xml",
    "priorities": {"articles": 0.8, "indexes": 0.5, "pages": 0.6},
    "changefreqs": {"articles": "monthly", "indexes": "daily", "pages": "monthly"},
}

# Everything the build writes besides the web root (server config, asset manifest,
# release manifest). Never inside OUTPUT_PATH; the serverconfig plugin checks that.
DEPLOY_BUILD_PATH = str(HERE / "deploy" / "build")
# `fab publish` overrides this with `-e RELEASE_ID='"<id>"'`; health checks expect it.
RELEASE_ID = "dev"

# Search (plugins/search): Pagefind reads every page on every build (about 2 s at 1,000
# posts), which an edit-and-reload loop cannot afford; on in publishconf, so `fab preview`
# shows it. `-e SEARCH_ENABLED=true` turns it on here.
SEARCH_ENABLED = False

# Build-time page speed (plugins/webperf): off here, on in publishconf. Its content-hash cache
# lives outside OUTPUT_PATH because publish builds delete the output directory.
WEBPERF_CACHE_PATH = str(HERE / ".cache" / "webperf")

# The nginx backends behind haproxy, and the balancer. One list for the server config
# (haproxy `server` lines, nginx listeners) and for `fab publish` (where to ship).
# For development: one backend on this machine.
BACKENDS = [
    {
        "name": "web1",
        "address": "127.0.0.1",
        "port": 8080,
        "h2_port": 8081,
        "root": str(HERE / ".cache" / "srv"),
        "ssh_host": "127.0.0.1",
        "ssh_port": 22,
        "ssh_user": "deploy",
    },
]
BALANCER = {
    "address": "127.0.0.1",
    "ssh_host": "127.0.0.1",
    "ssh_port": 22,
    "ssh_user": "deploy",
}
