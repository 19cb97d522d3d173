"""The hosts a deploy talks to, read from the same Pelican settings the plugins use."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pelican.settings import read_settings

from deploy.errors import InventoryError
from deploy.settings import DEFAULTS
from plugins.serverconfig import model
from plugins.serverconfig import settings as serverconfig_settings
from plugins.serverconfig.errors import ServerConfigError
from plugins.webperf import settings as webperf_settings

log = logging.getLogger(__name__)

# Pelican runs from the repository, so relative paths in the settings are relative to it.
REPO = Path(__file__).resolve().parents[1]


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
    """One nginx backend: where it serves, where its releases live, how it reloads."""

    name: str
    address: str
    port: int
    root: PurePosixPath
    ssh: SshTarget
    nginx_test_command: str
    nginx_reload_command: str

    @property
    def health_url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/healthz.txt"


@dataclass(frozen=True)
class Balancer:
    """The haproxy host: its config folder, runtime API socket and reload commands."""

    ssh: SshTarget
    config_dir: PurePosixPath
    runtime_socket: PurePosixPath
    haproxy_test_command: str
    haproxy_reload_command: str

    name = "balancer"


@dataclass(frozen=True)
class Precompression:
    """How the build precompresses text files: a backend recompresses changed ones alike."""

    extensions: frozenset[str]
    gzip_level: int
    brotli_quality: int


@dataclass(frozen=True)
class Inventory:
    """Everything `fab publish` needs to know, from one settings file."""

    settings_file: Path
    sources: tuple[Path, ...]
    site_host: str
    output_path: Path
    build_path: Path
    backends: tuple[Backend, ...]
    balancer: Balancer
    releases_kept: int
    drain_timeout: float
    health_timeout: float
    reload_settle: float
    nginx_include_file: str
    nginx_test_main: tuple[str, ...]
    nginx_test_http: tuple[str, ...]
    precompression: Precompression | None


def load_inventory(settings_file: Path) -> Inventory:
    """Read `settings_file` with Pelican and build the inventory, or raise InventoryError."""
    if not settings_file.is_file():
        raise InventoryError(f"settings file {settings_file} does not exist")
    settings = read_settings(str(settings_file))
    where = settings_file.name
    try:
        # The serverconfig plugin owns these settings' rules; the deploy reads the same model.
        backends = tuple(
            _backend(entry)
            for entry in model.backends(settings.get("BACKENDS"), h2_required=_tcp(settings))
        )
        balancer = _balancer(model.balancer(settings.get("BALANCER")))
    except ServerConfigError as error:
        raise InventoryError(f"{where}: {error}") from None
    try:
        webperf = webperf_settings.get_settings(settings)
    except webperf_settings.WebperfSettingsError as error:
        raise InventoryError(f"{where}: {error}") from None
    precompression = None
    if webperf.enabled and webperf.precompress:
        precompression = Precompression(
            webperf.precompress_extensions, webperf.gzip_level, webperf.brotli_quality
        )
    flat = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    kept = flat["DEPLOY_RELEASES_KEPT"]
    if isinstance(kept, bool) or not isinstance(kept, int) or kept < 2:
        raise InventoryError(
            f"{where}: DEPLOY_RELEASES_KEPT = {kept!r}: expected an integer of at least 2 "
            "(the live release and the one before it are always kept)"
        )
    site_host = urlsplit(str(settings.get("SITEURL", ""))).hostname
    if not site_host:
        raise InventoryError(f"{where}: SITEURL = {settings.get('SITEURL')!r} has no host name")
    return Inventory(
        settings_file=settings_file,
        sources=(
            settings_file,
            REPO / settings["PATH"],
            REPO / settings["THEME"],
            REPO / "plugins",
        ),
        site_host=site_host,
        output_path=REPO / settings["OUTPUT_PATH"],
        build_path=REPO / str(settings.get("DEPLOY_BUILD_PATH") or "deploy/build"),
        backends=backends,
        balancer=balancer,
        releases_kept=kept,
        drain_timeout=_seconds(where, "DEPLOY_DRAIN_TIMEOUT", flat["DEPLOY_DRAIN_TIMEOUT"]),
        health_timeout=_seconds(where, "DEPLOY_HEALTH_TIMEOUT", flat["DEPLOY_HEALTH_TIMEOUT"]),
        reload_settle=_seconds(where, "DEPLOY_RELOAD_SETTLE", flat["DEPLOY_RELOAD_SETTLE"]),
        nginx_include_file=str(flat["DEPLOY_NGINX_INCLUDE_FILE"] or ""),
        nginx_test_main=tuple(_lines(where, "DEPLOY_NGINX_TEST_MAIN", flat)),
        nginx_test_http=tuple(_lines(where, "DEPLOY_NGINX_TEST_HTTP", flat)),
        precompression=precompression,
    )


def _tcp(settings: dict[str, object]) -> bool:
    """Whether the tcp topology is asked for (it needs h2 listeners)."""
    topology = settings.get("HAPROXY_TOPOLOGY", serverconfig_settings.DEFAULTS["HAPROXY_TOPOLOGY"])
    return topology == "tcp"


def _backend(entry: model.Backend) -> Backend:
    return Backend(
        name=entry.name,
        address=entry.address,
        port=entry.port,
        root=PurePosixPath(entry.root),
        ssh=SshTarget(entry.ssh_host, entry.ssh_port, entry.ssh_user),
        nginx_test_command=_with_placeholder(entry.nginx_test_command, "conf", "-c"),
        nginx_reload_command=entry.nginx_reload_command,
    )


def _balancer(entry: model.Balancer) -> Balancer:
    return Balancer(
        ssh=SshTarget(entry.ssh_host, entry.ssh_port, entry.ssh_user),
        config_dir=PurePosixPath(entry.config_dir),
        runtime_socket=PurePosixPath(entry.runtime_socket),
        haproxy_test_command=_with_placeholder(entry.haproxy_test_command, "config_dir", "-f"),
        haproxy_reload_command=entry.haproxy_reload_command,
    )


def _with_placeholder(command: str, name: str, option: str) -> str:
    """A test command checks the file the deploy names: `{name}` marks where it goes;
    a command without it (e.g. "sudo nginx -t") gets `<option> {name}` appended."""
    marker = "{" + name + "}"
    return command if marker in command else f"{command} {option} {marker}"


def _seconds(where: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InventoryError(f"{where}: {key} = {value!r}: expected a positive number of seconds")
    return float(value)


def _lines(where: str, key: str, flat: dict[str, object]) -> list[str]:
    value = flat[key]
    if not isinstance(value, list | tuple) or not all(isinstance(line, str) for line in value):
        raise InventoryError(f"{where}: {key} = {value!r}: expected a list of strings")
    return list(value)
