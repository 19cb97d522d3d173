"""Server configuration from the site: nginx vhosts, haproxy config, health file."""

from __future__ import annotations

from .serverconfig import register

__all__ = ["register"]
