"""The hosts: each nginx backend and the haproxy balancer, one dataclass each.

The config renderers and the deploy read these same objects: a key added to BACKENDS is one
entry in BACKEND_KEYS and one field here. Everything has passed `rules` by the time a
dataclass exists, so render functions may paste values as they are.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from . import rules
from .errors import SettingsError

# Keys each BACKENDS entry may have, with their defaults (REQUIRED: must be given).
REQUIRED = object()
BACKEND_KEYS: dict[str, Any] = {
    "name": REQUIRED,
    "address": REQUIRED,
    "port": REQUIRED,
    # The h2 listener haproxy's tcp topology routes h2 (or SPDY) clients to.
    "h2_port": None,
    # UNIX sockets through which haproxy reaches a backend on its own machine (h2: tcp topology).
    "socket": None,
    "h2_socket": None,
    # Where the releases live; nginx serves <root>/current.
    "root": REQUIRED,
    # How the deploy reaches it; ssh_host defaults to `address`.
    "ssh_host": None,
    "ssh_port": 22,
    "ssh_user": "deploy",
    # `{conf}` marks where the deploy puts the nginx.conf to test; appended as `-c {conf}`.
    "nginx_test_command": "sudo nginx -t",
    "nginx_reload_command": "sudo systemctl reload nginx",
    # Run as root by `fab setup`: must start nginx, and do nothing when it runs already.
    "nginx_start_command": "systemctl enable --now nginx",
}
BALANCER_KEYS: dict[str, Any] = {
    "address": REQUIRED,
    "ssh_host": None,
    "ssh_port": 22,
    "ssh_user": "deploy",
    "config_dir": "/etc/haproxy/blog",
    "runtime_socket": "/run/haproxy/admin.sock",
    # `{config_dir}` marks where the deploy puts the config to test; appended as `-f …`.
    "haproxy_test_command": "sudo haproxy -c -f {config_dir}",
    "haproxy_reload_command": "sudo systemctl reload haproxy",
    # Run as root by `fab setup`: must start haproxy, and do nothing when it runs already.
    "haproxy_start_command": "systemctl enable --now haproxy",
}


@dataclass(frozen=True)
class SshTarget:
    """Where to SSH to reach a host."""

    host: str
    port: int
    user: str

    @property
    def rsync_host(self) -> str:
        """The host part of an rsync destination (IPv6 needs brackets)."""
        return f"[{self.host}]" if ":" in self.host else self.host


@dataclass(frozen=True)
class Backend:
    """One nginx backend: where it listens, what it serves, how the deploy reaches it."""

    name: str
    address: str
    port: int
    h2_port: int | None
    socket: str | None
    h2_socket: str | None
    root: PurePosixPath
    ssh: SshTarget
    nginx_test_command: str
    nginx_reload_command: str
    nginx_start_command: str

    @property
    def live_root(self) -> PurePosixPath:
        """The document root nginx serves: the release `current` points at."""
        return self.root / "current"

    @property
    def health_url(self) -> str:
        """The health file, fetched on the backend itself after a flip."""
        return f"http://{host_port(self.address, self.port)}/healthz.txt"


@dataclass(frozen=True)
class Balancer:
    """The haproxy host."""

    address: str
    ssh: SshTarget
    config_dir: PurePosixPath
    runtime_socket: PurePosixPath
    haproxy_test_command: str
    haproxy_reload_command: str
    haproxy_start_command: str

    name = "balancer"


def host_port(address: str, port: int) -> str:
    """`address:port`, with IPv6 addresses in brackets as nginx and haproxy want them."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]:{port}"
    except ValueError:
        pass
    return f"{address}:{port}"


