"""The validated model every render function works from: frozen dataclasses only.

`backends()` and `balancer()` turn the BACKENDS and BALANCER settings into typed values; the
deploy workstream reads the same model so the config and the deploy never disagree.
Everything here has already passed `rules`, so render functions may paste values as they are.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import rules
from .errors import ServerConfigError

Version = tuple[int, int, int]

# Keys each BACKENDS entry may have, with the default for the optional ones (None: required).
BACKEND_KEYS: dict[str, Any] = {
    "name": None,
    "address": None,
    "port": None,
    "h2_port": None,
    # UNIX sockets through which haproxy reaches a backend on its own machine (h2: tcp topology).
    "socket": None,
    "h2_socket": None,
    "root": None,
    "ssh_host": None,
    "ssh_port": 22,
    "ssh_user": "deploy",
    "nginx_test_command": "sudo nginx -t",
    "nginx_reload_command": "sudo systemctl reload nginx",
}
BALANCER_KEYS: dict[str, Any] = {
    "address": None,
    "ssh_host": None,
    "ssh_port": 22,
    "ssh_user": "deploy",
    "config_dir": "/etc/haproxy/blog",
    "runtime_socket": "/run/haproxy/admin.sock",
    "haproxy_test_command": "sudo haproxy -c -f {config_dir}",
    "haproxy_reload_command": "sudo systemctl reload haproxy",
}
# Keys that may be left out without a default of their own.
_OPTIONAL_NONE = {"h2_port", "socket", "h2_socket", "ssh_host"}


@dataclass(frozen=True)
class Backend:
    """One nginx backend: where it listens, what it serves, how the deploy reaches it."""

    name: str
    address: str
    port: int
    h2_port: int | None
    socket: str | None
    h2_socket: str | None
    root: str
    ssh_host: str
    ssh_port: int
    ssh_user: str
    nginx_test_command: str
    nginx_reload_command: str

    @property
    def live_root(self) -> str:
        """The document root nginx serves: the release `current` points at."""
        return self.root.rstrip("/") + "/current"


@dataclass(frozen=True)
class Balancer:
    """The haproxy host."""

    address: str
    ssh_host: str
    ssh_port: int
    ssh_user: str
    config_dir: str
    runtime_socket: str
    haproxy_test_command: str
    haproxy_reload_command: str


@dataclass(frozen=True)
class Redirect:
    """A permanent redirect from an old URL path; `origin` says who asked for it."""

    source: str
    target: str
    origin: str


@dataclass(frozen=True)
class Tls:
    """Certificate files and the Mozilla profile for nginx terminating TLS itself."""

    certificate: str
    certificate_key: str
    trusted_certificate: str | None
    profile: str


@dataclass(frozen=True)
class Pagespeed:
    """ngx_pagespeed directives for the optional include."""

    file_cache_path: str
    rewrite_level: str
    filters: tuple[str, ...]


@dataclass(frozen=True)
class Nginx:
    """How the nginx vhosts look."""

    version: Version
    role: str
    https_port: int
    http3: bool
    tls: Tls
    brotli: bool
    aliases: tuple[str, ...]
    www_redirect: str | None
    static_max_age: int
    acme_root: str
    pagespeed: Pagespeed | None


@dataclass(frozen=True)
class Stats:
    """haproxy's statistics page; the password is kept only as a crypt(3) hash."""

    address: str
    port: int
    uri: str
    realm: str
    refresh: int
    user: str
    password_hash: str


@dataclass(frozen=True)
class Haproxy:
    """How the haproxy config looks."""

    version: Version
    topology: str
    bind_address: str
    http_port: int
    https_port: int
    http_redirect: bool
    pem: str
    tls_profile: str
    npn: bool
    log_target: str
    stats: Stats | None


@dataclass(frozen=True)
class Site:
    """Everything the render functions need, validated."""

    siteurl: str
    scheme: str
    host: str
    release: str
    backends: tuple[Backend, ...]
    balancer: Balancer
    nginx: Nginx
    haproxy: Haproxy
    redirects: tuple[Redirect, ...]

    @property
    def real_ip(self) -> str:
        """How nginx learns the client address: "x-forwarded-for", "proxy_protocol" or ""."""
        if self.nginx.role == "standalone":
            return ""
        if self.haproxy.topology == "http":
            return "x-forwarded-for"
        # PROXY protocol on nginx listeners arrived in 1.5.12; older ones cannot be told.
        return "proxy_protocol" if self.nginx.version >= (1, 5, 12) else ""


