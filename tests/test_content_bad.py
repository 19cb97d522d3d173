"""The bad-content corpus: each case stops the publish build with one line naming the file.

Each folder under tests/content_cases/bad/ is the whole content of one publish build (a
post or two). The build must exit 1, print no traceback, and end with the line the table
below expects: `<file>[:<line>]: <what is wrong>; <what to do>`.
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from plugins.contract import MANIFEST
from tests.support.site import REPO, Build, build_site

CASES_DIR = REPO / "tests" / "content_cases" / "bad"
INSERTION = r"; file insertion and raw HTML are off; set CONTENT_ALLOW_FILE_INSERTION = True"

# Case folder → the last line the build prints (a regex, matched from its start).
EXPECTED = {
    "bad-date": r"content/post.rst:4: '2024-13-45' is not a valid date \(:date:\); write it as",
    "not-utf8": r"content/post.rst:7: not UTF-8 \(byte 0xe9 on line 7\); save the file as UTF-8",
    "unknown-directive": r'content/post.rst:9: Unknown directive type "code-blok"; check the',
    "unknown-role": r'content/post.rst:7: Unknown interpreted text role "kbd"; check the',
    "include": r'content/post.rst:7: "include" directive disabled' + INSERTION,
    "raw-html": r'content/post.rst:7: "raw" directive disabled' + INSERTION,
    "raw-file": r'content/post.rst:7: "raw" directive disabled' + INSERTION,
    "raw-url": r'content/post.rst:7: "raw" directive disabled' + INSERTION,
    "csv-table-file": r"content/post.rst:7: File and URL access deactivated.*" + INSERTION,
    "csv-table-url": r"content/post.rst:7: File and URL access deactivated.*" + INSERTION,
    "no-title": r"content/post.rst: has no title section; start the file with one title line",
    "empty-file": r"content/post.rst: has no title section; start the file",
    "no-date": r"content/post.rst: has no :date:; add :date: YYYY-MM-DD HH:MM",
    "unknown-status": r"content/post.rst:6: unknown :status: publishd; use one of published,",
    "underline-too-short": r"content/post.rst:2: Title underline too short; make the underline",
    "unclosed-markup": r"content/post.rst:7: Inline interpreted text .* without end-string; close",
    "malformed-table": r"content/post.rst:8: Malformed table; line the table's borders up",
    "inconsistent-sections": r"content/post.rst:16: Inconsistent title style.*; use one underline",
    "missing-link-target": (
        r"content/post.rst:7: links to /missing-post.rst, which is not in the content; fix the"
    ),
    "static-via-filename": (
        r"content/post.rst:7: links to the static file /images/pixel.png with \{filename\}; "
        r"write \{static\}"
    ),
    "image-without-alt": r"content/post.rst:7: image picture.png has no alt text; add :alt:",
    "slug-is-archives": (
        r"content/pages/archive.rst:4: would be written to archives/index.html, which is the "
        r"archives page \(ARCHIVES_SAVE_AS\); give it another :slug:"
    ),
    "same-url": (
        r"content/second.rst:5: would be written to 2024/02/01/a-post/index.html, like "
        r"content/first.rst; give one of them another :slug:"
    ),
    "save-as-outside": r"content/post.rst: would be written outside the site .*; fix its :slug:",
    "redirect-from-healthz": (
        r"content/post.rst: redirect /healthz.txt = .* is not allowed: expected a "
        r"path the site does not serve itself, but /healthz.txt is the release's health check"
    ),
    "redirect-from-hostile": (
        r"content/post.rst: redirect_from = '/old/; return 200 x' is not allowed"
    ),
    "redirect-to-draft": (
        r"content/post.rst: redirect_from = '/old/draft/' is not allowed: expected "
        r"no redirect to a draft"
    ),
    "rst-txt-name": r"content/post.rst.txt: is not read: .*; rename it to end in .rst",
    "markdown-post": r"content/post.md: is Markdown, which this blog does not read; write it as",
}
# The house format: a file, maybe a line, what is wrong, then what to do.
ONE_LINE = re.compile(r"^content/[^:]+(:\d+)?: .+[;:] .+$")


def test_every_case_has_an_expectation():
    assert sorted(p.name for p in CASES_DIR.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.fixture(scope="module")
def bad_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    """One publish build per case, two at a time (the builds are small and mostly I/O)."""

    def build(name: str) -> Build:
        tmp = tmp_path_factory.mktemp(name)
        shutil.copytree(CASES_DIR / name, tmp / "content")
        return build_site(
            tmp, "publishconf.py", content=tmp / "content", check=False, plain_log=True
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(EXPECTED, pool.map(build, EXPECTED), strict=True))


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_case_stops_the_publish_build_with_one_line(bad_builds: dict[str, Build], case: str):
    result = bad_builds[case].result
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    last = result.stderr.strip().splitlines()[-1]
    assert ONE_LINE.match(last), last
    assert re.match(EXPECTED[case], last), last
    # It stopped before writing anything for the servers.
    assert not (bad_builds[case].deploy_build / MANIFEST).exists()
