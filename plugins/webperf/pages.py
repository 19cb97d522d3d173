"""Rewriting HTML pages: fingerprinted references, sized and lazy images, then minifying.

Pelican, docutils and Pygments always quote attribute values and escape `<` in text, so a
tag-level scan is exact for their output; raw-text elements (script, style) and comments
are stepped over whole so nothing inside them is taken for a tag.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from . import cache, urls
from .images import ImageInfo
from .minify import minify_page

_ATTR = r"""[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_TOKEN = re.compile(
    r"<!--.*?-->"
    rf"|<(?P<raw>script|style)\b(?P<raw_attrs>(?:\s+{_ATTR})*)\s*>(?P<body>.*?)</(?P=raw)\s*>"
    rf"|<(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:\s+{_ATTR})*)\s*/?>",
    re.DOTALL | re.IGNORECASE,
)
_ONE_ATTR = re.compile(
    r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""", re.DOTALL
)
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+?)\1\s*\)|@import\s+(["'])([^"']+)\3""")

# `data`: docutils shows SVG images through <object data=…>.
URL_ATTRIBUTES = frozenset({"href", "src", "poster", "data"})
SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset"})

Attributes = list[tuple[str, str | None]]

# A rewritten page depends on its bytes, its path, the Context, and besides those only on
# this code and the minifier: both name the cache namespace, so changing either (or
# upgrading minify_html) never serves a page rewritten the old way.
_CODE = hashlib.sha256(
    b"".join(
        (Path(__file__).parent / name).read_bytes()
        for name in ("pages.py", "urls.py", "minify.py", "../contract.py")
    )
    + metadata.version("minify_html").encode()
).hexdigest()[:16]
CACHE_NAMESPACE = f"page-{_CODE}"


@dataclass(frozen=True)
class Context:
    """Everything page rewriting needs, shared with worker processes once."""

    siteurl: str
    assets: Mapping[str, str]  # original → fingerprinted, root-relative
    images: Mapping[str, ImageInfo]  # original root-relative path → size and variants
    image_sizes: str
    minify: bool
    minify_options: Mapping[str, bool]
    # Originals still present in the web root: a page naming one keeps it alive.
    originals: frozenset[str] = field(default_factory=frozenset)
    # Content-hash cache of rewritten pages; None rewrites every page every time.
    cache_root: Path | None = None

    @functools.cached_property
    def digest(self) -> str:
        """A hash of everything here that decides how a page is rewritten."""
        described = [
            self.siteurl,
            sorted(self.assets.items()),
            sorted((path, asdict(info)) for path, info in self.images.items()),
            self.image_sizes,
            self.minify,
            sorted(self.minify_options.items()),
            sorted(self.originals),
        ]
        return hashlib.sha256(json.dumps(described).encode()).hexdigest()


@dataclass(frozen=True)
class PageOutcome:
    """What rewriting one page did."""

    path: str
    referenced: frozenset[str]
    images: int
    from_cache: bool = False


def parse_attributes(text: str) -> Attributes:
    """Attributes of a tag as (name, unescaped value or None) in document order."""
    result: Attributes = []
    for match in _ONE_ATTR.finditer(text):
        name, double, single, bare = match.groups()
        value = next((v for v in (double, single, bare) if v is not None), None)
        result.append((name.lower(), None if value is None else html.unescape(value)))
    return result


def render_tag(name: str, attributes: Attributes) -> str:
    """A start tag with every value double-quoted and escaped."""
    parts = [name]
    for key, value in attributes:
        parts.append(key if value is None else f'{key}="{html.escape(value, quote=True)}"')
    return "<" + " ".join(parts) + ">"


def rewrite_url(url: str, referrer: str, context: Context) -> str:
    """`url` pointing at its asset's fingerprinted name when the asset was fingerprinted."""
    target = urls.resolve(url, referrer, context.siteurl)
    if target is None or target not in context.assets:
        return url
    return urls.rename(url, context.assets[target].rsplit("/", 1)[-1])


def rewrite_srcset(value: str, referrer: str, context: Context) -> str:
    """Each candidate URL of a srcset rewritten; descriptors kept."""
    candidates = []
    for candidate in value.split(","):
        bits = candidate.strip().split(None, 1)
        if bits:
            bits[0] = rewrite_url(bits[0], referrer, context)
            candidates.append(" ".join(bits))
    return ", ".join(candidates)


def rewrite_css(text: str, referrer: str, context: Context) -> str:
    """url() and @import references in CSS rewritten, relative to `referrer`."""

    def replace(match: re.Match[str]) -> str:
        if match[2] is not None:
            quote = match[1]
            return f"url({quote}{rewrite_url(match[2], referrer, context)}{quote})"
        quote = match[3]
        return f"@import {quote}{rewrite_url(match[4], referrer, context)}{quote}"

    return CSS_URL.sub(replace, text)


def _srcset(candidates: tuple[tuple[str, int], ...], base: str) -> str:
    # Candidates are root-relative; write them the way the page wrote its own src, so
    # relative-URL development builds stay relative and publish builds stay absolute.
    return ", ".join(f"{urls.rename(base, path.rsplit('/', 1)[-1])} {w}w" for path, w in candidates)


def _size_image(
    attributes: Attributes, referrer: str, context: Context, first: bool
) -> tuple[Attributes, str | None]:
    """Width/height, lazy loading and srcset for one <img>; returns it and a WebP <source>."""
    values = dict(attributes)
    src = values.get("src") or ""
    target = urls.resolve(src, referrer, context.siteurl)
    info = context.images.get(target) if target else None
    extra: Attributes = []
    source_tag = None
    if info is not None:
        width, height = values.get("width"), values.get("height")
        if width is None and height is None:
            extra += [("width", str(info.width)), ("height", str(info.height))]
        elif height is None and width and width.isdigit():
            extra.append(("height", str(round(int(width) * info.height / info.width))))
        elif width is None and height and height.isdigit():
            extra.append(("width", str(round(int(height) * info.width / info.height))))
        if "srcset" not in values and info.same_format:
            own = (*info.same_format, (context.assets.get(target, target), info.width))
            extra += [("srcset", _srcset(own, src)), ("sizes", context.image_sizes)]
        if "srcset" not in values and info.webp:
            webp = _srcset(info.webp, src)
            source_tag = render_tag(
                "source",
                [("type", "image/webp"), ("srcset", webp), ("sizes", context.image_sizes)],
            )
    if not first:
        if "loading" not in values:
            extra.append(("loading", "lazy"))
        if "decoding" not in values:
            extra.append(("decoding", "async"))
    return attributes + extra, source_tag


class _MarkupRewriter:
    """Rewrites one page's tags, one regex match at a time; counts the images it sizes."""

    def __init__(self, referrer: str, context: Context) -> None:
        self.referrer, self.context = referrer, context
        self.images = 0

    def attributes_of(self, raw: str) -> tuple[Attributes, bool]:
        """A tag's attributes with their references rewritten, and whether any changed."""
        attributes = parse_attributes(raw)
        changed = False
        for index, (key, value) in enumerate(attributes):
            new = None if value is None else self.rewrite_value(key, value)
            if new is not None and new != value:
                attributes[index] = (key, new)
                changed = True
        return attributes, changed

    def rewrite_value(self, key: str, value: str) -> str | None:
        """An attribute's value rewritten, or None for an attribute that names no file."""
        if key in URL_ATTRIBUTES:
            return rewrite_url(value, self.referrer, self.context)
        if key in SRCSET_ATTRIBUTES:
            return rewrite_srcset(value, self.referrer, self.context)
        if key == "style":
            return rewrite_css(value, self.referrer, self.context)
        if key == "content" and value.startswith(("http://", "https://", "/")):
            return rewrite_url(value, self.referrer, self.context)
        return None

    def raw_element(self, match: re.Match[str]) -> str:
        """<style> and <script>: the tag's attributes, and a stylesheet's body."""
        name = match["raw"]
        attributes, changed = self.attributes_of(match["raw_attrs"])
        body = match["body"]
        if name.lower() == "style":
            body = rewrite_css(body, self.referrer, self.context)
        if not changed and body == match["body"]:
            return match[0]
        opening = match[0][: match.start("body") - match.start()]
        head = render_tag(name, attributes) if changed else opening
        return f"{head}{body}</{name}>"

    def image(self, match: re.Match[str], attributes: Attributes) -> str:
        """An <img> sized (and given a <picture> with variants) and renamed."""
        # The original src is what the image's size is looked up by: size before renaming.
        original = parse_attributes(match["attrs"])
        sized, source_tag = _size_image(
            original, self.referrer, self.context, first=self.images == 0
        )
        self.images += 1
        renamed = dict(attributes)
        final = [(key, renamed.get(key, value)) for key, value in sized]
        tag = render_tag("img", final)
        return f"<picture>{source_tag}{tag}</picture>" if source_tag else tag

    def __call__(self, match: re.Match[str]) -> str:
        if match["raw"]:
            return self.raw_element(match)
        if not match["name"]:
            return match[0]
        attributes, changed = self.attributes_of(match["attrs"])
        if match["name"].lower() == "img":
            return self.image(match, attributes)
        return render_tag(match["name"], attributes) if changed else match[0]


def rewrite_markup(text: str, referrer: str, context: Context) -> tuple[str, int]:
    """A page with its references fingerprinted and its images sized; and the image count."""
    rewriter = _MarkupRewriter(referrer, context)
    return _TOKEN.sub(rewriter, text), rewriter.images


def process_page(path: Path, referrer: str, context: Context) -> PageOutcome:
    """Rewrite, minify and save one page; report which originals it still names.

    With a cache, an unchanged page in an unchanged context costs a read and a write.
    """
    before = path.read_text(encoding="utf-8")
    entry = None
    stored = None
    if context.cache_root is not None:
        key = hashlib.sha256(f"{context.digest}\0{referrer}\0{before}".encode()).hexdigest()
        entry = cache.entry_path(context.cache_root, CACHE_NAMESPACE, key)
        stored = cache.load(entry)
    if stored is not None:
        # An entry is the page's image count on the first line, then the rewritten page.
        count, _, body = stored.partition(b"\n")
        images, text = int(count), body.decode("utf-8")
    else:
        text, images = rewrite_markup(before, referrer, context)
        if context.minify:
            text = minify_page(text, context.minify_options)
        if entry is not None:
            cache.store(entry, f"{images}\n{text}".encode())
    if text != before:
        path.write_text(text, encoding="utf-8")
    referenced = frozenset(original for original in context.originals if original in text)
    return PageOutcome(referrer, referenced, images, from_cache=stored is not None)
