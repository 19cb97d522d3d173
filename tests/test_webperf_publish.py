"""The real site's publish build: page weight budgets, request counts, fingerprints, bytes."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests.support.html import html_files, parse
from tests.support.site import Build, build_site
from tests.support.webperf import page_fetches, render_blocking, wire_size

SITEURL = "https://blog.example.org"
KB = 1024
HOME_BUDGET = 30 * KB
POST_BUDGET = 25 * KB
POST_REQUESTS = 5
FINGERPRINT = re.compile(r"\.([0-9a-f]{10})\.[a-z0-9]+$")
# Pelican logs through rich, which wraps at the terminal width: widen it to keep messages whole.
WIDE = {"COLUMNS": "400"}
COUNTED = {"link", "script"}  # HTML + CSS + JS; images are outside the byte budget


def _posts(build: Build) -> list:
    return sorted(build.output.glob("[0-9][0-9][0-9][0-9]/*/*/*/index.html"))


def _page_weight(build: Build, page) -> int:
    fetched = [
        f.target
        for f in page_fetches(build.output, page, SITEURL)
        if f.tag in COUNTED and f.target.suffix in (".css", ".js", ".mjs")
    ]
    return wire_size(page) + sum(wire_size(target) for target in fetched)


def test_home_page_fits_its_budget(publish_build):
    weight = _page_weight(publish_build, publish_build.output / "index.html")
    assert weight <= HOME_BUDGET, f"home page is {weight} bytes with brotli"


def test_every_post_fits_its_budget(publish_build):
    posts = _posts(publish_build)
    assert posts
    for post in posts:
        weight = _page_weight(publish_build, post)
        assert weight <= POST_BUDGET, f"{post} is {weight} bytes with brotli"


def test_posts_without_images_need_few_requests(publish_build):
    plain = [p for p in _posts(publish_build) if not any(parse(p).iter("img"))]
    assert plain
    for post in plain:
        fetches = page_fetches(publish_build.output, post, SITEURL)
        assert 1 + len(fetches) <= POST_REQUESTS, [f.url for f in fetches]
        for fetch in fetches:
            assert fetch.target.is_file(), fetch.url


def test_one_stylesheet_is_the_only_render_blocking_request(publish_build):
    for page in html_files(publish_build.output):
        blocking = render_blocking(page)
        assert len(blocking) == 1 and blocking[0].startswith("stylesheet "), (page, blocking)
        stylesheet = blocking[0].split(" ", 1)[1]
        assert FINGERPRINT.search(stylesheet), stylesheet


def test_subresources_are_fingerprinted_and_exist(publish_build):
    for page in [publish_build.output / "index.html", *_posts(publish_build)]:
        for fetch in page_fetches(publish_build.output, page, SITEURL):
            assert fetch.target.is_file(), (page, fetch.url)
            match = FINGERPRINT.search(fetch.target.name)
            assert match, f"{page}: {fetch.url} is not fingerprinted"
            digest = hashlib.sha256(fetch.target.read_bytes()).hexdigest()
            assert digest[:10] == match[1]


def test_assets_manifest_lists_existing_fingerprinted_files(publish_build):
    manifest = json.loads((publish_build.deploy_build / "assets.json").read_text())
    assert "theme/css/style.css" in manifest
    assert list(manifest) == sorted(manifest)
    for fingerprinted in manifest.values():
        assert (publish_build.output / fingerprinted).is_file()
        assert FINGERPRINT.search(fingerprinted)


def test_html_and_stylesheets_have_brotli_and_gzip_siblings(publish_build):
    for page in [*html_files(publish_build.output), *publish_build.output.rglob("*.css")]:
        for suffix in (".br", ".gz"):
            assert page.with_name(page.name + suffix).is_file(), page


def test_development_build_is_left_alone(dev_build):
    assert not list(dev_build.output.rglob("*.br"))
    assert (dev_build.output / "theme" / "css" / "style.css").is_file()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"WEBPERF_BROTLI_QUALITY": 12}, "WEBPERF_BROTLI_QUALITY = 12"),
        ({"WEBPERF_IMAGE_WIDTHS": [480, "wide"]}, "WEBPERF_IMAGE_WIDTHS"),
        ({"WEBPERF_MINIFY_HTML_OPTIONS": {"minify_doctype": True}}, "minify_doctype"),
        ({"WEBPERF_FINGERPRINT_PATHS": ["../elsewhere"]}, "WEBPERF_FINGERPRINT_PATHS"),
        ({"WEBPERF_COMPRES": True}, "WEBPERF_COMPRES = True is not allowed"),
        ({"WEBPERF_PRECOMPRES": True}, "did you mean WEBPERF_PRECOMPRESS?"),
    ],
)
def test_bad_settings_stop_the_build_naming_the_setting(tmp_path, override, named):
    result = build_site(tmp_path, "pelicanconf.py", extra=override, env=WIDE, check=False).result
    assert result.returncode != 0
    assert named in " ".join((result.stdout + result.stderr).split())


def test_cache_inside_the_output_is_refused(tmp_path):
    extra = {"WEBPERF_CACHE_PATH": str(tmp_path / "output" / "cache")}
    result = build_site(tmp_path, "pelicanconf.py", extra=extra, env=WIDE, check=False).result
    assert result.returncode != 0
    assert "WEBPERF_CACHE_PATH" in result.stdout + result.stderr
