"""Build-time page speed: minify, fingerprint, size images, precompress."""

from __future__ import annotations

from .webperf import register

__all__ = ["register"]
