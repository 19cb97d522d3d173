"""`fab status`: what every backend serves, what it keeps, and what haproxy thinks of it."""

from __future__ import annotations

from pathlib import PurePosixPath

from fabric import Connection

from deploy.hosts.fleet import Hosts
from deploy.release import backend as remote
from deploy.release import certificates, haproxy
from plugins.settings.hosts import Backend


def status(hosts: Hosts) -> str:
    """A plain-text report, one block per backend, the certificate haproxy serves, then its
    server states."""

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
    cert = certificates.haproxy_certificate(
        hosts.balancer, hosts.inventory.balancer, PurePosixPath(hosts.inventory.site.haproxy.pem)
    )
    lines += cert.report()
    lines.append("haproxy servers:")
    for row in haproxy.servers(hosts.balancer, hosts.inventory.balancer):
        lines.append(
            f"  {row.backend}/{row.server}: {row.operational}, {row.admin}, "
            f"{row.sessions} session(s)"
        )
    return "\n".join(lines)
