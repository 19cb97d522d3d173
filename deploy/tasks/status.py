"""`fab status`: what every backend serves, what it keeps, and what haproxy thinks of it."""

from __future__ import annotations

from fabric import Connection

from deploy.hosts.fleet import Hosts
from deploy.release import backend as remote
from deploy.release import certificates, haproxy
from plugins.settings.hosts import Backend


def status(hosts: Hosts) -> str:
    """A plain-text report, one block per backend, every certificate the site is served with
    (haproxy's; in the standalone role also each backend's nginx's), then haproxy's server
    states."""

    def one(backend: Backend, conn: Connection) -> str:
        state = remote.read_state(conn, backend)
        digest = remote.config_digest(conn, backend, state.live_config)
        kept = ", ".join(state.releases) or "none"
        return (
            f"{backend.name} ({backend.ssh.host}:{backend.ssh.port} {backend.root})\n"
            f"  live release:  {state.live or 'none'}\n"
            f"  releases kept: {kept}\n"
            f"  nginx config:  {state.live_config or 'none'} sha256 {digest[:16] or '-'}"
        )

    lines = list(hosts.each_backend(one).values())
    site = hosts.inventory.site
    for host in certificates.serving_hosts(site):
        for certificate in certificates.served(site, host, hosts.connection(host)):
            lines += certificate.report()
    lines.append("haproxy servers:")
    for row in haproxy.servers(hosts.balancer, hosts.inventory.balancer):
        lines.append(
            f"  {row.backend}/{row.server}: {row.operational}, {row.admin}, "
            f"{row.sessions} session(s)"
        )
    return "\n".join(lines)
