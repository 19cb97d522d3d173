"""`fab serve` for real: the dev server as a subprocess on a copy of the site, a page open in
headless Chromium, the post edited on disk; the tab reloads by itself, a broken edit shows
its one line in the tab and the terminal, and Ctrl-C stops the server."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from deploy.devserver.server import PROBLEMS_ID, RELOAD_SCRIPT
from tests.support.browser import launch_chromium
from tests.support.servers import free_port
from tests.support.site import REPO, copy_project

FAB = Path(sys.executable).parent / "fab"
POST = "content/2013-07-19-haproxy-stats.rst"
POST_URL = "2013/07/19/haproxy-stats/"
BAD_DATE = "content/2013-07-19-haproxy-stats.rst:4: '2024-13-45 13:00' is not a valid date (:date:)"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What `fab serve` loads and builds, copied."""
    return copy_project(tmp_path)


class DevServer:
    """`fab serve` running in `project`; its terminal output in a file."""

    def __init__(self, project: Path, port: int) -> None:
        self.log = project / "serve.log"
        self.url = f"http://127.0.0.1:{port}/"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(FAB), "serve", "--port", str(port)],
                cwd=project,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, f"fab serve exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.1)


@pytest.fixture
def server(project: Path) -> Iterator[DevServer]:
    running = DevServer(project, free_port())
    try:
        running.wait_for_output("Serving http://127.0.0.1:")
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _shows(page: Page, text: str) -> None:
    page.wait_for_function("text => document.body.innerText.includes(text)", arg=text)


def test_a_saved_post_reloads_the_tab_and_a_broken_one_shows_its_line(
    project: Path, server: DevServer, page: Page
) -> None:
    console_errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    response = page.goto(server.url + POST_URL, wait_until="load")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    scripts = page.eval_on_selector_all("script", "all => all.map(s => s.src)")
    assert any(RELOAD_SCRIPT in src for src in scripts) and all(scripts), scripts

    _edit(project / POST, "\n.. ", "\nA line saved while fab serve runs.\n\n.. ")
    _shows(page, "A line saved while fab serve runs.")
    # The first rebuild of the process is incremental too: one source parsed, pages kept.
    server.wait_for_output("Build 2: done in")
    rebuilt = re.search(r"Build 2: done in \S+ s: 1 sources parsed, .* (\d+) unchanged, ",
                        server.output())  # fmt: skip
    assert rebuilt and int(rebuilt[1]) > 0, server.output()

    _edit(project / POST, ":date: 2013-07-19", ":date: 2024-13-45")
    page.wait_for_selector(f"#{PROBLEMS_ID}")
    assert BAD_DATE in page.inner_text(f"#{PROBLEMS_ID}")
    server.wait_for_output(BAD_DATE)
    assert server.process.poll() is None

    _edit(project / POST, ":date: 2024-13-45", ":date: 2013-07-19")
    page.wait_for_selector(f"#{PROBLEMS_ID}", state="detached")
    _shows(page, "A line saved while fab serve runs.")
    # The broken post's page was a 404 while it was broken; no other error, none from the CSP.
    assert all("status of 404" in error for error in console_errors), console_errors
    # The reload lives in the server only: output/ is what `pelican content` writes.
    served = (project / "output" / POST_URL / "index.html").read_text(encoding="utf-8")
    assert "A line saved while fab serve runs." in served and "__reload" not in served


def test_ctrl_c_stops_the_server(server: DevServer) -> None:
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=20) == 0, server.output()
    assert server.output().rstrip().endswith("Stopped.")


# Three builds in one process, as `fab serve` runs them, each after an edit.
REBUILD_THREE_TIMES = """
import sys
from pathlib import Path
from pelican.contents import Content
from deploy.devserver.rebuild import Rebuilder

rebuilder = Rebuilder(Path("pelicanconf.py"))
post = Path(sys.argv[1])
for number in range(3):
    post.write_text(post.read_text(encoding="utf-8") + f"\\nEdit {number}.\\n", encoding="utf-8")
    assert rebuilder.build() == ()
    print("cached:", len(vars(Content)["get_content"].cache))
"""


def test_rebuilds_do_not_keep_the_posts_of_earlier_builds(project: Path) -> None:
    """Pelican memoises Content.get_content class-wide, keyed by the post: unless emptied,
    every rebuild's posts stay in memory for the life of `fab serve`."""
    result = subprocess.run(
        [sys.executable, "-c", REBUILD_THREE_TIMES, POST],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sizes = [int(line.split()[1]) for line in result.stdout.splitlines() if "cached:" in line]
    # The first build renders every post; later ones only what changed, never more.
    assert len(sizes) == 3 and sizes[0] > 0 and max(sizes) == sizes[0], sizes


def test_rebuilds_after_saves_equal_clean_builds(tmp_path: Path) -> None:
    """Body edits rebuilt in memory, and the edits that take a whole build, each against a
    clean build of the same files (tests/support/body_edits.py)."""
    seed = random.randrange(1 << 30)
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.body_edits", str(tmp_path), str(seed)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"seed {seed}:\n{result.stdout}\n{result.stderr[-3000:]}"
    built = [line.rpartition(": ")[2] for line in result.stdout.splitlines()]
    assert built.count("in memory") >= 4 and "whole" in built, result.stdout
