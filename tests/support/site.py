"""Building the real site into a temp dir, the way `make site` and `fab publish` do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PELICAN = Path(sys.executable).parent / "pelican"

# Publish builds refuse to emit a stats page without real credentials.
TEST_STATS_ENV = {
    "HAPROXY_STATS_USER": "statsreader",
    "HAPROXY_STATS_PASSWORD": "correct-horse-battery-staple",
}


@dataclass(frozen=True)
class Build:
    """Where one build put the web root and the deploy artefacts."""

    output: Path
    deploy_build: Path
    result: subprocess.CompletedProcess[str]


def build_site(
    tmp: Path,
    settings: str = "pelicanconf.py",
    *,
    content: Path | None = None,
    extra: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    fatal_warnings: bool = True,
    check: bool = True,
    plain_log: bool = False,
    verbose: bool = False,
) -> Build:
    """Run `pelican` with `settings` into `tmp/output` and `tmp/deploy-build`.

    plain_log: bare messages on stderr, one per line, as `fab build` and `fab publish` run it.
    verbose: INFO messages too (what each plugin did).
    """
    output, deploy_build = tmp / "output", tmp / "deploy-build"
    overrides = {"DEPLOY_BUILD_PATH": str(deploy_build), **(extra or {})}
    argv = [str(PELICAN), str(content or REPO / "content"), "-s", str(REPO / settings)]
    argv += ["-o", str(output)]
    if fatal_warnings:
        argv += ["--fatal", "warnings"]
    if plain_log:
        argv += ["--log-handler", "plain"]
    if verbose:
        argv += ["--verbose"]
    argv += ["-e", *(f"{key}={json.dumps(value)}" for key, value in overrides.items())]
    result = subprocess.run(
        argv,
        cwd=REPO,
        env={**os.environ, **TEST_STATS_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"pelican failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return Build(output, deploy_build, result)


def copy_project(root: Path) -> Path:
    """What `fab` loads and builds, copied under `root` (the virtualenv linked), so that
    nothing a test runs writes into the repository."""
    skip = shutil.ignore_patterns("build", "__pycache__")
    for name in ("fabfile.py", "pelicanconf.py", "publishconf.py"):
        shutil.copy2(REPO / name, root / name)
    for name in ("deploy", "plugins", "theme", "content"):
        shutil.copytree(REPO / name, root / name, ignore=skip)
    (root / ".venv").symlink_to(REPO / ".venv")
    return root
