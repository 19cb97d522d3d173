"""The development build in a real browser: no horizontal scroll, no errors, nothing missing.

With search on (`-e SEARCH_ENABLED=true`; pelicanconf.py leaves it to publish builds), so the
search page is checked in the same browser as every other page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from plugins.serverconfig.security import (
    CONTENT_SECURITY_POLICY,
    SEARCH_CONTENT_SECURITY_POLICY,
)
from tests.support.browser import serve, visit
from tests.support.site import REPO, Build, build_site

ARTIFACTS = REPO / "test-artifacts" / "browser"
# The home page, and the post with the widest code samples (the longest config lines).
PAGES = {
    "home": "",
    "post": "2013/07/15/haproxy-nginx-and-spdy-with-ssl-termination-debian-7/",
    "search": "search/?q=haproxy",
}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dev_build_with_search(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The development build with search on."""
    tmp = tmp_path_factory.mktemp("dev-search")
    return build_site(tmp, "pelicanconf.py", extra={"SEARCH_ENABLED": True})


@pytest.fixture(scope="module")
def site(dev_build_with_search: Build) -> Iterator[str]:
    with serve(dev_build_with_search.output) as base_url:
        yield base_url


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_renders_cleanly(browser: Browser, site: str, page: str, width: int, scheme: str):
    shot = ARTIFACTS / f"{page}-{width}-{scheme}.png"
    result = visit(browser, f"{site}/{PAGES[page]}", width, shot, color_scheme=scheme)
    assert not result.overflows, (
        f"{page} at {width}px scrolls sideways: {result.scroll_width} > {result.client_width}"
    )
    assert result.console_errors == []
    assert result.failed_requests == []
    assert shot.stat().st_size > 0


def test_first_tab_shows_the_skip_link_and_it_moves_focus_past_the_header(
    browser: Browser, site: str
):
    context = browser.new_context(viewport={"width": 360, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{site}/{PAGES['post']}")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert focused == "skip"
        box = page.locator("a.skip").bounding_box()
        assert box is not None and box["y"] >= 0 and box["height"] >= 24
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "skip-link-focused.png"))
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        inside_main = page.evaluate(
            "document.querySelector('main').contains(document.activeElement)"
        )
        assert inside_main, "after the skip link, Tab should land inside <main>"
    finally:
        context.close()


# A word only the body of one post has (not its title, not any other post).
BODY_WORD = "ECONNABORTED"
BODY_WORD_POST = "2013/07/29/wrapping-a-tornado-iostream-with-ssl/"


@pytest.fixture(scope="module")
def site_with_search_csp(dev_build_with_search: Build) -> Iterator[str]:
    """The site with the policy nginx sends on the search page and Pagefind's files."""
    policy = {"Content-Security-Policy": SEARCH_CONTENT_SECURITY_POLICY}
    with serve(dev_build_with_search.output, policy) as base_url:
        yield base_url


def test_search_finds_a_post_by_a_word_from_its_body(browser: Browser, site_with_search_csp: str):
    source = next((REPO / "content").glob("2013-07-29-*.rst")).read_text(encoding="utf-8")
    title, body = source.split("\n", 1)
    assert BODY_WORD.lower() not in title.lower() and BODY_WORD in body
    context = browser.new_context(viewport={"width": 360, "height": 800})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site_with_search_csp}/")
        page.fill("#site-search", BODY_WORD.lower())
        page.press("#site-search", "Enter")
        page.wait_for_url("**/search/?q=econnaborted")
        results = page.locator("#search-results li a")
        results.first.wait_for(timeout=15_000)
        hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
        assert [h for h in hrefs if h and h.rstrip("/").endswith(BODY_WORD_POST.rstrip("/"))]
        assert (
            page.locator("#search-results mark")
            .first.inner_text()
            .lower()
            .startswith("econnaborted")
        )
        page.fill("#search-query", "zzzqqqxxx")
        page.locator("#search-status", has_text="No post").wait_for(timeout=15_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "search-no-results.png"))
        assert errors == []
    finally:
        context.close()


def test_without_javascript_the_field_leads_to_the_archives(browser: Browser, site: str):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site}/{PAGES['post']}")
        page.fill("#site-search", "haproxy")
        page.press("#site-search", "Enter")
        page.wait_for_url("**/search/?q=haproxy")
        note = page.locator("main p.admonition")
        assert "needs JavaScript" in note.inner_text()
        note.get_by_role("link", name="archives").click()
        page.wait_for_url("**/archives/")
        assert page.locator("h1").inner_text() == "Archives"
    finally:
        context.close()


def test_the_strict_policy_of_other_pages_would_stop_search(
    browser: Browser, dev_build_with_search: Build
):
    """Why the search page's policy has 'wasm-unsafe-eval': without it Pagefind cannot run."""
    with serve(
        dev_build_with_search.output, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
    ) as base:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{base}/search/?q=econnaborted")
            page.locator("#search-status", has_text="unavailable").wait_for(timeout=15_000)
            assert page.locator("#search-results li").count() == 0
        finally:
            context.close()
