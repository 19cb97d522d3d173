"""Defaults for every WEBPERF_* setting, in one place."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    # Off for development builds so `pelican --autoreload` stays quick; publishconf turns it on.
    "WEBPERF_ENABLED": False,
}
