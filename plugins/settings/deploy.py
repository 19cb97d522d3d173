"""Defaults and validation for every DEPLOY_* setting: where the build puts what the deploy
ships, and how `fab` rolls a release out.

The per-host keys (BACKENDS[*]['nginx_reload_command'], BALANCER['config_dir'], ...) are in
hosts.py with the rest of each host's model.
"""

from __future__ import annotations

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
    # The file `fab setup` writes on each backend so that nginx's http{} includes our vhost.
    # Debian's nginx.conf includes conf.d/*.conf; `{name}` and `{root}` are filled in per backend.
    # Empty: `setup` leaves nginx's own configuration alone.
    "DEPLOY_NGINX_INCLUDE_FILE": "/etc/nginx/conf.d/blog.conf",
    # Main-context and http-context lines of the throwaway nginx.conf that `nginx -t` checks a
    # staged vhost with (Debian's module loader and MIME types).
    "DEPLOY_NGINX_TEST_MAIN": ["include /etc/nginx/modules-enabled/*.conf;"],
    "DEPLOY_NGINX_TEST_HTTP": ["include /etc/nginx/mime.types;"],
}
PREFIX = "DEPLOY_"


@dataclass(frozen=True)
class DeploySettings:
    """How `fab` ships a release, and where the build leaves what it ships."""

    build_path: Path
    releases_kept: int
    drain_timeout: float
    health_timeout: float
    nginx_include_file: str
    nginx_test_main: tuple[str, ...]
    nginx_test_http: tuple[str, ...]


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
        nginx_include_file=include,
        nginx_test_main=rules.strings("DEPLOY_NGINX_TEST_MAIN", merged["DEPLOY_NGINX_TEST_MAIN"]),
        nginx_test_http=rules.strings("DEPLOY_NGINX_TEST_HTTP", merged["DEPLOY_NGINX_TEST_HTTP"]),
    )
