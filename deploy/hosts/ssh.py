"""SSH to the hosts: Fabric connections for commands, the same identity for rsync's ssh."""

from __future__ import annotations

import logging
import shlex
import socket
import threading
import weakref
from collections.abc import Sequence

from fabric import Config, Connection
from invoke.runners import Result
from paramiko import Transport

from deploy.errors import DeployError
from deploy.hosts.remote_shell import RemoteShell
from plugins.settings.hosts import SshTarget

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10

# Each connection's remote shell; an entry goes with its connection's transport.
_shells: weakref.WeakKeyDictionary[Transport, RemoteShell] = weakref.WeakKeyDictionary()
_shells_lock = threading.Lock()


def connect(target: SshTarget, config: Config, timeout: int | None = None) -> Connection:
    """A Connection to `target` that carries `fab`'s -i identity and -S ssh_config.

    `timeout`: give up after that many seconds at each of connecting, the server's greeting
    and the login (a check that goes on without a host it cannot reach); by default
    CONNECT_TIMEOUT to connect, then paramiko's own longer waits.
    """
    if timeout is not None:
        config = config.clone()
        config.connect_kwargs["banner_timeout"] = timeout
        config.connect_kwargs["auth_timeout"] = timeout
    return Connection(
        target.host,
        user=target.user,
        port=target.port,
        config=config,
        connect_timeout=timeout or CONNECT_TIMEOUT,
    )


def why_unreachable(conn: Connection) -> str | None:
    """Connect now: None, or why the host cannot be reached."""
    try:
        _open(conn)
    except Exception as error:  # paramiko and socket errors all mean "the host is unreachable"
        return str(error) or type(error).__name__
    return None


def ssh_command(target: SshTarget, config: Config) -> str:
    """The `ssh` command line rsync's -e runs: same port, user, identity and ssh_config."""
    argv = ["ssh", "-p", str(target.port), "-l", target.user]
    argv += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
    # `fab -S` is kept only on the Config's private runtime path; fabric.yml uses the public key.
    ssh_config = getattr(config, "_runtime_ssh_path", None) or config.get("ssh_config_path")
    if ssh_config:
        argv += ["-F", str(ssh_config)]
    keys = config.connect_kwargs.get("key_filename") or []
    for key in [keys] if isinstance(keys, str) else keys:
        argv += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    return shlex.join(argv)


def run(
    conn: Connection,
    command: str | Sequence[str],
    *,
    host: str,
    step: str,
    stdin: str | None = None,
    check: bool = True,
) -> Result:
    """Run `command` on `conn`; a non-zero exit raises DeployError naming `host` and `step`."""
    line = command if isinstance(command, str) else shlex.join(command)
    log.debug("%s: %s: %s", host, step, line)
    try:
        result = _exec(conn, line, stdin or "")
    except Exception as error:  # paramiko and socket errors all mean "the host is unreachable"
        where = f"{conn.user}@{conn.host}:{conn.port}"
        raise DeployError(host, step, f"SSH to {where}: {error}") from error
    if check and result.exited != 0:
        raise DeployError(host, step, describe(result))
    return result


def as_root(
    conn: Connection, host: str, step: str, command: str, sudo: bool, stdin: str = ""
) -> Result:
    """Run `command` as root (through `sudo -n` when `sudo`); the caller reads its exit."""
    line = f"sudo -n {command}" if sudo else command
    return run(conn, line, host=host, step=step, stdin=stdin, check=False)


def _open(conn: Connection) -> None:
    """Connect once, with Nagle's algorithm off.

    Each command is a few small SSH messages; with Nagle on, the second waits for the peer's
    delayed ACK, which costs 40 ms a command on Linux (measured: 45 ms a command, 3 ms without).
    """
    if conn.is_connected:
        return
    conn.open()
    conn.client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _exec(conn: Connection, line: str, stdin: str) -> Result:
    """Run `line` in the host's remote shell (one per connection, started on first use)."""
    _open(conn)
    transport = conn.client.get_transport()
    with _shells_lock:
        shell = _shells.get(transport)
    if shell is None or not shell.alive:
        # Started outside the lock: hosts start theirs at once. One host is driven by one
        # thread at a time, so no two shells start for the same connection.
        shell = RemoteShell(transport)
        with _shells_lock:
            _shells[transport] = shell
    outcome = shell.run(line, stdin)
    return Result(
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        command=line,
        exited=outcome.exited,
        hide=("stdout", "stderr"),
    )


def describe(result: Result) -> str:
    """The exit code and the last lines a failed command printed."""
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()[-6:]
    return f"exit {result.exited}: " + (" | ".join(text) if text else "no output")
