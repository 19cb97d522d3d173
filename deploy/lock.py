"""One deploy at a time: a lock file on every host, created atomically, naming its holder."""

from __future__ import annotations

import getpass
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

from fabric import Connection

from deploy import commands
from deploy.errors import DeployError
from deploy.hosts import Hosts
from deploy.ssh import run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldLock:
    """A lock somebody else holds."""

    holder: str
    age: int

    def describe(self) -> str:
        return f"held ({self.holder}) for {self.age}s"


def lock_text(purpose: str) -> str:
    """What a lock says: who (user@host, pid), since when, what for."""
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    who = f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
    return f"holder={who} since={since} for={purpose}\n"


def inspect(conn: Connection, path: PurePosixPath, host: str) -> HeldLock | None:
    """The lock at `path`, or None when nobody holds it."""
    out = run(conn, commands.read_lock(path), host=host, step="lock: inspect").stdout
    if not out.strip():
        return None
    lines = out.strip().splitlines()
    age = int(lines[-1].removeprefix("age=")) if lines[-1].startswith("age=") else 0
    holder = " ".join(line for line in lines if not line.startswith("age=")).strip()
    return HeldLock(holder or "an empty lock file", age)


def acquire(
    conn: Connection, path: PurePosixPath, host: str, purpose: str, *, break_lock: bool
) -> None:
    """Create the lock, or raise DeployError naming its holder and age."""
    if break_lock:
        held = inspect(conn, path, host)
        if held is not None:
            log.warning("%s: breaking lock %s (%s)", host, path, held.describe())
            run(conn, commands.remove([path]), host=host, step="lock: break")
    result = run(
        conn,
        commands.create_lock(path),
        host=host,
        step="lock",
        stdin=lock_text(purpose),
        check=False,
    )
    if result.exited != 0:
        held = inspect(conn, path, host)
        why = held.describe() if held else result.stderr.strip()
        raise DeployError(
            host, "lock", f"{path} is {why}; rerun with --break-lock if that deploy is dead"
        )


def refuse_if_held(conn: Connection, path: PurePosixPath, host: str) -> None:
    """Fail fast, before building, when another deploy holds the lock."""
    held = inspect(conn, path, host)
    if held is not None:
        raise DeployError(
            host,
            "lock",
            f"{path} is {held.describe()}; rerun with --break-lock if that deploy is dead",
        )


def release(conn: Connection, path: PurePosixPath, host: str) -> None:
    """Remove our lock."""
    run(conn, commands.remove([path]), host=host, step="unlock")


def refuse_if_any_held(hosts: Hosts) -> None:
    """Fail fast when another deploy holds any host's lock."""
    for host, conn, path in hosts.lock_paths():
        refuse_if_held(conn, path, host)


@contextmanager
def locked(hosts: Hosts, purpose: str, *, break_lock: bool) -> Iterator[None]:
    """Hold every host's lock for the block; release those taken, whatever happens."""
    held: list[tuple[str, Connection, PurePosixPath]] = []
    try:
        for host, conn, path in hosts.lock_paths():
            acquire(conn, path, host, purpose, break_lock=break_lock)
            held.append((host, conn, path))
        yield
    finally:
        for host, conn, path in held:
            try:
                release(conn, path, host)
            except DeployError as error:
                log.warning("%s", error)
