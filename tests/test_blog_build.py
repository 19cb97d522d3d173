"""The blog as built: URLs, links, feeds, sitemap, valid HTML, and what the theme promises."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import brotli
import pytest
from pelican.settings import DEFAULT_CONFIG
from pelican.utils import slugify

import pelicanconf
import publishconf
from tests.support import html
from tests.support.site import REPO, Build, build_site

CONTENT = REPO / "content"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
METADATA = re.compile(r"^:(\w+):[ \t]*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Source:
    """A post or page as its reStructuredText source declares it."""

    path: Path
    title: str
    meta: dict[str, str]


def read_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    title = text.lstrip().splitlines()[0].strip()
    return Source(path, title, dict(METADATA.findall(text)))


def published(sources: list[Source]) -> list[Source]:
    return [s for s in sources if s.meta.get("status", "published") == "published"]


POSTS = published([read_source(p) for p in sorted(CONTENT.glob("*.rst"))])
PAGES = [read_source(p) for p in sorted((CONTENT / "pages").glob("*.rst"))]


def post_path(post: Source) -> str:
    """Where a post must live: /YYYY/MM/DD/slug/ (the public URL contract)."""
    date = dt.datetime.fromisoformat(post.meta["date"])
    return f"{date:%Y/%m/%d}/{post.meta['slug']}/"


def slug_of(name: str) -> str:
    """The slug Pelican gives a category or tag called `name` (they share the slug rules)."""
    return slugify(name.strip(), regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])


def page_path(page: Source) -> str:
    return page.meta.get("save_as") or f"{page.meta.get('slug', page.path.stem)}/index.html"


@pytest.fixture(params=["dev_build", "publish_build"])
def any_build(request: pytest.FixtureRequest) -> tuple[Build, str]:
    """Each build with the SITEURL its absolute links start with ('' for relative URLs)."""
    siteurl = "" if request.param == "dev_build" else publishconf.SITEURL
    return request.getfixturevalue(request.param), siteurl


def test_there_are_six_published_posts():
    assert len(POSTS) == 6, [p.path.name for p in POSTS]


@pytest.mark.parametrize("post", POSTS, ids=lambda p: p.meta["slug"])
def test_every_post_is_at_its_dated_url(dev_build: Build, post: Source):
    page = dev_build.output / post_path(post) / "index.html"
    assert page.is_file(), f"{post.path.name} not at /{post_path(post)}"
    assert html.parse(page).find(".//h1").text == post.title


def test_pages_and_listing_pages_exist(dev_build: Build):
    out = dev_build.output
    for page in PAGES:
        assert (out / page_path(page)).is_file(), page.path.name
    assert (out / "404.html").is_file()
    for listing in ("archives", "categories", "tags", "author/kura"):
        assert (out / listing / "index.html").is_file(), listing
    for post in POSTS:
        category = slug_of(post.meta["category"])
        assert (out / "category" / category / "index.html").is_file(), category
        for tag in post.meta["tags"].split(","):
            assert (out / "tag" / slug_of(tag) / "index.html").is_file(), tag


def test_index_paginates(dev_build: Build):
    per_page = pelicanconf.DEFAULT_PAGINATION
    pages = -(-len(POSTS) // per_page)
    assert pages > 1, "the index should need more than one page"
    first = html.parse(dev_build.output / "index.html")
    assert len(first.findall(".//ol[@class='posts']/li")) == per_page
    assert first.find(".//a[@rel='next']").get("href") == "./page/2/"
    listed = 0
    for number in range(1, pages + 1):
        path = "index.html" if number == 1 else f"page/{number}/index.html"
        listed += len(html.parse(dev_build.output / path).findall(".//ol[@class='posts']/li"))
    assert listed == len(POSTS)
    assert not (dev_build.output / f"page/{pages + 1}").exists()


def test_posts_link_to_their_neighbours(dev_build: Build):
    ordered = sorted(POSTS, key=lambda p: p.meta["date"])
    for index, post in enumerate(ordered):
        page = html.parse(dev_build.output / post_path(post) / "index.html")
        nav = page.find(".//nav[@class='neighbours']")
        rels = {a.get("rel"): a.get("href") for a in nav.iter("a")}
        older = ordered[index - 1] if index > 0 else None
        newer = ordered[index + 1] if index + 1 < len(ordered) else None
        assert ("prev" in rels) == (older is not None), post.meta["slug"]
        assert ("next" in rels) == (newer is not None), post.meta["slug"]
        if older:
            assert rels["prev"].endswith(post_path(older))
        if newer:
            assert rels["next"].endswith(post_path(newer))


def test_every_internal_reference_resolves(any_build: tuple[Build, str]):
    build, siteurl = any_build
    broken = html.broken_references(build.output, siteurl)
    assert not broken, "\n".join(broken)


def test_every_page_parses_without_errors(any_build: tuple[Build, str]):
    build, _ = any_build
    problems = {
        str(page.relative_to(build.output)): errors
        for page in html.html_files(build.output)
        if (errors := html.parse_errors(page))
    }
    assert not problems


def test_no_inline_style_or_script(any_build: tuple[Build, str]):
    """The server's Content-Security-Policy blocks inline styles and scripts: emit none."""
    build, _ = any_build
    offenders = []
    for page in html.html_files(build.output):
        tree = html.parse(page)
        for element in tree.iter():
            inline_script = element.tag == "script" and not element.get("src")
            if element.tag == "style" or inline_script or element.get("style") is not None:
                offenders.append(f"{page.relative_to(build.output)}: <{element.tag}>")
            if any(name.startswith("on") for name in element.attrib):
                offenders.append(f"{page.relative_to(build.output)}: event handler")
    assert not offenders


