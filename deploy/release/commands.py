"""One-line shell commands run on the hosts, built from argv lists (pure: no I/O here).

What takes more than a line is a script in deploy/remote/ (see deploy/scripts.py).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from plugins.contract import FINGERPRINTED_RSYNC_GLOB
from plugins.settings.hosts import SshTarget


def rsync_release(
    output: Path,
    target: SshTarget,
    ssh: str,
    destination: PurePosixPath,
    link_dest: PurePosixPath | None,
    exclude_from: Path | None = None,
) -> list[str]:
    """rsync a build into a new release directory, hard-linking what the live one has.

    --checksum, not size+mtime: Pelican rewrites every file on every build, so only content
    tells what changed. No --times: a hard link needs identical attributes, and the stage
    step stamps the files that did travel with the release time instead.
    """
    argv = ["rsync", "--recursive", "--links", "--checksum", "--stats", "--no-human-readable"]
    argv += ["--out-format=%i %n", "--timeout=60", "-e", ssh]
    if link_dest is not None:
        argv.append(f"--link-dest={link_dest}")
    if exclude_from is not None:
        argv.append(f"--exclude-from={exclude_from}")
    return [*argv, f"{output}/", f"{target.rsync_host}:{destination}/"]


def rsync_preview(
    output: Path,
    target: SshTarget,
    ssh: str,
    live: PurePosixPath | None,
    exclude_from: Path | None = None,
) -> list[str]:
    """A dry run against the live release: what a publish would send or remove."""
    argv = ["rsync", "--dry-run", "--itemize-changes", "--recursive", "--links", "--checksum"]
    if exclude_from is not None:
        argv.append(f"--exclude-from={exclude_from}")
    # Fingerprinted files missing from the build are carried forward, not deleted.
    argv += ["--delete", f"--filter=P {FINGERPRINTED_RSYNC_GLOB}", "--timeout=60", "-e", ssh]
    source = f"{output}/"
    if live is None:
        return [*argv, source, f"{target.rsync_host}:/nonexistent-release/"]
    return [*argv, source, f"{target.rsync_host}:{live}/"]


def list_files(path: PurePosixPath) -> str:
    """Every file under `path`, relative to it, one per line."""
    return f"find {shlex.quote(str(path))} -type f -printf '%P\\n'"


def write_file(path: PurePosixPath) -> str:
    """Write stdin to `path` (creating its folder) through a temp name and a rename."""
    temp = f"{path}.tmp"
    return " && ".join(
        [
            shlex.join(["mkdir", "-p", str(path.parent)]),
            f"cat > {shlex.quote(temp)}",
            shlex.join(["mv", "-f", temp, str(path)]),
        ]
    )


def remove(paths: Sequence[PurePosixPath]) -> str:
    """Remove release folders and files."""
    return shlex.join(["rm", "-rf", "--", *(str(path) for path in paths)])


def create_lock(path: PurePosixPath) -> str:
    """Create `path` from stdin only if it does not exist (noclobber opens with O_EXCL)."""
    return f"set -C && cat > {shlex.quote(str(path))}"


def runtime_api_argv(socket: PurePosixPath) -> list[str]:
    """The client that passes stdin to haproxy's runtime API (`fab setup` lets it run as root)."""
    return ["socat", "-t", "10", "-", f"UNIX-CONNECT:{socket}"]


def runtime_api(socket: PurePosixPath, command: str, *, sudo: bool) -> str:
    """Send one command to haproxy's runtime API over its admin socket."""
    socat = runtime_api_argv(socket)
    if sudo:
        socat = ["sudo", "-n", *socat]
    return f"printf '%s\\n' {shlex.quote(command)} | {shlex.join(socat)}"


def fill(template: str, **values: PurePosixPath | str) -> str:
    """Put shell-quoted paths into a command template from the inventory ({conf} etc.)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", shlex.quote(str(value)))
    return template
