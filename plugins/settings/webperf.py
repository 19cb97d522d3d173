"""Defaults and validation for every WEBPERF_* setting (build-time page speed)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import minify_html

from . import rules
from .errors import SettingsError

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
    # folder pelican runs in.
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


PREFIX = "WEBPERF_"


def webperf_from_settings(
    settings: Mapping[str, Any], deploy_build: Path, base: Path | None = None
) -> WebperfSettings:
    """Merge defaults into `settings`, check every WEBPERF_* value, return the typed result.

    Relative paths are taken from `base` (default: the folder pelican runs in).
    """
    merged = {**DEFAULTS, **{k: v for k, v in settings.items() if k.startswith(PREFIX)}}
    rules.known_keys("a setting of webperf", merged, DEFAULTS)
    base = base or Path.cwd()
    output = (base / settings["OUTPUT_PATH"]).resolve()
    cache_value = merged["WEBPERF_CACHE_PATH"]
    cache = rules.local_folder(
        "WEBPERF_CACHE_PATH",
        ".cache/webperf" if cache_value is None else cache_value,
        base,
        # Publish builds delete OUTPUT_PATH, and the cache must never be deployed.
        outside=output,
    )
    workers_value = merged["WEBPERF_WORKERS"]
    workers = (
        os.cpu_count() or 1
        if workers_value is None
        else rules.integer("WEBPERF_WORKERS", workers_value, 1, 256)
    )

    options = merged["WEBPERF_MINIFY_HTML_OPTIONS"]
    if not isinstance(options, Mapping) or not all(
        k in _MINIFY_OPTIONS and isinstance(v, bool) for k, v in options.items()
    ):
        raise SettingsError(
            "WEBPERF_MINIFY_HTML_OPTIONS",
            options,
            f"a dict of True/False for {', '.join(sorted(_MINIFY_OPTIONS))}",
        )
    if options.get("minify_doctype"):
        # `<!doctypehtml>` saves six bytes and makes every strict HTML parser complain.
        raise SettingsError("WEBPERF_MINIFY_HTML_OPTIONS", options, "minify_doctype left off")

    widths = merged["WEBPERF_IMAGE_WIDTHS"]
    if (
        not isinstance(widths, list | tuple)
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)
        or len(set(widths)) != len(widths)
    ):
        raise SettingsError("WEBPERF_IMAGE_WIDTHS", widths, "a list of distinct positive integers")

    sizes = merged["WEBPERF_IMAGE_SIZES"]
    if not isinstance(sizes, str) or not sizes.strip() or any(c in sizes for c in "\"'<>&"):
        raise SettingsError("WEBPERF_IMAGE_SIZES", sizes, "a non-empty HTML `sizes` value")

    extensions = merged["WEBPERF_PRECOMPRESS_EXTENSIONS"]
    if not isinstance(extensions, list | tuple) or not all(
        isinstance(e, str) and e and e.isalnum() and e == e.lower() for e in extensions
    ):
        raise SettingsError(
            "WEBPERF_PRECOMPRESS_EXTENSIONS", extensions, "a list of lowercase extensions, no dot"
        )

    theme_static = str(settings.get("THEME_STATIC_DIR", "theme")).strip("/")
    fingerprint_paths = rules.relative_paths(
        "WEBPERF_FINGERPRINT_PATHS", merged["WEBPERF_FINGERPRINT_PATHS"], "OUTPUT_PATH"
    )
    return WebperfSettings(
        enabled=rules.boolean("WEBPERF_ENABLED", merged["WEBPERF_ENABLED"]),
        output=output,
        deploy_build=deploy_build,
        cache=cache,
        cache_max_age_days=rules.integer(
            "WEBPERF_CACHE_MAX_AGE_DAYS", merged["WEBPERF_CACHE_MAX_AGE_DAYS"], 1, 3650
        ),
        workers=workers,
        minify=rules.boolean("WEBPERF_MINIFY", merged["WEBPERF_MINIFY"]),
        minify_html_options=dict(options),
        theme_static_dir=theme_static,
        fingerprint_paths=(theme_static, *fingerprint_paths),
        siteurl=str(settings.get("SITEURL") or "").rstrip("/"),
        image_widths=tuple(sorted(widths)),
        image_sizes=sizes.strip(),
        webp=rules.boolean("WEBPERF_WEBP", merged["WEBPERF_WEBP"]),
        webp_quality=rules.integer("WEBPERF_WEBP_QUALITY", merged["WEBPERF_WEBP_QUALITY"], 1, 100),
        variant_max_ratio=rules.number(
            "WEBPERF_VARIANT_MAX_RATIO", merged["WEBPERF_VARIANT_MAX_RATIO"], 0, 1
        ),
        variant_min_saving=rules.integer(
            "WEBPERF_VARIANT_MIN_SAVING", merged["WEBPERF_VARIANT_MIN_SAVING"], 0, 10**9
        ),
        precompress=rules.boolean("WEBPERF_PRECOMPRESS", merged["WEBPERF_PRECOMPRESS"]),
        precompress_extensions=frozenset(extensions),
        gzip_level=rules.integer("WEBPERF_GZIP_LEVEL", merged["WEBPERF_GZIP_LEVEL"], 1, 9),
        brotli_quality=rules.integer(
            "WEBPERF_BROTLI_QUALITY", merged["WEBPERF_BROTLI_QUALITY"], 0, 11
        ),
    )
