"""The settings model shared by our plugins and deploy/: one rules module, one error type.

Listed first in PLUGINS, it checks every setting family when Pelican starts, so that a bad
value stops the build with one line before anything is read or written.
"""

from __future__ import annotations

from .errors import SettingsError
from .model import Model, load
from .plugin import register

__all__ = ["Model", "SettingsError", "load", "register"]
