"""Defaults and validation for every WEBPERF_* setting, in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import minify_html

# Options minify_html accepts, read from its signature so a typo is caught at start-up.
_MINIFY_OPTIONS = frozenset(
    name.strip().split("=")[0]
    for name in (minify_html.minify.__text_signature__ or "").strip("()").split(",")[2:]
)

DEFAULTS: dict[str, Any] = {
    # Off for development builds so `pelican --autoreload` stays quick; publishconf turns it on.
    "WEBPERF_ENABLED": False,
    # Content hash cache for precompressed files and image variants. Outside OUTPUT_PATH,
    # because publish builds delete the output directory. None: .cache/webperf under the
    # directory pelican runs in.
    "WEBPERF_CACHE_PATH": None,
    # Cache entries not used for this many days are pruned at the end of a build, at most
    # once a day (pruning walks every entry).
    "WEBPERF_CACHE_MAX_AGE_DAYS": 30,
    # Worker processes for page rewriting and compression. None: one per core.
    "WEBPERF_WORKERS": None,
    "WEBPERF_MINIFY": True,
    # Passed to minify_html.minify. Defaults keep html5lib's strict parser happy (quoted
    # values where needed, the doctype kept as is) and leave <html>/<head> for tools that look
    # for them.
    "WEBPERF_MINIFY_HTML_OPTIONS": {
        "minify_css": True,
        "minify_js": True,
        "keep_html_and_head_opening_tags": True,
    },
    # Paths under OUTPUT_PATH whose files get fingerprinted, besides THEME_STATIC_DIR.
    # Files directly in the web root (favicon.ico) are well-known URLs: they get a
    # fingerprinted copy when listed here, and the original always stays.
    "WEBPERF_FINGERPRINT_PATHS": ["images", "favicon.ico"],
    # Widths (px) of resized image variants; only those narrower than the original are made.
    "WEBPERF_IMAGE_WIDTHS": [480, 960, 1440],
    # The `sizes` attribute given with a srcset: how wide an image shows in the theme (the
    # .wrap column, 46rem less its 1.25rem padding each side).
    "WEBPERF_IMAGE_SIZES": "(max-width: 46rem) calc(100vw - 2.5rem), 43.5rem",
    "WEBPERF_WEBP": True,
    # Lossy WebP quality for photographs (JPEG); PNG and GIF sources go lossless.
    "WEBPERF_WEBP_QUALITY": 82,
    # A variant is kept only when it is at most this fraction of the bytes it would replace.
    "WEBPERF_VARIANT_MAX_RATIO": 0.9,
    # ... and saves at least this many bytes: below that, the extra markup costs more.
    "WEBPERF_VARIANT_MIN_SAVING": 2048,
    "WEBPERF_PRECOMPRESS": True,
    "WEBPERF_PRECOMPRESS_EXTENSIONS": [
        "atom",
        "css",
        "html",
        "ico",
        "js",
        "json",
        "map",
        "mjs",
        "rss",
        "svg",
        "txt",
        "webmanifest",
        "xml",
    ],
    "WEBPERF_GZIP_LEVEL": 9,
    "WEBPERF_BROTLI_QUALITY": 11,
}


class WebperfSettingsError(ValueError):
    """A WEBPERF_* setting has a value the plugin cannot use."""


@dataclass(frozen=True)
class WebperfSettings:
    """Validated, normalised settings for one build."""

    enabled: bool
    output: Path
    deploy_build: Path
    cache: Path
    cache_max_age_days: int
    workers: int
    minify: bool
    minify_html_options: Mapping[str, bool]
    theme_static_dir: str
    fingerprint_paths: tuple[str, ...]
    siteurl: str
    image_widths: tuple[int, ...]
    image_sizes: str
    webp: bool
    webp_quality: int
    variant_max_ratio: float
    variant_min_saving: int
    precompress: bool
    precompress_extensions: frozenset[str]
    gzip_level: int
    brotli_quality: int


def _fail(key: str, value: object, allowed: str) -> WebperfSettingsError:
    return WebperfSettingsError(f"{key} = {value!r} is not allowed: expected {allowed}")


def _bool(settings: Mapping[str, Any], key: str) -> bool:
    value = settings[key]
    if not isinstance(value, bool):
        raise _fail(key, value, "True or False")
    return value


def _int(settings: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = settings[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(key, value, f"an integer from {low} to {high}")
    return value


def _relative_paths(settings: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = settings[key]
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
        raise _fail(key, value, "a list of paths relative to OUTPUT_PATH")
    for item in value:
        parts = Path(item).parts
        if not item or Path(item).is_absolute() or ".." in parts:
            raise _fail(key, value, f"paths inside OUTPUT_PATH ({item!r} is not)")
    return tuple(value)


def get_settings(settings: Mapping[str, Any]) -> WebperfSettings:
    """Merge defaults into `settings`, check every value, and return the typed result."""
    merged = {**DEFAULTS, **{k: v for k, v in settings.items() if k.startswith("WEBPERF_")}}
    unknown = sorted(set(merged) - set(DEFAULTS))
    if unknown:
        raise WebperfSettingsError(
            f"unknown setting(s) {', '.join(unknown)}: the webperf plugin knows "
            f"{', '.join(sorted(DEFAULTS))}"
        )

    output = Path(settings["OUTPUT_PATH"]).resolve()
    deploy_build = Path(settings.get("DEPLOY_BUILD_PATH") or Path.cwd() / "deploy" / "build")
    cache_value = merged["WEBPERF_CACHE_PATH"]
    if cache_value is None:
        cache = Path.cwd() / ".cache" / "webperf"
    elif isinstance(cache_value, str | Path) and str(cache_value):
        cache = Path(cache_value).resolve()
    else:
        raise _fail("WEBPERF_CACHE_PATH", cache_value, "None or a directory path")
    if cache == output or output in cache.parents:
        # Publish builds delete OUTPUT_PATH, and the cache must never be deployed.
        raise _fail("WEBPERF_CACHE_PATH", str(cache), f"a directory outside OUTPUT_PATH {output}")

    workers_value = merged["WEBPERF_WORKERS"]
    if workers_value is None:
        workers = os.cpu_count() or 1
    else:
        workers = _int(merged, "WEBPERF_WORKERS", 1, 256)

    options = merged["WEBPERF_MINIFY_HTML_OPTIONS"]
    if not isinstance(options, Mapping) or not all(
        k in _MINIFY_OPTIONS and isinstance(v, bool) for k, v in options.items()
    ):
        raise _fail(
            "WEBPERF_MINIFY_HTML_OPTIONS",
            options,
            f"a dict of True/False for {', '.join(sorted(_MINIFY_OPTIONS))}",
        )
    if options.get("minify_doctype"):
        # `<!doctypehtml>` saves six bytes and makes every strict HTML parser complain.
        raise _fail("WEBPERF_MINIFY_HTML_OPTIONS", options, "minify_doctype left off")

    widths = merged["WEBPERF_IMAGE_WIDTHS"]
    if (
        not isinstance(widths, list | tuple)
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)
        or len(set(widths)) != len(widths)
    ):
        raise _fail("WEBPERF_IMAGE_WIDTHS", widths, "a list of distinct positive integers")

    sizes = merged["WEBPERF_IMAGE_SIZES"]
    if not isinstance(sizes, str) or not sizes.strip() or any(c in sizes for c in "\"'<>&"):
        raise _fail("WEBPERF_IMAGE_SIZES", sizes, "a non-empty HTML `sizes` value")

    ratio = merged["WEBPERF_VARIANT_MAX_RATIO"]
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
        raise _fail("WEBPERF_VARIANT_MAX_RATIO", ratio, "a number above 0 and at most 1")

    extensions = merged["WEBPERF_PRECOMPRESS_EXTENSIONS"]
    if not isinstance(extensions, list | tuple) or not all(
        isinstance(e, str) and e and e.isalnum() and e == e.lower() for e in extensions
    ):
        raise _fail(
            "WEBPERF_PRECOMPRESS_EXTENSIONS", extensions, "a list of lowercase extensions, no dot"
        )

    theme_static = str(settings.get("THEME_STATIC_DIR", "theme")).strip("/")
    return WebperfSettings(
        enabled=_bool(merged, "WEBPERF_ENABLED"),
        output=output,
        deploy_build=deploy_build,
        cache=cache,
        cache_max_age_days=_int(merged, "WEBPERF_CACHE_MAX_AGE_DAYS", 1, 3650),
        workers=workers,
        minify=_bool(merged, "WEBPERF_MINIFY"),
        minify_html_options=dict(options),
        theme_static_dir=theme_static,
        fingerprint_paths=(theme_static, *_relative_paths(merged, "WEBPERF_FINGERPRINT_PATHS")),
        siteurl=str(settings.get("SITEURL") or "").rstrip("/"),
        image_widths=tuple(sorted(widths)),
        image_sizes=sizes.strip(),
        webp=_bool(merged, "WEBPERF_WEBP"),
        webp_quality=_int(merged, "WEBPERF_WEBP_QUALITY", 1, 100),
        variant_max_ratio=float(ratio),
        variant_min_saving=_int(merged, "WEBPERF_VARIANT_MIN_SAVING", 0, 10**9),
        precompress=_bool(merged, "WEBPERF_PRECOMPRESS"),
        precompress_extensions=frozenset(extensions),
        gzip_level=_int(merged, "WEBPERF_GZIP_LEVEL", 1, 9),
        brotli_quality=_int(merged, "WEBPERF_BROTLI_QUALITY", 0, 11),
    )
