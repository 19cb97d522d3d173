"""Minifying HTML pages and standalone CSS and JavaScript files with minify_html."""

from __future__ import annotations

from collections.abc import Mapping

import minify_html


class MinifyError(ValueError):
    """minify_html could not be trusted with a file; the message names it."""


def minify_page(html: str, options: Mapping[str, bool]) -> str:
    """Minify a whole HTML document; <pre> and <textarea> content is left as written."""
    return minify_html.minify(html, **options)


def _minify_wrapped(text: str, tag: str, option: str, name: str) -> str:
    # minify_html 0.18 has no entry point for a bare stylesheet or script, only for those
    # embedded in HTML: wrap the file in its element, minify, and unwrap.
    opening, closing = f"<{tag}>", f"</{tag}>"
    if closing in text.lower():
        raise MinifyError(f"{name}: contains {closing!r}, which cannot be minified safely")
    result = minify_html.minify(opening + text + closing, **{option: True})
    if not (result.startswith(opening) and result.endswith(closing)):
        raise MinifyError(f"{name}: minify_html returned something other than a {tag} element")
    return result[len(opening) : -len(closing)]


def minify_css(text: str, name: str) -> str:
    """Minify a stylesheet; `name` is used in error messages."""
    return _minify_wrapped(text, "style", "minify_css", name)


def minify_js(text: str, name: str) -> str:
    """Minify a classic script; `name` is used in error messages."""
    return _minify_wrapped(text, "script", "minify_js", name)
