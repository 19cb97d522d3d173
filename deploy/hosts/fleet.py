"""One SSH connection per host for a whole command, and running work on every backend at once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from fabric import Config, Connection

from deploy.errors import DeployError
from deploy.hosts.ssh import connect
from deploy.inventory import Inventory
from plugins.settings.hosts import Backend, Balancer

T = TypeVar("T")


@dataclass
class Hosts:
    """Open connections to the backends (by name) and the balancer."""

    inventory: Inventory
    config: Config
    backends: dict[str, Connection]
    balancer: Connection

    @classmethod
    def open(cls, inventory: Inventory, config: Config) -> Hosts:
        # Connections open lazily, on their first command.
        backends = {b.name: connect(b.ssh, config) for b in inventory.backends}
        return cls(inventory, config, backends, connect(inventory.balancer.ssh, config))

    def connection(self, host: Backend | Balancer) -> Connection:
        """The connection to `host`."""
        return self.balancer if isinstance(host, Balancer) else self.backends[host.name]

    def close(self) -> None:
        for conn in [*self.backends.values(), self.balancer]:
            conn.close()

    def each_backend(self, work: Callable[[Backend, Connection], T]) -> dict[str, T]:
        """Run `work` on every backend in parallel; raise the first failure after all end."""
        results, errors = self.each_backend_settled(work)
        if errors:
            raise errors[0]
        return results

    def each_backend_settled(
        self, work: Callable[[Backend, Connection], T]
    ) -> tuple[dict[str, T], list[DeployError]]:
        """Run `work` on every backend in parallel; return results and failures."""
        backends = self.inventory.backends
        with ThreadPoolExecutor(max_workers=len(backends)) as pool:
            futures = {b.name: pool.submit(work, b, self.backends[b.name]) for b in backends}
        results: dict[str, T] = {}
        errors: list[DeployError] = []
        for name, future in futures.items():
            error = future.exception()
            if error is None:
                results[name] = future.result()
            elif isinstance(error, DeployError):
                errors.append(error)
            else:
                errors.append(DeployError(name, "unexpected error", repr(error)))
        return results, errors