def _entry(setting: str, value: object, keys: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SettingsError(setting, value, "a dict with keys " + ", ".join(keys))
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        near = rules.nearest(unknown[0], keys)
        hint = f"; did you mean {near}?" if near else ""
        raise SettingsError(
            setting,
            value,
            f"only the keys {', '.join(keys)} (unknown: {', '.join(unknown)}{hint})",
        )
    missing = [k for k, default in keys.items() if default is REQUIRED and k not in value]
    if missing:
        raise SettingsError(setting, value, f"the required key(s) {', '.join(missing)}")
    return {**keys, **value}


def _with_placeholder(command: str, name: str, option: str) -> str:
    """A test command checks the file the deploy names: `{name}` marks where it goes;
    a command without it (e.g. "sudo nginx -t") gets `<option> {name}` appended."""
    marker = "{" + name + "}"
    return command if marker in command else f"{command} {option} {marker}"


def _ssh(where: str, item: Mapping[str, Any], address: str) -> SshTarget:
    return SshTarget(
        host=rules.address(f"{where}['ssh_host']", item["ssh_host"] or address),
        port=rules.port(f"{where}['ssh_port']", item["ssh_port"]),
        user=rules.user_name(f"{where}['ssh_user']", item["ssh_user"]),
    )


def _sockets(where: str, item: dict[str, Any], tcp: bool) -> tuple[str | None, str | None]:
    """A backend on the balancer's machine may be reached over UNIX sockets: `socket` for
    its HTTP/1.1 listener and, in the tcp topology, `h2_socket` for its h2 listener."""
    socket = item["socket"]
    if socket is not None:
        socket = rules.socket_path(f"{where}['socket']", socket)
    h2_socket = item["h2_socket"]
    if h2_socket is None and socket is not None and tcp:
        raise SettingsError(
            f"{where}['h2_socket']", None, "a UNIX socket: HAPROXY_TOPOLOGY 'tcp' with 'socket'"
        )
    if h2_socket is not None:
        if socket is None or not tcp:
            raise SettingsError(
                f"{where}['h2_socket']",
                h2_socket,
                "None unless 'socket' is set and HAPROXY_TOPOLOGY is 'tcp'",
            )
        h2_socket = rules.socket_path(f"{where}['h2_socket']", h2_socket)
        if h2_socket == socket:
            raise SettingsError(f"{where}['h2_socket']", h2_socket, "a path other than 'socket'")
    return socket, h2_socket


def _backend(where: str, raw: object, tcp: bool) -> Backend:
    item = _entry(where, raw, BACKEND_KEYS)
    h2_port = item["h2_port"]
    if h2_port is not None or tcp:
        if h2_port is None:
            raise SettingsError(
                f"{where}['h2_port']", None, "a port: HAPROXY_TOPOLOGY 'tcp' needs one"
            )
        h2_port = rules.port(f"{where}['h2_port']", h2_port)
    port = rules.port(f"{where}['port']", item["port"])
    if h2_port == port:
        raise SettingsError(f"{where}['h2_port']", h2_port, "a port other than 'port'")
    address = rules.ip_address(f"{where}['address']", item["address"])
    socket, h2_socket = _sockets(where, item, tcp)
    test = rules.command(f"{where}['nginx_test_command']", item["nginx_test_command"])
    return Backend(
        name=rules.identifier(f"{where}['name']", item["name"]),
        address=address,
        port=port,
        h2_port=h2_port,
        socket=socket,
        h2_socket=h2_socket,
        root=PurePosixPath(rules.folder_path(f"{where}['root']", item["root"])),
        ssh=_ssh(where, item, address),
        nginx_test_command=_with_placeholder(test, "conf", "-c"),
        nginx_reload_command=rules.command(
            f"{where}['nginx_reload_command']", item["nginx_reload_command"]
        ),
        nginx_start_command=rules.command(
            f"{where}['nginx_start_command']", item["nginx_start_command"]
        ),
    )


def backends(value: object, *, tcp: bool) -> tuple[Backend, ...]:
    """Validate the BACKENDS setting; `tcp`: the tcp topology, which needs h2 listeners."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise SettingsError("BACKENDS", value, "a non-empty list of dicts")
    result = tuple(_backend(f"BACKENDS[{i}]", raw, tcp) for i, raw in enumerate(value))
    seen: dict[str, int] = {}
    for index, backend in enumerate(result):
        if backend.name in seen:
            raise SettingsError(
                f"BACKENDS[{index}]['name']",
                backend.name,
                f"a name not already used by BACKENDS[{seen[backend.name]}]",
            )
        seen[backend.name] = index
    listeners = {}
    for index, backend in enumerate(result):
        listeners[f"BACKENDS[{index}]['port']"] = (backend.address, backend.port)
        if backend.h2_port is not None:
            listeners[f"BACKENDS[{index}]['h2_port']"] = (backend.address, backend.h2_port)
    # One address and port is one server: two backends there would be one nginx twice.
    rules.distinct_ports("backend", listeners)
    return result


def balancer(value: object) -> Balancer:
    """Validate the BALANCER setting."""
    item = _entry("BALANCER", value, BALANCER_KEYS)
    address = rules.ip_address("BALANCER['address']", item["address"])
    test = rules.command("BALANCER['haproxy_test_command']", item["haproxy_test_command"])
    return Balancer(
        address=address,
        ssh=_ssh("BALANCER", item, address),
        config_dir=PurePosixPath(rules.folder_path("BALANCER['config_dir']", item["config_dir"])),
        runtime_socket=PurePosixPath(
            rules.socket_path("BALANCER['runtime_socket']", item["runtime_socket"])
        ),
        haproxy_test_command=_with_placeholder(test, "config_dir", "-f"),
        haproxy_reload_command=rules.command(
            "BALANCER['haproxy_reload_command']", item["haproxy_reload_command"]
        ),
        haproxy_start_command=rules.command(
            "BALANCER['haproxy_start_command']", item["haproxy_start_command"]
        ),
    )
