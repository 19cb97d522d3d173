"""`fab preview`: the publish build through the generated nginx vhost and haproxy on loopback,
with a throwaway certificate; SIGINT stops both."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.site import REPO, TEST_STATS_ENV

FAB = Path(sys.executable).parent / "fab"
PELICAN = Path(sys.executable).parent / "pelican"
SITE_HOST = "blog.example.org"

pytestmark = pytest.mark.servers


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (stopped, not yet reaped by its parent) is gone too.
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def curl(url: str, port: int, *args: str) -> str:
    argv = ["curl", "-sS", "-k", "-D", "-", "-o", "/dev/null", "--max-time", "10", *args]
    argv += ["--resolve", f"{SITE_HOST}:{port}:127.0.0.1", url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout


def test_preview_serves_the_publish_build_and_sigint_stops_both(tmp_path):
    settings = tmp_path / "previewconf.py"
    settings.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from publishconf import *  # noqa: F403\n"
        f"PATH = {str(REPO / 'content')!r}\n"
        f"OUTPUT_PATH = {str(tmp_path / 'output')!r}\n"
        f"DEPLOY_BUILD_PATH = {str(tmp_path / 'deploy-build')!r}\n"
        f"THEME = {str(REPO / 'theme')!r}\n"
        f"PLUGIN_PATHS = [{str(REPO / 'plugins')!r}]\n"
    )
    env = {**os.environ, **TEST_STATS_ENV}
    build = subprocess.run(
        [str(PELICAN), "content", "-s", str(settings), "--fatal", "warnings"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    log = tmp_path / "preview.log"
    with log.open("w") as sink:
        fab = subprocess.Popen(
            [str(FAB), "-r", str(REPO), "preview", "--settings", str(settings)],
            cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C" not in log.read_text() and time.monotonic() < deadline:
            assert fab.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        pids = [int(pid) for pid in re.findall(r"(?:nginx|haproxy) pid (\d+)", text)]
        https = re.search(r"at (https://\S+:(\d+)/) \(and (http://\S+:(\d+)/)\)", text)
        assert len(pids) == 2 and https, text
        page = curl(https[1], int(https[2]), "-H", "Accept-Encoding: br, gzip")
        assert page.startswith("HTTP/2 200"), page
        assert "content-encoding: br" in page
        assert "cache-control: no-cache" in page
        assert "strict-transport-security: max-age=63072000" in page
        redirect = curl(https[3], int(https[4]))
        assert redirect.startswith("HTTP/1.1 301"), redirect
        assert f"location: https://{SITE_HOST}:" in redirect.lower()
        assert all(alive(pid) for pid in pids)

        fab.send_signal(signal.SIGINT)
        assert fab.wait(30) == 0, log.read_text()
        assert "stopped nginx and haproxy" in log.read_text()
        assert not any(alive(pid) for pid in pids), log.read_text()
    finally:
        if fab.poll() is None:
            fab.kill()
            fab.wait(10)
