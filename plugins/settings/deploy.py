"""Defaults and validation for every DEPLOY_* setting: where the build puts what the deploy
ships, and how `fab` rolls a release out.

The per-host keys (BACKENDS[*]['nginx_reload_command'], BALANCER['config_dir'], ...) are in
hosts.py with the rest of each host's model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import rules
from .errors import SettingsError

DEFAULTS: dict[str, Any] = {
    # Everything the build writes besides the web root (server config, manifests): never
    # inside OUTPUT_PATH. Relative to the folder pelican runs in.
    "DEPLOY_BUILD_PATH": "deploy/build",
    # Releases kept on each backend after a publish (the live and the previous are never pruned).
    "DEPLOY_RELEASES_KEPT": 5,
    # Seconds to wait for a drained server to finish its sessions before flipping it anyway:
    # the flip itself never breaks a response in flight (nginx keeps open files, reloads
    # gracefully), so a slow download only costs the wait.
    "DEPLOY_DRAIN_TIMEOUT": 30,
    # Seconds a flipped backend gets to serve the new release id on its health file.
    "DEPLOY_HEALTH_TIMEOUT": 30,
    # Seconds a backend whose nginx reloaded stays drained at least, before haproxy may depend
    # on it alone: a reload signal is handled asynchronously, and the old workers close the
    # kept-alive connections haproxy would reuse (then it waits until none is left running).
    "DEPLOY_RELOAD_SETTLE": 1,
    # The file `fab setup` writes on each backend so that nginx's http{} includes our vhost.
    # Debian's nginx.conf includes conf.d/*.conf; `{name}` and `{root}` are filled in per backend.
    # Empty: `setup` leaves nginx's own configuration alone.
    "DEPLOY_NGINX_INCLUDE_FILE": "/etc/nginx/conf.d/blog.conf",
    # Main-context and http-context lines of the throwaway nginx.conf that `nginx -t` checks a
    # staged vhost with (Debian's module loader and MIME types).
    "DEPLOY_NGINX_TEST_MAIN": ["include /etc/nginx/modules-enabled/*.conf;"],
    "DEPLOY_NGINX_TEST_HTTP": ["include /etc/nginx/mime.types;"],
    # `fab setup` provisions bare Debian hosts: packages, the deploy account and its sudoers
    # drop-in, nginx and haproxy pointed at our config and started. False: the hosts are
    # provisioned otherwise, and `setup` only prepares the deploy's folders and include file.
    "DEPLOY_PROVISION": True,
    # Debian packages each role needs, installed by `fab setup` when missing. curl: the health
    # check after a flip; socat: haproxy's runtime API; openssl: the bootstrap certificate.
    "DEPLOY_BACKEND_PACKAGES": [
        "nginx",
        "libnginx-mod-http-brotli-static",
        "rsync",
        "gzip",
        "brotli",
        "curl",
        "sudo",
    ],
    "DEPLOY_BALANCER_PACKAGES": ["haproxy", "certbot", "socat", "openssl", "sudo"],
    # The sudoers drop-in naming what the deploy account may run as root, per `{role}`.
    "DEPLOY_SUDOERS_FILE": "/etc/sudoers.d/blog-{role}",
    # The nginx.conf `fab setup` checks after pointing nginx at the live vhost.
    "DEPLOY_NGINX_MAIN_CONF": "/etc/nginx/nginx.conf",
    # Debian's placeholder site, which would answer every name our vhost does not; "" keeps it.
    "DEPLOY_NGINX_DEFAULT_SITE": "/etc/nginx/sites-enabled/default",
    # Where Debian's haproxy unit reads CONFIG= from.
    "DEPLOY_HAPROXY_DEFAULTS_FILE": "/etc/default/haproxy",
}
PREFIX = "DEPLOY_"
# Debian policy 5.6.7: lowercase letters, digits, + - . ; at least two, a letter or digit first.
_DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")


@dataclass(frozen=True)
class Provisioning:
    """What `fab setup` installs and configures on bare Debian hosts (DEPLOY_PROVISION)."""

    backend_packages: tuple[str, ...]
    balancer_packages: tuple[str, ...]
    # "" turns a step off; `{role}` is "backend" or "balancer".
    sudoers_file: str
    nginx_main_conf: str
    nginx_default_site: str
    haproxy_defaults_file: str


@dataclass(frozen=True)
class DeploySettings:
    """How `fab` ships a release, and where the build leaves what it ships."""

    build_path: Path
    releases_kept: int
    drain_timeout: float
    health_timeout: float
    reload_settle: float
    nginx_include_file: str
    nginx_test_main: tuple[str, ...]
    nginx_test_http: tuple[str, ...]
    provisioning: Provisioning | None


def _packages(key: str, value: object) -> tuple[str, ...]:
    names = rules.strings(key, value)
    for name in names:
        if not _DEBIAN_PACKAGE.fullmatch(name):
            raise SettingsError(key, value, f"Debian package names ({name!r} is not one)")
    return names


def _optional_file(key: str, value: object) -> str:
    """A file path, or "" to leave that step out; `{role}` may stand for a word."""
    if value == "":
        return ""
    if isinstance(value, str):
        rules.file_path(key, value.replace("{role}", "role"))
    else:
        rules.file_path(key, value)
    return str(value)


def _provisioning(merged: Mapping[str, Any]) -> Provisioning | None:
    if not rules.boolean("DEPLOY_PROVISION", merged["DEPLOY_PROVISION"]):
        return None
    return Provisioning(
        backend_packages=_packages("DEPLOY_BACKEND_PACKAGES", merged["DEPLOY_BACKEND_PACKAGES"]),
        balancer_packages=_packages("DEPLOY_BALANCER_PACKAGES", merged["DEPLOY_BALANCER_PACKAGES"]),
        sudoers_file=_optional_file("DEPLOY_SUDOERS_FILE", merged["DEPLOY_SUDOERS_FILE"]),
        nginx_main_conf=_optional_file("DEPLOY_NGINX_MAIN_CONF", merged["DEPLOY_NGINX_MAIN_CONF"]),
        nginx_default_site=_optional_file(
            "DEPLOY_NGINX_DEFAULT_SITE", merged["DEPLOY_NGINX_DEFAULT_SITE"]
        ),
        haproxy_defaults_file=_optional_file(
            "DEPLOY_HAPROXY_DEFAULTS_FILE", merged["DEPLOY_HAPROXY_DEFAULTS_FILE"]
        ),
    )


def deploy_from_settings(settings: Mapping[str, Any], base: Path | None = None) -> DeploySettings:
    """Check every DEPLOY_* value and return the typed result; relative paths from `base`
    (default: the folder pelican runs in)."""
    ours = {k: v for k, v in settings.items() if k.startswith(PREFIX)}
    rules.known_keys("a setting of the deploy", ours, DEFAULTS)
    merged = {**DEFAULTS, **ours}
    base = base or Path.cwd()
    kept = merged["DEPLOY_RELEASES_KEPT"]
    if isinstance(kept, bool) or not isinstance(kept, int) or kept < 2:
        raise SettingsError(
            "DEPLOY_RELEASES_KEPT",
            kept,
            "an integer of at least 2 (the live release and the one before it are always kept)",
        )
    include = merged["DEPLOY_NGINX_INCLUDE_FILE"] or ""
    if not isinstance(include, str):
        raise SettingsError("DEPLOY_NGINX_INCLUDE_FILE", include, "a path, or '' for none")
    return DeploySettings(
        build_path=rules.local_folder(
            "DEPLOY_BUILD_PATH",
            merged["DEPLOY_BUILD_PATH"],
            base,
            outside=base / settings["OUTPUT_PATH"],
        ),
        releases_kept=kept,
        drain_timeout=rules.seconds("DEPLOY_DRAIN_TIMEOUT", merged["DEPLOY_DRAIN_TIMEOUT"]),
        health_timeout=rules.seconds("DEPLOY_HEALTH_TIMEOUT", merged["DEPLOY_HEALTH_TIMEOUT"]),
        reload_settle=rules.seconds("DEPLOY_RELOAD_SETTLE", merged["DEPLOY_RELOAD_SETTLE"]),
        nginx_include_file=include,
        nginx_test_main=rules.strings("DEPLOY_NGINX_TEST_MAIN", merged["DEPLOY_NGINX_TEST_MAIN"]),
        nginx_test_http=rules.strings("DEPLOY_NGINX_TEST_HTTP", merged["DEPLOY_NGINX_TEST_HTTP"]),
        provisioning=_provisioning(merged),
    )
