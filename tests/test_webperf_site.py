"""A publish build of a small site with images: sizing, variants, fingerprints, cache, bytes.

The site is written by tests/support/webperf.py (the blog's own content has at most one
image, added late), built with publishconf.py and our theme like the real site.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import brotli
import html5lib
import pytest
from PIL import Image

from plugins import contract
from plugins.settings.webperf import DEFAULTS
from plugins.webperf import compress
from tests.support.html import Reference, html_files, local_target, parse, references
from tests.support.site import Build, build_site
from tests.support.webperf import read_stats, render_blocking, write_image_site

SITEURL = "https://blog.example.org"
ENV = {"BLOG_SITEURL": SITEURL}
FINGERPRINT = re.compile(r"\.([0-9a-f]{10})\.[a-z0-9]+$")
COMPRESSIBLE = frozenset(DEFAULTS["WEBPERF_PRECOMPRESS_EXTENSIONS"])


def _compressible(name: str) -> bool:
    return Path(name).suffix.lstrip(".") in COMPRESSIBLE


@dataclass(frozen=True)
class ImageSite:
    content: Path
    cache: Path
    first: Build
    second: Build


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ImageSite:
    root = tmp_path_factory.mktemp("webperf-site")
    content = write_image_site(root)
    cache = root / "cache"
    extra = {"WEBPERF_CACHE_PATH": str(cache)}
    first = build_site(root / "one", "publishconf.py", content=content, extra=extra, env=ENV)
    assert read_stats(cache)["compressed_now"] > 0
    second = build_site(root / "two", "publishconf.py", content=content, extra=extra, env=ENV)
    return ImageSite(content, cache, first, second)


def _post(build: Build, slug: str) -> Path:
    return next(build.output.glob(f"*/*/*/{slug}/index.html"))


def _file_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_every_page_parses_strictly(site):
    for page in html_files(site.first.output):
        html5lib.HTMLParser(strict=True).parse(page.read_bytes())


def test_every_reference_resolves(site):
    output = site.first.output
    missing = []
    for page in html_files(output):
        # docutils shows SVG through <object data=…>, which the shared helper does not list.
        objects = [
            Reference(page, "object", "data", e.get("data"))
            for e in parse(page).iter()
            if e.tag == "object" and e.get("data")
        ]
        for reference in [*references(page), *objects]:
            target = local_target(output, reference, SITEURL)
            if target is not None and not target.is_file():
                missing.append(f"{page}: {reference.tag} {reference.url}")
    assert missing == []


def test_images_are_sized_and_lazy_below_the_fold(site):
    output = site.first.output
    page = _post(site.first, "with-images")
    imgs = [e for e in parse(page).iter() if e.tag == "img"]
    assert len(imgs) == 3
    for index, img in enumerate(imgs):
        target = output / img.get("src").removeprefix(SITEURL + "/")
        with Image.open(target) as image:
            assert (img.get("width"), img.get("height")) == tuple(map(str, image.size))
        if index == 0:
            assert img.get("loading") is None and img.get("decoding") is None
        else:
            assert img.get("loading") == "lazy" and img.get("decoding") == "async"


def test_srcset_candidates_exist_with_their_stated_width(site):
    output = site.first.output
    page = _post(site.first, "with-images")
    candidates = []
    for element in parse(page).iter():
        if element.get("srcset"):
            assert element.get("sizes"), "a srcset with w descriptors needs sizes"
            for candidate in element.get("srcset").split(","):
                url, descriptor = candidate.split()
                candidates.append((element.tag, url, int(descriptor.rstrip("w"))))
    tags = {tag for tag, _, _ in candidates}
    assert tags == {"img", "source"}
    webp = [url for tag, url, _ in candidates if tag == "source"]
    assert any("photo" in url for url in webp) and any("screenshot" in url for url in webp)
    assert any("photo-480w" in url for _, url, _ in candidates)
    for _, url, width in candidates:
        target = output / url.removeprefix(SITEURL + "/")
        data = target.read_bytes()
        match = FINGERPRINT.search(target.name)
        assert match and hashlib.sha256(data).hexdigest()[:10] == match[1]
        with Image.open(target) as image:
            assert image.width == width


def test_small_images_get_no_srcset(site):
    page = _post(site.first, "with-images")
    icon = next(e for e in parse(page).iter() if e.tag == "img" and "icon" in e.get("src"))
    assert icon.get("srcset") is None


def test_code_blocks_survive_minification(site):
    text = _post(site.first, "plain-one").read_text()
    assert "#   spacing   inside code   must survive minification" in text
    assert "\n\n" not in text.split("<pre", 1)[0]  # but the markup around it is minified


def test_assets_manifest_matches_the_files(site):
    output = site.first.output
    manifest = json.loads((site.first.deploy_build / "assets.json").read_text())
    assert list(manifest) == sorted(manifest)
    assert "theme/css/style.css" in manifest and "images/photo.jpg" in manifest
    for original, fingerprinted in manifest.items():
        path = output / fingerprinted
        assert path.is_file(), fingerprinted
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert FINGERPRINT.search(fingerprinted)[1] == digest[:10]
        assert Path(fingerprinted).parent == Path(original).parent
    # The stylesheet is named only by its fingerprint, so its original is gone; the
    # photo is still named by the Atom feed, so it stays.
    assert not (output / "theme/css/style.css").exists()
    assert (output / "images/photo.jpg").exists()
    pages_text = "".join(page.read_text() for page in html_files(output))
    for original in manifest:
        assert f"/{original}" not in pages_text


def test_only_one_small_stylesheet_blocks_rendering(site):
    for page in html_files(site.first.output):
        blocking = render_blocking(page)
        assert len(blocking) == 1 and blocking[0].startswith("stylesheet"), page


def test_text_files_are_precompressed_when_it_pays(site):
    checked = 0
    for path in site.first.output.rglob("*"):
        if not path.is_file() or not _compressible(path.name):
            continue
        data = path.read_bytes()
        codecs = (
            (".gz", gzip.decompress, lambda d: compress.compress_gzip(d, 9)),
            (".br", brotli.decompress, lambda d: compress.compress_brotli(d, 11)),
        )
        for suffix, decode, encode in codecs:
            sibling = path.with_name(path.name + suffix)
            if sibling.exists():
                assert decode(sibling.read_bytes()) == data, sibling
                assert sibling.stat().st_size < len(data)
                checked += 1
            else:
                assert len(encode(data)) >= len(data), f"{path} has no {suffix} sibling"
    assert checked > 20


# pelican-sitemap stamps pages without a date of their own with the build time.
BUILD_TIME_STAMPED = frozenset({"sitemap.xml", "sitemap.xml.gz", "sitemap.xml.br"})


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    return sorted(name for name in after if _compressible(name) and before.get(name) != after[name])


def test_two_builds_give_identical_bytes(site):
    first, second = _file_bytes(site.first.output), _file_bytes(site.second.output)
    assert sorted(first) == sorted(second)
    different = {name for name in first if first[name] != second[name]}
    assert different <= BUILD_TIME_STAMPED
    assert (site.first.deploy_build / "assets.json").read_bytes() == (
        site.second.deploy_build / "assets.json"
    ).read_bytes()


def test_one_worker_with_a_cold_cache_gives_the_same_bytes(site, tmp_path):
    # The in-process path and a fresh cache must agree with the pooled, cached builds.
    extra = {"WEBPERF_CACHE_PATH": str(tmp_path / "cache"), "WEBPERF_WORKERS": 1}
    alone = build_site(tmp_path, "publishconf.py", content=site.content, extra=extra, env=ENV)
    stats = read_stats(tmp_path / "cache")
    # Files with equal bytes share entries, so a cold build finds a few in the cache too.
    assert stats["compressed_now"] > stats["compressed_from_cache"]
    assert stats["pages_from_cache"] == 0
    first, serial = _file_bytes(site.first.output), _file_bytes(alone.output)
    assert sorted(first) == sorted(serial)
    assert {name for name in first if first[name] != serial[name]} <= BUILD_TIME_STAMPED


def test_rebuild_recompresses_only_changed_files(site, tmp_path):
    # The second build found every encoding in the cache, save for files whose bytes changed.
    first, second = _file_bytes(site.first.output), _file_bytes(site.second.output)
    assert read_stats(site.cache)["compressed_now"] == 2 * len(_changed(first, second))
    post = site.content / "plain-two.rst"
    original = post.read_text()
    post.write_text(original.replace("Closing words.", "Closing words, now revised."))
    try:
        extra = {"WEBPERF_CACHE_PATH": str(site.cache)}
        third = build_site(tmp_path, "publishconf.py", content=site.content, extra=extra, env=ENV)
    finally:
        post.write_text(original)
    stats = read_stats(site.cache)
    after = _file_bytes(third.output)
    # The search bundle is made, and compressed, after webperf's pass (plugins/search).
    compressible = [
        name
        for name in after
        if _compressible(name) and not name.startswith(f"{contract.SEARCH_BUNDLE}/")
    ]
    changed = [name for name in _changed(second, after) if name in compressible]
    assert any(name.endswith("plain-two/index.html") for name in changed)
    assert len(changed) < len(compressible) / 3
    assert stats["precompressed_files"] == len(compressible)
    assert stats["compressed_now"] == 2 * len(changed)
    assert stats["compressed_from_cache"] == 2 * (len(compressible) - len(changed))
    # Pages are rewritten again only where Pelican wrote something new.
    changed_pages = [name for name in changed if name.endswith(".html")]
    assert changed_pages
    assert stats["pages_from_cache"] == stats["pages"] - len(changed_pages)