def _entry(setting: str, value: object, keys: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ServerConfigError(setting, value, "a dict with keys " + ", ".join(keys))
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise ServerConfigError(
            setting, value, f"only the keys {', '.join(keys)} (unknown: {', '.join(unknown)})"
        )
    missing = [
        k for k, d in keys.items() if d is None and k not in _OPTIONAL_NONE and k not in value
    ]
    if missing:
        raise ServerConfigError(setting, value, f"the required key(s) {', '.join(missing)}")
    return {**keys, **value}


def _sockets(where: str, item: dict[str, Any], tcp: bool) -> tuple[str | None, str | None]:
    """A backend on the balancer's machine may be reached over UNIX sockets: `socket` for
    its HTTP/1.1 listener and, in the tcp topology, `h2_socket` for its h2 listener."""
    socket = item["socket"]
    if socket is not None:
        socket = rules.socket_path(f"{where}['socket']", socket)
    h2_socket = item["h2_socket"]
    if h2_socket is None and socket is not None and tcp:
        raise ServerConfigError(
            f"{where}['h2_socket']", None, "a UNIX socket: HAPROXY_TOPOLOGY 'tcp' with 'socket'"
        )
    if h2_socket is not None:
        if socket is None or not tcp:
            raise ServerConfigError(
                f"{where}['h2_socket']",
                h2_socket,
                "None unless 'socket' is set and HAPROXY_TOPOLOGY is 'tcp'",
            )
        h2_socket = rules.socket_path(f"{where}['h2_socket']", h2_socket)
        if h2_socket == socket:
            raise ServerConfigError(
                f"{where}['h2_socket']", h2_socket, "a path other than 'socket'"
            )
    return socket, h2_socket


def backends(value: object, *, h2_required: bool) -> tuple[Backend, ...]:
    """Validate the BACKENDS setting; `h2_required` when the tcp topology needs h2_port."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ServerConfigError("BACKENDS", value, "a non-empty list of dicts")
    result = []
    for index, raw in enumerate(value):
        where = f"BACKENDS[{index}]"
        item = _entry(where, raw, BACKEND_KEYS)
        h2_port = item["h2_port"]
        if h2_port is not None or h2_required:
            if h2_port is None:
                raise ServerConfigError(
                    f"{where}['h2_port']", None, "a port: HAPROXY_TOPOLOGY 'tcp' needs one"
                )
            h2_port = rules.port(f"{where}['h2_port']", h2_port)
        port = rules.port(f"{where}['port']", item["port"])
        if h2_port == port:
            raise ServerConfigError(f"{where}['h2_port']", h2_port, "a port other than 'port'")
        address = rules.ip_address(f"{where}['address']", item["address"])
        socket, h2_socket = _sockets(where, item, h2_required)
        result.append(
            Backend(
                name=rules.identifier(f"{where}['name']", item["name"]),
                address=address,
                port=port,
                h2_port=h2_port,
                socket=socket,
                h2_socket=h2_socket,
                root=rules.folder_path(f"{where}['root']", item["root"]),
                ssh_host=rules.address(f"{where}['ssh_host']", item["ssh_host"] or address),
                ssh_port=rules.port(f"{where}['ssh_port']", item["ssh_port"]),
                ssh_user=rules.user_name(f"{where}['ssh_user']", item["ssh_user"]),
                nginx_test_command=rules.command(
                    f"{where}['nginx_test_command']", item["nginx_test_command"]
                ),
                nginx_reload_command=rules.command(
                    f"{where}['nginx_reload_command']", item["nginx_reload_command"]
                ),
            )
        )
    seen: dict[str, int] = {}
    for index, backend in enumerate(result):
        if backend.name in seen:
            raise ServerConfigError(
                f"BACKENDS[{index}]['name']",
                backend.name,
                f"a name not already used by BACKENDS[{seen[backend.name]}]",
            )
        seen[backend.name] = index
    return tuple(result)


def balancer(value: object) -> Balancer:
    """Validate the BALANCER setting."""
    item = _entry("BALANCER", value, BALANCER_KEYS)
    address = rules.ip_address("BALANCER['address']", item["address"])
    return Balancer(
        address=address,
        ssh_host=rules.address("BALANCER['ssh_host']", item["ssh_host"] or address),
        ssh_port=rules.port("BALANCER['ssh_port']", item["ssh_port"]),
        ssh_user=rules.user_name("BALANCER['ssh_user']", item["ssh_user"]),
        config_dir=rules.folder_path("BALANCER['config_dir']", item["config_dir"]),
        runtime_socket=rules.socket_path("BALANCER['runtime_socket']", item["runtime_socket"]),
        haproxy_test_command=rules.command(
            "BALANCER['haproxy_test_command']", item["haproxy_test_command"]
        ),
        haproxy_reload_command=rules.command(
            "BALANCER['haproxy_reload_command']", item["haproxy_reload_command"]
        ),
    )


def host_port(address: str, port: int) -> str:
    """`address:port`, with IPv6 addresses in brackets as nginx and haproxy want them."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]:{port}"
    except ValueError:
        pass
    return f"{address}:{port}"
