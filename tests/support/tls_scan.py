"""sslyze (PyPI) in a virtualenv of its own, and Mozilla's TLS profile checks with it.

sslyze 6.3.1 needs cryptography<47 while the project pins cryptography 50, so it cannot share
the project's virtualenv: `requirements-sslyze.txt` pins it and its dependencies, and this
module builds a virtualenv from that file under ~/.cache/blog-tests/ when it is missing (the
file's digest names it, so a changed pin builds a new one).

API:
- `Endpoint(name, hostname, ip, port, profile)`: one TLS listener to scan.
- `mozilla_check(endpoints) -> dict[str, dict]`: scan every endpoint at once with sslyze and
  check it against Mozilla's `profile`; {name: {"issues": {check: message}, "groups": [...],
  "versions": [...]}} (see tests/support/sslyze_mozilla_check.py).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.trixie import CACHE

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements-sslyze.txt"
CHECK_SCRIPT = Path(__file__).with_name("sslyze_mozilla_check.py")


@dataclass(frozen=True)
class Endpoint:
    """A TLS listener on loopback and the Mozilla profile it should meet."""

    name: str
    hostname: str
    ip: str
    port: int
    profile: str


def _python() -> Path:
    """The sslyze virtualenv's Python, built from requirements-sslyze.txt when missing."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = CACHE / f"sslyze-{digest}"
    python = venv / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".sslyze.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            # The base interpreter, not the project's virtualenv: nothing of it leaks in.
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
                check=True,
                timeout=900,
            )
            (venv / "complete").write_text(REQUIREMENTS.read_text(), encoding="utf-8")
    return python


def mozilla_check(endpoints: list[Endpoint]) -> dict[str, dict[str, Any]]:
    """sslyze's scan and Mozilla profile check of every endpoint, by endpoint name."""
    argument = json.dumps([dataclasses.asdict(e) for e in endpoints])
    result = subprocess.run(
        [str(_python()), str(CHECK_SCRIPT), argument],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"sslyze failed:\n{result.stderr}")
    return json.loads(result.stdout)
