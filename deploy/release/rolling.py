"""Flipping backends one at a time behind haproxy, and putting them back."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from deploy.errors import DeployError
from deploy.hosts.fleet import Hosts
from deploy.progress import Progress
from deploy.release import backend as remote
from deploy.release import haproxy
from plugins.settings.hosts import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """What a backend should serve: a release and the vhost folder that goes with it."""

    release: str
    config: str


def flip_one(
    hosts: Hosts,
    backend: Backend,
    target: Target,
    progress: Progress,
    rows: list[haproxy.ServerState] | None = None,
) -> None:
    """Drain in haproxy, switch `current`, reload nginx if its vhost changed, check, ready.

    `rows`: the backend's `server` lines, read before the flips began (saves a round trip).
    """
    inventory = hosts.inventory
    conn, lb = hosts.backends[backend.name], hosts.balancer
    rows = rows or haproxy.holders(lb, inventory.balancer, backend.name)
    holders = [row.backend for row in rows]
    after = haproxy.set_state(lb, inventory.balancer, backend.name, "drain", holders)
    left = haproxy.wait_drained(
        lb, inventory.balancer, backend.name, inventory.deploy.drain_timeout, after
    )
    if left:
        progress(backend.name, "drain", f"{left} session(s) still open, flipping anyway")
    else:
        progress(backend.name, "drain", "no sessions left")
    reloaded = remote.flip_and_check(
        conn,
        backend,
        inventory.site.host,
        target.release,
        target.config,
        inventory.deploy.health_timeout,
    )
    if reloaded:
        progress(
            backend.name, "flip", f"current -> {target.release}, nginx reloaded (vhost changed)"
        )
        # Still drained: once ready, it may soon be the only server haproxy has (the next
        # one drains), and haproxy's retries cannot leave it then.
        left = remote.wait_reload_settled(
            conn, backend, inventory.deploy.reload_settle, inventory.deploy.health_timeout
        )
        if left:
            progress(backend.name, "reload", f"{left} old nginx worker(s) still busy, going on")
    else:
        progress(backend.name, "flip", f"current -> {target.release} (vhost unchanged)")
    # Down in haproxy before (a first release has no health file yet): the health file just
    # named the release, so there is no need to wait out haproxy's own checks.
    was_down = any(row.operational != "running" for row in rows)
    after = haproxy.set_state(
        lb, inventory.balancer, backend.name, "ready", holders, health_up=was_down
    )
    # The next backend is drained only once haproxy sends traffic to this one again.
    haproxy.wait_running(
        lb, inventory.balancer, backend.name, inventory.deploy.health_timeout, after
    )
    progress(backend.name, "ready", f"serving {target.release}")


def roll_back(
    hosts: Hosts, previous: dict[str, Target | None], flipped: list[Backend], progress: Progress
) -> list[str]:
    """Put each flipped backend back on its previous target; return what could not be."""
    failures = []
    for backend in reversed(flipped):
        target = previous[backend.name]
        if target is None:
            failures.append(f"{backend.name}: it had no release before this one to go back to")
            continue
        progress(backend.name, "rollback", f"back to {target.release}")
        try:
            flip_one(hosts, backend, target, progress)
        except DeployError as error:
            failures.append(str(error))
            # Whatever state it is in, haproxy must not keep it drained forever.
            try:
                haproxy.set_state(hosts.balancer, hosts.inventory.balancer, backend.name, "ready")
            except DeployError as again:
                failures.append(str(again))
    return failures
