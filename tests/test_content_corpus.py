"""The tricky-content corpus: valid but unusual posts build in both modes, and nothing vanishes.

tests/content_cases/good/ is a content folder of its own: unicode in every field, every
docutils construct a blogger uses, long and empty things, odd file names, CRLF, a byte order
mark, recurring titles, a hidden post and a draft. A large post is generated on top. It is
built once per mode, with warnings fatal, and every post must come out where it should.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import publishconf
from plugins import contract
from tests.support import html
from tests.support.site import REPO, Build, build_site

CORPUS = REPO / "tests" / "content_cases" / "good"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
LARGE_POST_PARAGRAPHS = 3000


def sources(status: str | None = None) -> list[Path]:
    """Every post and page of the corpus (any case of .rst), optionally of one status."""
    found = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() == ".rst")
    if status is None:
        return found
    return [p for p in found if f":status: {status}" in p.read_text(encoding="utf-8-sig")]


def title_of(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig").splitlines()[0].strip()


def large_post() -> str:
    """A post of a few hundred kilobytes: many paragraphs, code blocks and sections."""
    parts = ["A very large post\n#################\n\n:date: 2023-12-31 23:00\n:slug: large\n"]
    for number in range(LARGE_POST_PARAGRAPHS):
        if number % 300 == 0:
            heading = f"Part {number // 300}"
            parts.append(f"{heading}\n{'=' * len(heading)}\n")
        parts.append(f"Paragraph {number}: " + "lorem ipsum dolor sit amet " * 4 + "\n")
        if number % 50 == 0:
            parts.append(f".. code-block:: python\n\n   print('block {number}')\n")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    content = tmp_path_factory.mktemp("corpus") / "content"
    shutil.copytree(CORPUS, content)
    (content / "large-post.rst").write_text(large_post(), encoding="utf-8")
    return content


@pytest.fixture(scope="module")
def corpus_dev(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_site(tmp_path_factory.mktemp("dev"), content=corpus, plain_log=True)


@pytest.fixture(scope="module")
def corpus_publish(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    tmp = tmp_path_factory.mktemp("publish")
    return build_site(tmp, "publishconf.py", content=corpus, plain_log=True)


@pytest.fixture(params=["corpus_dev", "corpus_publish"])
def corpus_build(request: pytest.FixtureRequest) -> tuple[Build, str]:
    siteurl = "" if request.param == "corpus_dev" else publishconf.SITEURL
    return request.getfixturevalue(request.param), siteurl


def headings(build: Build) -> dict[str, Path]:
    """The text of every page's first <h1>, and the page."""
    found = {}
    for page in html.html_files(build.output):
        h1 = html.parse(page).find(".//main//h1")
        if h1 is not None:
            found["".join(h1.itertext()).strip()] = page
    return found


def test_the_corpus_has_at_least_forty_cases():
    assert len(sources()) >= 40


def test_every_post_and_page_comes_out(corpus_build: tuple[Build, str]):
    build, siteurl = corpus_build
    written = headings(build)
    expected = [p for p in sources() if siteurl == "" or p not in sources("draft")]
    missing = [f"{p.relative_to(CORPUS)}: {title_of(p)!r}" for p in expected]
    missing = [m for m, p in zip(missing, expected, strict=True) if title_of(p) not in written]
    assert not missing, "\n".join(missing)
    assert "A very large post" in written


def test_the_build_printed_no_warning(corpus_build: tuple[Build, str]):
    build, _ = corpus_build
    assert build.result.stderr.strip() == "", build.result.stderr


def test_every_internal_reference_resolves(corpus_build: tuple[Build, str]):
    build, siteurl = corpus_build
    broken = html.broken_references(build.output, siteurl)
    assert not broken, "\n".join(broken)


def test_every_page_parses_without_errors(corpus_build: tuple[Build, str]):
    build, _ = corpus_build
    problems = {
        str(page.relative_to(build.output)): errors
        for page in html.html_files(build.output)
        if (errors := html.parse_errors(page))
    }
    assert not problems


def test_recurring_titles_each_get_their_dated_url(corpus_dev: Build):
    for day in ("05", "12", "19"):
        page = corpus_dev.output / "2024" / "01" / day / "weekly-notes" / "index.html"
        assert html.parse(page).find(".//main//h1").text == "Weekly notes"


def test_hostile_titles_are_text_everywhere(corpus_build: tuple[Build, str]):
    build, _ = corpus_build
    for page in html.html_files(build.output):
        tree = html.parse(page)
        scripts = tree.findall(".//script")
        # The one script of the site: the search page's own file, nothing inline.
        if page.relative_to(build.output).as_posix() == contract.SEARCH_PAGE:
            assert scripts and all(s.get("src") and not (s.text or "").strip() for s in scripts)
        else:
            assert scripts == [], page
        handlers = [a for e in tree.iter() for a in e.attrib if a.lower().startswith("on")]
        assert handlers == [], page
    page = build.output / "2023" / "01" / "07" / "hostile-title" / "index.html"
    h1 = html.parse(page).find(".//main//h1")
    assert list(h1) == [] and "<b>bold</b>" in h1.text


def test_a_unicode_slug_is_percent_encoded_everywhere_it_is_a_url(corpus_publish: Build):
    encoded = "2023/01/06/caf%C3%A9-cr%C3%A8me/"
    assert (corpus_publish.output / "2023/01/06/café-crème/index.html").is_file()
    locations = {
        loc.text for loc in ET.parse(corpus_publish.output / "sitemap.xml").iter(f"{SITEMAP}loc")
    }
    assert f"{publishconf.SITEURL}/{encoded}" in locations
    page = html.parse(corpus_publish.output / "2023/01/06/café-crème/index.html")
    canonical = page.find(".//link[@rel='canonical']").get("href")
    assert canonical == f"{publishconf.SITEURL}/{encoded}"
    vhost = (corpus_publish.deploy_build / "nginx" / "web1" / "site.conf").read_text()
    for old in ("/old/cafe-creme/", "/older/cafe/"):
        assert f"location = {old} {{\n        return 301 /{encoded};" in vhost


def test_hidden_posts_and_pages_keep_their_redirects(corpus_publish: Build):
    vhost = (corpus_publish.deploy_build / "nginx" / "web1" / "site.conf").read_text()
    assert "location = /old/hidden-post/ {\n        return 301 /2023/02/04/hidden-post/;" in vhost
    assert "location = /old-page/ {\n        return 301 /moved-page/;" in vhost


def test_math_is_mathml(corpus_dev: Build):
    page = corpus_dev.output / "2023" / "01" / "16" / "math" / "index.html"
    body = html.parse(page).find(".//main")
    assert len(body.findall(f".//{MATHML}math")) == 4
    assert len(body.findall(f".//{MATHML}math[@display='block']")) == 2
    assert "\\frac" not in "".join(body.itertext())


def test_drafts_are_previewed_with_noindex_and_never_published(
    corpus_dev: Build, corpus_publish: Build
):
    for path in ("drafts/draft-post/index.html", "drafts/pages/draft-page.html"):
        robots = html.parse(corpus_dev.output / path).find(".//meta[@name='robots']")
        assert robots.get("content") == "noindex", path
    assert not (corpus_publish.output / "drafts").exists()
    mentions = [p for p in html.html_files(corpus_publish.output) if b"draft-p" in p.read_bytes()]
    assert mentions == []


def test_the_large_post_is_whole(corpus_dev: Build):
    page = corpus_dev.output / "2023" / "12" / "31" / "large" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert f"Paragraph {LARGE_POST_PARAGRAPHS - 1}:" in text
    assert len(text.encode()) > 300_000
