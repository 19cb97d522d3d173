"""Session-wide builds shared by every test module: each is built once per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import launch_chromium
from tests.support.site import Build, build_site


@pytest.fixture(scope="session")
def dev_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The development build (pelicanconf.py), as `make site` makes it."""
    return build_site(tmp_path_factory.mktemp("dev"), "pelicanconf.py")


@pytest.fixture(scope="session")
def publish_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The production build (publishconf.py, warnings fatal), as `fab publish` makes it."""
    return build_site(tmp_path_factory.mktemp("publish"), "publishconf.py")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the browser tests of one module."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
