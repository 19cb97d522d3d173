"""Content checks: every post builds, or the build says in one line which file and why."""

from __future__ import annotations

from .content_checks import register

__all__ = ["register"]
