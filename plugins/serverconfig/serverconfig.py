"""Signal wiring for the serverconfig plugin.

initialized: check every setting (a bad one stops the build, naming it);
all_generators_finalized: collect posts' `:redirect_from:`;
finalized: write healthz.txt into the web root and the server config beside it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pelican import Pelican, signals

from . import haproxy, nginx, redirects, writer
from .errors import ServerConfigError
from .settings import DEFAULTS, deploy_build_path, site_from_settings

log = logging.getLogger(__name__)

# Redirects found in content, per build (keyed by the settings dict every generator shares).
_content_redirects: dict[int, list[redirects.Redirect]] = {}


def _stops_build(receiver: Callable[[Any], None]) -> Callable[[Any], None]:
    """Turn a ServerConfigError into one clear log line and a non-zero exit.

    Pelican's main() logs any other exception with its whole traceback, which buries the
    message; SystemExit passes through it and ends the build with status 1.
    """

    @functools.wraps(receiver)
    def wrapper(sender: Any) -> None:
        try:
            receiver(sender)
        except ServerConfigError as error:
            log.critical("serverconfig: %s", error)
            raise SystemExit(1) from None

    return wrapper


@_stops_build
def initialized(pelican: Pelican) -> None:
    """Fill in defaults and validate; raising here makes `pelican` exit non-zero."""
    for key, value in DEFAULTS.items():
        pelican.settings.setdefault(key, value)
    site_from_settings(pelican.settings)
    redirects.from_setting(pelican.settings["NGINX_REDIRECTS"])
    deploy_build_path(pelican.settings)


# Where generators keep content, written or not (a draft is not written in a publish build).
CONTENT_ATTRIBUTES = (
    "articles",
    "translations",
    "hidden_articles",
    "hidden_translations",
    "drafts",
    "drafts_translations",
    "pages",
    "hidden_pages",
    "draft_pages",
    "draft_translations",
)


def _contents(generators: Iterable[Any]) -> Iterable[Any]:
    for generator in generators:
        for attribute in CONTENT_ATTRIBUTES:
            yield from getattr(generator, attribute, ())


@_stops_build
def collect_redirects(generators: list[Any]) -> None:
    """Turn every `:redirect_from:` in published content into redirects."""
    if not generators:
        return
    found = []
    for content in _contents(generators):
        value = content.metadata.get(redirects.METADATA_KEY)
        if value is None:
            continue
        source = _relative(content.source_path, generators[0].settings)
        if not content.save_as:
            raise ServerConfigError(
                f"{source}: {redirects.METADATA_KEY}",
                value,
                "no redirect to a draft, which this build does not write: publish the post "
                "or remove :redirect_from:",
            )
        found += redirects.from_metadata(source, content.url, value)
    _content_redirects[id(generators[0].settings)] = found


def _relative(source_path: str, settings: Mapping[str, Any]) -> str:
    path = Path(source_path)
    try:
        return str(path.relative_to(Path(settings["PATH"]).resolve().parent))
    except ValueError:
        return str(path)


def render_all(site: Any) -> dict[str, str]:
    """Every file this plugin writes under DEPLOY_BUILD_PATH (besides the manifest)."""
    return {**nginx.render(site), **haproxy.render(site)}


@_stops_build
def finalized(pelican: Pelican) -> None:
    """Write healthz.txt, then the nginx and haproxy config and the manifest."""
    settings = pelican.settings
    output = Path(settings["OUTPUT_PATH"])
    site = site_from_settings(settings)
    found = [
        *redirects.from_setting(settings["NGINX_REDIRECTS"]),
        *_content_redirects.pop(id(settings), []),
    ]
    site = dataclasses.replace(site, redirects=redirects.merge(found, output))
    (output / "healthz.txt").write_text(site.release + "\n", encoding="utf-8")
    writer.write(deploy_build_path(settings), site.release, render_all(site))
    if site.haproxy.stats is None:
        log.info("serverconfig: haproxy.cfg has no stats section (no credentials given)")


def register() -> None:
    """Connect the plugin's receivers."""
    signals.initialized.connect(initialized)
    signals.all_generators_finalized.connect(collect_redirects)
    signals.finalized.connect(finalized)
