"""A fast build: posts read on every core, and only what changed read and written again."""

from __future__ import annotations

from .fastbuild import register

__all__ = ["register"]
