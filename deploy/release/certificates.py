"""The site's certificates: the names each covers, when it expires, and where it is read.

Served on the balancer: every certificate haproxy has loaded (so every `crt` of the config it
runs), read through its runtime API: what it serves, not what its files hold. Served on each
backend when nginx terminates TLS itself (NGINX_ROLE "standalone"): NGINX_TLS_CERTIFICATE, read
from the file (nginx cannot be asked what it loaded). `fab check` also reads the ones on this
machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from cryptography import x509
from fabric import Connection

from deploy.errors import DeployError
from deploy.hosts.ssh import run
from deploy.release import haproxy
from plugins.settings.hosts import Backend, Balancer
from plugins.settings.site import Site

# ACME certificates renew 30 days before they expire: fewer days left means renewal fails.
RENEWAL_WARNING_DAYS = 14


@dataclass(frozen=True)
class Certificate:
    """A certificate: where it was read, the names it covers and when it expires."""

    path: str
    # Who serves it from `path` (`server(host)`), or "on this machine".
    where: str
    names: tuple[str, ...]
    not_after: datetime

    def report(self, now: datetime | None = None) -> list[str]:
        """Two lines: its names, then its expiry and days left (a warning under 14)."""
        days = (self.not_after - (now or datetime.now(UTC))).days
        warning = (
            f"  WARNING: under {RENEWAL_WARNING_DAYS} days left"
            if days < RENEWAL_WARNING_DAYS
            else ""
        )
        return [
            f"certificate {self.path} ({self.where}): {', '.join(self.names) or 'no names'}",
            f"  expires {self.not_after:%Y-%m-%d %H:%M} UTC, {days} days left{warning}",
        ]


def serving_hosts(site: Site) -> tuple[Balancer | Backend, ...]:
    """The hosts that serve the site's certificates: the balancer, and every backend when
    nginx terminates TLS itself."""
    return (site.balancer, *(site.backends if site.nginx.role == "standalone" else ()))


def server(host: Balancer | Backend) -> str:
    """Who serves certificates on `host`: "haproxy on the balancer", "nginx on web1"."""
    return "haproxy on the balancer" if isinstance(host, Balancer) else f"nginx on {host.name}"


def served(site: Site, host: Balancer | Backend, conn: Connection) -> list[Certificate]:
    """The certificates `host` (one of `serving_hosts`) serves the site with."""
    if isinstance(host, Balancer):
        return haproxy_certificates(conn, host)
    return [nginx_certificate(conn, host, site.nginx.tls.certificate)]


def local_certificate(path: Path) -> Certificate:
    """The first certificate of a PEM file on this machine (the leaf, in haproxy's order)."""
    return _first_in_pem(str(path), "on this machine", path.read_bytes())


def nginx_certificate(conn: Connection, backend: Backend, path: str) -> Certificate:
    """The first certificate of the PEM file `path` on `backend` (the leaf, in nginx's order)."""
    step = f"read {path}"
    text = run(conn, ["cat", path], host=backend.name, step=step).stdout
    try:
        return _first_in_pem(path, server(backend), text.encode())
    except ValueError as error:
        raise DeployError(backend.name, step, f"not a PEM certificate: {error}") from None


def _first_in_pem(path: str, where: str, pem: bytes) -> Certificate:
    leaf = x509.load_pem_x509_certificate(pem)
    try:
        names = tuple(leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                      .value.get_values_for_type(x509.DNSName))  # fmt: skip
    except x509.ExtensionNotFound:
        names = ()
    return Certificate(path, where, names, leaf.not_valid_after_utc)


def haproxy_certificate(conn: Connection, balancer: Balancer, pem: PurePosixPath) -> Certificate:
    """What haproxy has loaded from `pem` (`show ssl cert`), not what the file holds."""
    step = "haproxy: show ssl cert"
    text = haproxy.runtime(conn, balancer, f"show ssl cert {pem}", step)
    fields = dict(line.partition(": ")[::2] for line in text.splitlines())
    try:
        not_after = datetime.strptime(fields["notAfter"], "%b %d %H:%M:%S %Y %Z")
    except (KeyError, ValueError):
        raise DeployError(haproxy.HOST, step, text.strip() or "no answer") from None
    names = tuple(
        part.strip().removeprefix("DNS:")
        for part in fields.get("Subject Alternative Name", "").split(",")
        if part.strip()
    )
    return Certificate(str(pem), server(balancer), names, not_after.replace(tzinfo=UTC))


def haproxy_certificates(conn: Connection, balancer: Balancer) -> list[Certificate]:
    """Every certificate haproxy has loaded: one per `crt` file of the config it runs."""
    listed = haproxy.runtime(conn, balancer, "show ssl cert", "haproxy: show ssl cert")
    # A `# filename` line heads the list; `*<file>` is an update not yet committed to <file>.
    files = [line for line in listed.splitlines() if line and not line.startswith(("#", "*"))]
    return [haproxy_certificate(conn, balancer, PurePosixPath(file)) for file in files]
