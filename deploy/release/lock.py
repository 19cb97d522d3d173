"""One deploy at a time: a lock file on every host, created atomically, naming its holder.

The balancer's lock is taken first and alone: of two deploys started together exactly one
gets it, and only that one goes on to take the backends' locks (all at once).
"""

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
from deploy.release.layout import Layout, balancer_lock

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
        if held is not None:
            raise DeployError(
                host,
                "lock",
                f"{path} is {held.describe()}; rerun with --break-lock if that deploy is dead",
            )
        if "File exists" in result.stderr:
            # Its holder let it go between our attempt and our look at it.
            raise DeployError(
                host, "lock", f"{path} was held by another deploy, which has just ended; rerun"
            )
        raise DeployError(host, "lock", f"cannot create {path}: {result.stderr.strip()}")


def release(conn: Connection, path: PurePosixPath, host: str) -> None:
    """Remove our lock."""
    run(conn, commands.remove([path]), host=host, step="unlock")


def lock_paths(hosts: Hosts) -> list[tuple[str, Connection, PurePosixPath]]:
    """Every host's lock file: the balancer's config folder first (every deploy needs the
    balancer, so its lock guards the others), then each backend's root."""
    balancer = hosts.inventory.balancer
    locks = [
        (b.name, hosts.backends[b.name], Layout(b.root).lock) for b in hosts.inventory.backends
    ]
    return [("balancer", hosts.balancer, balancer_lock(balancer.config_dir)), *locks]


@contextmanager
def locked(hosts: Hosts, purpose: str, *, break_lock: bool) -> Iterator[None]:
    """Hold every host's lock for the block; release those taken, whatever happens."""

    def take(conn: Connection, path: PurePosixPath, host: str) -> None:
        acquire(conn, path, host, purpose, break_lock=break_lock)

    guard, *others = lock_paths(hosts)
    held: list[tuple[str, Connection, PurePosixPath]] = []
    try:
        take(guard[1], guard[2], guard[0])
        held.append(guard)
        done, errors = _each_lock(others, take)
        held += done
        if errors:
            raise errors[0]
        yield
    finally:
        # The guard goes last: nobody else may start while a backend is still locked.
        _, errors = _each_lock([lock for lock in held if lock is not guard], release)
        if guard in held:
            _, more = _each_lock([guard], release)
            errors += more
        for error in errors:
            log.warning("%s", error)


def _each_lock(
    locks: list[tuple[str, Connection, PurePosixPath]],
    work: Callable[[Connection, PurePosixPath, str], None],
) -> tuple[list[tuple[str, Connection, PurePosixPath]], list[DeployError]]:
    """Run `work` on each of `locks` at once (one round trip, not one per host); return the
    locks it succeeded on and the failures, both in the order of `locks`."""
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
