"""`fab check` on a workstation: a clean copy of the repository, its development build, and the
local nginx and haproxy, with no certificate where the balancer keeps the real one and no
balancer to reach (tests/test_provision.py checks against a reachable one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deploy.release.certificates import Certificate
from deploy.tasks.check import REACH_TIMEOUT
from tests.support.servers import free_port
from tests.support.site import REPO, TEST_STATS_ENV

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's tracked files, as a clean clone has them, after `make site`'s build."""
    root = tmp_path_factory.mktemp("clone") / "blog"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source, target = REPO / os.fsdecode(name), root / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            target.write_bytes(source.read_bytes())
    (root / ".venv").symlink_to(Path(sys.executable).parents[1])
    built = subprocess.run(
        [".venv/bin/pelican", "content", "--fatal", "errors"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return root


def fab_check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A production check validates the same settings a publish does, stats credentials too.
    return subprocess.run(
        [".venv/bin/fab", "check", *args],
        cwd=root,
        env={**os.environ, **TEST_STATS_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_passes_right_after_make_site_with_a_throwaway_certificate(clone):
    result = fab_check(clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   nginx -t" in result.stdout
    assert "ok   haproxy -c" in result.stdout
    assert (
        "with a throwaway certificate: /etc/haproxy/certs/blog.pem is not on this machine"
        in result.stdout
    )
    # The development settings' balancer (deploy@127.0.0.1:22) is not there: one line says so.
    assert (
        "ok   certificates served by haproxy on the balancer\n"
        "     skipped: deploy@127.0.0.1:22 is not reachable over SSH ("
    ) in result.stdout, result.stdout


@pytest.fixture
def silent_listener():
    """A port that accepts connections and never says a word (no SSH greeting)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.mark.parametrize("answer", ["nothing listens", "no SSH greeting"])
def test_check_goes_on_quickly_without_a_balancer_it_cannot_reach(clone, silent_listener, answer):
    port = free_port() if answer == "nothing listens" else silent_listener
    settings = clone / "unreachable.py"
    settings.write_text(
        f"from pelicanconf import *  # noqa\nBALANCER = {{**BALANCER, 'ssh_port': {port}}}\n"
    )
    started = time.monotonic()
    result = fab_check(clone, "--settings", settings.name)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    said = [line for line in result.stdout.splitlines() if "not reachable" in line]
    assert len(said) == 1, result.stdout
    assert said[0].startswith(f"     skipped: deploy@127.0.0.1:{port} is not reachable over SSH (")
    # paramiko alone waits 15 s for a greeting; the check gives up after REACH_TIMEOUT.
    assert elapsed < REACH_TIMEOUT + 8, elapsed


def test_check_refuses_the_development_build_under_production_names(clone):
    result = fab_check(clone, "--settings", "publishconf.py")
    assert result.returncode == 1
    assert (
        "built for http://localhost:8000, not blog.example.org: build with publishconf.py first"
        in result.stdout
    )


def test_check_prints_the_binarys_own_error(clone, tmp_path):
    cfg = clone / "deploy/build/haproxy/haproxy.cfg"
    original = cfg.read_text()
    cfg.write_text(original.replace("defaults\n", "defaults\n    no-such-keyword on\n"))
    try:
        result = fab_check(clone)
    finally:
        cfg.write_text(original)
    assert result.returncode == 1
    assert "FAIL haproxy -c" in result.stdout
    assert "unknown keyword 'no-such-keyword'" in result.stdout, result.stdout


@pytest.mark.parametrize(("hours", "warned"), [(14 * 24 - 1, True), (14 * 24 + 1, False)])
def test_under_14_days_left_is_a_warning(hours, warned):
    now = datetime(2030, 1, 1, tzinfo=UTC)
    certificate = Certificate(
        "/p.pem", "on this machine", ("a.example",), now + timedelta(hours=hours)
    )
    names, expiry = certificate.report(now)
    assert names == "certificate /p.pem (on this machine): a.example"
    assert expiry.endswith("days left  WARNING: under 14 days left") == warned, expiry


@pytest.mark.parametrize(("days", "warned"), [(5, True), (60, False)])
def test_check_warns_when_a_certificate_here_has_under_14_days_left(clone, tmp_path, days, warned):
    pem = tmp_path / "site.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", str(days), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    pem.write_bytes((tmp_path / "cert.pem").read_bytes() + (tmp_path / "key.pem").read_bytes())
    settings = clone / f"short-{days}.py"
    settings.write_text(f"from pelicanconf import *  # noqa\nHAPROXY_TLS_PEM = {str(pem)!r}\n")
    result = fab_check(clone, "--settings", settings.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok   certificate {pem}" in result.stdout
    assert "days left" in result.stdout
    assert ("WARNING: under 14 days left" in result.stdout) == warned
