"""`fab new-post`: a draft skeleton with today's date and the right slug, never an overwrite."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.authoring import PostExistsError, write_new_post
from tests.support import html
from tests.support.site import REPO, build_site

FAB = Path(sys.executable).parent / "fab"
WHEN = dt.datetime(2024, 3, 5, 9, 7)


def test_writes_a_draft_named_after_the_slug(tmp_path: Path):
    path = write_new_post(tmp_path, "Some Title: with punctuation!", WHEN)
    assert path == tmp_path / "some-title-with-punctuation.rst"
    text = path.read_text(encoding="utf-8")
    title, underline = text.splitlines()[:2]
    assert title == "Some Title: with punctuation!"
    assert set(underline) == {"#"} and len(underline) == len(title)
    assert ":date: 2024-03-05 09:07\n" in text
    assert ":slug: some-title-with-punctuation\n" in text
    assert ":status: draft\n" in text


def test_refuses_to_overwrite(tmp_path: Path):
    path = write_new_post(tmp_path, "Some Title", WHEN)
    path.write_text("my words so far\n", encoding="utf-8")
    with pytest.raises(PostExistsError, match=r"some-title\.rst already exists"):
        write_new_post(tmp_path, "Some  title", WHEN)
    assert path.read_text(encoding="utf-8") == "my words so far\n"


@pytest.mark.parametrize("title", ["   ", "?!"])
def test_refuses_a_title_with_no_slug(tmp_path: Path, title: str):
    with pytest.raises(ValueError, match="title"):
        write_new_post(tmp_path, title, WHEN)
    assert list(tmp_path.iterdir()) == []


def test_the_skeleton_builds_as_a_draft(tmp_path: Path):
    """A fresh draft must not break the publish build, nor ship in it; development builds
    show it under /drafts/, marked noindex."""
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    write_new_post(content, "A Draft In Progress", WHEN)
    build = build_site(tmp_path / "publish", "publishconf.py", content=content)
    assert not (build.output / "drafts").exists()
    shipped = [p for p in html.html_files(build.output) if b"a-draft-in-progress" in p.read_bytes()]
    assert shipped == []
    assert "a-draft-in-progress" not in (build.output / "sitemap.xml").read_text()
    assert "a-draft-in-progress" not in (build.output / "feeds" / "all.atom.xml").read_text()
    dev = build_site(tmp_path / "dev", "pelicanconf.py", content=content)
    page = html.parse(dev.output / "drafts" / "a-draft-in-progress" / "index.html")
    robots = page.find(".//meta[@name='robots']")
    assert robots is not None and robots.get("content") == "noindex"


def test_a_setting_lets_the_publish_build_write_drafts_with_noindex(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(REPO / "content", content)
    write_new_post(content, "A Draft In Progress", WHEN)
    extra = {"CONTENT_WRITE_DRAFTS": True}
    build = build_site(tmp_path, "publishconf.py", content=content, extra=extra)
    page = html.parse(build.output / "drafts" / "a-draft-in-progress" / "index.html")
    assert page.find(".//meta[@name='robots']").get("content") == "noindex"
    assert "a-draft-in-progress" not in (build.output / "sitemap.xml").read_text()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What `fab` loads, copied (fabfile, deploy/, plugins/, settings) and an empty content/."""
    skip = shutil.ignore_patterns("build", "__pycache__")
    for name in ("fabfile.py", "pelicanconf.py", "publishconf.py"):
        shutil.copy2(REPO / name, tmp_path / name)
    for name in ("deploy", "plugins"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=skip)
    (tmp_path / "content").mkdir()
    return tmp_path


def fab(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FAB), *args], cwd=project, capture_output=True, text=True, timeout=120
    )


def test_fab_new_post_through_the_real_cli(project: Path):
    before = dt.date.today()
    first = fab(project, "new-post", "Some Title")
    assert first.returncode == 0, first.stderr
    post = project / "content" / "some-title.rst"
    assert "content/some-title.rst" in first.stdout
    text = post.read_text(encoding="utf-8")
    date = dt.date.fromisoformat(re.search(r"^:date: (\S+)", text, re.MULTILINE)[1])
    assert before <= date <= dt.date.today()
    assert ":slug: some-title\n" in text and ":status: draft\n" in text

    post.write_text("half a post\n", encoding="utf-8")
    again = fab(project, "new-post", "Some Title")
    assert again.returncode != 0
    assert "already exists" in again.stderr + again.stdout
    assert "Traceback" not in again.stderr
    assert post.read_text(encoding="utf-8") == "half a post\n"