def test_every_page_has_the_head_a_search_engine_needs(any_build: tuple[Build, str]):
    build, siteurl = any_build
    for page in html.html_files(build.output):
        name = str(page.relative_to(build.output))
        tree = html.parse(page)
        assert tree.get("lang"), name
        assert len(tree.findall(".//h1")) == 1, name
        assert tree.find(".//meta[@name='viewport']") is not None, name
        description = tree.find(".//meta[@name='description']").get("content")
        assert description and "<" not in description, name
        assert tree.find(".//meta[@property='og:title']").get("content"), name
        if name == "404.html":
            # Served in place of any missing page: no canonical address, not to be indexed.
            assert tree.find(".//link[@rel='canonical']") is None
            assert tree.find(".//meta[@name='robots']").get("content") == "noindex"
        else:
            canonical = tree.find(".//link[@rel='canonical']").get("href")
            assert canonical.startswith(siteurl + "/") if siteurl else canonical, name
            assert tree.find(".//meta[@property='og:url']").get("content") == canonical, name
            assert tree.find(".//meta[@name='robots']") is None, name
        assert tree.find(".//a[@class='skip']").get("href") == "#main", name
        assert tree.find(".//main[@id='main']") is not None, name
        feeds = tree.findall(".//link[@type='application/atom+xml']")
        assert bool(feeds) == bool(siteurl), f"{name}: feed links only when feeds are built"


def test_post_head_describes_the_post(publish_build: Build):
    for post in POSTS:
        path = post_path(post)
        tree = html.parse(publish_build.output / path / "index.html")
        canonical = tree.find(".//link[@rel='canonical']").get("href")
        assert canonical == f"{publishconf.SITEURL}/{path}"
        assert tree.find(".//meta[@property='og:type']").get("content") == "article"
        description = tree.find(".//meta[@name='description']").get("content")
        assert description.split()[:3] == post.meta["summary"].split()[:3]
        hrefs = {link.get("href") for link in tree.findall(".//link[@rel='alternate']")}
        category = slug_of(post.meta["category"])
        assert f"{publishconf.SITEURL}/feeds/{category}.atom.xml" in hrefs


def test_atom_feeds_hold_the_newest_posts(publish_build: Build):
    feeds = publish_build.output / "feeds"
    assert len(POSTS) <= publishconf.FEED_MAX_ITEMS  # This blog's feeds hold every post.
    expected = {f"{publishconf.SITEURL}/{post_path(p)}" for p in POSTS}

    def entry_links(feed: Path) -> set[str]:
        root = ET.parse(feed).getroot()
        assert root.tag == f"{ATOM}feed", feed.name
        return {e.find(f"{ATOM}link").get("href") for e in root.iter(f"{ATOM}entry")}

    assert entry_links(feeds / "all.atom.xml") == expected
    by_category: set[str] = set()
    for post in POSTS:
        feed = feeds / f"{slug_of(post.meta['category'])}.atom.xml"
        links = entry_links(feed)
        assert f"{publishconf.SITEURL}/{post_path(post)}" in links
        by_category |= links
    assert by_category == expected


