"""The balancer: haproxy's runtime API (drain, ready, states) and its config file."""

from __future__ import annotations

import hashlib
import logging
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from fabric import Connection

from deploy.errors import DeployError
from deploy.hosts.ssh import run
from deploy.release import commands
from plugins.settings.hosts import Balancer

log = logging.getLogger(__name__)

CONFIG_FILE = "haproxy.cfg"
HOST = "balancer"


@dataclass(frozen=True)
class ServerState:
    """One `server` line of one haproxy backend, as the runtime API reports it."""

    backend: str
    server: str
    operational: str
    admin: str
    sessions: int


# srv_op_state and srv_admin_state of `show servers state` (haproxy's server.h).
SHOW = "show servers state; show stat"
OPERATIONAL = {"0": "stopped", "1": "starting", "2": "running", "3": "stopping"}


def runtime(conn: Connection, balancer: Balancer, command: str, step: str) -> str:
    """Send one runtime API command and return haproxy's answer."""
    line = commands.runtime_api(balancer.runtime_socket, command, sudo=balancer.ssh.user != "root")
    return run(conn, line, host=HOST, step=step).stdout


def servers(conn: Connection, balancer: Balancer) -> list[ServerState]:
    """Every server haproxy knows, with its states and current sessions."""
    # One round trip: the runtime API runs `;`-separated commands in turn.
    return _parse(runtime(conn, balancer, SHOW, "haproxy: show servers"))


def _parse(text: str) -> list[ServerState]:
    """The answer to SHOW: `show servers state`, then `show stat` (CSV)."""
    state_text, _, stat_text = text.partition("# pxname,")
    sessions = _sessions("# pxname," + stat_text)
    found = []
    header: list[str] = []
    for line in state_text.splitlines():
        if line.startswith("# be_id"):
            header = line[2:].split()
            continue
        fields = line.split()
        if not header or len(fields) < len(header):
            continue
        row = dict(zip(header, fields, strict=False))
        admin = int(row["srv_admin_state"])
        found.append(
            ServerState(
                backend=row["be_name"],
                server=row["srv_name"],
                operational=OPERATIONAL.get(row["srv_op_state"], row["srv_op_state"]),
                # The admin state is a bit field: MAINT bits (0x01-0x04), DRAIN bits (0x08-0x20).
                admin="maint" if admin & 0x07 else "drain" if admin & 0x38 else "ready",
                sessions=sessions.get((row["be_name"], row["srv_name"]), 0),
            )
        )
    return found


def _sessions(stat_csv: str) -> dict[tuple[str, str], int]:
    lines = stat_csv.splitlines()
    if not lines or not lines[0].startswith("# "):
        return {}
    header = lines[0][2:].split(",")
    result = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("svname") not in {None, "FRONTEND", "BACKEND"}:
            result[(row["pxname"], row["svname"])] = int(row.get("scur") or 0)
    return result


def holders(conn: Connection, balancer: Balancer, server: str) -> list[ServerState]:
    """The `server` lines named `server`, one per haproxy backend that has it."""
    found = [row for row in servers(conn, balancer) if row.server == server]
    if not found:
        raise DeployError(HOST, f"haproxy: find {server}", "no haproxy backend has it")
    return found


def set_state(
    conn: Connection,
    balancer: Balancer,
    server: str,
    state: str,
    backends: list[str] | None = None,
    *,
    health_up: bool = False,
) -> list[ServerState]:
    """`set server <be>/<server> state <state>` in `backends` (default: all that have it);
    return the `server` lines as they are right after, from the same round trip.

    `health_up` also marks it up at once, for a caller that has just checked its health
    itself: haproxy's own checks would take `rise` x `inter` to notice.
    """
    targets = (
        backends if backends is not None else [r.backend for r in holders(conn, balancer, server)]
    )
    lines = [f"set server {backend}/{server} state {state}" for backend in targets]
    if health_up:
        lines += [f"set server {backend}/{server} health up" for backend in targets]
    text = runtime(conn, balancer, "; ".join([*lines, SHOW]), f"haproxy: {state} {server}")
    # A `set` answers nothing when it succeeds; `show servers state` starts with its version.
    answers, header, rest = text.partition("# be_id")
    problems = [line.strip() for line in answers.splitlines() if line.strip() not in {"", "1"}]
    if problems:
        raise DeployError(HOST, f"haproxy: {state} {server}", " | ".join(problems))
    return [row for row in _parse(header + rest) if row.server == server]


