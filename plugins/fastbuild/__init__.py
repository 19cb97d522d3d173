"""A fast build: posts read on every core, and only what changed read and written again."""

from __future__ import annotations

from .fastbuild import last_build, register
from .session import Summary

__all__ = ["Summary", "last_build", "register"]
