"""Reading built HTML: parse errors, the references a page makes, and where they lead."""

from __future__ import annotations

import functools
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib

# Attributes through which a page makes the browser (or a reader) fetch something.
REFERENCE_ATTRIBUTES = ("href", "src", "srcset")


def html_files(root: Path) -> list[Path]:
    """Every HTML file under `root`, sorted."""
    return sorted(root.rglob("*.html"))


def parse(path: Path) -> ET.Element:
    """The document tree of `path`, parsed the way a browser would (no namespaces)."""
    return html5lib.parse(path.read_bytes(), namespaceHTMLElements=False)


# A bare '&' before letters that do not end in ';' ("Q&A", "a&b"): html5lib reports it, but
# the HTML standard does not count it as an error (minify_html writes `&amp;` that way).
_BARE_AMPERSAND = re.compile(r"&[A-Za-z0-9]+$")


def parse_errors(path: Path) -> list[str]:
    """Parse errors in `path` by the HTML standard, each as 'line:column error-code'."""
    data = path.read_bytes()
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(data)
    lines = data.decode("utf-8", errors="replace").splitlines()
    return [
        f"{line}:{column} {code} {data or ''}"
        for (line, column), code, data in parser.errors
        if not (code == "expected-named-entity" and _is_bare_ampersand(lines, line, column))
    ]


def _is_bare_ampersand(lines: list[str], line: int, column: int) -> bool:
    """Whether html5lib's entity error at (line, column) is a bare '&' + letters, no ';'."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return bool(_BARE_AMPERSAND.search(text[:column])) and text[column : column + 1] != ";"


@dataclass(frozen=True)
class Reference:
    """One URL a page refers to, and the element and attribute it came from."""

    page: Path
    tag: str
    attribute: str
    url: str


def references(path: Path) -> Iterator[Reference]:
    """Every href, src and srcset URL in `path` (each srcset candidate on its own)."""
    for element in parse(path).iter():
        for attribute in REFERENCE_ATTRIBUTES:
            value = element.get(attribute)
            if value is None:
                continue
            urls = (
                [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]
                if attribute == "srcset"
                else [value]
            )
            for url in urls:
                yield Reference(path, str(element.tag), attribute, url.strip())


def element_ids(path: Path) -> set[str]:
    """Every id in `path`: the fragments a link into it may name."""
    return {element.get("id") for element in parse(path).iter() if element.get("id")}


def local_target(root: Path, reference: Reference, siteurl: str = "") -> Path | None:
    """The file under `root` that `reference` leads to, or None when it leaves the site.

    Absolute URLs under `siteurl` count as the site's own; a URL ending in `/` means the
    `index.html` of that folder. The returned path may not exist, or may even lie outside
    `root` (too many `../`): both are for the caller to check.
    """
    url = reference.url
    if siteurl and (url == siteurl or url.startswith(siteurl.rstrip("/") + "/")):
        url = "/" + url[len(siteurl.rstrip("/")) :].lstrip("/")
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if not path:
        return reference.page
    if path.startswith("/"):
        target = path.lstrip("/")
    else:
        here = reference.page.parent.relative_to(root).as_posix()
        target = posixpath.normpath(posixpath.join(here, path))
    resolved = root / target if target != "." else root
    if path.endswith("/") or resolved.is_dir():
        resolved = resolved / "index.html"
    return resolved


def fragment(reference: Reference) -> str:
    """The `#fragment` of a reference, without the hash ('' when there is none)."""
    return unquote(urlsplit(reference.url).fragment)


def broken_references(root: Path, siteurl: str = "") -> list[str]:
    """Every reference in the HTML under `root` to a file or an id the site does not have,
    as '<page>: <tag attribute=url> -> what is missing'."""
    root = root.resolve()
    ids = functools.cache(element_ids)
    broken = []
    for page in html_files(root):
        for ref in references(page):
            target = local_target(root, ref, siteurl)
            if target is None:
                continue
            target, anchor = target.resolve(), fragment(ref)
            where = f"{page.relative_to(root)}: <{ref.tag} {ref.attribute}={ref.url!r}>"
            if not (target.is_relative_to(root) and target.is_file()):
                broken.append(f"{where} -> missing {target}")
            elif anchor and target.suffix == ".html" and anchor not in ids(target):
                broken.append(f"{where} -> no id {anchor!r}")
    return broken
