"""Percent-encode content URLs that hold characters a URL may not carry as they are.

A post with `:slug: café` is saved as `café/index.html` (nginx decodes a request before it
looks for the file), but every place that prints its URL (links, canonical, sitemap, feeds,
the nginx redirects to it) gets `caf%C3%A9/`, the one spelling all of them agree on.
"""

from __future__ import annotations

from urllib.parse import quote

from pelican.contents import Content, Static


def encoded(url: str) -> str:
    """`url` with everything but unreserved characters and '/' percent-encoded (UTF-8)."""
    return quote(url, safe="/")


def encode_url(content: Content) -> None:
    """content_object_init: give a post or page whose URL needs encoding its encoded URL.

    Static files are left alone: reading their `url` this early would pin their location
    before an {attach} link could move them.
    """
    if isinstance(content, Static):
        return
    url = getattr(content, "url", "")
    if url and encoded(url) != url:
        content.override_url = encoded(url)