def _readings(
    conn: Connection,
    balancer: Balancer,
    server: str,
    timeout: float,
    rows: list[ServerState] | None,
) -> Iterator[tuple[list[ServerState], bool]]:
    """`server`'s lines every 0.1 s, endlessly (first `rows`, if just read), each with whether
    `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        if rows is None:
            rows = [row for row in servers(conn, balancer) if row.server == server]
        yield rows, time.monotonic() > deadline
        time.sleep(0.1)
        rows = None


def wait_drained(
    conn: Connection,
    balancer: Balancer,
    server: str,
    timeout: float,
    rows: list[ServerState] | None = None,
) -> int:
    """Wait until `server` has no sessions (at most `timeout`); return those left.

    `rows`: the server's lines as just read, which saves the first round trip.
    """
    for current, late in _readings(conn, balancer, server, timeout, rows):
        left = sum(row.sessions for row in current)
        if left == 0 or late:
            return left


def wait_running(
    conn: Connection,
    balancer: Balancer,
    server: str,
    timeout: float,
    rows: list[ServerState] | None = None,
) -> None:
    """Wait until haproxy's health checks see `server` up in every backend that has it.

    `rows`: the server's lines as just read, which saves the first round trip.
    """
    for current, late in _readings(conn, balancer, server, timeout, rows):
        if current and all(row.operational == "running" for row in current):
            return
        if late:
            states = ", ".join(f"{row.backend}/{row.server} {row.operational}" for row in current)
            raise DeployError(HOST, f"haproxy: wait for {server} up", states or "not found")


def staging_dir(balancer: Balancer) -> PurePosixPath:
    # `haproxy -f <dir>` reads only the *.cfg files directly inside <dir>, so a subfolder
    # can hold the staged copy without the running haproxy ever loading it.
    return balancer.config_dir / "staging"


def live_text(conn: Connection, balancer: Balancer) -> str:
    """The installed haproxy.cfg ("" when there is none yet)."""
    path = str(balancer.config_dir / CONFIG_FILE)
    result = run(conn, ["cat", path], host=HOST, step="haproxy: read config", check=False)
    return result.stdout if result.exited == 0 else ""


def stage(conn: Connection, balancer: Balancer, text: str) -> None:
    """Upload haproxy.cfg into the staging folder and `haproxy -c` it there."""
    staged = staging_dir(balancer) / CONFIG_FILE
    run(conn, commands.write_file(staged), host=HOST, step="stage: haproxy.cfg", stdin=text)
    command = commands.fill(balancer.haproxy_test_command, config_dir=staging_dir(balancer))
    run(conn, command, host=HOST, step="stage: haproxy -c")


def install(conn: Connection, balancer: Balancer) -> None:
    """Move the staged haproxy.cfg into place (keeping the old one) and reload haproxy."""
    live = balancer.config_dir / CONFIG_FILE
    backup = balancer.config_dir / f"{CONFIG_FILE}.previous"
    staged = staging_dir(balancer) / CONFIG_FILE
    live_q, backup_q, staged_q = (shlex.quote(str(path)) for path in (live, backup, staged))
    command = f"{{ ! [ -e {live_q} ] || cp -p {live_q} {backup_q}; }} && mv -f {staged_q} {live_q}"
    run(conn, command, host=HOST, step="install haproxy.cfg")
    run(conn, balancer.haproxy_reload_command, host=HOST, step="haproxy reload")


def restore(conn: Connection, balancer: Balancer) -> None:
    """Put the previous haproxy.cfg back and reload."""
    live = balancer.config_dir / CONFIG_FILE
    backup = balancer.config_dir / f"{CONFIG_FILE}.previous"
    run(conn, ["mv", "-f", str(backup), str(live)], host=HOST, step="restore haproxy.cfg")
    run(conn, balancer.haproxy_reload_command, host=HOST, step="haproxy reload")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
