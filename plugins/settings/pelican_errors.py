"""Pelican's own settings errors, which come before any plugin runs, as the model's one line.

Pelican checks a few settings itself while it reads the settings file (`configure_settings`),
before plugins are loaded: a SITEURL that is not a string ends there in an AttributeError and a
traceback. The settings file installs a log filter (`install`, called from pelicanconf.py) that
finds the settings Pelican was configuring and lets the model's own rule name the setting; `fab`
asks `explain` the same question.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .errors import SettingsError
from .site import siteurl_parts


def _settings_being_configured(trace: TracebackType | None) -> Mapping[str, Any] | None:
    """The `settings` Pelican's configure_settings held when the error was raised."""
    while trace is not None:
        frame = trace.tb_frame
        if frame.f_code.co_name == "configure_settings" and "pelican" in frame.f_code.co_filename:
            settings = frame.f_locals.get("settings")
            return settings if isinstance(settings, Mapping) else None
        trace = trace.tb_next
    return None


def explain(error: BaseException) -> SettingsError | None:
    """The model's refusal of the setting behind `error`, if Pelican raised it configuring a
    setting the model checks."""
    settings = _settings_being_configured(error.__traceback__)
    if settings is None or isinstance(settings.get("SITEURL", ""), str):
        return None
    try:
        siteurl_parts(settings["SITEURL"])
    except SettingsError as refused:
        return refused
    return None


class PelicanSettingsErrors(logging.Filter):
    """Rewrites Pelican's "CRITICAL AttributeError ..." and traceback into the one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            explained = explain(record.exc_info[1])
            if explained is not None:
                record.msg, record.args = "%s", (explained,)
                record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Filter the log of Pelican's command line; the settings file calls this, since Pelican
    reads it after logging starts and before it checks the settings itself."""
    logger = logging.getLogger("pelican")
    if not any(isinstance(f, PelicanSettingsErrors) for f in logger.filters):
        logger.addFilter(PelicanSettingsErrors())
