"""`fab check` on a workstation: a clean copy of the repository, its development build, and the
local nginx and haproxy, with no certificate where the balancer keeps the real one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
