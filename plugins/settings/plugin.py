"""Signal wiring: validate every setting as soon as Pelican has read them."""

from __future__ import annotations

from pelican import Pelican, signals

from .errors import stops_build
from .model import DEFAULTS, load


@stops_build
def initialized(pelican: Pelican) -> None:
    """Fill in every default and validate; a bad value stops `pelican` with one line."""
    for key, value in DEFAULTS.items():
        pelican.settings.setdefault(key, value)
    load(pelican.settings)


def register() -> None:
    """Connect the plugin's receivers."""
    signals.initialized.connect(initialized)
