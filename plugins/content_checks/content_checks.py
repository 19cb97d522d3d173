"""Signal wiring for the content_checks plugin.

initialized: CONTENT_* settings (file insertion, drafts, MathML) and the filter that turns
  Pelican's messages about posts into one line each;
readers_init: read `*.RST` like `*.rst`;
content_object_init: percent-encode URLs that need it;
all_generators_finalized: stop on two sources writing one file; name files left unread.
"""

from __future__ import annotations

from typing import Any

from pelican import Pelican, signals

from plugins.settings.errors import stops_build

from . import collisions, file_names, pelican_messages, settings, urls


@stops_build
def initialized(pelican: Pelican) -> None:
    """Apply CONTENT_* settings; install the message filter for this build."""
    settings.apply(pelican.settings)
    pelican_messages.install(pelican.settings)


def all_generators_finalized(generators: list[Any]) -> None:
    """Check what the generators found before anything is written."""
    if not generators:
        return
    site_settings, context = generators[0].settings, generators[0].context
    collisions.check(generators, site_settings)
    file_names.warn_unread(site_settings, context)


def register() -> None:
    """Connect the plugin's receivers."""
    signals.initialized.connect(initialized)
    signals.readers_init.connect(file_names.read_any_case)
    signals.content_object_init.connect(urls.encode_url)
    signals.all_generators_finalized.connect(all_generators_finalized)
