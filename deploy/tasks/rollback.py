"""`fab rollback`: every backend back to the previous (or a named) release, one at a time."""

from __future__ import annotations

from fabric import Config

from deploy.errors import DeployError
from deploy.hosts.fleet import Hosts
from deploy.inventory import Inventory
from deploy.progress import Progress
from deploy.release import backend as remote
from deploy.release import lock
from deploy.release.layout import check_release_id
from deploy.release.rolling import Target, flip_one


def rollback(
    inventory: Inventory, config: Config, *, to: str | None, break_lock: bool, progress: Progress
) -> str:
    """Flip every backend to `to` (default: the release before the live one); return it."""
    wanted = check_release_id(to) if to else None
    hosts = Hosts.open(inventory, config)
    try:
        # Locked before reading what is live: a publish cannot change it in between.
        purpose = f"rollback to {wanted or 'the previous release'}"
        with lock.locked(hosts, purpose, break_lock=break_lock):
            states = hosts.each_backend(lambda b, c: remote.read_state(c, b))
            first = inventory.backends[0].name
            target = wanted or states[first].previous()
            if target is None:
                raise DeployError(first, "rollback", "there is no release before the live one")
            for name, state in states.items():
                if target not in state.releases:
                    kept = ", ".join(state.releases) or "none"
                    raise DeployError(
                        name, "rollback", f"release {target} is not there (kept: {kept})"
                    )
            for backend in inventory.backends:
                if states[backend.name].live == target:
                    progress(backend.name, "skip", f"already on {target}")
                    continue
                flip_one(hosts, backend, Target(target, target), progress)
        return target
    finally:
        hosts.close()
