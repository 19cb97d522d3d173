"""The development build in a real browser: no horizontal scroll, no errors, nothing missing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import launch_chromium, serve, visit
from tests.support.site import REPO, Build

ARTIFACTS = REPO / "test-artifacts" / "browser"
# The home page, and the post with the widest code samples (the longest config lines).
PAGES = {
    "home": "",
    "post": "2013/07/15/haproxy-nginx-and-spdy-with-ssl-termination-debian-7/",
}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def site(dev_build: Build) -> Iterator[str]:
    with serve(dev_build.output) as base_url:
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
