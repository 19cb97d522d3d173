"""`fab publish --dry-run`: what would change on each host, touching none of them."""

from __future__ import annotations

import difflib
import logging
import subprocess

from fabric import Connection

from deploy.errors import DeployError
from deploy.hosts.fleet import Hosts
from deploy.hosts.ssh import run, ssh_command
from deploy.progress import Progress
from deploy.release import backend as remote
from deploy.release import commands, haproxy, siblings
from deploy.release.layout import Layout
from plugins import contract
from plugins.settings.hosts import Backend

log = logging.getLogger(__name__)


def preview(hosts: Hosts, vhosts: dict[str, str], haproxy_cfg: str, progress: Progress) -> None:
    """Print rsync's itemized changes and a diff of each generated config against the live one."""
    inventory = hosts.inventory

    def one(backend: Backend, conn: Connection) -> str:
        state = remote.read_state(conn, backend)
        layout = Layout(backend.root)
        live = layout.release(state.live) if state.live else None
        made_there = siblings.made_on_backend(
            inventory.output_path,
            remote.live_files(conn, backend, state.live),
            inventory.precompression,
        )
        ssh = ssh_command(backend.ssh, hosts.config)
        with siblings.exclude_file(made_there) as exclude:
            argv = commands.rsync_preview(inventory.output_path, backend.ssh, ssh, live, exclude)
            result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = " | ".join(result.stderr.strip().splitlines()[-4:])
            raise DeployError(backend.name, "dry run: rsync", f"exit {result.returncode}: {tail}")
        live_vhost = ""
        if state.live_config:
            path = layout.config(state.live_config) / contract.VHOST
            live_vhost = run(conn, ["cat", str(path)], host=backend.name, step="read vhost").stdout
        changes = [line for line in result.stdout.splitlines() if line.strip()]
        # Siblings of changed files do not travel: the backend compresses them (siblings.py).
        changed = {line[12:] for line in changes if line[:2] in {"<f", ">f"}}
        changes += [f"{'*compress':<11} {path}" for path in made_there if path[:-3] in changed]
        report = [f"== {backend.name}: live {state.live or 'none'}, {len(changes)} change(s)"]
        report += [f"  {line}" for line in changes]
        report += _diff(live_vhost, vhosts[backend.name], f"{backend.name}:{contract.VHOST}")
        return "\n".join(report)

    for text in hosts.each_backend(one).values():
        print(text, flush=True)
    live_cfg = haproxy.live_text(hosts.balancer, inventory.balancer)
    print("== balancer", flush=True)
    print("\n".join(_diff(live_cfg, haproxy_cfg, f"balancer:{haproxy.CONFIG_FILE}")), flush=True)
    progress("all", "dry-run", "nothing was changed on any host")


def _diff(live: str, new: str, name: str) -> list[str]:
    lines = list(
        difflib.unified_diff(
            live.splitlines(), new.splitlines(), f"{name} (live)", f"{name} (new)", lineterm=""
        )
    )
    return lines or [f"  {name}: unchanged"]
