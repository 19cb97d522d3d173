"""Defaults and validation for every BUILD_* setting: how the build runs (plugins/fastbuild)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import rules

DEFAULTS: dict[str, Any] = {
    # Processes that read posts (docutils, Pygments) at once. None: one per core.
    "BUILD_WORKERS": None,
    # Read only changed sources and write only the files whose inputs changed; files that no
    # longer belong to the site are removed. False: every build reads and writes everything.
    "BUILD_INCREMENTAL": True,
    # What the last build read and wrote, per output folder. Outside OUTPUT_PATH: it is never
    # deployed. None: .cache/build under the folder pelican runs in.
    "BUILD_STATE_PATH": None,
}
PREFIX = "BUILD_"


@dataclass(frozen=True)
class BuildSettings:
    """How one build runs."""

    workers: int
    incremental: bool
    state: Path


def build_from_settings(settings: Mapping[str, Any], base: Path | None = None) -> BuildSettings:
    """Check every BUILD_* value; relative paths are taken from `base` (default: the cwd)."""
    ours = {k: v for k, v in settings.items() if k.startswith(PREFIX)}
    rules.known_keys("a setting of the build", ours, DEFAULTS)
    merged = {**DEFAULTS, **ours}
    base = base or Path.cwd()
    output = (base / settings["OUTPUT_PATH"]).resolve()
    state_value = merged["BUILD_STATE_PATH"]
    workers_value = merged["BUILD_WORKERS"]
    return BuildSettings(
        workers=(
            os.cpu_count() or 1
            if workers_value is None
            else rules.integer("BUILD_WORKERS", workers_value, 1, 256)
        ),
        incremental=rules.boolean("BUILD_INCREMENTAL", merged["BUILD_INCREMENTAL"]),
        state=rules.local_folder(
            "BUILD_STATE_PATH",
            ".cache/build" if state_value is None else state_value,
            base,
            outside=output,
        ),
    )
