"""Stable sitemap dates: undated pages carry the newest post's date, not the build time."""

from __future__ import annotations

from .sitemap_lastmod import register

__all__ = ["register"]
