"""The webperf plugin's pure parts: URLs, minifying, markup rewriting, compression, images."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import time

import brotli
import html5lib
import pytest
from PIL import Image

from plugins import contract
from plugins.webperf import cache, compress, images, pages, urls
from plugins.webperf.minify import MinifyError, minify_css, minify_js, minify_page

SITE = "https://blog.example.org"


@pytest.mark.parametrize(
    ("url", "referrer", "expected"),
    [
        ("https://blog.example.org/theme/css/style.css", "index.html", "theme/css/style.css"),
        ("/theme/css/style.css?v=1#x", "a/b/index.html", "theme/css/style.css"),
        ("../../theme/css/style.css", "a/b/index.html", "theme/css/style.css"),
        ("img.png", "a/b/index.html", "a/b/img.png"),
        ("../fonts/x%20y.woff2", "theme/css/style.css", "theme/fonts/x y.woff2"),
        ("https://other.example.org/style.css", "index.html", None),
        ("//cdn.example.org/x.css", "index.html", None),
        ("data:image/png;base64,AAAA", "index.html", None),
        ("mailto:me@example.org", "index.html", None),
        ("#top", "index.html", None),
        ("../../../../etc/passwd", "a/index.html", None),
    ],
)
def test_resolve(url, referrer, expected):
    assert urls.resolve(url, referrer, SITE) == expected


def test_rename_keeps_prefix_query_and_fragment():
    assert urls.rename("../css/a.css?v=2#f", "a.0123456789.css") == "../css/a.0123456789.css?v=2#f"
    assert urls.rename("a.css", "a.0123456789.css") == "a.0123456789.css"
    assert urls.rename(f"{SITE}/x/my pic.png", "my pic.0123456789.png").endswith(
        "/x/my%20pic.0123456789.png"
    )


def test_fingerprinted_name_matches_the_nginx_pattern():
    digest = hashlib.sha256(b"body{}").hexdigest()
    name = urls.fingerprinted_name("style.min.CSS", digest)
    assert name == f"style.min.{digest[:10]}.css"
    assert contract.FINGERPRINTED_RE.search(name)
    # The nginx side matches exactly this: keep the two in step.
    assert re.search(r"\.[0-9a-f]{10}\.[a-z0-9]+$", name)
    assert urls.fingerprinted_name("LICENSE", digest) is None
    assert urls.fingerprinted_name("archive.tar-gz", digest) is None


def test_minify_css_and_js_standalone():
    assert minify_css("a {\n  color: #ff0000 ;\n}\n/* gone */\n", "a.css") == "a{color:red}"
    assert len(minify_js("function add ( a , b ) {\n  return a + b ;\n}\n", "a.js")) < 30
    with pytest.raises(MinifyError, match=r"odd\.css"):
        minify_css("a::after { content: '</style>' }", "odd.css")


def test_minify_page_keeps_pre_and_parses_strictly():
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>t</title>\n"
        "</head>\n<body>\n<p>one   two</p>\n<pre>  keep\n    these   spaces\n</pre>\n"
        '<p title="a &quot;quoted&quot; title">x</p>\n</body>\n</html>\n'
    )
    out = minify_page(page, {"keep_html_and_head_opening_tags": True})
    assert "<pre>  keep\n    these   spaces\n</pre>" in out
    assert "one two" in out
    assert out.lower().startswith("<!doctype html>")
    html5lib.HTMLParser(strict=True).parse(out)


def _context(**overrides):
    values = {
        "siteurl": SITE,
        "assets": {
            "theme/css/style.css": "theme/css/style.0123456789.css",
            "images/a.png": "images/a.aaaaaaaaaa.png",
        },
        "images": {
            "images/a.png": images.ImageInfo(
                1600,
                900,
                (("images/a-480w.bbbbbbbbbb.png", 480),),
                (("images/a.cccccccccc.webp", 1600),),
            ),
            "images/b.png": images.ImageInfo(200, 100),
        },
        "image_sizes": "100vw",
        "minify": False,
        "minify_options": {},
    }
    values.update(overrides)
    return pages.Context(**values)


def test_rewrite_markup_renames_references_everywhere_but_text():
    page = (
        f'<link rel="stylesheet" href="{SITE}/theme/css/style.css">'
        "<style>p{background:url(/images/a.png)}</style>"
        "<pre>&lt;link href=&quot;/theme/css/style.css&quot;&gt;</pre>"
        '<script src="../theme/css/style.css"></script>'
        "<script>if (a<b) { x = 'href=\"/theme/css/style.css\"'; }</script>"
        '<a href="/theme/css/style.css#frag">x</a>'
    )
    out, count = pages.rewrite_markup(page, "post/index.html", _context())
    assert count == 0
    assert f'href="{SITE}/theme/css/style.0123456789.css"' in out
    assert "url(/images/a.aaaaaaaaaa.png)" in out
    assert "&lt;link href=&quot;/theme/css/style.css&quot;&gt;" in out  # code sample untouched
    assert 'src="../theme/css/style.0123456789.css"' in out
    assert "x = 'href=\"/theme/css/style.css\"'" in out  # inline script untouched
    assert 'href="/theme/css/style.0123456789.css#frag"' in out


def test_rewrite_markup_sizes_images_and_lazy_loads_all_but_the_first():
    page = '<p><img src="/images/a.png" alt="A"></p><img alt="B" src="/images/b.png" width="100">'
    out, count = pages.rewrite_markup(page, "post/index.html", _context())
    assert count == 2
    first, second = re.findall(r"<img [^>]*>", out)
    assert 'width="1600"' in first and 'height="900"' in first
    assert "loading" not in first and "decoding" not in first
    assert 'src="/images/a.aaaaaaaaaa.png"' in first
    assert 'srcset="/images/a-480w.bbbbbbbbbb.png 480w, /images/a.aaaaaaaaaa.png 1600w"' in first
    assert '<source type="image/webp" srcset="/images/a.cccccccccc.webp 1600w"' in out
    assert out.startswith("<p><picture><source")
    # An author's width is kept and the height follows the aspect ratio.
    assert 'width="100"' in second and 'height="50"' in second
    assert 'loading="lazy"' in second and 'decoding="async"' in second
    assert "srcset" not in second


def test_rewrite_markup_leaves_unknown_and_external_images_alone():
    page = '<img src="https://elsewhere.example/x.png" alt=""><img src="/nope.png" alt="">'
    out, _ = pages.rewrite_markup(page, "index.html", _context())
    assert "width" not in out
    assert 'src="https://elsewhere.example/x.png"' in out


def test_rewrite_css_handles_quotes_and_imports():
    css = "@import 'x.css';a{background:url(\"../../images/a.png\")}b{src:url(none.woff2)}"
    context = _context(
        assets={"theme/css/x.css": "theme/css/x.1111111111.css", **_context().assets}
    )
    out = pages.rewrite_css(css, "theme/css/style.css", context)
    assert "@import 'x.1111111111.css'" in out
    assert 'url("../../images/a.aaaaaaaaaa.png")' in out
    assert "url(none.woff2)" in out


def test_precompress_writes_smaller_siblings_and_uses_the_cache(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<p>hello brotli</p>\n" * 200)
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("x")
    job = compress.Job(page, tmp_path / "cache", 9, 11)
    first = compress.precompress(job)
    assert (first.computed, first.cached, first.written) == (2, 0, 2)
    assert gzip.decompress(page.with_name("page.html.gz").read_bytes()) == page.read_bytes()
    assert brotli.decompress(page.with_name("page.html.br").read_bytes()) == page.read_bytes()
    second = compress.precompress(job)
    assert (second.computed, second.cached, second.written) == (0, 2, 2)
    # Gzip output carries no timestamp: equal input, equal bytes.
    assert compress.compress_gzip(b"abc" * 100, 9) == compress.compress_gzip(b"abc" * 100, 9)
    small = compress.precompress(compress.Job(tiny, tmp_path / "cache", 9, 11))
    assert small.written == 0
    assert not tiny.with_name("tiny.txt.gz").exists()
    assert not tiny.with_name("tiny.txt.br").exists()


def test_process_page_reuses_a_cached_rewrite_only_for_the_same_page_and_context(tmp_path):
    page_text = '<p><img src="/images/b.png" alt="B"><a href="/theme/css/style.css">x</a></p>'
    page = tmp_path / "post" / "index.html"
    page.parent.mkdir()
    context = _context(cache_root=tmp_path / "cache", originals=frozenset({"images/b.png"}))

    def run(context: pages.Context, referrer: str = "post/index.html") -> pages.PageOutcome:
        page.write_text(page_text)
        return pages.process_page(page, referrer, context)

    first = run(context)
    rewritten = page.read_text()
    assert 'href="/theme/css/style.0123456789.css"' in rewritten
    second = run(context)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert page.read_text() == rewritten
    assert (
        (second.images, second.referenced)
        == (first.images, first.referenced)
        == (
            1,
            frozenset({"images/b.png"}),
        )
    )
    # A new fingerprint for the stylesheet, or the same bytes at another path, is a miss.
    moved = _context(
        cache_root=tmp_path / "cache",
        assets={**context.assets, "theme/css/style.css": "theme/css/style.9876543210.css"},
    )
    third = run(moved)
    assert not third.from_cache
    assert 'href="/theme/css/style.9876543210.css"' in page.read_text()
    assert not run(context, referrer="other/index.html").from_cache


def test_deferred_encodings_are_finished_one_by_one(tmp_path):
    page = tmp_path / "feed.xml"
    page.write_text("<entry>brotli takes its time</entry>\n" * 500)
    job = compress.Job(page, tmp_path / "cache", 9, 11)
    deferred = compress.precompress(job, defer=True)
    assert (deferred.computed, deferred.cached, deferred.written) == (0, 0, 0)
    assert sorted(p.suffix for p in deferred.pending) == [".br", ".gz"]
    assert not page.with_name("feed.xml.br").exists()
    finished = [compress.finish(p) for p in deferred.pending]
    assert [(f.computed, f.written) for f in finished] == [(1, 1), (1, 1)]
    assert brotli.decompress(page.with_name("feed.xml.br").read_bytes()) == page.read_bytes()
    again = compress.precompress(job, defer=True)
    assert (again.cached, again.pending) == (2, ())


def test_cache_prune_drops_only_old_entries(tmp_path):
    old = cache.entry_path(tmp_path, "ns", "ab" * 32)
    new = cache.entry_path(tmp_path, "ns", "cd" * 32)
    cache.store(old, b"old")
    cache.store(new, b"new")
    os.utime(old, (0, 0))
    assert cache.prune(tmp_path, 30) == 1
    assert not old.exists() and new.exists()


def test_cache_hits_refresh_stale_entries_and_pruning_runs_once_a_day(tmp_path):
    recent = cache.entry_path(tmp_path, "ns", "ab" * 32)
    stale = cache.entry_path(tmp_path, "ns", "cd" * 32)
    cache.store(recent, b"recent")
    cache.store(stale, b"stale")
    minutes_ago, days_ago = time.time() - 600, time.time() - 40 * 86400
    os.utime(recent, (minutes_ago, minutes_ago))
    os.utime(stale, (days_ago, days_ago))
    assert cache.load(recent) == b"recent" and cache.load(stale) == b"stale"
    assert recent.stat().st_mtime == pytest.approx(minutes_ago)
    assert stale.stat().st_mtime > time.time() - 60
    os.utime(stale, (days_ago, days_ago))
    assert cache.prune_when_due(tmp_path, 30) == 1
    cache.store(stale, b"stale")
    os.utime(stale, (days_ago, days_ago))
    # Pruned an instant ago: not again today.
    assert cache.prune_when_due(tmp_path, 30) == 0
    os.utime(tmp_path / ".last-prune", (days_ago, days_ago))
    assert cache.prune_when_due(tmp_path, 30) == 1
    assert not stale.exists() and recent.exists()


def test_svg_size_from_attributes_or_viewbox():
    assert images.svg_size(b'<svg width="120px" height="40"/>', "a.svg") == (120, 40)
    assert images.svg_size(b'<svg viewBox="0 0 300 150"/>', "a.svg") == (300, 150)
    assert images.svg_size(b'<svg width="50%"/>', "a.svg") is None
    with pytest.raises(images.ImageError, match=r"broken\.svg"):
        images.svg_size(b"<svg", "broken.svg")


def test_make_variants_only_keeps_what_pays(tmp_path):
    big = tmp_path / "big.jpg"
    Image.effect_noise((1200, 800), 60).convert("RGB").save(big, "JPEG", quality=95)
    made = images.make_variants(big, (480, 960, 2000), True, 80, 0.9, 2048, tmp_path / "c")
    names = sorted(v.name for v in made)
    assert "big-480w.jpg" in names and "big-960w.jpg" in names
    assert not any("2000w" in name for name in names)  # never upscaled
    for variant in made:
        with Image.open(io.BytesIO(variant.data)) as image:
            assert image.width == variant.width
    small = tmp_path / "small.png"
    Image.new("RGB", (64, 64), "white").save(small)
    assert images.make_variants(small, (480,), True, 80, 0.9, 2048, tmp_path / "c") == []
