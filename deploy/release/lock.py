"""One deploy at a time: a lock file on every host, created atomically, naming its holder."""

from __future__ import annotations

import getpass
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

from fabric import Connection

from deploy.errors import DeployError
from deploy.hosts import scripts
from deploy.hosts.fleet import Hosts
from deploy.hosts.ssh import run
from deploy.release import commands

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
    command = scripts.command("read_lock", lock=path)
    out = scripts.output("read_lock", run(conn, command, host=host, step="lock: inspect").stdout)
    age = out.get("age")
    if age is None:
        return None
    holder = " ".join(out.every("content")).strip()
    return HeldLock(holder or "an empty lock file", int(age))


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


def release(conn: Connection, path: PurePosixPath, host: str) -> None:
    """Remove our lock."""
    run(conn, commands.remove([path]), host=host, step="unlock")


@contextmanager
def locked(hosts: Hosts, purpose: str, *, break_lock: bool) -> Iterator[None]:
    """Hold every host's lock for the block; release those taken, whatever happens."""

    def take(conn: Connection, path: PurePosixPath, host: str) -> None:
        acquire(conn, path, host, purpose, break_lock=break_lock)

    held: list[tuple[str, Connection, PurePosixPath]] = []
    try:
        held, errors = _each_lock(hosts, take)
        if errors:
            raise errors[0]
        yield
    finally:
        _, errors = _each_lock(hosts, release, only=held)
        for error in errors:
            log.warning("%s", error)


def _each_lock(
    hosts: Hosts,
    work: Callable[[Connection, PurePosixPath, str], None],
    only: list[tuple[str, Connection, PurePosixPath]] | None = None,
) -> tuple[list[tuple[str, Connection, PurePosixPath]], list[DeployError]]:
    """Run `work` on every host's lock at once (one round trip, not one per host); return the
    locks it succeeded on and the failures, both in the hosts' order."""
    locks = hosts.lock_paths() if only is None else only
    if not locks:
        return [], []
    with ThreadPoolExecutor(max_workers=len(locks)) as pool:
        futures = [pool.submit(work, conn, path, host) for host, conn, path in locks]
    done, errors = [], []
    for lock, future in zip(locks, futures, strict=True):
        error = future.exception()
        if error is None:
            done.append(lock)
        elif isinstance(error, DeployError):
            errors.append(error)
        else:
            errors.append(DeployError(lock[0], "lock", repr(error)))
    return done, errors
