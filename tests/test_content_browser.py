"""Math in a real browser: MathML laid out as formulas, legible in both colour schemes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.browser import serve, visit
from tests.support.site import REPO, build_site

ARTIFACTS = REPO / "test-artifacts" / "browser"
MATH_POST = REPO / "tests" / "content_cases" / "good" / "math.rst"
MATH_URL = "2023/01/16/math/"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("math")
    content = tmp / "content"
    shutil.copytree(REPO / "content" / "extra", content / "extra")
    shutil.copy2(MATH_POST, content / MATH_POST.name)
    build = build_site(tmp, content=content)
    with serve(build.output) as base_url:
        yield base_url


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_math_is_laid_out_and_takes_the_text_colour(browser: Browser, site: str, scheme: str):
    shot = ARTIFACTS / f"math-360-{scheme}.png"
    result = visit(browser, f"{site}/{MATH_URL}", 360, shot, color_scheme=scheme)
    assert not result.overflows and result.console_errors == [] and result.failed_requests == []
    assert shot.stat().st_size > 0  # for a person to look at, in test-artifacts/browser
    context = browser.new_context(viewport={"width": 360, "height": 800}, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(f"{site}/{MATH_URL}")
        fraction = page.locator("math[display=block] mfrac").first
        numerator = fraction.locator(":scope > *").nth(0).bounding_box()
        denominator = fraction.locator(":scope > *").nth(1).bounding_box()
        # A fraction, not "(√(π))/(2)" on one line: the numerator sits above the denominator.
        assert numerator["y"] + numerator["height"] <= denominator["y"] + 1
        colours = page.evaluate(
            "[getComputedStyle(document.querySelector('math')).color,"
            " getComputedStyle(document.querySelector('.body p')).color]"
        )
        assert colours[0] == colours[1]
    finally:
        context.close()
