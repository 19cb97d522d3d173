"""The hosts and settings of a deploy, read through the same settings model as the build."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from pelican.settings import read_settings

from plugins.settings import SettingsError, load, pelican_errors
from plugins.settings.deploy import DeploySettings
from plugins.settings.hosts import Backend, Balancer
from plugins.settings.site import Site

log = logging.getLogger(__name__)

# Pelican runs from the repository, so relative paths in the settings are relative to it.
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Precompression:
    """How the build precompresses text files: a backend recompresses changed ones alike."""

    extensions: frozenset[str]
    gzip_level: int
    brotli_quality: int


@dataclass(frozen=True)
class Inventory:
    """Everything `fab` needs to know, from one settings file."""

    settings_file: Path
    # What a release is built from: its id carries a hash of them.
    sources: tuple[Path, ...]
    output_path: Path
    site: Site
    deploy: DeploySettings
    precompression: Precompression | None

    @property
    def backends(self) -> tuple[Backend, ...]:
        return self.site.backends

    @property
    def balancer(self) -> Balancer:
        return self.site.balancer


def load_inventory(settings_file: Path) -> Inventory:
    """Read `settings_file` with Pelican and validate it through the settings model; raise
    SettingsError naming the first bad setting."""
    if not settings_file.is_file():
        raise SettingsError("--settings", str(settings_file), "an existing Pelican settings file")
    try:
        settings = read_settings(str(settings_file))
    except Exception as error:  # the file is Python: whatever it raises is the user's to fix
        explained = pelican_errors.explain(error)
        if explained is not None:
            raise explained from None
        raise SettingsError(
            "--settings", str(settings_file), f"a file Pelican can read ({error})"
        ) from None
    model = load(settings, base=REPO)
    webperf = model.webperf
    precompression = None
    if webperf.enabled and webperf.precompress:
        precompression = Precompression(
            webperf.precompress_extensions, webperf.gzip_level, webperf.brotli_quality
        )
    return Inventory(
        settings_file=settings_file,
        sources=(
            settings_file,
            REPO / settings["PATH"],
            REPO / settings["THEME"],
            REPO / "plugins",
        ),
        output_path=REPO / settings["OUTPUT_PATH"],
        site=model.site,
        deploy=model.deploy,
        precompression=precompression,
    )


def as_admin(inventory: Inventory, admin: str) -> Inventory:
    """The same hosts, logged into as `admin`."""

    def login(host: Backend | Balancer) -> Backend | Balancer:
        return dataclasses.replace(host, ssh=dataclasses.replace(host.ssh, user=admin))

    site = dataclasses.replace(
        inventory.site,
        backends=tuple(login(b) for b in inventory.backends),
        balancer=login(inventory.balancer),
    )
    return dataclasses.replace(inventory, site=site)
