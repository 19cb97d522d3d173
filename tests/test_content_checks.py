"""content_checks in pieces: its settings, file insertion when allowed, the one line through
`fab build`, and percent-encoded redirect targets through the real `nginx -t`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.content_checks import settings as content_settings
from plugins.content_checks.file_names import case_variants, unread_files
from plugins.content_checks.problems import ContentProblem
from plugins.settings import rules
from plugins.settings.errors import SettingsError
from plugins.settings.redirects import Redirect
from tests.support import servers
from tests.support.serverconfig import check_nginx, local_settings, make_site
from tests.support.site import REPO, build_site

FAB = Path(sys.executable).parent / "fab"
POST = "A post\n######\n\n:date: 2024-02-01 10:00\n:slug: a-post\n\n"


def test_a_problem_reads_file_line_what_and_cure():
    problem = ContentProblem("content/x.rst", "has no title", "add one", line=3)
    assert str(problem) == "content/x.rst:3: has no title; add one"
    lineless = ContentProblem("content/x.rst", "is odd", "fix it")
    assert str(lineless) == "content/x.rst: is odd; fix it"


def test_every_case_of_rst_is_a_variant():
    assert case_variants("rst") == {"rst", "rsT", "rSt", "rST", "Rst", "RsT", "RSt", "RST"}


def test_unread_files_are_named_but_not_editor_droppings(tmp_path: Path):
    for name in ("post.rst", "post.rst.txt", "notes.md", ".post.rst.swp", "post.rst~", "#x#"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    settings = {"PATH": str(tmp_path), "IGNORE_FILES": [".#*"]}
    unread = unread_files(settings, known=["post.rst"])
    assert [p.name for p in unread] == ["notes.md", "post.rst.txt"]


@pytest.mark.parametrize("allowed", [False, True])
def test_file_insertion_follows_its_one_setting(allowed: bool):
    settings = {"PATH": "content", "CONTENT_ALLOW_FILE_INSERTION": allowed}
    content_settings.apply(settings)
    docutils = settings["DOCUTILS_SETTINGS"]
    assert docutils["file_insertion_enabled"] is allowed
    assert docutils["raw_enabled"] is allowed
    assert docutils["math_output"] == "MathML"


@pytest.mark.parametrize(
    "settings",
    [
        {"DOCUTILS_SETTINGS": {"raw_enabled": True}},
        {"DOCUTILS_SETTINGS": {"file_insertion_enabled": True}},
        {"CONTENT_ALLOW_FILE_INSERTION": "yes"},
        {"CONTENT_WRITE_DRAFTS": 0},
    ],
)
def test_settings_that_would_bypass_the_setting_stop_the_build(settings: dict):
    with pytest.raises(SettingsError) as refused:
        content_settings.apply({"PATH": "content", **settings})
    assert str(refused.value).startswith(next(iter(settings)))


def test_allowed_file_insertion_includes_files_and_raw_html(tmp_path: Path):
    """The other state of the setting (the bad corpus has the refusals)."""
    content = tmp_path / "content"
    content.mkdir()
    (content / "snippet.txt").write_text("included words\n", encoding="utf-8")
    (content / "rows.csv").write_text('"nginx","backend"\n', encoding="utf-8")
    text = POST + (
        ".. include:: snippet.txt\n\n"
        ".. raw:: html\n\n   <p class=raw-html>raw words</p>\n\n"
        ".. csv-table:: Rows\n   :file: rows.csv\n"
    )
    (content / "post.rst").write_text(text, encoding="utf-8")
    extra = {"CONTENT_ALLOW_FILE_INSERTION": True, "IGNORE_FILES": ["*.txt", "*.csv"]}
    build = build_site(tmp_path, content=content, extra=extra)
    page = (build.output / "2024/02/01/a-post/index.html").read_text(encoding="utf-8")
    assert "included words" in page
    assert "<p class=raw-html>raw words</p>" in page
    assert "<td>backend</td>" in page


@pytest.mark.servers
def test_a_percent_encoded_redirect_target_passes_nginx_t(tmp_path: Path):
    target = rules.url_target("post", "/2024/01/01/caf%C3%A9/")
    pem = servers.self_signed_pem(tmp_path, ["blog.example.org"])
    redirects = (Redirect("/old/cafe/", target, "content/cafe.rst"),)
    site = make_site(redirects, **local_settings(tmp_path, pem))
    result = check_nginx(site, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("target", ["/caf%C3%A9 x/", "/caf%zz/", "/a$b/", "/caf%c3%a9/"])
def test_url_targets_allow_only_upper_case_percent_escapes(target: str):
    with pytest.raises(SettingsError):
        rules.url_target("post", target)


def test_fab_build_ends_with_the_one_line(tmp_path: Path):
    """`fab build` runs pelican as a subprocess: the line must reach the user unwrapped."""
    skip = shutil.ignore_patterns("build", "__pycache__")
    for name in ("fabfile.py", "pelicanconf.py", "publishconf.py"):
        shutil.copy2(REPO / name, tmp_path / name)
    for name in ("deploy", "plugins", "theme"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=skip)
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    (tmp_path / "content").mkdir()
    post = POST.replace("2024-02-01 10:00", "2024-02-31")
    (tmp_path / "content" / "bad-date.rst").write_text(post, encoding="utf-8")
    result = subprocess.run(
        [str(FAB), "build"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "content/bad-date.rst:4: '2024-02-31' is not a valid date (:date:); write it as "
        "YYYY-MM-DD or YYYY-MM-DD HH:MM, e.g. :date: 2024-03-05 09:30"
    )
