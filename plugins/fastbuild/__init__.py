"""A fast build: posts read on every core, and only what changed read and written again."""

from __future__ import annotations

from .bodies import forget_memoized_contents
from .fastbuild import (
    forget_last_build,
    keep_builds_in_memory,
    last_build,
    rebuild_bodies,
    register,
)
from .session import Summary

__all__ = [
    "Summary",
    "forget_last_build",
    "forget_memoized_contents",
    "keep_builds_in_memory",
    "last_build",
    "rebuild_bodies",
    "register",
]
