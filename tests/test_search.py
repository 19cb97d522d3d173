"""Search: Pagefind's index in the publish build, the search page's weight, the field on every
page, and the SEARCH_* settings."""

from __future__ import annotations

import json
import re

import pytest

from plugins import contract
from plugins.search.index import UNUSED_FILES
from plugins.serverconfig import nginx, security
from tests.support.html import html_files, parse
from tests.support.serverconfig import make_site
from tests.support.site import Build, build_site
from tests.support.webperf import page_fetches, wire_size

SITEURL = "https://blog.example.org"
KB = 1024
SEARCH_PAGE_BUDGET = 60 * KB
WIDE = {"COLUMNS": "400"}


def _search_page(build: Build):
    return build.output / contract.SEARCH_PAGE


def test_the_index_holds_every_published_post_and_page(publish_build):
    bundle = publish_build.output / contract.SEARCH_BUNDLE
    posts = list(publish_build.output.glob("[0-9][0-9][0-9][0-9]/*/*/*/index.html"))
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    # Every post and the one published page (About); not the 404 page, indexes or tags.
    assert entry["languages"]["en"]["page_count"] == len(posts) + 1
    fragments = list((bundle / "fragment").iterdir())
    assert len(fragments) == len(posts) + 1


def test_only_published_posts_and_pages_are_marked_for_indexing(publish_build):
    for page in html_files(publish_build.output):
        marked = any(e.get("data-pagefind-body") is not None for e in parse(page).iter())
        relative = page.relative_to(publish_build.output).as_posix()
        expected = bool(re.match(r"\d{4}/\d\d/\d\d/[^/]+/index.html$|about/index.html$", relative))
        assert marked == expected, relative


def test_the_bundle_ships_only_what_the_search_page_loads_precompressed(publish_build):
    bundle = publish_build.output / contract.SEARCH_BUNDLE
    for name in UNUSED_FILES:
        assert not (bundle / name).exists(), name
    for name in ("pagefind.js", "pagefind-worker.js", "pagefind-entry.json"):
        for suffix in contract.COMPRESSED_SUFFIXES:
            assert (bundle / (name + suffix)).is_file(), name + suffix


def test_the_search_page_fits_its_budget_before_the_first_query(publish_build):
    page = _search_page(publish_build)
    fetches = page_fetches(publish_build.output, page, SITEURL)
    assert not [f.url for f in fetches if f"/{contract.SEARCH_BUNDLE}/" in f.url]
    scripts = [f.target for f in fetches if f.tag == "script"]
    assert len(scripts) == 1
    # The index loads with a dynamic import() on the first query, never with the page.
    assert not re.search(r"^\s*import\s", scripts[0].read_text(), re.M)
    weight = wire_size(page) + sum(wire_size(f.target) for f in fetches)
    assert weight <= SEARCH_PAGE_BUDGET, f"search page is {weight} bytes with brotli"


def test_every_page_has_a_search_field_that_works_without_javascript(publish_build):
    for page in html_files(publish_build.output):
        forms = [f for f in parse(page).iter("form") if f.get("role") == "search"]
        assert forms, page
        form = forms[0]
        assert form.get("action") == f"{SITEURL}/{contract.SEARCH_URL}"
        assert (form.get("method") or "get").lower() == "get"
        assert [i.get("name") for i in form.iter("input")] == ["q"]


def test_the_search_page_without_javascript_points_to_the_archives(publish_build):
    noscript = parse(_search_page(publish_build)).find(".//noscript")
    assert noscript is not None
    text = "".join(noscript.itertext())
    assert "needs JavaScript" in text and "archives" in text


def test_only_the_search_locations_allow_webassembly():
    site = make_site()
    vhost = nginx.vhost(site, site.backends[0])
    blocks = re.findall(r"location ([^{]+) \{\n(.*?)\n    \}", vhost, re.S)
    allowed = sorted(match for match, body in blocks if "'wasm-unsafe-eval'" in body)
    assert allowed == sorted([f"= /{contract.SEARCH_PAGE}", f"^~ /{contract.SEARCH_BUNDLE}/"])
    assert security.SEARCH_CONTENT_SECURITY_POLICY.replace(" 'wasm-unsafe-eval'", "") == (
        security.CONTENT_SECURITY_POLICY
    )


def test_search_can_be_turned_off(tmp_path):
    build = build_site(tmp_path, "pelicanconf.py", extra={"SEARCH_ENABLED": False})
    assert not (build.output / contract.SEARCH_BUNDLE).exists()
    assert not (build.output / contract.SEARCH_PAGE).exists()
    assert not [f for f in parse(build.output / "index.html").iter("form")]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"SEARCH_ENABLED": "yes"}, "SEARCH_ENABLED = 'yes' is not allowed"),
        ({"SEARCH_TIMEOUT": 0}, "SEARCH_TIMEOUT = 0 is not allowed"),
        ({"SEARCH_ENABLE": True}, "did you mean SEARCH_ENABLED?"),
    ],
)
def test_bad_settings_stop_the_build_naming_the_setting(tmp_path, override, named):
    result = build_site(tmp_path, "pelicanconf.py", extra=override, env=WIDE, check=False).result
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert named in " ".join(output.split())
    assert "Traceback" not in output
