"""Signal wiring for the serverconfig plugin.

all_generators_finalized: collect posts' `:redirect_from:`;
finalized: write healthz.txt into the web root and the server config beside it.
(The settings plugin has validated every setting at `initialized`.)
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from pelican import Pelican, signals

from plugins import contract
from plugins.settings import load, redirects
from plugins.settings.errors import SettingsError, stops_build
from plugins.settings.site import Site
from plugins.sources import contents, source_name

from . import haproxy, nginx

log = logging.getLogger(__name__)

# Redirects found in content, per build (keyed by the settings dict every generator shares).
_content_redirects: dict[int, list[redirects.Redirect]] = {}


@stops_build
def collect_redirects(generators: list[Any]) -> None:
    """Turn every `:redirect_from:` in published content into redirects."""
    if not generators:
        return
    found = []
    for content in contents(generators):
        value = content.metadata.get(redirects.METADATA_KEY)
        if value is None:
            continue
        source = source_name(content.source_path, generators[0].settings)
        if not content.save_as:
            raise SettingsError(
                f"{source}: {redirects.METADATA_KEY}",
                value,
                "no redirect to a draft, which this build does not write: publish the post "
                "or remove :redirect_from:",
            )
        found += redirects.from_metadata(source, content.url, value)
    _content_redirects[id(generators[0].settings)] = found


def render_all(site: Site) -> dict[str, str]:
    """Every server config file, by its path under DEPLOY_BUILD_PATH."""
    return {**nginx.render(site), **haproxy.render(site)}


@stops_build
def finalized(pelican: Pelican) -> None:
    """Write healthz.txt, then the nginx and haproxy config and their manifest."""
    settings = pelican.settings
    output = Path(settings["OUTPUT_PATH"])
    model = load(settings)
    site = model.site
    found = [*site.redirects, *_content_redirects.pop(id(settings), [])]
    site = dataclasses.replace(site, redirects=redirects.merge(found, output))
    (output / contract.HEALTH_FILE).write_text(site.release + "\n", encoding="utf-8")
    contract.write_server_config(model.deploy.build_path, site.release, render_all(site))
    if site.haproxy.stats is None:
        log.info("serverconfig: haproxy.cfg has no stats section (no credentials given)")


def register() -> None:
    """Connect the plugin's receivers."""
    signals.all_generators_finalized.connect(collect_redirects)
    signals.finalized.connect(finalized)
