"""Resolving references found in the output to files in the web root, and renaming them."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote, unquote

from plugins.contract import FINGERPRINT_LENGTH

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SPLIT = re.compile(r"[?#]")


def resolve(url: str, referrer: str, siteurl: str) -> str | None:
    """The root-relative path `url` points to, seen from the file `referrer`, or None.

    `referrer` is root-relative too (e.g. "2013/07/10/slug/index.html"). URLs to other
    hosts, data: and mailto: URLs, and bare fragments resolve to None.
    """
    url = url.strip()
    path = _SPLIT.split(url, maxsplit=1)[0]
    if siteurl and (path == siteurl or path.startswith(siteurl + "/")):
        path = path[len(siteurl) :] or "/"
    elif path.startswith("//") or _SCHEME.match(path):
        return None
    if not path:
        return None
    if path.startswith("/"):
        joined = posixpath.normpath(unquote(path)).lstrip("/")
    else:
        base = posixpath.dirname(referrer)
        joined = posixpath.normpath(posixpath.join(base, unquote(path)))
    if joined.startswith("..") or joined in ("", "."):
        return None
    return joined


def rename(url: str, new_name: str) -> str:
    """`url` with its last path segment replaced by `new_name`; query and fragment kept."""
    match = _SPLIT.search(url)
    cut = match.start() if match else len(url)
    path, rest = url[:cut], url[cut:]
    head = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    return head + quote(new_name) + rest


def fingerprinted_name(name: str, digest: str) -> str | None:
    """`style.css` → `style.<10 hex>.css`; None when the name has no plain extension."""
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if not dot or not stem or not re.fullmatch(r"[a-z0-9]+", ext):
        return None
    return f"{stem}.{digest[:FINGERPRINT_LENGTH]}.{ext}"
