"""Image dimensions, and resized and WebP variants that are worth serving (Pillow)."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import PIL
from PIL import Image, UnidentifiedImageError

from . import cache

log = logging.getLogger(__name__)

RASTER = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF"}
"""Formats we make variants of; others (WebP, AVIF, ICO, SVG) only get their size read."""

DIMENSIONED = {*RASTER, ".webp", ".avif", ".ico", ".bmp", ".svg"}

_PIXELS = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:px)?\s*$")


@dataclass(frozen=True)
class Variant:
    """An encoded image to serve in a srcset. `name` is a file name, not yet fingerprinted."""

    name: str
    width: int
    mime: str
    data: bytes


@dataclass(frozen=True)
class ImageInfo:
    """Intrinsic size of one image, and the srcset candidates made for it (root-relative)."""

    width: int
    height: int
    # (root-relative path, width) pairs, narrowest first; empty when no variant pays.
    same_format: tuple[tuple[str, int], ...] = ()
    webp: tuple[tuple[str, int], ...] = ()


class ImageError(ValueError):
    """An image in the output could not be read; the message names the file."""


def svg_size(data: bytes, name: str) -> tuple[int, int] | None:
    """Width and height of an SVG from its attributes or viewBox, if it states them."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ImageError(f"{name}: not a well-formed SVG ({exc})") from exc
    width, height = (_PIXELS.match(root.get(attr, "")) for attr in ("width", "height"))
    if width and height:
        return round(float(width[1])), round(float(height[1]))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(box) == 4:
        try:
            return round(float(box[2])), round(float(box[3]))
        except ValueError:
            return None
    return None


def size_of(path: Path, name: str) -> tuple[int, int] | None:
    """The intrinsic size of the image at `path`, or None when the file does not say."""
    if path.suffix.lower() == ".svg":
        return svg_size(path.read_bytes(), name)
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"{name}: Pillow cannot read this image ({exc})") from exc


def _encode(image: Image.Image, fmt: str, quality: int, lossless: bool) -> bytes:
    out = io.BytesIO()
    if fmt == "WEBP":
        image.save(out, "WEBP", lossless=lossless, quality=quality, method=6)
    elif fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        image.save(out, fmt, optimize=True)
    return out.getvalue()


def _cached_encode(
    source: Image.Image,
    digest: str,
    width: int,
    fmt: str,
    quality: int,
    lossless: bool,
    cache_root: Path,
) -> bytes:
    namespace = f"image-{PIL.__version__}-{fmt.lower()}-{width}-{quality}-{int(lossless)}"
    entry = cache.entry_path(cache_root, namespace, digest)
    data = cache.load(entry)
    if data is None:
        image = source
        if width != source.width:
            height = max(1, round(source.height * width / source.width))
            image = source.resize((width, height), Image.Resampling.LANCZOS)
        data = _encode(image, fmt, quality, lossless)
        cache.store(entry, data)
    return data


def make_variants(
    path: Path,
    widths: tuple[int, ...],
    webp: bool,
    webp_quality: int,
    max_ratio: float,
    min_saving: int,
    cache_root: Path,
) -> list[Variant]:
    """Resized copies in the source format and WebP copies of a raster image, where they pay.

    A copy stays when it is at most `max_ratio` of the bytes it replaces and saves at least
    `min_saving` of them: a narrower copy replaces the full-size file of its format, the
    full-size WebP replaces the original. Narrower WebP copies come only with the full-size
    one, so a browser that picks WebP can always get the full resolution.
    """

    def pays(encoded: bytes, instead_of: bytes) -> bool:
        saving = len(instead_of) - len(encoded)
        return len(encoded) <= max_ratio * len(instead_of) and saving >= min_saving

    fmt = RASTER[path.suffix.lower()]
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as opened:
        if getattr(opened, "is_animated", False):
            return []
        # Resampling needs true colour; a palette source may come out bigger, and the ratio
        # test below then drops that variant.
        source = opened.convert("RGBA" if opened.has_transparency_data else "RGB")
    stem, ext = path.stem, path.suffix.lower()
    narrower = [width for width in widths if width < source.width]
    variants: list[Variant] = []
    for width in narrower:
        encoded = _cached_encode(source, digest, width, fmt, 0, False, cache_root)
        if pays(encoded, data):
            variants.append(Variant(f"{stem}-{width}w{ext}", width, Image.MIME[fmt], encoded))
    if webp:
        lossless = fmt != "JPEG"
        full = _cached_encode(
            source, digest, source.width, "WEBP", webp_quality, lossless, cache_root
        )
        if pays(full, data):
            for width in narrower:
                encoded = _cached_encode(
                    source, digest, width, "WEBP", webp_quality, lossless, cache_root
                )
                if pays(encoded, full):
                    variants.append(Variant(f"{stem}-{width}w.webp", width, "image/webp", encoded))
            variants.append(Variant(f"{stem}.webp", source.width, "image/webp", full))
    return variants