def test_sitemap_lists_every_post_and_page(publish_build: Build):
    tree = ET.parse(publish_build.output / "sitemap.xml")
    locs = {loc.text for loc in tree.iter(f"{SITEMAP}loc")}
    for post in POSTS:
        assert f"{publishconf.SITEURL}/{post_path(post)}" in locs, post.path.name
    for page in PAGES:
        url = f"{publishconf.SITEURL}/{page_path(page).removesuffix('index.html')}"
        if page.meta.get("status") == "hidden":
            assert url not in locs, page.path.name
        else:
            assert url in locs, page.path.name


def test_robots_txt_names_the_sitemap_by_its_absolute_url(any_build: tuple[Build, str]):
    build, absolute = any_build
    robots = (build.output / "robots.txt").read_text()
    siteurl = absolute or pelicanconf.SITEURL
    sitemaps = [line for line in robots.splitlines() if line.startswith("Sitemap: ")]
    assert len(sitemaps) == 1, robots
    url = sitemaps[0].removeprefix("Sitemap: ")
    assert url == f"{siteurl}/sitemap.xml"
    assert (build.output / "sitemap.xml").is_file()
    if (build.output / "robots.txt.br").exists():  # compressed after the line was added
        assert brotli.decompress((build.output / "robots.txt.br").read_bytes()).decode() == robots


def test_publish_build_prints_no_warning(publish_build: Build):
    output = publish_build.result.stdout + publish_build.result.stderr
    assert "WARNING" not in output
    assert "ERROR" not in output


def test_static_extras_are_at_the_root(dev_build: Build):
    robots = (dev_build.output / "robots.txt").read_text()
    assert robots.startswith("User-agent: *\n")
    assert (dev_build.output / "favicon.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


def test_stylesheet_is_small_and_self_contained(dev_build: Build):
    css = (dev_build.output / "theme" / "css" / "style.css").read_text()
    # 7 KB since the search field and results (the page budgets are in test_webperf_publish).
    assert len(css.encode()) < 7 * 1024
    assert "@import" not in css and "url(" not in css
    assert "prefers-color-scheme: dark" in css
    assert ".highlight" in css


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rgb or #rrggbb colour."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_text_colour_meets_wcag_aa_in_both_schemes():
    css = (REPO / "theme" / "static" / "css" / "style.css").read_text()
    light_block, dark_block = re.findall(r":root \{(.*?)\}", css, re.DOTALL)
    texts = ("fg", "muted", "link", "kw", "str", "com", "num", "fn", "attr", "ins", "del")
    failures = []
    for scheme, block in (("light", light_block), ("dark", dark_block)):
        colours = dict(re.findall(r"--(\w+):\s*(#[0-9a-fA-F]{3,6})\b", block))
        for text in texts:
            for background in ("bg", "soft"):
                ratio = contrast(colours[text], colours[background])
                if ratio < 4.5:
                    failures.append(f"{scheme}: --{text} on --{background} is {ratio:.2f}:1")
    assert not failures


def test_sitemap_dates_undated_pages_by_the_newest_post(publish_build: Build, tmp_path: Path):
    # pelican-sitemap alone stamps them with the build time: a new sitemap on every build.
    newest = max(dt.datetime.fromisoformat(post.meta["date"]) for post in POSTS)
    sitemap = publish_build.output / "sitemap.xml"
    lastmod = {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in ET.parse(sitemap).iter(f"{SITEMAP}url")
    }
    for path in ["", "archives/", "tags/", "categories/"]:
        assert lastmod[f"{publishconf.SITEURL}/{path}"].startswith(newest.isoformat()), path
    again = build_site(tmp_path, "publishconf.py")
    assert (again.output / "sitemap.xml").read_bytes() == sitemap.read_bytes()
