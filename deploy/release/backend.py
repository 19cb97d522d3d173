"""What the deploy does on one nginx backend: read its state, stage, flip, check, prune."""

from __future__ import annotations

import logging
import math
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fabric import Config, Connection

from deploy.errors import DeployError
from deploy.hosts import scripts
from deploy.hosts.ssh import describe, run, ssh_command
from deploy.inventory import Inventory, Precompression
from deploy.release import commands
from deploy.release.layout import Layout
from plugins import contract
from plugins.contract import VHOST
from plugins.settings.hosts import Backend
from plugins.webperf.compress import BROTLI_WINDOW

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendState:
    """What a backend serves now and which releases it keeps."""

    live: str | None
    live_config: str | None
    releases: tuple[str, ...]

    def previous(self) -> str | None:
        """The newest release older than the live one."""
        older = [release for release in self.releases if self.live and release < self.live]
        return older[-1] if older else None


@dataclass(frozen=True)
class Transfer:
    """What rsync sent to one backend."""

    files: int
    bytes_sent: int
    changed: tuple[str, ...]


def read_state(conn: Connection, backend: Backend) -> BackendState:
    """The live release, the live vhost and the releases on disk."""
    command = scripts.command("read_state", root=backend.root)
    out = scripts.output("read_state", run(conn, command, host=backend.name, step="state").stdout)
    live = (out.get("current") or "").removeprefix("releases/") or None
    return BackendState(live, out.get("config") or None, tuple(sorted(out.every("release"))))


def config_digest(conn: Connection, backend: Backend, config_id: str | None) -> str:
    """A checksum of a release's vhost folder ("" when there is none)."""
    if config_id is None:
        return ""
    command = scripts.command("directory_digest", path=Layout(backend.root).config(config_id))
    result = run(conn, command, host=backend.name, step="config digest")
    return scripts.output("directory_digest", result.stdout).get("digest") or ""


def live_files(conn: Connection, backend: Backend, live: str | None) -> set[str]:
    """The files of the live release, relative to it (none before a first publish)."""
    if live is None:
        return set()
    command = commands.list_files(Layout(backend.root).release(live))
    return set(
        run(conn, command, host=backend.name, step="stage: list live files").stdout.split("\n")
    )


def transfer(
    config: Config,
    backend: Backend,
    output: Path,
    release_id: str,
    live: str | None,
    exclude_from: Path | None = None,
) -> Transfer:
    """rsync the build into releases/<id>/, hard-linking unchanged files from the live one."""
    layout = Layout(backend.root)
    link_dest = layout.release(live) if live else None
    ssh = ssh_command(backend.ssh, config)
    argv = commands.rsync_release(
        output, backend.ssh, ssh, layout.release(release_id), link_dest, exclude_from
    )
    log.debug("%s: %s", backend.name, argv)
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-4:]) or "no output"
        raise DeployError(backend.name, "stage: rsync", f"exit {result.returncode}: {tail}")
    return parse_rsync(result.stdout)


def parse_rsync(stdout: str) -> Transfer:
    """Files and bytes from `--stats`, and the paths from `--out-format=%i %n`.

    A file sent to a remote host is itemized `<f...`, one copied locally `>f...`.
    """
    changed = [line[12:] for line in stdout.splitlines() if line[:2] in {"<f", ">f"}]
    files = _stat(stdout, "Number of regular files transferred")
    return Transfer(files, _stat(stdout, "Total bytes sent"), tuple(changed))


def _stat(stdout: str, label: str) -> int:
    match = re.search(rf"^{label}: ([\d,]+)", stdout, re.MULTILINE)
    return int(match.group(1).replace(",", "")) if match else 0


def make_siblings(
    conn: Connection,
    backend: Backend,
    release_id: str,
    live: str,
    stamp: int,
    precompression: Precompression,
    siblings: list[str],
) -> int:
    """Link or compress, in the staged release, the siblings rsync left out; return how many
    were compressed (the others were hard-linked from the live release)."""
    if not siblings:
        return 0
    layout = Layout(backend.root)
    command = scripts.command(
        "make_siblings",
        new=layout.release(release_id),
        live=layout.release(live),
        stamp=stamp,
        gzip_level=precompression.gzip_level,
        brotli_quality=precompression.brotli_quality,
        brotli_window=BROTLI_WINDOW,
    )
    stdin = "".join(f"{path}\n" for path in siblings)
    out = run(conn, command, host=backend.name, step="stage: precompress", stdin=stdin).stdout
    return int(scripts.output("make_siblings", out).value("made"))


