"""Production build: absolute URLs, feeds, minified and precompressed output.

Build with `pelican content -s publishconf.py --fatal warnings` (what `fab publish` does).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))

from pelicanconf import *  # noqa: F403

SITEURL = os.environ.get("BLOG_SITEURL", "https://blog.example.org")
RELATIVE_URLS = False
# No DELETE_OUTPUT_DIRECTORY: plugins/fastbuild rebuilds incrementally and removes every file
# a build into an empty folder would not have written.

FEED_DOMAIN = SITEURL
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
# The newest posts only, as feed readers expect: Pelican's default (every post) made each feed
# of a 1,000-post blog 1.2 MB that readers fetch on every poll, and one edit re-rendered and
# recompressed them all.
FEED_MAX_ITEMS = 20

# Drafts stay out of the published site (content_checks writes them in development only).
CONTENT_WRITE_DRAFTS = False

# Build-time page speed (minify, fingerprint, precompress, images): on for production.
WEBPERF_ENABLED = True
# The Pagefind index of the site (off in development: see pelicanconf.py).
SEARCH_ENABLED = True

# Production inventory. Hosts are placeholders for a real deployment to replace.
BACKENDS = [
    {
        "name": "web1",
        "address": "10.0.0.11",
        "port": 80,
        "h2_port": 81,
        "root": "/srv/blog",
        "ssh_host": "web1.example.org",
        "ssh_port": 22,
        "ssh_user": "deploy",
    },
    {
        "name": "web2",
        "address": "10.0.0.12",
        "port": 80,
        "h2_port": 81,
        "root": "/srv/blog",
        "ssh_host": "web2.example.org",
        "ssh_port": 22,
        "ssh_user": "deploy",
    },
]
BALANCER = {
    "address": "10.0.0.10",
    "ssh_host": "lb.example.org",
    "ssh_port": 22,
    "ssh_user": "deploy",
}

# Stats credentials come from the environment, never from a file in the repository.
HAPROXY_STATS_USER = os.environ.get("HAPROXY_STATS_USER")
HAPROXY_STATS_PASSWORD = os.environ.get("HAPROXY_STATS_PASSWORD")
# A production haproxy.cfg must have a protected stats page: the build fails without one.
HAPROXY_STATS_REQUIRED = True
