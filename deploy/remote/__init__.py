"""The shell scripts that run on the hosts (deploy/remote/*.sh), and reading what they print.

Each script starts with a header naming its arguments (`# args:`) and the `key=value` lines
it prints (`# prints:`); on failure it prints `step=<what failed>` and exits non-zero.
"""

from __future__ import annotations

import shlex
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def script(name: str, *args: str, sudo: bool = False) -> str:
    """The command line that runs deploy/remote/<name>.sh with `args` (through `sudo -n`)."""
    text = (SCRIPTS / f"{name}.sh").read_text(encoding="utf-8")
    argv = ["sh", "-c", text, name, *args]
    return shlex.join(["sudo", "-n", *argv] if sudo else argv)


def parse(stdout: str) -> dict[str, str]:
    """The `key=value` lines a script printed (a later line wins)."""
    values = {}
    for line in stdout.splitlines():
        key, equals, value = line.partition("=")
        if equals and key.isidentifier():
            values[key] = value
    return values