def finish_stage(
    conn: Connection,
    backend: Backend,
    release_id: str,
    live: str | None,
    stamp: int,
    changed: tuple[str, ...],
) -> None:
    """Stamp what travelled and carry fingerprinted assets between live and new release."""
    command = scripts.command(
        "finish_stage",
        root=backend.root,
        id=release_id,
        live=live or "",
        stamp=stamp,
        regex=contract.FINGERPRINTED_FIND_REGEX,
    )
    stdin = "".join(f"{path}\n" for path in changed)
    run(conn, command, host=backend.name, step="stage: carry assets", stdin=stdin)


def stage_config(
    conn: Connection, backend: Backend, inventory: Inventory, release_id: str, vhost: str
) -> None:
    """Upload the release's vhost beside the live one and `nginx -t` it on the backend."""
    layout = Layout(backend.root)
    staged = layout.config(release_id) / VHOST
    test_command = commands.fill(backend.nginx_test_command, conf=layout.test_conf)
    command = scripts.command(
        "stage_config",
        vhost=staged,
        test_conf=layout.test_conf,
        test_conf_text=test_main_conf(inventory, staged),
        test_command=test_command,
    )
    result = run(conn, command, host=backend.name, step="stage: vhost", stdin=vhost, check=False)
    if result.exited != 0:
        step = scripts.output("stage_config", result.stdout).get("step") or "stage: vhost"
        raise DeployError(backend.name, step, describe(result))


def test_main_conf(inventory: Inventory, vhost: object) -> str:
    """A main nginx.conf that loads what the vhost needs, and the vhost: for `nginx -t` only."""
    main = "".join(f"{line}\n" for line in inventory.deploy.nginx_test_main)
    http = "".join(f"    {line}\n" for line in inventory.deploy.nginx_test_http)
    return (
        "# Written by `fab publish` to check a staged vhost; the running nginx never loads it.\n"
        f"{main}events {{}}\nhttp {{\n{http}    include {vhost};\n}}\n"
    )


def flip_and_check(
    conn: Connection,
    backend: Backend,
    site_host: str,
    release_id: str,
    config_id: str,
    timeout: float,
) -> bool:
    """Switch to a release and its vhost folder, reload nginx if the vhost changed, wait until
    the health file names the release: one SSH round trip. Return whether nginx reloaded."""
    command = scripts.command(
        "flip",
        root=backend.root,
        id=release_id,
        config=config_id,
        reload=backend.nginx_reload_command,
        url=backend.health_url,
        host=site_host,
        timeout=math.ceil(timeout),
    )
    result = run(conn, command, host=backend.name, step=f"flip to {release_id}", check=False)
    out = scripts.output("flip", result.stdout)
    if result.exited == 0:
        return out.get("reloaded") == "yes"
    step = out.get("step") or f"flip to {release_id}"
    if step == "health check":
        seen = out.get("seen", "")
        detail = f"{backend.health_url} answered {seen!r} for {timeout:g}s, expected {release_id!r}"
        raise DeployError(backend.name, step, detail)
    raise DeployError(backend.name, step, describe(result))


# How nginx retitles the workers of the old configuration after a reload, until they exit.
RETIRING_WORKER = "^nginx: worker process is shutting down"


def wait_reload_settled(conn: Connection, backend: Backend, settle: float, timeout: float) -> int:
    """After a reload signal: wait `settle` seconds (nginx handles the signal asynchronously),
    then until no old worker is left, at most `timeout`; return how many are left."""
    time.sleep(settle)
    deadline = time.monotonic() + timeout
    while True:
        result = run(
            conn,
            ["pgrep", "-c", "-f", RETIRING_WORKER],
            host=backend.name,
            step="reload: old workers",
            check=False,
        )
        left = int(result.stdout.strip() or 0)
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def discard(conn: Connection, backend: Backend, release_id: str) -> None:
    """Remove a staged release that never went live, and the assets it lent to the live one."""
    command = scripts.command("discard", root=backend.root, id=release_id)
    run(conn, command, host=backend.name, step="discard staged release")


def prune(conn: Connection, backend: Backend, keep: int, protect: set[str]) -> list[str]:
    """Remove the oldest releases beyond `keep`, never one in `protect`; return them."""
    state = read_state(conn, backend)
    protected = protect | {state.live or ""}
    surplus = [
        release
        for release in state.releases[: max(len(state.releases) - keep, 0)]
        if release not in protected
    ]
    if surplus:
        layout = Layout(backend.root)
        paths = [
            path
            for release in surplus
            for path in (
                layout.release(release),
                layout.carried(release),
                layout.lent(release),
                layout.config(release),
            )
        ]
        run(conn, commands.remove(paths), host=backend.name, step="prune")
    return surplus
