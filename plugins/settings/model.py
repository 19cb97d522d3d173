"""The whole settings model of one build: every family of settings, validated together.

`load` is the one validation path: the settings plugin runs it when Pelican starts, and
`fab` runs it on the same settings file before it touches a host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import acme, build, content, deploy, search, site, webperf

# Every family's defaults, merged: each default itself lives in its family's module.
DEFAULTS: dict[str, Any] = {
    **site.DEFAULTS,
    **acme.DEFAULTS,
    **webperf.DEFAULTS,
    **deploy.DEFAULTS,
    **content.DEFAULTS,
    **search.DEFAULTS,
    **build.DEFAULTS,
}


@dataclass(frozen=True)
class Model:
    """Every setting the plugins and the deploy read, validated."""

    site: site.Site
    webperf: webperf.WebperfSettings
    deploy: deploy.DeploySettings
    content: content.ContentSettings
    search: search.SearchSettings
    build: build.BuildSettings


def load(settings: Mapping[str, Any], base: Path | None = None) -> Model:
    """Validate every family (NGINX_, HAPROXY_, ACME_, WEBPERF_, DEPLOY_, CONTENT_, SEARCH_,
    BUILD_, BACKENDS, BALANCER, SITEURL); relative paths are taken from `base` (default: the
    folder pelican runs in). Raises SettingsError naming the first bad setting."""
    deploy_settings = deploy.deploy_from_settings(settings, base)
    return Model(
        site=site.site_from_settings(settings),
        webperf=webperf.webperf_from_settings(settings, deploy_settings.build_path, base),
        deploy=deploy_settings,
        content=content.content_from_settings(settings),
        search=search.search_from_settings(settings, base),
        build=build.build_from_settings(settings, base),
    )
